"""The oracle's workers (peercare/runtime.py): a failing step is retried, an unmendable one stops
the process with its message instead of being retried for ever. Pure: no chain, no server."""

from __future__ import annotations

import threading

import pytest

from peercare import runtime
from peercare.oracle.signer import SignerError
from peercare.runtime import Worker, WorkerStopped


def run_until_done(worker: Worker, stop: threading.Event) -> None:
    worker.start(stop)
    assert worker.thread is not None
    worker.thread.join(timeout=30)
    assert not worker.thread.is_alive()


def test_a_fatal_error_stops_the_worker_once_with_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "ERROR_PAUSE_S", 0.0)
    calls: list[int] = []
    stopped: list[WorkerStopped] = []

    def step() -> int:
        calls.append(1)
        raise SignerError("the node serves chain 1, the signer is configured for chain 31337")

    worker = Worker("signer", step, idle_s=0.01, fatal=(SignerError,), on_fatal=stopped.append)
    run_until_done(worker, threading.Event())  # ends by itself: nobody sets the stop event
    assert len(calls) == 1, "a fatal error must not be retried"
    assert [str(s) for s in stopped] == [
        "the signer stopped: the node serves chain 1, the signer is configured for chain 31337"
    ]


def test_any_other_error_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "ERROR_PAUSE_S", 0.0)
    stop = threading.Event()
    calls: list[int] = []

    def step() -> int:
        calls.append(1)
        if len(calls) == 3:
            stop.set()
            return 1
        raise RuntimeError("the node is down")

    worker = Worker("signer", step, idle_s=0.01, fatal=(SignerError,), on_fatal=lambda _: pytest.fail("not fatal"))
    run_until_done(worker, stop)
    assert len(calls) == 3 and worker.errors == 2

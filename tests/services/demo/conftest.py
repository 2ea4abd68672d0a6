"""A running PeerCare for the demo tests: `peercare up` as a subprocess, exactly as a person starts
it in another terminal (its own anvil with state on disk, contracts deployed by Brownie, the oracle
and the API), on this suite's ports (`demo_peercare.py`), everything under a temporary data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from demo_peercare import ROOT, START_TIMEOUT_S, RunningPeerCare, peercare_env


@pytest.fixture(scope="session")
def peercare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPeerCare]:
    data_dir = tmp_path_factory.mktemp("peercare-demo")
    env = peercare_env(data_dir)
    log_path = data_dir.parent / "peercare-up.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "peercare.cli", "up"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "running; Ctrl-C" not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"peercare up did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield RunningPeerCare(data_dir, env)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

"""A running PeerCare for the demo tests: `peercare up` as a subprocess, exactly as a person starts
it in another terminal (its own anvil with state on disk, contracts deployed by Brownie, the oracle
and the API), on this suite's ports (`tests/support/demo_peercare.py`), everything under a temporary data folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.demo_peercare import RunningPeerCare, peercare_env, start_up, stop_up


@pytest.fixture(scope="session")
def peercare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPeerCare]:
    data_dir = tmp_path_factory.mktemp("peercare-demo")
    env = peercare_env(data_dir)
    process = start_up(env, data_dir.parent / "peercare-up.log")
    try:
        yield RunningPeerCare(data_dir, env)
    finally:
        stop_up(process)

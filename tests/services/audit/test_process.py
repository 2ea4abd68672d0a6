"""`peercare audit verify` as a real process, as a user runs it: settings in the environment,
the report on standard output, progress on standard error, the exit status for scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.audit_support import audit_environment
from tests.support.world import World

ROOT = Path(__file__).resolve().parents[3]


def test_audit_process_reports_a_clean_history_and_exits_0(world: World) -> None:
    env = dict(os.environ, **audit_environment(world))
    env.pop("PEERCARE_IPFS_API_URL", None)

    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "peercare.cli.audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started

    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout.startswith("PeerCare audit of chain 31337, blocks ")
    assert process.stdout.rstrip().endswith("Everything checks out.")
    assert "indexing blocks" in process.stderr and "recomputing reputation epoch 1" in process.stderr
    print(f"\naudit verify as a process on the world: {seconds:.2f} s")

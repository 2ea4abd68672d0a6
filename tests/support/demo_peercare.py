"""`peercare up` for the demo tests: where it listens and the settings it shares with `peercare demo`.

Ports apart from the other suites': chain `PEERCARE_TEST_DEMO_CHAIN_PORT` (8791), API on the next
port; the demo tests use only ports 8791-8799."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ is two levels below the repository
CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_DEMO_CHAIN_PORT", "8791"))
API_PORT = CHAIN_PORT + 1
START_TIMEOUT_S = 240


@dataclass(frozen=True)
class RunningPeerCare:
    data_dir: Path
    env: dict[str, str]  # the PEERCARE_* settings both `peercare up` and `peercare demo` read

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{CHAIN_PORT}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{API_PORT}"


def peercare_env(data_dir: Path, chain_port: int = CHAIN_PORT) -> dict[str, str]:
    path = f"{ROOT / '.toolchain' / 'bin'}:{ROOT / '.venv-brownie' / 'bin'}:{os.environ['PATH']}"
    return {
        "PATH": path,
        "SOLCX_BINARY_PATH": str(ROOT / ".toolchain" / "solc"),
        "PEERCARE_DATA_DIR": str(data_dir),
        "PEERCARE_CHAIN_PORT": str(chain_port),
        "PEERCARE_API_PORT": str(chain_port + 1),
        "PEERCARE_DEMO_BRAND_PORT": str(chain_port + 30),
        "PEERCARE_BROWNIE_NETWORK": f"peercare-demo-test-{chain_port}",
    }


def start_up(env: dict[str, str], log_path: Path) -> subprocess.Popen[str]:
    """`peercare up` as a person starts it; returns once it says it is running."""
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "peercare.cli", "up"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    started = log_path.read_text().count("running; Ctrl-C")
    deadline = time.monotonic() + START_TIMEOUT_S
    while log_path.read_text().count("running; Ctrl-C") == started:
        if process.poll() is not None or time.monotonic() > deadline:
            stop_up(process)
            raise AssertionError(f"peercare up did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    return process


def stop_up(process: subprocess.Popen[str]) -> int:
    """Ctrl-C, as in a terminal; its exit code (killed after 60 s)."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode

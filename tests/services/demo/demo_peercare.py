"""`peercare up` for the demo tests: where it listens and the settings it shares with `peercare demo`.

Ports apart from the other suites': chain `PEERCARE_TEST_DEMO_CHAIN_PORT` (8791), API on the next
port; the demo tests use only ports 8791-8799."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
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


def peercare_env(data_dir: Path) -> dict[str, str]:
    path = f"{ROOT / '.toolchain' / 'bin'}:{ROOT / '.venv-brownie' / 'bin'}:{os.environ['PATH']}"
    return {
        "PATH": path,
        "SOLCX_BINARY_PATH": str(ROOT / ".toolchain" / "solc"),
        "PEERCARE_DATA_DIR": str(data_dir),
        "PEERCARE_CHAIN_PORT": str(CHAIN_PORT),
        "PEERCARE_API_PORT": str(API_PORT),
        "PEERCARE_BROWNIE_NETWORK": f"peercare-demo-test-{CHAIN_PORT}",
    }

"""`peercare chain up` (what `make run` starts): a local chain whose contracts and balances survive
a restart, deployed by the Brownie script on first start only."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

from peercare.chain.deployment import Deployment

ROOT = Path(__file__).resolve().parents[3]
PORT = 8661


def _env(data_dir: Path, port: int = PORT) -> dict[str, str]:
    path = f"{ROOT / '.toolchain' / 'bin'}:{ROOT / '.venv-brownie' / 'bin'}:{os.environ['PATH']}"
    return dict(
        os.environ,
        PATH=path,
        SOLCX_BINARY_PATH=str(ROOT / ".toolchain" / "solc"),
        PEERCARE_DATA_DIR=str(data_dir),
        PEERCARE_CHAIN_PORT=str(port),
        PEERCARE_BROWNIE_NETWORK="peercare-local-test",
    )


def _start(data_dir: Path) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "peercare.cli", "chain", "up"],
        cwd=ROOT,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("running"):
            return process, lines
    process.kill()
    pytest.fail("peercare chain up did not come up:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen[str]) -> list[str]:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return out.splitlines()


@pytest.fixture(scope="module", autouse=True)
def brownie_test_network() -> None:
    """Brownie needs a live network entry for the test chain's port (kept apart from peercare-local)."""
    spec = ROOT / "build" / "peercare-local-test-network.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(
        "live:\n  - name: PeerCare\n    networks:\n"
        f"      - name: PeerCare chain-up test\n        id: peercare-local-test\n"
        f"        host: http://127.0.0.1:{PORT}\n        chainid: 31337\n"
    )
    subprocess.run(
        [str(ROOT / ".venv-brownie" / "bin" / "python"), str(ROOT / "toolchain" / "brownie_networks.py"), str(spec)],
        check=True,
        capture_output=True,
    )


def test_contracts_and_balances_survive_a_restart(tmp_path: Path) -> None:
    process, lines = _start(tmp_path)
    try:
        assert any("deployed now" in line for line in lines), lines
        deployment = Deployment.load(tmp_path / "deployment.json")
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{PORT}"))
        token = deployment.contract(w3, "PeerCareToken")
        holder = w3.eth.accounts[0]
        tx = token.functions.mint(holder, 12_345).transact({"from": holder})
        w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)
        block = w3.eth.block_number
        block_hash = w3.eth.get_block(block)["hash"]
    finally:
        out = _stop(process)
    assert process.returncode == 0, out
    assert (tmp_path / "chain" / "state.json").exists()

    process, lines = _start(tmp_path)
    try:
        assert any("already deployed" in line for line in lines), lines
        assert token.functions.balanceOf(holder).call() == 12_345
        # The same chain, resumed: the mint's block is still there (the chain mines a block a second
        # besides, so the head has moved on).
        assert w3.eth.block_number >= block and w3.eth.get_block(block)["hash"] == block_hash
        assert Deployment.load(tmp_path / "deployment.json").check_live(w3) == []
    finally:
        _stop(process)


def test_port_taken_by_another_node_is_a_clear_error(tmp_path: Path) -> None:
    squatter = subprocess.Popen(
        [str(ROOT / ".toolchain" / "bin" / "anvil"), "--port", str(PORT), "--host", "127.0.0.1", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", PORT)) == 0:
                    break
            time.sleep(0.1)
        result = subprocess.run(
            [sys.executable, "-m", "peercare.cli", "chain", "up"],
            cwd=ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert f"something already answers JSON-RPC at http://127.0.0.1:{PORT}" in result.stderr
        assert not (tmp_path / "deployment.json").exists()
    finally:
        squatter.terminate()
        squatter.wait()

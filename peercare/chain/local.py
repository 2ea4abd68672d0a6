"""A local anvil chain whose state survives restarts (anvil's --state file, dumped periodically
and on a clean stop).

It mines in anvil's mixed mode: every transaction at once (automine), and a block every
`BLOCK_TIME_S` whatever happens. Automine alone has lost ready transactions under load (foundry
issue 10122: the pool keeps them "queued" though their nonce is next, and no block ever comes to
free them); with a block every second the chain keeps moving, so the signer sees transactions
waiting for blocks and replaces them (docs/signer.md), and "3 blocks" means something on an idle
chain. docs/architecture.md says more.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from peercare.config import LOCAL_CHAIN_ID, Settings

STATE_DUMP_INTERVAL_S = 5
BLOCK_TIME_S = 1  # the heartbeat of mixed mining; transactions are still mined at once


class ChainError(RuntimeError):
    """The local chain could not be started or reached."""


def rpc_chain_id(url: str, timeout: float = 2.0) -> int | None:
    """The chain id answered at `url`, or None when nothing answers there."""
    try:
        response = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return int(response.json()["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError):
        return None


class LocalChain:
    """Starts and stops one anvil process, by PID, listening on loopback only."""

    def __init__(self, settings: Settings, anvil: str = "anvil", *, mixed_mining: bool = True) -> None:
        self.settings = settings
        self.anvil = anvil
        # Off only for tests that decide every block themselves (anvil cannot return to mixed
        # mining once a test has switched automine off).
        self.mixed_mining = mixed_mining
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def state_file(self) -> Path:
        return self.settings.chain_dir / "state.json"

    @property
    def log_file(self) -> Path:
        return self.settings.chain_dir / "anvil.log"

    def start(self, ready_timeout_s: float = 30.0) -> None:
        url = self.settings.local_rpc_url
        if rpc_chain_id(url) is not None:
            raise ChainError(
                f"something already answers JSON-RPC at {url}; stop it or set PEERCARE_CHAIN_PORT to a free port"
            )
        executable = shutil.which(self.anvil)
        if executable is None:
            raise ChainError(f"anvil not found ({self.anvil!r}); run `make run`, which installs it from npm")
        self.settings.chain_dir.mkdir(parents=True, exist_ok=True)
        command = [
            executable,
            "--host",
            self.settings.chain_host,
            "--port",
            str(self.settings.chain_port),
            "--chain-id",
            str(LOCAL_CHAIN_ID),
            "--state",
            str(self.state_file),
            "--state-interval",
            str(STATE_DUMP_INTERVAL_S),
            # Not --preserve-historical-states: with it the file held every block's state (1 GB after
            # the demo) and each dump held up the node's answers for seconds. Blocks, transactions
            # and receipts are kept either way; only calls at blocks older than the restart fail.
        ]
        if self.mixed_mining:
            command += ["--block-time", str(BLOCK_TIME_S), "--mixed-mining"]
        with self.log_file.open("ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches only us, and we stop anvil cleanly.
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChainError(f"anvil exited with code {self.process.returncode}; see {self.log_file}")
            if rpc_chain_id(url, timeout=0.5) == LOCAL_CHAIN_ID:
                return
            time.sleep(0.1)
        self.stop()
        raise ChainError(f"anvil did not answer at {url} within {ready_timeout_s:.0f} s; see {self.log_file}")

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (anvil then writes its state file), SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

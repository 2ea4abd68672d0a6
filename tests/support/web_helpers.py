"""What the web tests share besides fixtures: ports, the live server, the test wallet, screenshots."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import uvicorn
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page

from tests.support.world import World

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_WEB_CHAIN_PORT", "8801"))
API_PORT = int(os.environ.get("PEERCARE_TEST_WEB_API_PORT", "8802"))
CHROMIUM = os.environ.get("PEERCARE_TEST_CHROMIUM", "/usr/bin/chromium")
HOST = f"127.0.0.1:{API_PORT}"
TIMEOUT_MS = 20_000
REFUSAL_LOGGED = "Failed to load resource: the server responded with a status of 4"

#: An EIP-1193 provider whose accounts and signatures come from Python (`peercareWallet`).
WALLET_SCRIPT = """
window.ethereum = {
  isPeerCareTestWallet: true,
  async request({ method, params }) {
    return await window.peercareWallet(method, params || []);
  },
};
"""


class LiveApi:
    """The world's app, with the web router, served by uvicorn on 127.0.0.1:API_PORT in a thread."""

    def __init__(self, world: World) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(world.oracle.app, host="127.0.0.1", port=API_PORT, log_level="error")
        )
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{HOST}"

    def __enter__(self) -> LiveApi:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, f"uvicorn did not start on {HOST}"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class Wallet:
    """What the injected provider answers: `address` as its account (lower case, as wallets often
    give it), signatures by `key` (the address's own key, or another to see a refusal)."""

    def __init__(self, address: str, key: LocalAccount) -> None:
        self.address = address
        self.key = key
        self.signed: list[str] = []
        self.typed: list[dict[str, object]] = []  # EIP-712 typed data it signed

    def __call__(self, method: str, params: list[str]) -> object:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.address.lower()]
        if method == "personal_sign":
            data, address = params
            assert address.lower() == self.address.lower(), f"asked to sign for {address}"
            message = bytes.fromhex(data.removeprefix("0x")).decode()
            self.signed.append(message)
            return "0x" + self.key.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")
        if method == "eth_signTypedData_v4":
            address, typed = params
            assert address.lower() == self.address.lower(), f"asked to sign for {address}"
            self.typed.append(json.loads(typed))
            signed = self.key.sign_message(encode_typed_data(full_message=self.typed[-1]))
            return "0x" + signed.signature.hex().removeprefix("0x")
        raise ValueError(f"the test wallet does not answer {method}")


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("PEERCARE_WEB_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"web-{name}.png"), full_page=True)

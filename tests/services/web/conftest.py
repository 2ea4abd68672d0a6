"""Fixtures for the web views: the API tests' world (a running PeerCare with a history and
reputation epoch 1) on its own chain, its app with the web router served by uvicorn on a real
port, and Debian's chromium driven by Playwright (never a browser Playwright downloads).

Ports: chain `PEERCARE_TEST_WEB_CHAIN_PORT` (8801), API `PEERCARE_TEST_WEB_API_PORT` (8802).
Screenshots of each page go to `PEERCARE_WEB_SCREENSHOTS` (a folder) when it is set.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from tests.support.web_helpers import (
    CHAIN_PORT,
    CHROMIUM,
    HOST,
    REFUSAL_LOGGED,
    TIMEOUT_MS,
    WALLET_SCRIPT,
    LiveApi,
    Wallet,
)
from tests.support.world import DOMAIN, World, running_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "web") as built:
        # Sign-in messages name the page's host: accept the browser's as well as TestClient's.
        built.oracle.context.settings.api_domains = f"{DOMAIN},{HOST}"
        yield built


@pytest.fixture(scope="session")
def live(world: World) -> Iterator[LiveApi]:
    with LiveApi(world) as api:
        yield api


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"no chromium at {CHROMIUM}: `make setup` installs Debian's (apt-get install chromium)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser, live: LiveApi) -> Iterator[BrowserContext]:
    """A fresh browser profile (empty sessionStorage) for each test."""
    ctx = browser.new_context(base_url=live.url, viewport={"width": 1200, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any script error or console error (a CSP violation, a 5xx);
    the browser's own line for each 4xx answer is expected (refusals are part of the tests)."""
    opened = context.new_page()
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(REFUSAL_LOGGED):
            errors.append(f"console: {message.text}")

    opened.on("pageerror", lambda err: errors.append(f"uncaught: {err}"))
    opened.on("console", console)
    yield opened
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def with_wallet(context: BrowserContext) -> Callable[[str, LocalAccount], Wallet]:
    """Give the browser an EIP-1193 wallet (before any page loads)."""

    def install(address: str, key: LocalAccount) -> Wallet:
        wallet = Wallet(address, key)
        context.expose_function("peercareWallet", wallet)
        context.add_init_script(WALLET_SCRIPT)
        return wallet

    return install

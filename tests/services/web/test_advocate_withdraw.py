"""Withdrawing from the advocate page, in headless chromium: an advocate who earned and holds no
ETH presses "Withdraw (no gas)", their wallet signs the EIP-712 withdrawal, and the oracle relays
it: the ledger pays them and their ETH balance stays zero."""

from __future__ import annotations

from collections.abc import Callable

from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from tests.support.health_support import wait_for
from tests.support.web_helpers import Wallet
from tests.support.world import World


def test_an_advocate_without_gas_withdraws_from_the_page(
    world: World, page: Page, with_wallet: Callable[[str, LocalAccount], Wallet]
) -> None:
    advocate = Account.create()
    earned = world.earn(advocate.address)
    assert earned > 0 and world.dev.w3.eth.get_balance(advocate.address) == 0
    with_wallet(advocate.address, advocate)
    page.goto("/advocate")
    page.click("#sign-in")
    expect(page.locator("#signed-in-as")).to_have_text(advocate.address)

    page.click(f"#earnings-table button.withdraw[data-token='{world.dev.token.address}']")

    expect(page.locator("#withdraw-message")).to_contain_text("Withdrawal sent")
    expect(page.locator("#withdraw-message .amount")).to_have_attribute("data-raw", str(earned))
    token = world.dev.token.functions
    wait_for(lambda: token.balanceOf(advocate.address).call() == earned, "the withdrawal mined", timeout_s=60)
    assert world.dev.ledger.functions.earnings(advocate.address, world.dev.token.address).call() == 0
    assert world.dev.w3.eth.get_balance(advocate.address) == 0

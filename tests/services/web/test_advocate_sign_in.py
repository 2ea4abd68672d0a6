"""Signing in on the advocate view with a browser wallet (an EIP-1193 provider injected into the
page, signing in Python with the advocate's dev key), then earnings and recent answers."""

from __future__ import annotations

from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from peercare.api.siwe import parse
from peercare.chain.devnet import dev_account
from tests.support.web_helpers import HOST, Wallet, screenshot
from tests.support.world import World


def earning_advocate(world: World) -> LocalAccount:
    """An advocate the ledger owes tokens to (an accepted answer paid them)."""
    token = world.dev.token.address
    for account in world.advocates:
        if world.dev.ledger.functions.earnings(account.address, token).call() > 0:
            return account
    raise AssertionError("no advocate has earnings in the world's history")


def test_signing_in_shows_the_earnings_the_ledger_holds_and_the_recent_answers(
    world: World, page: Page, with_wallet: Callable[[str, LocalAccount], Wallet]
) -> None:
    advocate = earning_advocate(world)
    wallet = with_wallet(advocate.address, advocate)
    page.goto("/advocate")

    page.click("#sign-in")

    expect(page.locator("#signed-in-as")).to_have_text(advocate.address)
    expect(page).to_have_url(f"/advocate/{advocate.address}")
    # The message the wallet signed is the EIP-4361 text the API parses, for this page's host.
    (signed,) = wallet.signed
    message = parse(signed)
    assert (message.domain, message.address, message.uri) == (HOST, advocate.address, f"http://{HOST}")
    assert message.chain_id == world.oracle.context.deployment.chain_id
    token = page.evaluate("JSON.parse(sessionStorage.getItem('peercare.advocate.session')).token")
    assert (
        world.client.get(f"/api/v1/advocates/{advocate.address}/earnings", headers=world.bearer(token)).status_code
        == 200
    )

    rows = page.locator("#earnings-table tbody tr")
    expect(rows.first).to_be_visible()
    shown = rows.evaluate_all(
        """rows => rows.map(r => ({
            token: r.dataset.token,
            claimable: r.querySelector('.claimable .amount').dataset.raw,
            withdrawn: r.querySelector('.withdrawn .amount').dataset.raw,
            text: r.querySelector('.claimable').innerText,
        }))"""
    )
    assert [row["token"] for row in shown] == [world.dev.token.address]
    for row in shown:
        on_chain = world.dev.ledger.functions.earnings(advocate.address, row["token"]).call()
        assert int(row["claimable"]) == on_chain > 0
        assert row["withdrawn"] == "0"
        assert row["text"] == tokens(on_chain)

    credits = world.client.get(
        f"/api/v1/advocates/{advocate.address}/credits?limit=200", headers=world.bearer(token)
    ).json()["items"]
    assert credits
    shown_credits = page.locator("#credits-table tbody tr").evaluate_all(
        """rows => rows.map(r => ({
            question: r.dataset.question,
            amount: r.querySelector('.amount .amount').dataset.raw,
            decimals: r.querySelector('.amount .amount').dataset.decimals,
            share: r.querySelector('.share').innerText,
        }))"""
    )
    assert shown_credits == [
        {
            "question": c["question_id"],
            "amount": c["amount"],
            "decimals": "18",
            "share": f"{c['share_bps'] / 100:.2f}% swarm share" if c["swarm"] else "whole bounty",
        }
        for c in credits
    ]

    answers = world.client.get(
        f"/api/v1/advocates/{advocate.address}/answers?limit=200", headers=world.bearer(token)
    ).json()["items"]
    assert answers
    shown_answers = page.locator("#answers-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.answerId)")
    assert shown_answers == [a["answer_id"] for a in reversed(answers)][:20]
    screenshot(page, "advocate")


def test_a_signature_by_another_key_is_refused_with_the_apis_reason(
    world: World, page: Page, with_wallet: Callable[[str, LocalAccount], Wallet]
) -> None:
    advocate = world.advocates[0]
    impostor = dev_account(19)
    with_wallet(advocate.address, impostor)
    page.goto(f"/advocate/{advocate.address}")

    page.click("#sign-in")

    message = page.locator("#account-message")
    expect(message).to_contain_text("Sign-in refused.")
    expect(message).to_contain_text(
        f"sign-in refused: the signature recovers to {impostor.address}, not {advocate.address}"
    )
    expect(page.locator("#earnings")).to_be_empty()
    assert page.evaluate("sessionStorage.getItem('peercare.advocate.session')") is None


def test_without_a_wallet_the_page_says_one_is_needed(world: World, page: Page) -> None:
    page.goto(f"/advocate/{world.advocates[0].address}")

    page.click("#sign-in")

    expect(page.locator("#account-message")).to_contain_text("A browser wallet is needed to sign in")
    expect(page.locator("#scores")).to_be_visible()  # reputation stays public


def tokens(raw: int) -> str:
    whole, fraction = divmod(raw, 10**18)
    decimals = f"{fraction:018d}".rstrip("0")
    return f"{whole:,}" + (f".{decimals}" if decimals else "")

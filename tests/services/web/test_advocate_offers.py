"""The advocate page's offers, in headless chromium: a question routing offered the signed-in
advocate shows with its text, bounty and a running countdown; Accept and Decline reach the API and
change the offer; an answer written on the page is signed by the wallet (EIP-712) and recorded,
relayed without gas, for the oracle to post back on the ticket."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect
from sqlalchemy import select

from peercare.core.ledger_ids import question_id, short_string
from peercare.db.tables.oracle import Answer
from peercare.db.tables.routing import Offer
from tests.support.health_support import wait_for
from tests.support.web_helpers import Wallet, screenshot
from tests.support.world import World


def offered_question(world: World) -> tuple[str, LocalAccount]:
    """A new ticket, routed by the world's own router, and an advocate (with a key here) it was offered to."""
    ticket = f"WEB-{time.time_ns()}"
    data = {
        "subject": "Stake not showing",
        "body": "My stake is missing\nsince yesterday",
        "tags": ["staking"],
        "requester_id": "c-web",
    }
    world.deliver(world.dev.brand_id, "ticket_created", f"{ticket}-open", ticket, **data)
    world.drain()
    qid = "0x" + question_id(world.dev.brand_id, short_string("generic"), ticket).hex()
    keys = {a.address: a for a in world.advocates}

    def offered() -> LocalAccount | None:
        with world.oracle.database.read() as session:
            advocates = session.scalars(
                select(Offer.advocate).where(Offer.question_id == qid, Offer.role == "answerer")
            )
            return next((keys[a] for a in advocates if a in keys), None)

    return qid, wait_for(offered, f"an offer of {qid} to an advocate", timeout_s=60)


def offer_state(world: World, qid: str, advocate: str) -> tuple[str, str | None]:
    with world.oracle.database.read() as session:
        (offer,) = session.scalars(select(Offer).where(Offer.question_id == qid, Offer.advocate == advocate))
        return offer.state, offer.reason


def sign_in(page: Page, advocate: LocalAccount) -> None:
    page.goto("/advocate")
    page.click("#sign-in")
    expect(page.locator("#signed-in-as")).to_have_text(advocate.address)


def test_an_offered_advocate_sees_the_question_accepts_it_and_answers_it_from_the_page(
    world: World, page: Page, with_wallet: Callable[[str, LocalAccount], Wallet]
) -> None:
    qid, advocate = offered_question(world)
    wallet = with_wallet(advocate.address, advocate)
    sign_in(page, advocate)

    card = page.locator(f"article.offer[data-question-id='{qid}']")
    expect(card.locator("h3")).to_have_text("Stake not showing")
    expect(card.locator(".question-text")).to_contain_text("My stake is missing")
    expect(card.locator(".tag")).to_have_text(["staking"])
    expect(card.locator(".role")).to_have_text("answer it")
    countdown = card.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^\d+:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # it runs
    screenshot(page, "advocate-offers")

    card.locator("button.accept").click()
    expect(page.locator("#offers-message")).to_contain_text("Accepted")
    expect(card).to_have_attribute("data-state", "accepted")
    assert offer_state(world, qid, advocate.address) == ("accepted", None)

    card.locator("textarea.answer-text").fill("Re-delegate from the wallet's staking tab.")
    card.locator(".answer-form button[type=submit]").click()
    expect(page.locator("#offers-message")).to_contain_text("Answer sent")
    (typed,) = wallet.typed
    assert typed["primaryType"] == "Answer" and typed["message"]["questionId"] == qid  # type: ignore[index]
    with world.oracle.database.read() as session:
        (answer,) = session.scalars(
            select(Answer).where(Answer.question_id == qid, Answer.advocate == advocate.address)
        )
        assert answer.outbox_id is not None  # relayed by the oracle: the advocate pays no gas


def test_declining_from_the_page_records_the_reason_and_removes_the_offer(
    world: World, page: Page, with_wallet: Callable[[str, LocalAccount], Wallet]
) -> None:
    qid, advocate = offered_question(world)
    with_wallet(advocate.address, advocate)
    sign_in(page, advocate)
    card = page.locator(f"article.offer[data-question-id='{qid}']")
    card.locator("input.decline-reason").fill("not my area")
    card.locator("button.decline").click()
    expect(page.locator("#offers-message")).to_contain_text("Declined")
    expect(card).to_have_count(0)
    assert offer_state(world, qid, advocate.address) == ("declined", "not my area")

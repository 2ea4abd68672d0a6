"""The advocate view without signing in: reputation per topic, as the API serves it, anyone may see."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.support.web_helpers import screenshot
from tests.support.world import World


def ranked_advocate(world: World) -> str:
    """The advocate with the most topics in the latest epoch."""
    best, topics = "", -1
    for account in world.advocates:
        scores = world.client.get(f"/api/v1/advocates/{account.address}/reputation").json()["scores"]
        if len(scores) > topics:
            best, topics = account.address, len(scores)
    assert topics > 0, "no advocate has a score in epoch 1"
    return best


def test_the_page_shows_each_topic_with_the_score_the_api_serves(world: World, page: Page) -> None:
    address = ranked_advocate(world)
    served = world.client.get(f"/api/v1/advocates/{address}/reputation").json()

    page.goto(f"/advocate/{address}")
    expect(page.locator("#scores tbody tr")).to_have_count(len(served["scores"]))

    shown = page.locator("#scores tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.topic, r.dataset.score, r.querySelector('th').innerText])"
    )
    assert shown == [[s["topic"], s["score"], s["topic_label"]] for s in served["scores"]]
    for score in served["scores"]:
        row = page.locator(f"#scores tr[data-topic='{score['topic']}'] td.number")
        expect(row).to_have_text(f"{int(score['score']):,}")
        expect(row).to_have_attribute("title", f"{score['score']} (1,000,000 = one fresh accepted answer)")
    expect(page.locator("#epoch")).to_have_text(str(served["epoch"]))
    note = page.locator("#verify-note")
    expect(note).to_contain_text(served["root"])
    expect(note).to_contain_text(served["reputation_roots"])
    expect(note).to_contain_text("verifyScore(epoch, advocate, topic, score, proof)")
    root_on_chain = world.dev.roots.functions.rootOf(served["epoch"]).call()[0]
    assert served["root"] == "0x" + root_on_chain.hex().removeprefix("0x")
    screenshot(page, "advocate-public")


def test_an_address_typed_in_lower_case_is_shown_checksummed(world: World, page: Page) -> None:
    address = world.advocates[0].address
    page.goto("/advocate")
    expect(page.locator("#reputation")).to_contain_text("Enter an address, or sign in with your wallet.")

    page.fill("#address", address.lower())
    page.click("#lookup button[type=submit]")

    expect(page).to_have_url(f"/advocate/{address}")
    expect(page.locator("#reputation-summary")).to_contain_text(address)  # EIP-55, computed in the page


def test_a_malformed_address_is_named_as_such(world: World, page: Page) -> None:
    page.goto("/advocate/0x1234")
    expect(page.locator("#lookup-message")).to_contain_text("This page's address is not an address")


def test_before_the_first_epoch_the_page_says_there_is_none_yet(world: World, page: Page) -> None:
    address = world.advocates[0].address
    problem = {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no reputation epoch has been published yet",
    }
    page.route(
        "**/api/v1/advocates/*/reputation",
        lambda route: route.fulfill(status=404, content_type="application/problem+json", body=json.dumps(problem)),
    )

    page.goto(f"/advocate/{address}")

    expect(page.locator("#reputation-message")).to_contain_text(
        "No reputation epoch yet: scores appear once the first epoch is published on chain"
    )

"""The auditor view: an auditor key, each epoch's verification, one answer's check."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from peercare.db.tables import projections as ix
from tests.support.web_helpers import screenshot
from tests.support.world import World


def use_key(page: Page, key: str) -> None:
    page.goto("/auditor")
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")


def wait_for_the_epochs_checked(page: Page) -> None:
    """The epoch table grows as it fills in; a click on the answer form during that can miss."""
    expect(page.locator("#epochs-table tr[data-epoch='1']")).to_have_attribute("data-status", "verified")
    expect(page.locator("#epochs-progress")).to_have_text("The published epoch is verified.")


def test_epoch_one_shows_as_verified_with_the_root_on_chain(world: World, page: Page) -> None:
    use_key(page, world.auditor_key)

    row = page.locator("#epochs-table tr[data-epoch='1']")
    expect(row).to_have_attribute("data-status", "verified")
    root = "0x" + world.dev.roots.functions.rootOf(1).call()[0].hex().removeprefix("0x")
    expect(row.locator(".root-on-chain")).to_have_text(root)
    expect(row.locator(".root-recomputed")).to_have_text(root)
    expect(row.locator(".status")).to_have_text("✓ verified")
    expect(page.locator("#epochs-progress")).to_have_text("The published epoch is verified.")
    assert page.evaluate("sessionStorage.getItem('peercare.auditor.key')") == world.auditor_key


def test_a_bad_key_shows_the_apis_401_message(world: World, page: Page) -> None:
    use_key(page, "pc_not_a_key")

    expect(page.locator("#key-message")).to_have_text("The API refused the key (401 Unauthorized): unknown API key.")
    expect(page.locator("#epochs-table")).to_have_count(0)


def test_checking_a_batched_answer_shows_its_proof_valid_and_recorded_on_chain(world: World, page: Page) -> None:
    with world.oracle.database.read() as session:
        answer = session.scalars(
            select(ix.AnswerRow).where(ix.AnswerRow.batch_root.is_not(None)).order_by(ix.AnswerRow.id)
        ).first()
    assert answer is not None
    use_key(page, world.auditor_key)
    wait_for_the_epochs_checked(page)

    page.fill("#answer-id", answer.answer_id.upper().replace("0X", "0x"))
    page.click("#answer-form button[type=submit]")

    expect(page.locator("#proof-valid")).to_have_attribute("data-value", "true")
    expect(page.locator("#proof-valid")).to_have_text("✓ valid")
    expect(page.locator("#recorded")).to_have_attribute("data-value", "true")
    expect(page.locator("#content-status")).to_have_attribute("data-value", "available")
    expect(page.locator("#answer-audit")).to_contain_text(answer.batch_root or "")
    screenshot(page, "auditor")


def test_an_unknown_answer_shows_the_apis_reason(world: World, page: Page) -> None:
    use_key(page, world.auditor_key)
    wait_for_the_epochs_checked(page)
    unknown = "0x" + "ab" * 32

    page.fill("#answer-id", unknown)
    page.click("#answer-form button[type=submit]")

    expect(page.locator("#answer-error")).to_have_text(
        f"The API answered 404: no answer {unknown} has been indexed from the ledger"
    )

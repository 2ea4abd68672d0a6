"""Valid deliveries from every ticketing source become the expected normalised event.

The helpers here sign deliveries the way each source does, computed independently of
peercare.oracle.webhooks (the other test_webhook_*.py files import them). Zendesk bodies follow the
event-subscription payloads Zendesk documents (developer.zendesk.com, "Ticket events"); Freshdesk
and generic bodies follow docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from eth_account import Account

from peercare.core.typed_data import answer_typed_data, recover_signer, sign_answer
from peercare.oracle.events import (
    AnswerSignature,
    CommentAdded,
    Ignored,
    SatisfactionRated,
    TicketCreated,
    TicketSolved,
    event_from_json,
)
from peercare.oracle.webhooks import verify_and_parse
from tests.support.webhook_support import (
    BRAND,
    FRESHDESK,
    GENERIC,
    NOW,
    SIGNATURE,
    WALLET,
    ZENDESK,
    freshdesk_body,
    freshdesk_delivery,
    generic_body,
    generic_delivery,
    zendesk_comment,
    zendesk_delivery,
    zendesk_event,
    zendesk_satisfaction,
)

# --- signing, as each source does it -----------------------------------------------------------


# --- bodies ----------------------------------------------------------------------------------------


def parse_zendesk(payload: dict[str, Any]) -> Any:
    return verify_and_parse("zendesk", ZENDESK, *zendesk_delivery(payload), now=NOW)


def parse_freshdesk(payload: dict[str, Any]) -> Any:
    return verify_and_parse("freshdesk", FRESHDESK, *freshdesk_delivery(payload), now=NOW)


def parse_generic(payload: dict[str, Any]) -> Any:
    return verify_and_parse("generic", GENERIC, *generic_delivery(payload), now=NOW, brand_id=BRAND)


OCCURRED = datetime(2026, 11, 22, 8, 59, 58, 672717, tzinfo=UTC)


# --- zendesk ---------------------------------------------------------------------------------------


def test_zendesk_ticket_created_becomes_ticket_created() -> None:
    event = parse_zendesk(zendesk_event("created", {}))

    assert event == TicketCreated(
        kind="ticket_created",
        event_key="cbe4028c-7239-495d-b020-f22348516046",
        ticket_id="5158",
        occurred_at=OCCURRED,
        subject="Wi-Fi drops every evening",
        body="My router drops Wi-Fi every evening at 8pm.",
        tags=("router", "wifi"),
        requester_id="8447388090494",
        priority="high",
    )
    assert event.occurred_at.tzinfo is UTC


def test_zendesk_numeric_ids_become_strings() -> None:
    payload = zendesk_event("created", {}, id=5158, requester_id=8447388090494, priority=None)

    event = parse_zendesk(payload)

    assert (event.ticket_id, event.requester_id, event.priority) == ("5158", "8447388090494", None)


def test_zendesk_comment_carries_the_advocates_tagged_wallet_and_signature() -> None:
    tag = f"[peercare wallet={WALLET.lower()} nonce=3 deadline=1795000000 sig={SIGNATURE.upper().replace('0X', '0x')}]"

    event = parse_zendesk(zendesk_comment(f"Reset the channel to 6, then reboot.\n\n{tag}\n"))

    assert event == CommentAdded(
        kind="comment_added",
        event_key="cbe4028c-7239-495d-b020-f22348516046",
        ticket_id="5158",
        occurred_at=OCCURRED,
        comment_id="9876543210",
        author_id="8447388090777",
        author_wallet=WALLET,
        body="Reset the channel to 6, then reboot.",
        public=True,
        signature=AnswerSignature(nonce=3, deadline=1795000000, signature=SIGNATURE),
    )


def test_zendesk_comment_without_a_tag_has_no_wallet() -> None:
    event = parse_zendesk(zendesk_comment("Same here, any news?", public=False))

    assert isinstance(event, CommentAdded)
    assert (event.body, event.author_wallet, event.signature, event.public) == (
        "Same here, any news?",
        None,
        None,
        False,
    )


def test_zendesk_tag_quoted_inside_a_comment_is_plain_text() -> None:
    body = f"> Reset the channel [peercare wallet={WALLET}]\n\nThat did not work."

    event = parse_zendesk(zendesk_comment(body))

    assert (event.body, event.author_wallet) == (body, None)


def test_zendesk_status_solved_becomes_ticket_solved_naming_the_solution_tag() -> None:
    payload = zendesk_event(
        "status_changed",
        {"current": "SOLVED", "previous": "OPEN"},
        status="SOLVED",
        tags=["wifi", "peercare_solution_9876543210"],
    )

    event = parse_zendesk(payload)

    assert event == TicketSolved(
        kind="ticket_solved",
        event_key="cbe4028c-7239-495d-b020-f22348516046",
        ticket_id="5158",
        occurred_at=OCCURRED,
        solved_by_comment_id="9876543210",
    )


def test_zendesk_solved_without_a_solution_tag_names_no_comment() -> None:
    event = parse_zendesk(zendesk_event("status_changed", {"current": "SOLVED", "previous": "PENDING"}))

    assert isinstance(event, TicketSolved)
    assert event.solved_by_comment_id is None


@pytest.mark.parametrize(
    ("kind", "event", "reason"),
    [
        ("status_changed", {"current": "PENDING", "previous": "OPEN"}, "status changed to PENDING, not SOLVED"),
        (
            "priority_changed",
            {"current": "URGENT", "previous": "HIGH"},
            "zen:event-type:ticket.priority_changed is not used by PeerCare",
        ),
    ],
)
def test_zendesk_ticket_events_peercare_does_not_use_are_ignored(kind: str, event: dict[str, Any], reason: str) -> None:
    parsed = parse_zendesk(zendesk_event(kind, event))

    assert parsed == Ignored(
        kind="ignored",
        event_key="cbe4028c-7239-495d-b020-f22348516046",
        ticket_id="5158",
        occurred_at=OCCURRED,
        reason=reason,
    )


@pytest.mark.parametrize(("rating", "expected"), [("4", 4), (5, 5), ("Good, I'm satisfied", 5), ("bad", 1)])
def test_zendesk_satisfaction_trigger_becomes_satisfaction_rated(rating: Any, expected: int) -> None:
    event = parse_zendesk(zendesk_satisfaction(rating))

    assert event == SatisfactionRated(
        kind="satisfaction_rated",
        event_key=f"satisfaction:5158:{int(datetime(2026, 11, 22, 8, 59, tzinfo=UTC).timestamp())}:{expected}",
        ticket_id="5158",
        occurred_at=datetime(2026, 11, 22, 8, 59, tzinfo=UTC),
        rating=expected,
        rater_id="8447388090494",
        comment_id="9876543210",
    )


# --- freshdesk -------------------------------------------------------------------------------------


def test_freshdesk_ticket_created_becomes_ticket_created() -> None:
    payload = freshdesk_body(
        "ticket_created",
        subject="Refund not received",
        description="I returned the kettle on 2 November.",
        tags="Refunds, kettle, ,refunds",
        requester_id="ada@example.com",
        priority="Medium",
        ticket_url="https://acme.freshdesk.com/a/tickets/42",  # extra fields from the template are tolerated
    )

    event = parse_freshdesk(payload)

    assert isinstance(event, TicketCreated)
    assert event.model_dump(exclude={"event_key"}) == {
        "kind": "ticket_created",
        "ticket_id": "42",
        "occurred_at": datetime(2026, 11, 22, 8, 59, 30, tzinfo=UTC),
        "subject": "Refund not received",
        "body": "I returned the kettle on 2 November.",
        "tags": ("kettle", "refunds"),
        "requester_id": "ada@example.com",
        "priority": "medium",
    }
    digest = hashlib.sha256(
        json.dumps(payload["freshdesk_webhook"], sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert event.event_key == f"ticket_created:{digest}"


def test_freshdesk_comment_becomes_comment_added_with_a_stable_derived_comment_id() -> None:
    comment = f'Bob : <div dir="ltr">Call them on the refund line.<br>[peercare wallet={WALLET}]</div>'
    payload = freshdesk_body("comment_added", comment=comment, author_id="bob@example.com", public="false")

    event = parse_freshdesk(payload)

    assert isinstance(event, CommentAdded)
    assert (event.ticket_id, event.author_id, event.author_wallet, event.public, event.signature) == (
        "42",
        "bob@example.com",
        WALLET,
        False,
        None,
    )
    assert event.body == 'Bob : <div dir="ltr">Call them on the refund line.<br></div>'
    assert event.comment_id.startswith("fd-")
    assert parse_freshdesk(payload).comment_id == event.comment_id


def test_freshdesk_comment_id_from_the_template_is_kept() -> None:
    payload = freshdesk_body("comment_added", comment="Thanks!", author_id="ada@example.com", comment_id=7001)

    event = parse_freshdesk(payload)

    assert (event.comment_id, event.public) == ("7001", True)


def test_freshdesk_ticket_solved_becomes_ticket_solved() -> None:
    solved = parse_freshdesk(freshdesk_body("ticket_solved", solved_by_comment_id="7001"))
    unnamed = parse_freshdesk(freshdesk_body("ticket_solved", solved_by_comment_id=""))

    assert isinstance(solved, TicketSolved)
    assert (solved.ticket_id, solved.solved_by_comment_id) == ("42", "7001")
    assert unnamed.solved_by_comment_id is None


def test_freshdesk_satisfaction_becomes_satisfaction_rated() -> None:
    payload = freshdesk_body("satisfaction_rated", rating="5", rater_id="ada@example.com", comment_id="")

    event = parse_freshdesk(payload)

    assert isinstance(event, SatisfactionRated)
    assert (event.ticket_id, event.rating, event.rater_id, event.comment_id) == ("42", 5, "ada@example.com", None)


# --- generic ---------------------------------------------------------------------------------------

GENERIC_OCCURRED = datetime(2026, 11, 22, 8, 59, tzinfo=UTC)


def test_generic_ticket_created_becomes_ticket_created() -> None:
    data = {
        "subject": "Card declined abroad",
        "body": "My card is declined in Lisbon.",
        "tags": ["Travel", "cards"],
        "requester_id": "cust-9",
        "priority": None,
    }

    event = parse_generic(generic_body("ticket_created", data))

    assert event == TicketCreated(
        kind="ticket_created",
        event_key="evt_01",
        ticket_id="T-1",
        occurred_at=GENERIC_OCCURRED,
        subject="Card declined abroad",
        body="My card is declined in Lisbon.",
        tags=("cards", "travel"),
        requester_id="cust-9",
    )


def test_generic_comment_relays_a_signature_that_recovers_the_advocate() -> None:
    advocate = Account.from_key("0x" + "42" * 32)
    typed = answer_typed_data(
        chain_id=31337,
        ledger="0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        question_id=b"\x01" * 32,
        content_digest=b"\x02" * 32,
        nonce=0,
        deadline=1795000000,
    )
    signature = "0x" + sign_answer(advocate.key, typed).hex()
    data = {
        "comment_id": "C-7",
        "author_id": "adv-3",
        "author_wallet": advocate.address.lower(),
        "body": "Enable travel mode in the app.",
        "public": True,
        "signature": {"nonce": 0, "deadline": 1795000000, "signature": signature.upper().replace("0X", "0x")},
    }

    event = parse_generic(generic_body("comment_added", data))

    assert isinstance(event, CommentAdded)
    assert event.author_wallet == advocate.address
    assert event.signature is not None
    assert recover_signer(typed, bytes.fromhex(event.signature.signature[2:])) == advocate.address


def test_generic_comment_may_leave_out_wallet_and_signature() -> None:
    data = {"comment_id": "C-8", "author_id": "cust-9", "body": "Thanks!", "public": True}

    event = parse_generic(generic_body("comment_added", data))

    assert event == CommentAdded(
        kind="comment_added",
        event_key="evt_01",
        ticket_id="T-1",
        occurred_at=GENERIC_OCCURRED,
        comment_id="C-8",
        author_id="cust-9",
        author_wallet=None,
        body="Thanks!",
        public=True,
    )


def test_generic_ticket_solved_becomes_ticket_solved() -> None:
    event = parse_generic(generic_body("ticket_solved", {"solved_by_comment_id": "C-7"}))

    assert event == TicketSolved(
        kind="ticket_solved",
        event_key="evt_01",
        ticket_id="T-1",
        occurred_at=GENERIC_OCCURRED,
        solved_by_comment_id="C-7",
    )


def test_generic_satisfaction_becomes_satisfaction_rated() -> None:
    event = parse_generic(generic_body("satisfaction_rated", {"rating": 2, "rater_id": "cust-9", "comment_id": "C-7"}))

    assert event == SatisfactionRated(
        kind="satisfaction_rated",
        event_key="evt_01",
        ticket_id="T-1",
        occurred_at=GENERIC_OCCURRED,
        rating=2,
        rater_id="cust-9",
        comment_id="C-7",
    )


# --- replay keys and storage -------------------------------------------------------------------------

DELIVERIES = {
    "zendesk": (parse_zendesk, zendesk_comment("First."), zendesk_event("created", {}, event_id="other-event")),
    "freshdesk": (
        parse_freshdesk,
        freshdesk_body("comment_added", comment="First.", author_id="a@example.com"),
        freshdesk_body("comment_added", comment="Second.", author_id="a@example.com"),
    ),
    "generic": (
        parse_generic,
        generic_body("ticket_solved", {}),
        generic_body("ticket_solved", {}, event_id="evt_02"),
    ),
}


@pytest.mark.parametrize("source", DELIVERIES)
def test_the_same_delivery_twice_has_the_same_event_key(source: str) -> None:
    parse, payload, _ = DELIVERIES[source]

    assert parse(payload).event_key == parse(json.loads(json.dumps(payload))).event_key


@pytest.mark.parametrize("source", DELIVERIES)
def test_two_deliveries_have_different_event_keys(source: str) -> None:
    parse, first, second = DELIVERIES[source]

    assert parse(first).event_key != parse(second).event_key


def test_freshdesk_identical_comments_at_different_times_have_different_event_keys() -> None:
    first = freshdesk_body("comment_added", comment="Thanks!", author_id="a@example.com")
    later = freshdesk_body(
        "comment_added", comment="Thanks!", author_id="a@example.com", occurred_at="2026-11-22T08:59:31Z"
    )

    assert parse_freshdesk(first).event_key != parse_freshdesk(later).event_key


STORED = {
    "ticket_created": (
        parse_generic,
        generic_body("ticket_created", {"subject": "s", "body": "b", "tags": ["X"], "requester_id": "r"}),
    ),
    "comment_added": (
        parse_zendesk,
        zendesk_comment(f"Try. [peercare wallet={WALLET} nonce=1 deadline=9 sig={SIGNATURE}]"),
    ),
    "ticket_solved": (parse_freshdesk, freshdesk_body("ticket_solved", solved_by_comment_id="C-1")),
    "satisfaction_rated": (parse_zendesk, zendesk_satisfaction()),
    "ignored": (parse_zendesk, zendesk_event("priority_changed", {"current": "LOW"})),
}


@pytest.mark.parametrize("kind", STORED)
def test_every_kind_of_event_survives_the_storage_round_trip(kind: str) -> None:
    parse, payload = STORED[kind]
    event = parse(payload)

    stored = json.loads(json.dumps(event.model_dump(mode="json")))

    assert (event.kind, event_from_json(stored)) == (kind, event)

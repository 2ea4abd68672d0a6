"""An authentic delivery whose body is not what its source's format promises is a 422, with
pydantic-like errors whose `loc` is a path in that source's body (not in the normalised model)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.oracle.events import event_from_json
from peercare.oracle.webhooks import WebhookRejected, verify_and_parse
from tests.support.webhook_support import (
    BRAND,
    FRESHDESK,
    GENERIC,
    NOW,
    SIGNATURE,
    STAMP,
    WALLET,
    ZENDESK,
    freshdesk_body,
    freshdesk_delivery,
    generic_body,
    generic_delivery,
    generic_signature,
    zendesk_comment,
    zendesk_delivery,
    zendesk_event,
    zendesk_satisfaction,
    zendesk_signature,
)


def signed(source: str, body: bytes) -> tuple[dict[str, str], bytes]:
    """Headers that authenticate exactly these bytes, JSON or not."""
    if source == "zendesk":
        signature = zendesk_signature(ZENDESK.secret, STAMP.encode() + body)
        return {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": STAMP}, body
    if source == "generic":
        signature = generic_signature(GENERIC.secret, int(NOW), body)
        return {"X-PeerCare-Timestamp": str(int(NOW)), "X-PeerCare-Signature": f"v2={signature}"}, body
    return freshdesk_delivery({})[0], body


CREDENTIALS = {"zendesk": ZENDESK, "generic": GENERIC, "freshdesk": FRESHDESK}


DELIVERIES: dict[str, Callable[[dict[str, Any]], tuple[dict[str, str], bytes]]] = {
    "zendesk": zendesk_delivery,
    "generic": generic_delivery,
    "freshdesk": freshdesk_delivery,
}


def errors_of(source: str, payload: dict[str, Any]) -> WebhookRejected:
    headers, body = DELIVERIES[source](payload)
    with pytest.raises(WebhookRejected) as caught:
        verify_and_parse(source, CREDENTIALS[source], headers, body, NOW, brand_id=BRAND)
    assert caught.value.status == 422
    return caught.value


def locs(rejection: WebhookRejected) -> list[list[str | int]]:
    return [error["loc"] for error in rejection.errors]


# --- any source -------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", CREDENTIALS)
@pytest.mark.parametrize(
    ("body", "loc", "type_"),
    [(b"{not json", [], "json_invalid"), (b'["a list"]', [], "dict_type"), (b'{"n": NaN}', [], "json_invalid")],
)
def test_body_that_is_not_a_json_object_is_refused(source: str, body: bytes, loc: list[Any], type_: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_and_parse(source, CREDENTIALS[source], *signed(source, body), now=NOW, brand_id=BRAND)

    assert (caught.value.status, locs(caught.value), caught.value.errors[0]["type"]) == (422, [loc], type_)
    assert caught.value.detail.startswith("the body is invalid at the body: ")


def test_errors_carry_only_loc_msg_and_type_never_the_input() -> None:
    secret_like = "x" * 100_001
    rejection = errors_of(
        "generic",
        generic_body("comment_added", {"comment_id": "C", "author_id": "A", "body": secret_like, "public": True}),
    )

    assert rejection.errors == [
        {"loc": ["data", "body"], "msg": "String should have at most 100000 characters", "type": "string_too_long"}
    ]
    assert rejection.detail == "the body is invalid at data.body: String should have at most 100000 characters"


# --- zendesk ---------------------------------------------------------------------------------------


def test_zendesk_event_that_is_not_about_a_ticket_is_refused() -> None:
    payload = zendesk_event("created", {})
    payload["type"] = "zen:event-type:user.created"

    rejection = errors_of("zendesk", payload)

    assert (locs(rejection), rejection.errors[0]["type"]) == ([["type"]], "literal_error")


def test_zendesk_missing_and_mistyped_fields_are_located_in_the_zendesk_body() -> None:
    payload = zendesk_comment("Try this.")
    del payload["event"]["comment"]["author"]
    payload["event"]["comment"]["is_public"] = "yes"
    payload["detail"]["id"] = None
    payload["time"] = "last tuesday"

    rejection = errors_of("zendesk", payload)

    assert sorted(map(str, locs(rejection))) == sorted(
        map(
            str,
            [
                ["time"],
                ["detail", "id"],
                ["event", "comment", "author"],
                ["event", "comment", "is_public"],
            ],
        )
    )


def test_zendesk_envelope_parts_that_are_not_objects_are_reported_once() -> None:
    payload = zendesk_comment("Try this.")
    payload["event"] = "comment"

    rejection = errors_of("zendesk", payload)

    assert locs(rejection) == [["event"]]
    assert rejection.errors[0]["type"] == "dict_type"


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("[peercare wallet=0x5b38Da6a701c568545dCfcB03FcB875f56beddC4]", "not an Ethereum address"),
        (f"[peercare wallet={WALLET} nonce=1 deadline=2 sig=0x1234]", "signature is invalid"),
        (f"[peercare wallet={WALLET} nonce=1 sig={SIGNATURE}]", "needs wallet, nonce, deadline and sig together"),
        (f"[peercare nonce=1 deadline=2 sig={SIGNATURE}]", "needs wallet, nonce, deadline and sig together"),
        (f"[peercare wallet={WALLET} wallet={WALLET}]", "malformed, unknown or repeated entry"),
        ("[peercare wallet]", "malformed, unknown or repeated entry"),
        (f"[peercare wallet={WALLET} nonce=-1 deadline=2 sig={SIGNATURE}]", "not a non-negative integer"),
    ],
)
def test_zendesk_bad_peercare_tag_is_located_at_the_comment_body(tag: str, message: str) -> None:
    rejection = errors_of("zendesk", zendesk_comment(f"Try this. {tag}"))

    assert locs(rejection) == [["event", "comment", "body"]]
    assert message in rejection.errors[0]["msg"]


def test_zendesk_two_solution_tags_are_ambiguous() -> None:
    payload = zendesk_event(
        "status_changed", {"current": "SOLVED"}, tags=["peercare_solution_1", "peercare_solution_2"]
    )

    assert locs(errors_of("zendesk", payload)) == [["detail", "tags"]]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"rating": "meh"}, ["rating"]),
        ({"rating": "9"}, ["rating"]),
        ({"time": "2026-11-22T08:59"}, ["time"]),
        ({"rater_id": ""}, ["rater_id"]),
    ],
)
def test_zendesk_satisfaction_envelope_errors_are_located(fields: dict[str, Any], loc: list[str]) -> None:
    assert locs(errors_of("zendesk", zendesk_satisfaction(**fields))) == [loc]


def test_zendesk_tolerates_fields_it_may_add() -> None:
    payload = zendesk_comment("Try this.")
    payload["event"]["comment"]["html_body"] = "<p>Try this.</p>"
    payload["brand_new_field"] = {"any": "thing"}
    headers, body = zendesk_delivery(payload)

    assert verify_and_parse("zendesk", ZENDESK, headers, body, NOW).kind == "comment_added"


# --- freshdesk -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "loc", "type_"),
    [
        (freshdesk_body("ticket_closed"), ["freshdesk_webhook", "event"], "literal_error"),
        ({"event": "ticket_solved"}, ["freshdesk_webhook"], "missing"),
        (
            freshdesk_body("ticket_solved", occurred_at="2026-11-22 08:59:30"),
            ["freshdesk_webhook", "occurred_at"],
            "datetime_parsing",
        ),
        (freshdesk_body("ticket_solved", ticket_id=""), ["freshdesk_webhook", "ticket_id"], "string_too_short"),
        (freshdesk_body("comment_added", author_id="a@example.com"), ["freshdesk_webhook", "comment"], "missing"),
        (
            freshdesk_body("comment_added", comment="Hi", author_id="a", public="maybe"),
            ["freshdesk_webhook", "public"],
            "bool_type",
        ),
        (
            freshdesk_body("satisfaction_rated", rating="6", rater_id="a"),
            ["freshdesk_webhook", "rating"],
            "less_than_equal",
        ),
        (
            freshdesk_body("ticket_created", subject="s" * 1001, description="d", requester_id="r"),
            ["freshdesk_webhook", "subject"],
            "string_too_long",
        ),
    ],
)
def test_freshdesk_errors_are_located_in_the_template(payload: dict[str, Any], loc: list[str], type_: str) -> None:
    rejection = errors_of("freshdesk", payload)

    assert [(error["loc"], error["type"]) for error in rejection.errors] == [(loc, type_)]


def test_freshdesk_more_than_50_distinct_tags_are_refused() -> None:
    tags = ", ".join(f"tag{i}" for i in range(51))
    payload = freshdesk_body("ticket_created", subject="s", description="d", requester_id="r", tags=tags)

    assert locs(errors_of("freshdesk", payload)) == [["freshdesk_webhook", "tags"]]


# --- generic (strict) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "loc", "type_"),
    [
        ({**generic_body("ticket_solved", {}), "surprise": 1}, ["surprise"], "extra_forbidden"),
        (generic_body("ticket_solved", {"solved_by": "C-1"}), ["data", "solved_by"], "extra_forbidden"),
        (generic_body("ticket_closed", {}), ["type"], "literal_error"),
        ({**generic_body("ticket_solved", {}), "ticket_id": 17}, ["ticket_id"], "string_type"),
        ({**generic_body("ticket_solved", {}), "occurred_at": 1795000000}, ["occurred_at"], "datetime_type"),
        ({**generic_body("ticket_solved", {}), "id": "k" * 201}, ["id"], "string_too_long"),
        ({k: v for k, v in generic_body("ticket_solved", {}).items() if k != "data"}, ["data"], "missing"),
        (generic_body("satisfaction_rated", {"rating": "5", "rater_id": "r"}), ["data", "rating"], "int_type"),
        (generic_body("satisfaction_rated", {"rating": 0, "rater_id": "r"}), ["data", "rating"], "greater_than_equal"),
        (
            generic_body(
                "comment_added",
                {"comment_id": "C", "author_id": "A", "author_wallet": "0x1234", "body": "b", "public": True},
            ),
            ["data", "author_wallet"],
            "value_error",
        ),
        (
            generic_body(
                "comment_added",
                {
                    "comment_id": "C",
                    "author_id": "A",
                    "author_wallet": WALLET,
                    "body": "b",
                    "public": True,
                    "signature": {"nonce": 0, "deadline": 9, "signature": "0x" + "zz" * 65},
                },
            ),
            ["data", "signature", "signature"],
            "value_error",
        ),
        (
            generic_body(
                "comment_added",
                {
                    "comment_id": "C",
                    "author_id": "A",
                    "author_wallet": WALLET,
                    "body": "b",
                    "public": True,
                    "signature": {"nonce": -1, "deadline": 9, "signature": SIGNATURE},
                },
            ),
            ["data", "signature", "nonce"],
            "greater_than_equal",
        ),
        (
            generic_body(
                "ticket_created", {"subject": "s", "body": "b", "tags": ["ok", "x" * 51], "requester_id": "r"}
            ),
            ["data", "tags", 1],
            "string_too_long",
        ),
    ],
)
def test_generic_errors_are_located_in_the_generic_body(payload: dict[str, Any], loc: list[Any], type_: str) -> None:
    rejection = errors_of("generic", payload)

    assert [(error["loc"], error["type"]) for error in rejection.errors] == [(loc, type_)]


def test_generic_reports_every_problem_at_once() -> None:
    payload = generic_body("ticket_created", {"subject": 1, "tags": "a,b", "requester_id": "r"}, ticket_id="")

    rejection = errors_of("generic", payload)

    assert sorted(map(str, locs(rejection))) == sorted(
        map(str, [["ticket_id"], ["data", "subject"], ["data", "body"], ["data", "tags"]])
    )
    assert rejection.detail.endswith("(and 3 more)")
    assert json.dumps(rejection.errors)  # JSON-ready for the route's response


# --- anything at all ---------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Start from valid bodies and graft arbitrary values in, so that the parsers get past their first checks.
SEEDS = {
    "zendesk": [zendesk_comment("Hi"), zendesk_event("created", {}), zendesk_satisfaction()],
    "freshdesk": [freshdesk_body("comment_added", comment="Hi", author_id="a"), freshdesk_body("ticket_created")],
    "generic": [generic_body("comment_added", {"comment_id": "C", "author_id": "A", "body": "b", "public": True})],
}


def graft(payload: Any, path: list[int], value: Any) -> Any:
    """`payload` with `value` put along `path`: each step picks an existing key by its sorted index,
    or adds a key when the index is past the last one."""
    if not path or not isinstance(payload, dict):
        return value
    keys = sorted(payload)
    key = keys[path[0]] if path[0] < len(keys) else f"extra_{path[0]}"
    return {**payload, key: graft(payload.get(key), path[1:], value)}


@pytest.mark.parametrize("source", SEEDS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_authentic_body_is_parsed_or_refused_with_422(source: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS[source]), label="seed")
    path = data.draw(st.lists(st.integers(0, 9), max_size=4), label="path")
    payload = graft(seed, path, data.draw(JSON_VALUES, label="value"))
    headers, body = DELIVERIES[source](payload)

    try:
        event = verify_and_parse(source, CREDENTIALS[source], headers, body, NOW, brand_id=BRAND)
    except WebhookRejected as rejection:
        stale = source == "freshdesk" and "occurred_at is" in rejection.detail  # its only freshness is in the body
        assert stale or (rejection.status == 422 and rejection.errors)
        assert all(set(error) == {"loc", "msg", "type"} for error in rejection.errors)
    else:
        assert event_from_json(json.loads(json.dumps(event.model_dump(mode="json")))) == event

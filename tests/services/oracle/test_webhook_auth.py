"""Only authentic, fresh deliveries get through: everything else is a 401 with a precise detail.

Signatures are computed in the tests (test_webhook_sources helpers), independently of the code
under test; the Zendesk recipe is also pinned against a value Zendesk published.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.oracle.events import CommentAdded, TicketCreated, TicketSolved
from peercare.oracle.webhooks import Credential, WebhookRejected, verify_and_parse
from tests.support.webhook_support import (
    BRAND,
    FRESHDESK,
    FRESHDESK_PASSWORD,
    GENERIC,
    NOW,
    ZENDESK,
    basic_auth,
    freshdesk_body,
    freshdesk_delivery,
    generic_body,
    generic_delivery,
    generic_signature,
    zendesk_comment,
    zendesk_delivery,
    zendesk_event,
    zendesk_signature,
)

MISMATCH = f"no v2 signature in X-PeerCare-Signature matches the body and brand {BRAND}"
ZENDESK_PAYLOAD = zendesk_event("created", {})
GENERIC_PAYLOAD = generic_body("ticket_solved", {"solved_by_comment_id": "C-1"})
FRESHDESK_PAYLOAD = freshdesk_body("ticket_solved")


def rejected(
    source: str, credential: Credential, headers: dict[str, str], body: bytes, now: float = NOW, brand_id: int = BRAND
) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verify_and_parse(source, credential, headers, body, now, brand_id=brand_id)
    return caught.value


def assert_unauthorised(rejection: WebhookRejected, detail: str) -> None:
    assert (rejection.status, rejection.detail, rejection.errors) == (401, detail, [])


# --- zendesk ---------------------------------------------------------------------------------------


def test_zendesk_signature_reproduces_the_value_zendesk_published() -> None:
    """Zendesk's verification guide (event-connectors edition) published this secret, body,
    timestamp and signature. That edition concatenated body then timestamp, which its signature
    matches; the current guide and Zendesk's senders use timestamp then body. The vector still pins
    the parts most often got wrong: the secret's text is the key (it is not base64-decoded) and the
    digest is standard base64 with padding."""
    secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
    body, timestamp = b'{"say": "hello"}', b"2021-07-25T10:00:00Z"

    assert zendesk_signature(secret, body + timestamp) == "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="


def test_zendesk_delivery_signed_over_timestamp_then_body_is_accepted() -> None:
    body = json.dumps(ZENDESK_PAYLOAD).encode()
    expected = base64.b64encode(
        hmac.new(ZENDESK.secret.encode(), b"2026-11-22T09:00:00Z" + body, hashlib.sha256).digest()
    ).decode()
    headers = {"X-Zendesk-Webhook-Signature": expected, "X-Zendesk-Webhook-Signature-Timestamp": "2026-11-22T09:00:00Z"}

    assert isinstance(verify_and_parse("zendesk", ZENDESK, headers, body, NOW), TicketCreated)


def test_zendesk_forged_signature_is_refused() -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD)
    headers["X-Zendesk-Webhook-Signature"] = base64.b64encode(b"\0" * 32).decode()

    assert_unauthorised(
        rejected("zendesk", ZENDESK, headers, body), "X-Zendesk-Webhook-Signature does not match the body"
    )


def test_zendesk_signature_made_with_another_secret_is_refused() -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD, secret="some-other-brand's-secret")

    assert_unauthorised(
        rejected("zendesk", ZENDESK, headers, body), "X-Zendesk-Webhook-Signature does not match the body"
    )


def test_zendesk_body_altered_after_signing_is_refused() -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD)
    altered = body.replace(b"Wi-Fi drops", b"Wi-Fi works")

    assert_unauthorised(
        rejected("zendesk", ZENDESK, headers, altered), "X-Zendesk-Webhook-Signature does not match the body"
    )


def test_zendesk_timestamp_altered_after_signing_is_refused() -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD)
    headers["X-Zendesk-Webhook-Signature-Timestamp"] = "2026-11-22T09:00:01Z"

    assert_unauthorised(
        rejected("zendesk", ZENDESK, headers, body), "X-Zendesk-Webhook-Signature does not match the body"
    )


@pytest.mark.parametrize("missing", ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"])
def test_zendesk_delivery_without_a_signing_header_is_refused(missing: str) -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD)
    del headers[missing]

    assert_unauthorised(rejected("zendesk", ZENDESK, headers, body), f"the {missing} header is missing")


@pytest.mark.parametrize(
    ("timestamp", "detail"),
    [
        (
            "2026-11-22T08:54:59Z",
            "X-Zendesk-Webhook-Signature-Timestamp is 301 s old; deliveries older than 300 s are refused",
        ),
        (
            "2026-11-22T09:05:01Z",
            "X-Zendesk-Webhook-Signature-Timestamp is 301 s in the future; "
            "more than 300 s ahead of our clock is refused",
        ),
    ],
)
def test_zendesk_delivery_signed_more_than_300_s_away_is_stale(timestamp: str, detail: str) -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD, timestamp=timestamp)

    assert_unauthorised(rejected("zendesk", ZENDESK, headers, body), detail)


@pytest.mark.parametrize("timestamp", ["2026-11-22T08:55:00Z", "2026-11-22T09:05:00Z", "2026-11-22T10:05:00+01:00"])
def test_zendesk_delivery_signed_exactly_300_s_away_is_accepted(timestamp: str) -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD, timestamp=timestamp)

    assert verify_and_parse("zendesk", ZENDESK, headers, body, NOW).ticket_id == "5158"


def test_zendesk_timestamp_without_a_time_zone_is_refused() -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD, timestamp="2026-11-22T09:00:00")

    assert_unauthorised(
        rejected("zendesk", ZENDESK, headers, body),
        "X-Zendesk-Webhook-Signature-Timestamp is an ISO-8601 time without a UTC offset (add Z or +00:00)",
    )


def test_forged_request_with_a_malformed_body_gets_401_not_422() -> None:
    headers, _ = zendesk_delivery(ZENDESK_PAYLOAD)

    assert rejected("zendesk", ZENDESK, headers, b"{not json").status == 401
    assert rejected("generic", GENERIC, generic_delivery({})[0], b"[]").status == 401


# --- header names ------------------------------------------------------------------------------------


def _recased(headers: dict[str, str], case: str) -> dict[str, str]:
    return {getattr(name, case)(): value for name, value in headers.items()}


@pytest.mark.parametrize("case", ["lower", "upper", "swapcase"])
def test_header_names_are_case_insensitive(case: str) -> None:
    zendesk_headers, zendesk_body = zendesk_delivery(ZENDESK_PAYLOAD)
    generic_headers, generic_bytes = generic_delivery(GENERIC_PAYLOAD)
    freshdesk_headers, freshdesk_bytes = freshdesk_delivery(FRESHDESK_PAYLOAD)

    assert verify_and_parse("zendesk", ZENDESK, _recased(zendesk_headers, case), zendesk_body, NOW)
    assert verify_and_parse("generic", GENERIC, _recased(generic_headers, case), generic_bytes, NOW, brand_id=BRAND)
    assert verify_and_parse("freshdesk", FRESHDESK, _recased(freshdesk_headers, case), freshdesk_bytes, NOW)


def test_a_header_sent_twice_with_different_values_is_refused() -> None:
    headers, body = zendesk_delivery(ZENDESK_PAYLOAD)
    headers["x-zendesk-webhook-signature"] = base64.b64encode(b"\0" * 32).decode()

    assert_unauthorised(
        rejected("zendesk", ZENDESK, headers, body),
        "X-Zendesk-Webhook-Signature is sent more than once with different values",
    )


# --- generic ---------------------------------------------------------------------------------------


def test_generic_accepts_either_signature_during_a_secret_rotation() -> None:
    old, new = "whsec-brand-7-previous", GENERIC.secret
    headers, body = generic_delivery(GENERIC_PAYLOAD, secrets=(old, new))
    not_yet_switched = Credential(secret=old)

    assert isinstance(verify_and_parse("generic", GENERIC, headers, body, NOW, brand_id=BRAND), TicketSolved)
    assert isinstance(verify_and_parse("generic", not_yet_switched, headers, body, NOW, brand_id=BRAND), TicketSolved)


def test_generic_signature_list_tolerates_spaces_and_other_schemes() -> None:
    headers, body = generic_delivery(GENERIC_PAYLOAD)
    headers["X-PeerCare-Signature"] = f"v0=deadbeef, {headers['X-PeerCare-Signature'].upper().replace('V2=', 'v2=')}"

    assert isinstance(verify_and_parse("generic", GENERIC, headers, body, NOW, brand_id=BRAND), TicketSolved)


def test_generic_signature_with_a_retired_secret_is_refused() -> None:
    headers, body = generic_delivery(GENERIC_PAYLOAD, secrets=("whsec-brand-7-previous",))

    assert_unauthorised(rejected("generic", GENERIC, headers, body), MISMATCH)


def test_generic_signature_over_another_timestamp_is_refused() -> None:
    headers, body = generic_delivery(GENERIC_PAYLOAD)
    headers["X-PeerCare-Timestamp"] = str(int(NOW) - 1)

    assert_unauthorised(rejected("generic", GENERIC, headers, body), MISMATCH)


def test_generic_delivery_signed_for_one_brand_is_refused_by_another_sharing_its_secret() -> None:
    """A secret reused by two brands: what brand 7's system signed cannot be replayed to brand 8."""
    headers, body = generic_delivery(GENERIC_PAYLOAD, brand_id=BRAND)

    assert isinstance(verify_and_parse("generic", GENERIC, headers, body, NOW, brand_id=BRAND), TicketSolved)
    assert_unauthorised(
        rejected("generic", GENERIC, headers, body, brand_id=BRAND + 1),
        f"no v2 signature in X-PeerCare-Signature matches the body and brand {BRAND + 1}",
    )


def test_generic_v1_signature_which_names_no_brand_is_refused_saying_how_to_sign() -> None:
    body = json.dumps(GENERIC_PAYLOAD).encode()
    v1 = hmac.new(GENERIC.secret.encode(), f"{int(NOW)}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-PeerCare-Timestamp": str(int(NOW)), "X-PeerCare-Signature": f"v1={v1}"}

    assert_unauthorised(
        rejected("generic", GENERIC, headers, body),
        "X-PeerCare-Signature has only v1= signatures, which do not bind the brand: sign with v2= over "
        '"<timestamp>.<brand id>." + body',
    )


def test_generic_delivery_checked_without_its_brand_is_a_programming_error() -> None:
    headers, body = generic_delivery(GENERIC_PAYLOAD)

    with pytest.raises(ValueError, match="binds the brand id"):
        verify_and_parse("generic", GENERIC, headers, body, NOW)


def test_generic_signature_is_the_documented_hmac_over_timestamp_brand_and_body() -> None:
    body = b'{"id":"evt_1"}'
    expected = hmac.new(b"s3cret", b"1795338000.42." + body, hashlib.sha256).hexdigest()

    assert generic_signature("s3cret", 1795338000, body, 42) == expected


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"X-PeerCare-Signature": "v2=00"}, "the X-PeerCare-Timestamp header is missing"),
        ({"X-PeerCare-Timestamp": str(int(NOW))}, "the X-PeerCare-Signature header is missing"),
        (
            {"X-PeerCare-Timestamp": "2026-11-22T09:00:00Z", "X-PeerCare-Signature": "v2=00"},
            "X-PeerCare-Timestamp is not unix seconds (an integer)",
        ),
        (
            {"X-PeerCare-Timestamp": str(int(NOW)), "X-PeerCare-Signature": "sha256=00"},
            "X-PeerCare-Signature has no v2= signature",
        ),
    ],
)
def test_generic_delivery_with_missing_or_garbled_headers_is_refused(headers: dict[str, str], detail: str) -> None:
    assert_unauthorised(rejected("generic", GENERIC, headers, json.dumps(GENERIC_PAYLOAD).encode()), detail)


@pytest.mark.parametrize(("offset", "accepted"), [(-301, False), (-300, True), (0, True), (300, True), (301, False)])
def test_generic_window_is_300_s_either_way(offset: int, accepted: bool) -> None:
    headers, body = generic_delivery(GENERIC_PAYLOAD, timestamp=int(NOW) + offset)

    if accepted:
        assert verify_and_parse("generic", GENERIC, headers, body, NOW, brand_id=BRAND).event_key == "evt_01"
    else:
        direction = "old" if offset < 0 else "in the future"
        assert rejected("generic", GENERIC, headers, body).detail.startswith(
            f"X-PeerCare-Timestamp is 301 s {direction}"
        )


# --- freshdesk -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"token": "fd-token-0000"}, "X-PeerCare-Token does not match the brand's token"),
        ({"password": "Tr0ub4dor&3"}, "the HTTP basic-auth username or password is wrong"),
        ({"username": "admin"}, "the HTTP basic-auth username or password is wrong"),
    ],
)
def test_freshdesk_wrong_token_or_basic_credentials_are_refused(change: dict[str, str], detail: str) -> None:
    headers, body = freshdesk_delivery(FRESHDESK_PAYLOAD, **change)

    rejection = rejected("freshdesk", FRESHDESK, headers, body)

    assert_unauthorised(rejection, detail)
    assert FRESHDESK.secret not in rejection.detail and FRESHDESK_PASSWORD not in rejection.detail


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"Authorization": basic_auth("peercare", FRESHDESK_PASSWORD)}, "the X-PeerCare-Token header is missing"),
        ({"X-PeerCare-Token": FRESHDESK.secret}, "the Authorization header (HTTP basic auth) is missing"),
        (
            {"X-PeerCare-Token": FRESHDESK.secret, "Authorization": "Bearer fd-token-91b2"},
            "the Authorization header is not HTTP basic auth (Basic base64(username:password))",
        ),
        (
            {"X-PeerCare-Token": FRESHDESK.secret, "Authorization": "Basic not*base64"},
            "the Authorization header is not HTTP basic auth (Basic base64(username:password))",
        ),
    ],
)
def test_freshdesk_missing_token_or_basic_auth_is_refused(headers: dict[str, str], detail: str) -> None:
    assert_unauthorised(rejected("freshdesk", FRESHDESK, headers, json.dumps(FRESHDESK_PAYLOAD).encode()), detail)


@pytest.mark.parametrize(
    ("occurred_at", "detail"),
    [
        ("2026-11-22T08:54:59Z", "freshdesk_webhook.occurred_at is 301 s old; deliveries older than 300 s are refused"),
        (
            "2026-11-22T09:05:01Z",
            "freshdesk_webhook.occurred_at is 301 s in the future; more than 300 s ahead of our clock is refused",
        ),
    ],
)
def test_freshdesk_event_more_than_300_s_away_is_stale(occurred_at: str, detail: str) -> None:
    headers, body = freshdesk_delivery(freshdesk_body("ticket_solved", occurred_at=occurred_at))

    assert_unauthorised(rejected("freshdesk", FRESHDESK, headers, body), detail)


def test_freshdesk_event_exactly_300_s_old_is_accepted() -> None:
    headers, body = freshdesk_delivery(freshdesk_body("ticket_solved", occurred_at="2026-11-22T08:55:00Z"))

    assert isinstance(verify_and_parse("freshdesk", FRESHDESK, headers, body, NOW), TicketSolved)


# --- configuration -----------------------------------------------------------------------------------


def test_unknown_source_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown webhook source 'intercom'"):
        verify_and_parse("intercom", GENERIC, {}, b"{}", NOW)


@pytest.mark.parametrize(
    "fields",
    [{"secret": ""}, {"secret": "t", "basic_password_sha256": "not-a-digest"}],
)
def test_credential_that_would_let_anyone_in_cannot_be_made(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Credential(**fields)


def test_freshdesk_credential_without_basic_auth_is_a_configuration_error() -> None:
    headers, body = freshdesk_delivery(FRESHDESK_PAYLOAD)

    with pytest.raises(ValueError, match="basic_username and basic_password_sha256"):
        verify_and_parse("freshdesk", Credential(secret=FRESHDESK.secret), headers, body, NOW)


# --- any change to a signed body ----------------------------------------------------------------------

SIGNED = {
    "zendesk": (ZENDESK, zendesk_delivery(zendesk_comment("Reset the router, then call us."))),
    "generic": (GENERIC, generic_delivery(GENERIC_PAYLOAD)),
}


@pytest.mark.parametrize("source", SIGNED)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_to_a_signed_body_is_refused(source: str, data: st.DataObject) -> None:
    credential, (headers, body) = SIGNED[source]
    position = data.draw(st.integers(0, len(body) - 1), label="position")
    replacement = data.draw(st.integers(0, 255).filter(lambda byte: byte != body[position]), label="byte")
    tampered = body[:position] + bytes([replacement]) + body[position + 1 :]

    assert rejected(source, credential, headers, tampered).status == 401


def test_unchanged_signed_bodies_are_accepted() -> None:
    for source, (credential, (headers, body)) in SIGNED.items():
        event = verify_and_parse(source, credential, headers, body, NOW, brand_id=BRAND)
        assert isinstance(event, CommentAdded | TicketSolved)

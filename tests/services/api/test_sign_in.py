"""Sign-In with Ethereum (EIP-4361): the message grammar, and the sign-in route refusing every
message that does not sign this service in, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import func, select

from peercare.api.siwe import SiweError, parse
from peercare.db.tables.api import AdvocateSession
from tests.support.world import DOMAIN, World, siwe_message

ADDRESS = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
# The example of EIP-4361's specification, with the optional fields it shows.
EIP_EXAMPLE = (
    "example.com wants you to sign in with your Ethereum account:\n"
    f"{ADDRESS}\n\n"
    "I accept the ExampleOrg Terms of Service: https://example.com/tos\n\n"
    "URI: https://example.com/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)


def test_the_eips_example_parses_into_its_fields_and_formats_back_identically() -> None:
    message = parse(EIP_EXAMPLE)
    assert (message.domain, message.address, message.uri, message.chain_id, message.nonce) == (
        "example.com",
        ADDRESS,
        "https://example.com/login",
        1,
        "32891756",
    )
    assert message.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert message.resources == (
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    )
    assert message.text() == EIP_EXAMPLE


@pytest.mark.parametrize(
    "text",
    [
        EIP_EXAMPLE.replace("I accept the ExampleOrg Terms of Service: https://example.com/tos\n", ""),  # no statement
        EIP_EXAMPLE.replace("example.com wants", "https://example.com wants"),  # with a scheme
        EIP_EXAMPLE.replace("example.com wants", "test@127.0.0.1:8080 wants"),  # userinfo and port
        EIP_EXAMPLE.replace(
            "Issued At: 2021-09-30T16:25:24Z",
            "Issued At: 2021-09-30T16:25:24.000+02:00\n"
            "Expiration Time: 2021-10-30T16:25:24Z\nNot Before: 2021-09-30T16:25:24Z\n"
            "Request ID: abc-1",
        ),
    ],
    ids=["no-statement", "scheme", "authority", "all-optional-fields"],
)
def test_every_form_the_grammar_allows_round_trips(text: str) -> None:
    assert parse(text).text() == text


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"), "EIP-55"),
        (("Version: 1", "Version: 2"), "version must be 1"),
        (("Chain ID: 1", "Chain ID: one"), "chain id"),
        (("Nonce: 32891756", "Nonce: 1234"), "nonce"),
        (("Issued At: 2021-09-30T16:25:24Z", "Issued At: yesterday"), "RFC 3339"),
        (("URI: https://example.com/login\n", ""), "'URI: ...' is missing"),
        (("Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1"), "out of order"),
        (("- https://example.com/my-web2-claim.json", "* not a resource"), "resource line"),
        ((" wants you to sign in", " would like you to sign in"), "first line"),
    ],
    ids=["lower-case-address", "version", "chain-id", "short-nonce", "date", "no-uri", "order", "resource", "header"],
)
def test_a_message_breaking_the_grammar_is_refused_naming_the_rule(change: tuple[str, str], rule: str) -> None:
    with pytest.raises(SiweError, match=rule):
        parse(EIP_EXAMPLE.replace(*change))


# ---------------------------------------------------------------- the route


def _signed(account: object, text: str) -> str:
    return "0x" + Account.sign_message(encode_defunct(text=text), account.key).signature.hex().removeprefix("0x")  # type: ignore[attr-defined]


def _nonce(world: World) -> str:
    response = world.client.post("/api/v1/auth/nonce")
    assert response.status_code == 200
    body = response.json()
    assert body["domain"] == DOMAIN and body["chain_id"] == world.oracle.context.deployment.chain_id
    return str(body["nonce"])


def test_a_signed_in_advocate_reads_their_own_private_data_with_the_session_token(world: World) -> None:
    account = world.advocates[4]
    token = world.sign_in(account)
    assert token.startswith("pcs_")
    response = world.client.get(f"/api/v1/advocates/{account.address}/earnings", headers=world.bearer(token))
    assert response.status_code == 200, response.text


def test_a_replayed_sign_in_message_is_refused_because_its_nonce_was_used(world: World) -> None:
    account = world.advocates[4]
    message = siwe_message(account.address, _nonce(world), world.oracle.context.deployment.chain_id).text()
    body = {"message": message, "signature": _signed(account, message)}
    assert world.client.post("/api/v1/auth/siwe", json=body).status_code == 200
    replay = world.client.post("/api/v1/auth/siwe", json=body)
    assert replay.status_code == 401
    assert "nonce is unknown, used or expired" in replay.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"domain": "evil.example"}, "not this service"),
        ({"uri": "https://evil.example/login"}, "is not at this service's origin"),
        ({"chain_id": 1}, "this service is on chain"),
        ({"expiration_time": "2020-01-01T00:00:00Z"}, "expired"),
        ({"not_before": "2999-01-01T00:00:00Z"}, "not valid yet"),
        ({"issued_at": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}, "future"),
        ({"nonce": "neverhandedout1"}, "nonce is unknown"),
    ],
    ids=["domain", "uri", "chain", "expired", "not-before", "issued-in-future", "unknown-nonce"],
)
def test_a_message_that_does_not_sign_this_service_in_is_refused_and_keeps_its_nonce(
    world: World, changes: dict[str, object], reason: str
) -> None:
    account = world.advocates[4]
    nonce = _nonce(world)
    message = siwe_message(account.address, nonce, world.oracle.context.deployment.chain_id)
    message = replace(message, **changes)  # type: ignore[arg-type]
    response = world.client.post(
        "/api/v1/auth/siwe", json={"message": message.text(), "signature": _signed(account, message.text())}
    )
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    if "nonce" not in changes:  # the nonce was not spent by the refusal: a correct message still signs in
        good = siwe_message(account.address, nonce, world.oracle.context.deployment.chain_id).text()
        assert (
            world.client.post(
                "/api/v1/auth/siwe", json={"message": good, "signature": _signed(account, good)}
            ).status_code
            == 200
        )


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/login",  # another site
        f"http://{DOMAIN}.evil.example/",  # this domain as a prefix of another
        f"http://user@{DOMAIN}/",  # userinfo: the host is not what it looks like
        f"ftp://{DOMAIN}/",  # not a web origin
        "urn:peercare:sign-in",
    ],
)
def test_a_message_whose_uri_is_not_this_services_origin_is_refused_and_creates_no_session(
    world: World, uri: str
) -> None:
    """A page at another origin cannot get a signature that signs its visitor in here, even when
    its message names this service's domain."""
    account = world.advocates[4]
    message = replace(siwe_message(account.address, _nonce(world), world.oracle.context.deployment.chain_id), uri=uri)
    sessions = _sessions(world)
    response = world.client.post(
        "/api/v1/auth/siwe", json={"message": message.text(), "signature": _signed(account, message.text())}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == (
        f"sign-in refused: the message's URI {uri!r} is not at this service's origin (http(s)://{DOMAIN})"
    )
    assert _sessions(world) == sessions


def test_a_message_whose_uri_is_this_services_origin_signs_in(world: World) -> None:
    account = world.advocates[4]
    message = replace(
        siwe_message(account.address, _nonce(world), world.oracle.context.deployment.chain_id),
        uri=f"https://{DOMAIN}/advocate?from=wallet",
    )
    response = world.client.post(
        "/api/v1/auth/siwe", json={"message": message.text(), "signature": _signed(account, message.text())}
    )
    assert response.status_code == 200, response.text


def _sessions(world: World) -> int:
    with world.oracle.database.read() as session:
        return session.scalar(select(func.count()).select_from(AdvocateSession)) or 0


def test_a_signature_by_another_wallet_is_refused_naming_who_signed(world: World) -> None:
    victim, attacker = world.advocates[4], world.advocates[5]
    message = siwe_message(victim.address, _nonce(world), world.oracle.context.deployment.chain_id).text()
    response = world.client.post(
        "/api/v1/auth/siwe", json={"message": message, "signature": _signed(attacker, message)}
    )
    assert response.status_code == 401
    assert f"recovers to {attacker.address}, not {victim.address}" in response.json()["detail"]


@pytest.mark.parametrize("signature", ["0x", "0x" + "00" * 65, "0x" + "zz" * 65, "not hex"])
def test_a_malformed_signature_is_refused_with_401_not_a_crash(world: World, signature: str) -> None:
    account = world.advocates[4]
    message = siwe_message(account.address, _nonce(world), world.oracle.context.deployment.chain_id).text()
    response = world.client.post("/api/v1/auth/siwe", json={"message": message, "signature": signature})
    assert response.status_code == 401, response.text


def test_an_unknown_field_in_the_sign_in_body_is_refused(world: World) -> None:
    response = world.client.post("/api/v1/auth/siwe", json={"message": "x", "signature": "0x", "remember": True})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "remember"]


def test_after_logout_the_session_token_no_longer_works(world: World) -> None:
    account = world.advocates[4]
    token = world.sign_in(account)
    assert world.client.post("/api/v1/auth/logout", headers=world.bearer(token)).status_code == 204
    response = world.client.get(f"/api/v1/advocates/{account.address}/earnings", headers=world.bearer(token))
    assert response.status_code == 401
    assert "unknown session token" in response.json()["detail"]

"""Limits every route shares: bodies over 64 KiB get 413, bursts get 429 with Retry-After (a bucket
per verified principal, else per client address), pages are capped; each refusal is a problem
document and changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from peercare.api.app import create_app
from peercare.api.limits import MAX_BODY_BYTES, Principals, RateLimit, RateLimiter
from peercare.db.tables.api import SiweNonce
from tests.support.world import World


@pytest.fixture
def tight(world: World) -> Iterator[TestClient]:
    """The world's API with a limiter allowing 3 requests at once, then 1 per second."""
    context = replace(world.oracle.context, limiter=RateLimiter(rate_per_s=1.0, burst=3))
    with TestClient(create_app(context)) as client:
        yield client


def _nonces(world: World) -> int:
    with world.oracle.database.read() as session:
        return session.scalar(select(func.count()).select_from(SiweNonce)) or 0


def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read(world: World) -> None:
    big = '{"message": "' + "x" * MAX_BODY_BYTES + '", "signature": "0x"}'
    response = world.client.post("/api/v1/auth/siwe", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"the request body is over {MAX_BODY_BYTES} bytes"


def test_a_streamed_body_without_length_is_cut_off_at_the_cap(world: World) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192

    response = world.client.post("/api/v1/auth/siwe", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_burst_beyond_the_limit_gets_429_with_retry_after_and_does_nothing(world: World, tight: TestClient) -> None:
    before = _nonces(world)
    statuses = [tight.post("/api/v1/auth/nonce").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    refused = tight.post("/api/v1/auth/nonce")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "too many requests" in refused.json()["detail"]
    assert _nonces(world) == before + 3  # the refused requests created no nonce


def test_each_caller_has_its_own_bucket(world: World, tight: TestClient) -> None:
    url = "/api/v1/advocates/0x" + "11" * 20 + "/reputation"
    # A credential is looked up the first time it comes (while its address has requests left)...
    assert tight.get(url, headers=world.bearer(world.auditor_key)).status_code != 429
    for _ in range(4):
        tight.get(url)
    assert tight.get(url).status_code == 429
    # ...then its requests count against its own bucket, not the address's.
    assert tight.get(url, headers=world.bearer(world.auditor_key)).status_code != 429


def _made_up_credentials() -> Iterator[dict[str, str]]:
    """A different invented credential each time, in every form a client might send."""
    forms = (
        lambda: f"Bearer pcs_{secrets.token_urlsafe(32)}",  # looks like a session token
        lambda: f"Bearer pc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}",  # looks like an API key
        lambda: f"Bearer {secrets.token_hex(20)}",
        lambda: f"Basic {secrets.token_urlsafe(16)}",
        lambda: secrets.token_hex(8),
    )
    while True:
        for form in forms:
            yield {"Authorization": form()}


def test_made_up_authorization_headers_share_the_client_address_bucket(world: World, tight: TestClient) -> None:
    """A header that proves nothing buys no bucket of its own: random ones get 429 after the burst
    like requests without one (today's attack: a new random header per request, never limited)."""
    before = _nonces(world)
    credentials = _made_up_credentials()
    statuses = [tight.post("/api/v1/auth/nonce", headers=next(credentials)).status_code for _ in range(8)]
    assert statuses == [200, 200, 200] + [429] * 5
    assert _nonces(world) == before + 3


def test_made_up_credentials_are_not_looked_up_once_the_address_bucket_is_empty(world: World) -> None:
    context = replace(world.oracle.context, limiter=RateLimiter(rate_per_s=0.001, burst=3))
    app = create_app(context)
    (principals,) = [m.kwargs["principals"] for m in app.user_middleware if m.cls is RateLimit]
    assert isinstance(principals, Principals)
    credentials = _made_up_credentials()
    with TestClient(app) as client:
        statuses = [client.post("/api/v1/auth/nonce", headers=next(credentials)).status_code for _ in range(10)]
    assert statuses == [200] * 3 + [429] * 7
    assert principals.lookups == 3  # the refused seven cost no database read


def test_every_session_of_one_wallet_shares_the_wallets_bucket(world: World, tight: TestClient) -> None:
    """The bucket is the principal's, not the token's: signing in again buys no fresh burst."""
    account = world.advocates[5]
    first, second = world.sign_in(account), world.sign_in(account)
    url = f"/api/v1/advocates/{account.address}/answers"
    statuses = [tight.get(url, headers=world.bearer(token)).status_code for token in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]


def test_a_signed_in_advocate_keeps_their_own_bucket_when_their_address_is_spent(
    world: World, tight: TestClient
) -> None:
    account = world.advocates[5]
    token = world.sign_in(account)
    url = f"/api/v1/advocates/{account.address}/answers"
    assert tight.get(url, headers=world.bearer(token)).status_code == 200
    credentials = _made_up_credentials()
    assert [tight.post("/api/v1/auth/nonce", headers=next(credentials)).status_code for _ in range(4)][-1] == 429
    assert [tight.get(url, headers=world.bearer(token)).status_code for _ in range(3)] == [200, 200, 429]


def test_health_is_never_rate_limited(tight: TestClient) -> None:
    assert all(tight.get("/api/v1/health").status_code != 429 for _ in range(6))


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_a_page_size_outside_1_to_200_is_refused(world: World, limit: int) -> None:
    address = world.advocates[0].address
    response = world.client.get(
        f"/api/v1/advocates/{address}/answers",
        params={"limit": limit},
        headers=world.bearer(world.advocate_tokens[address]),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]

"""The oracle pays the gas of answers relayed through the API, so they are under a quota: so many
per wallet per hour and per brand per 24 hours. Past it, drafting and submitting get 429 problem
documents naming the quota and when it resets, and nothing is stored."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from peercare.api.app import create_app
from peercare.chain.devnet import dev_account
from peercare.core.enums import OutboxKind
from peercare.core.ledger_ids import question_id, short_string
from peercare.core.typed_data import sign_answer
from peercare.db.tables.oracle import Answer, OutboxTx
from tests.support.world import World

HOUR_S, DAY_S = 3600, 86_400


def _quota_client(world: World, **quotas: int) -> TestClient:
    settings = world.oracle.context.settings.model_copy(update=quotas)
    return TestClient(create_app(replace(world.oracle.context, settings=settings)))


def _open_question(world: World, brand_id: int) -> str:
    ticket = f"QUOTA-{uuid.uuid4().hex[:12]}"
    world.deliver(
        brand_id,
        "ticket_created",
        f"{ticket}-open",
        ticket,
        subject="Gas",
        body="Who pays for relayed answers?",
        tags=["staking"],
        requester_id=f"cust-{ticket}",
    )
    world.drain()
    return "0x" + question_id(brand_id, short_string("generic"), ticket).hex()


def _headers(world: World, account: LocalAccount) -> dict[str, str]:
    if account.address not in world.advocate_tokens:
        world.advocate_tokens[account.address] = world.sign_in(account)
    return world.bearer(world.advocate_tokens[account.address])


def _draft(client: TestClient, world: World, account: LocalAccount, question: str, text: str) -> Any:
    return client.post(
        f"/api/v1/advocates/{account.address}/answers/draft",
        json={"question_id": question, "body": text},
        headers=_headers(world, account),
    )


def _submit(client: TestClient, world: World, account: LocalAccount, draft: dict[str, Any], nonce: int) -> Any:
    typed = draft["typed_data"]
    typed = {**typed, "message": {**typed["message"], "nonce": nonce}}
    body = {
        "question_id": draft["question_id"],
        "content_cid": draft["content_cid"],
        "nonce": nonce,
        "deadline": typed["message"]["deadline"],
        "signature": "0x" + sign_answer(account.key, typed).hex(),
    }
    return client.post(f"/api/v1/advocates/{account.address}/answers", json=body, headers=_headers(world, account))


def _relay(client: TestClient, world: World, account: LocalAccount, question: str, text: str) -> None:
    draft = _draft(client, world, account, question, text)
    assert draft.status_code == 200, draft.text
    submitted = _submit(client, world, account, draft.json(), draft.json()["nonce"])
    assert submitted.status_code == 202, submitted.text


def _stored(world: World) -> tuple[int, int]:
    """Answers, and relayed answers queued (other writes, such as routing anchors, go on meanwhile)."""
    with world.oracle.database.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Answer)) or 0,
            session.scalar(select(func.count()).select_from(OutboxTx).where(OutboxTx.kind == OutboxKind.RELAY_ANSWER))
            or 0,
        )


def _api_relays_of_brand(world: World, brand_id: int) -> int:
    with world.oracle.database.read() as session:
        query = select(func.count()).select_from(Answer)
        query = query.where(Answer.brand_id == brand_id, Answer.comment_id.startswith("api:"))
        return session.scalar(query) or 0


def _oldest_relay_ms(world: World, *condition: Any) -> int:
    """When the oldest answer relayed through the API and matching `condition` was stored."""
    with world.oracle.database.read() as session:
        query = select(func.min(Answer.created_at_ms)).where(
            *condition, Answer.comment_id.startswith("api:"), Answer.outbox_id.is_not(None)
        )
        oldest = session.scalar(query)
    assert oldest is not None
    return int(oldest)


def _assert_quota_problem(response: Any, quota: str, limit: int, window_s: int, oldest_ms: int) -> None:
    """A 429 naming the quota, whose reset is when the oldest counted relay (stored at `oldest_ms`:
    exactly `limit` are counted) leaves the window."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["title"], problem["quota"], problem["limit"]) == (
        429,
        "Too Many Requests",
        quota,
        limit,
    )
    assert problem["used"] >= limit
    assert problem["detail"].startswith("relayed-answer quota spent: ")
    assert f"from {problem['resets_at']} (nothing was stored)" in problem["detail"]
    resets_at = datetime.fromisoformat(problem["resets_at"].replace("Z", "+00:00")).timestamp()
    assert resets_at == -(-(oldest_ms + window_s * 1000) // 1000)  # the second it leaves the window, rounded up
    resets_in = resets_at - time.time()
    assert resets_in - 2 <= int(response.headers["retry-after"]) <= resets_in + 1


@pytest.fixture
def question(world: World) -> str:
    return _open_question(world, world.dev.brand_id)


def test_a_wallet_past_its_hourly_relay_quota_gets_429_naming_it_and_nothing_is_stored(
    world: World, question: str
) -> None:
    advocate = dev_account(20)  # a wallet no other test uses
    with _quota_client(world, relay_quota_per_wallet_hour=2) as client:
        _relay(client, world, advocate, question, "First.")
        second = _draft(client, world, advocate, question, "Second.").json()
        third = _draft(client, world, advocate, question, "Third.").json()  # drafted while under the quota
        assert _submit(client, world, advocate, second, second["nonce"]).status_code == 202
        stored = _stored(world)

        refused = _submit(client, world, advocate, third, second["nonce"] + 1)  # a valid next nonce

        _assert_quota_problem(
            refused, "per_wallet_hour", 2, HOUR_S, _oldest_relay_ms(world, Answer.advocate == advocate.address)
        )
        assert f"wallet {advocate.address} had 2 answers relayed in the last hour" in refused.json()["detail"]
        assert "PEERCARE_RELAY_QUOTA_PER_WALLET_HOUR=2" in refused.json()["detail"]
        assert _stored(world) == stored
        # Drafting is refused too, before the answer's text is stored.
        oldest_ms = _oldest_relay_ms(world, Answer.advocate == advocate.address)
        _assert_quota_problem(
            _draft(client, world, advocate, question, "Fourth."), "per_wallet_hour", 2, HOUR_S, oldest_ms
        )
        assert _stored(world) == stored
        # Another wallet is not held back by this one's quota.
        _relay(client, world, dev_account(21), question, "Someone else.")


def test_a_brand_past_its_daily_relay_quota_refuses_every_wallet_and_nothing_is_stored(
    world: World, question: str
) -> None:
    brand = world.dev.brand_id
    limit = _api_relays_of_brand(world, brand) + 1
    with _quota_client(world, relay_quota_per_brand_day=limit) as client:
        _relay(client, world, dev_account(22), question, "The last one today.")
        stored = _stored(world)

        refused = _draft(client, world, dev_account(23), question, "One more.")

        _assert_quota_problem(refused, "per_brand_day", limit, DAY_S, _oldest_relay_ms(world, Answer.brand_id == brand))
        assert f"brand {brand}'s questions had {limit} answers relayed in the last 24 hours" in refused.json()["detail"]
        assert _stored(world) == stored
        # The quota is the brand's: the same wallet still answers another brand's question.
        other = _open_question(world, world.brand2_id)
        _relay(client, world, dev_account(23), other, "Over here.")

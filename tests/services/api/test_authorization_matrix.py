"""Every route against every role: who may call it, who gets 401, who gets 403.

The objects are brand 1's and the advocate who answered its first question. Roles: nobody, that
advocate signed in, another advocate signed in, brand 1's key, brand 2's key, an auditor key for
every brand, and an auditor key for brand 2 only. A route missing from `POLICIES` fails the test,
so a new route cannot ship without saying who may call it.

Allowed calls must not change anything shared: bodies are empty (`{}`: refused with 422 after
authorisation), the webhook secret rotated is brand 1's Zendesk one (unused by the other tests),
the key deleted does not exist, and each logout uses a session made for it.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from peercare.db.tables import projections as ix
from tests.support.world import World

ROLES = ("nobody", "owner", "other_advocate", "brand_1", "brand_2", "auditor", "auditor_brand_2")
EVERYONE = frozenset(ROLES)
ADVOCATES = frozenset({"owner", "other_advocate"})
OWNER = frozenset({"owner"})
BRAND_1_READERS = frozenset({"brand_1", "auditor"})
BRAND_1 = frozenset({"brand_1"})
AUDITORS_OF_BRAND_1 = frozenset({"auditor"})
ANY_AUDITOR = frozenset({"auditor", "auditor_brand_2"})

POLICIES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/health"): EVERYONE,
    ("POST", "/api/v1/auth/nonce"): EVERYONE,
    ("POST", "/api/v1/auth/siwe"): EVERYONE,
    ("POST", "/api/v1/auth/logout"): ADVOCATES,
    ("POST", "/api/v1/transactions"): EVERYONE,  # signed by its sender: the relay adds no authority
    ("GET", "/api/v1/advocates/{address}/reputation"): EVERYONE,  # public and provable
    ("GET", "/api/v1/routing/questions/{question_id}/rounds/{round}/offers/{advocate}/proof"): EVERYONE,  # public
    ("GET", "/api/v1/advocates/{address}/earnings"): OWNER,
    ("GET", "/api/v1/advocates/{address}/credits"): OWNER,
    ("GET", "/api/v1/advocates/{address}/answers"): OWNER,
    ("POST", "/api/v1/advocates/{address}/answers"): OWNER,
    ("POST", "/api/v1/advocates/{address}/answers/draft"): OWNER,
    ("GET", "/api/v1/advocates/{address}/ratings"): OWNER,
    ("GET", "/api/v1/advocates/{address}/offers"): OWNER,
    ("POST", "/api/v1/advocates/{address}/offers/{question_id}/accept"): OWNER,
    ("POST", "/api/v1/advocates/{address}/offers/{question_id}/decline"): OWNER,
    ("POST", "/api/v1/advocates/{address}/withdrawals/prepare"): OWNER,
    ("POST", "/api/v1/advocates/{address}/withdrawals/draft"): OWNER,
    ("POST", "/api/v1/advocates/{address}/withdrawals"): OWNER,
    ("GET", "/api/v1/brands/{brand_id}"): BRAND_1_READERS,
    ("PATCH", "/api/v1/brands/{brand_id}"): BRAND_1,
    ("POST", "/api/v1/brands/{brand_id}/webhooks/{source}/secret"): BRAND_1,
    ("GET", "/api/v1/brands/{brand_id}/pool"): BRAND_1_READERS,
    ("POST", "/api/v1/brands/{brand_id}/pool/deposits/prepare"): BRAND_1,
    ("GET", "/api/v1/brands/{brand_id}/questions"): BRAND_1_READERS,
    ("GET", "/api/v1/brands/{brand_id}/questions/{question_id}"): BRAND_1_READERS,
    ("PUT", "/api/v1/brands/{brand_id}/channels/{source}"): BRAND_1,
    ("GET", "/api/v1/brands/{brand_id}/deliveries"): BRAND_1_READERS,
    ("POST", "/api/v1/brands/{brand_id}/deliveries/{delivery_id}/retry"): BRAND_1,  # none parked: 404
    ("GET", "/api/v1/brands/{brand_id}/keys"): BRAND_1,
    ("POST", "/api/v1/brands/{brand_id}/keys"): BRAND_1,
    ("DELETE", "/api/v1/brands/{brand_id}/keys/{prefix}"): BRAND_1,
    ("GET", "/api/v1/brands/{brand_id}/export"): BRAND_1_READERS,
    ("GET", "/api/v1/audit/answers/{answer_id}"): AUDITORS_OF_BRAND_1,
    ("GET", "/api/v1/audit/epochs"): ANY_AUDITOR,  # epochs span every brand
    ("GET", "/api/v1/audit/epochs/{epoch}"): ANY_AUDITOR,
}


def _routes(world: World) -> list[tuple[str, str]]:
    paths = world.oracle.app.openapi()["paths"]
    return sorted((m.upper(), p) for p, ops in paths.items() for m in ops if not p.startswith("/api/v1/webhooks/"))


@pytest.fixture(scope="module")
def objects(world: World) -> dict[str, str]:
    with world.oracle.database.read() as session:
        question = session.scalars(
            select(ix.QuestionPosted).where(ix.QuestionPosted.brand_id == 1).order_by(ix.QuestionPosted.id)
        ).first()
        assert question is not None
        answer = session.scalars(
            select(ix.AnswerRow).where(ix.AnswerRow.question_id == question.question_id).order_by(ix.AnswerRow.id)
        ).first()
        assert answer is not None
    return {
        "address": answer.advocate,
        "brand_id": "1",
        "question_id": question.question_id,
        "answer_id": answer.answer_id,
        "epoch": "1",
        "source": "zendesk",
        "prefix": "000000000000",
        "delivery_id": "1",
        "round": "0",
        "advocate": answer.advocate,
    }


def _owner_and_other(world: World, owner: str) -> tuple[object, object]:
    accounts = {a.address: a for a in world.advocates}
    other = next(a for a in world.advocates if a.address != owner)
    return accounts[owner], other


def _headers(world: World, role: str, objects: dict[str, str], fresh: bool) -> dict[str, str]:
    owner, other = _owner_and_other(world, objects["address"])
    tokens = {
        "owner": lambda: world.sign_in(owner),  # type: ignore[arg-type]
        "other_advocate": lambda: world.sign_in(other),  # type: ignore[arg-type]
    }
    if role == "nobody":
        return {}
    if role in tokens:
        address = (owner if role == "owner" else other).address  # type: ignore[attr-defined]
        if fresh or address not in world.advocate_tokens:
            token = tokens[role]()
            if not fresh:
                world.advocate_tokens[address] = token
            return world.bearer(token)
        return world.bearer(world.advocate_tokens[address])
    keys = {
        "brand_1": world.brand_keys[1],
        "brand_2": world.brand_keys[world.brand2_id],
        "auditor": world.auditor_key,
        "auditor_brand_2": world.auditor_key_brand2,
    }
    return world.bearer(keys[role])


def test_every_route_has_a_declared_policy(world: World) -> None:
    assert set(_routes(world)) == set(POLICIES), "declare who may call each route in POLICIES"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_it_may_call(world: World, objects: dict[str, str], role: str) -> None:
    wrong = []
    for (method, template), allowed in sorted(POLICIES.items()):
        path = re.sub(r"\{(\w+)\}", lambda m: objects[m.group(1)], template)
        headers = _headers(world, role, objects, fresh=template.endswith("/logout"))
        body = (
            {}
            if method in ("POST", "PATCH", "PUT") and not template.endswith(("/nonce", "/logout", "/secret"))
            else None
        )
        response = world.client.request(method, path, headers=headers, json=body)
        if role in allowed:
            if response.status_code in (401, 403) or response.status_code >= 500:
                wrong.append(f"{method} {template}: allowed, got {response.status_code} {response.text[:120]}")
        else:
            expected = 401 if role == "nobody" else 403
            if response.status_code != expected:
                wrong.append(f"{method} {template}: expected {expected}, got {response.status_code}")
            elif response.headers["content-type"] != "application/problem+json":
                wrong.append(f"{method} {template}: the refusal is not a problem document")
    assert wrong == []

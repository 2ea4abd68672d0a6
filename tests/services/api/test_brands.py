"""The brands' routes: configuration, webhook secrets, pool and deposits, questions, API keys.

Tests that change a brand do it on a brand of this module's own (`own`), registered on the chain
and configured on the oracle here, so brands 1 and 2 stay as the world made them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import select

from peercare.api.security import create_api_key
from peercare.chain.devnet import BRAND_ADMIN, DEPLOYER, dev_account, register_funded_brand, transact
from peercare.core.ledger_ids import question_id, short_string
from peercare.db.tables import projections as ix
from peercare.db.tables.api import KeyRole
from peercare.db.tables.oracle import Brand
from peercare.oracle.posted_questions import question_as_ledger_holds_it
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from tests.support.oracle_process import SECRET, serve_cardano_brand
from tests.support.world import World

UNKNOWN_BRAND = 987_654
SCHEMA_SCRATCH_BRAND = 3  # test_schema.SCRATCH_BRAND
OWN_FUNDS = 10**21


@dataclass
class Own:
    brand_id: int
    token: str  # its brand key

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def own(world: World) -> Iterator[Own]:
    with world.oracle.database.read() as session:
        configured = set(session.scalars(select(Brand.id)))
    # Skip ids configured on the oracle already, and test_schema's scratch brand (configured there
    # without being registered on chain), by registering throwaway brands in their place.
    while world.dev.ledger.functions.brandCount().call() + 1 in configured | {SCHEMA_SCRATCH_BRAND}:
        register_funded_brand(
            world.dev.w3,
            world.dev.deployment,
            admin=dev_account(BRAND_ADMIN),
            oracle=world.dev.oracle.address,
            funds=0,
            minter=dev_account(DEPLOYER),
        )
    brand_id = register_funded_brand(
        world.dev.w3,
        world.dev.deployment,
        admin=dev_account(BRAND_ADMIN),
        oracle=world.dev.oracle.address,
        funds=OWN_FUNDS,
        minter=dev_account(DEPLOYER),
    )
    serve_cardano_brand(world.oracle.database, brand_id)
    with world.oracle.database.transaction() as session:
        token = create_api_key(session, KeyRole.BRAND, brand_id, "this module's brand")[1]
    world.drain()  # its registration indexed
    yield Own(brand_id, token)


def brand1(world: World) -> dict[str, str]:
    return world.bearer(world.brand_keys[world.dev.brand_id])


def a_question_of(world: World, brand_id: int) -> str:
    with world.oracle.database.read() as session:
        query = select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.brand_id == brand_id)
        found = session.scalars(query).first()
    assert found is not None
    return found


def deliver_signed(world: World, brand_id: int, secret: str, ticket: str) -> int:
    """Post a new ticket to the brand's generic webhook signed with `secret`; the status code."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = generic_body("ticket_created", f"{ticket}-open", ticket, now, **_ticket([]))
    response = world.client.post(
        f"/api/v1/webhooks/{brand_id}/generic", content=body, headers=generic_headers(secret, body, brand_id=brand_id)
    )
    status: int = response.status_code
    return status


def read_paths(world: World, brand_id: int) -> list[str]:
    qid = a_question_of(world, world.dev.brand_id)
    base = f"/api/v1/brands/{brand_id}"
    return [base, f"{base}/pool", f"{base}/questions", f"{base}/questions/{qid}"]


def write_calls(brand_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/v1/brands/{brand_id}"
    admin = dev_account(BRAND_ADMIN).address
    return [
        ("PATCH", base, {"name": "Taken over"}),
        ("POST", f"{base}/webhooks/generic/secret", None),
        ("POST", f"{base}/pool/deposits/prepare", {"amount": "1", "from": admin}),
        ("POST", f"{base}/keys", {"label": "intruder"}),
        ("GET", f"{base}/keys", None),
        ("DELETE", f"{base}/keys/0123456789ab", None),
    ]


# ---------------------------------------------------------------- configuration


def test_a_brand_reads_its_configuration_and_webhook_sources_but_no_secret(world: World) -> None:
    response = world.client.get(f"/api/v1/brands/{world.dev.brand_id}", headers=brand1(world))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == world.dev.brand_id
    assert body["name"] == "Cardano Support"
    assert body["topics"] == ["nodes", "staking", "wallets"]  # stored lower-case and sorted, as configured
    assert body["default_topic"] == "general"
    assert body["default_bounty"] == str(10**18)
    assert body["bounty_by_tag"] == {"urgent": str(5 * 10**18)}
    assert body["answer_window_s"] == 30 * 86_400
    assert body["experts"] == {"agent-7": dev_account(7).address}
    assert body["webhooks"] == [
        {"source": "generic", "endpoint": f"/api/v1/webhooks/{world.dev.brand_id}/generic", "basic_username": None}
    ]
    assert SECRET not in response.text


def test_auditors_read_the_brands_they_cover(world: World) -> None:
    for key, brand_id in ((world.auditor_key, world.dev.brand_id), (world.auditor_key_brand2, world.brand2_id)):
        for path in read_paths(world, brand_id)[:3]:
            response = world.client.get(path, headers=world.bearer(key))
            assert response.status_code == 200, (path, response.text)


def test_reads_refuse_another_brands_key_a_scoped_auditor_advocates_and_anonymous_callers(world: World) -> None:
    advocate = next(iter(world.advocate_tokens.values()))
    for path in read_paths(world, world.dev.brand_id):
        for token, status in (
            (world.brand_keys[world.brand2_id], 403),
            (world.auditor_key_brand2, 403),
            (advocate, 403),
            (None, 401),
        ):
            headers = world.bearer(token) if token else {}
            response = world.client.get(path, headers=headers)
            assert response.status_code == status, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"


def test_writes_refuse_auditors_another_brands_key_advocates_and_anonymous_callers(world: World) -> None:
    before = world.client.get(f"/api/v1/brands/{world.dev.brand_id}", headers=brand1(world)).json()
    keys_before = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/keys", headers=brand1(world)).json()
    advocate = next(iter(world.advocate_tokens.values()))
    for method, path, body in write_calls(world.dev.brand_id):
        for token, status in (
            (world.auditor_key, 403),
            (world.brand_keys[world.brand2_id], 403),
            (advocate, 403),
            (None, 401),
        ):
            headers = world.bearer(token) if token else {}
            response = world.client.request(method, path, json=body, headers=headers)
            assert response.status_code == status, (method, path, token, response.text)
    assert world.client.get(f"/api/v1/brands/{world.dev.brand_id}", headers=brand1(world)).json() == before
    assert world.client.get(f"/api/v1/brands/{world.dev.brand_id}/keys", headers=brand1(world)).json() == keys_before


def test_an_unknown_brand_is_404_to_an_auditor_of_every_brand(world: World) -> None:
    for path in read_paths(world, UNKNOWN_BRAND):
        response = world.client.get(path, headers=world.bearer(world.auditor_key))
        assert response.status_code == 404, (path, response.text)
        assert str(UNKNOWN_BRAND) in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/brands/abc",
        "/api/v1/brands/0",
        f"/api/v1/brands/{2**64}",
        "/api/v1/brands/1/questions/0x1234",
        "/api/v1/brands/1/questions?limit=0",
        "/api/v1/brands/1/questions?limit=201",
        "/api/v1/brands/1/questions?cursor=abc",
    ],
)
def test_malformed_paths_and_queries_are_422(world: World, path: str) -> None:
    response = world.client.get(path, headers=world.bearer(world.auditor_key))
    assert response.status_code == 422, response.text


def test_a_brand_admin_changes_its_configuration_and_new_tickets_follow_it(world: World, own: Own) -> None:
    expert = Account.create().address
    patch = {
        "default_bounty": str(2 * 10**18 + 7),
        "bounty_by_tag": {"VIP": str(3 * 10**18)},
        "topics": ["Billing", "staking", "billing"],
        "default_topic": "misc",
        "answer_window_s": 3600,
        "experts": {"agent-9": expert.lower()},
    }
    response = world.client.patch(f"/api/v1/brands/{own.brand_id}", json=patch, headers=own.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["topics"] == ["billing", "staking"]
    assert body["bounty_by_tag"] == {"vip": str(3 * 10**18)}
    assert body["experts"] == {"agent-9": expert}
    assert body["name"] == "Cardano Support"  # not given: kept
    assert world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers).json() == body

    stamp = int(time.time())
    tickets = {f"P{stamp}-a": ["billing"], f"P{stamp}-b": ["vip"]}
    for ticket, tags in tickets.items():
        world.deliver(own.brand_id, "ticket_created", f"{ticket}-open", ticket, **_ticket(tags))
    world.drain()
    ledger = world.dev.ledger
    for ticket, expected_bounty, expected_topic in (
        (f"P{stamp}-a", 2 * 10**18 + 7, "billing"),
        (f"P{stamp}-b", 3 * 10**18, "misc"),
    ):
        qid = question_id(own.brand_id, short_string("generic"), ticket)
        _brand, deadline, status, bounty = question_as_ledger_holds_it(ledger, world.public_store, qid)
        assert (status, bounty) == (1, expected_bounty)
        posted = world.client.get(f"/api/v1/brands/{own.brand_id}/questions/0x{qid.hex()}", headers=own.headers)
        assert posted.json()["topic"] == expected_topic
        assert deadline - posted.json()["posted_at"] in range(3590, 3611)


def _ticket(tags: list[str]) -> dict[str, Any]:
    return {"subject": "Help", "body": "It broke", "tags": tags, "requester_id": "cust-p"}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"topics": ["x" * 32]}, "topics"),
        ({"topics": ["é" * 16]}, "topics"),  # 16 characters, 32 bytes
        ({"default_topic": "two words"}, "default_topic"),
        ({"default_bounty": "-1"}, "default_bounty"),
        ({"default_bounty": str(2**128)}, "default_bounty"),
        ({"bounty_by_tag": {"vip": "1.5"}}, "bounty_by_tag"),
        ({"bounty_by_tag": {"VIP": "1", "vip": "2"}}, "bounty_by_tag"),
        ({"experts": {"agent": "0x1234"}}, "experts"),
        ({"experts": {"agent": "0x" + dev_account(7).address[2:].swapcase()}}, "experts"),
        ({"experts": {"agent": "0x" + "00" * 20}}, "experts"),
        ({"answer_window_s": 10}, "answer_window_s"),
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_change_names_the_field_and_changes_nothing(
    world: World, own: Own, patch: dict[str, Any], field: str
) -> None:
    before = world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers).json()
    response = world.client.patch(
        f"/api/v1/brands/{own.brand_id}", json={"name": "Renamed"} | patch, headers=own.headers
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert field in problem["detail"]
    assert problem["errors"][0]["loc"][:2] == ["body", field]
    assert world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers).json() == before


# ---------------------------------------------------------------- webhook secrets


def _accepted_within(world: World, brand_id: int, secret: str, ticket: str, expect: int, timeout_s: float) -> float:
    """Seconds until a delivery signed with `secret` gets `expect` (the intake reloads credentials)."""
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        status = deliver_signed(world, brand_id, secret, f"{ticket}-{attempt}")
        if status == expect:
            return time.monotonic() - start
        assert status in (200, 401), status
        assert time.monotonic() - start < timeout_s, f"still {status} after {timeout_s} s"
        time.sleep(0.25)


def test_a_rotated_generic_secret_is_accepted_and_the_old_one_refused(world: World, own: Own) -> None:
    path = f"/api/v1/brands/{own.brand_id}/webhooks/generic/secret"
    response = world.client.post(path, headers=own.headers)
    assert response.status_code == 200, response.text
    rotated = response.json()
    new = rotated["secret"]
    assert len(new) >= 32 and new != SECRET
    assert rotated["endpoint"] == f"/api/v1/webhooks/{own.brand_id}/generic"
    assert rotated["effective_within_s"] == 5.0
    assert "within 5 s" in rotated["note"]
    stamp = int(time.time())
    try:
        # The intake's cache (intake.Credentials) reloads every CREDENTIALS_TTL_S = 5 s.
        assert _accepted_within(world, own.brand_id, new, f"R{stamp}-new", 200, timeout_s=8) <= 6
        assert deliver_signed(world, own.brand_id, SECRET, f"R{stamp}-old") == 401
        assert new not in world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers).text
    finally:  # back to the secret the other tests sign with, given explicitly this time
        back = world.client.post(path, json={"secret": SECRET}, headers=own.headers)
        assert back.status_code == 200 and back.json()["secret"] == SECRET
        _accepted_within(world, own.brand_id, SECRET, f"R{stamp}-back", 200, timeout_s=8)
    world.drain()


def test_freshdesk_credentials_come_with_basic_auth_shown_once(world: World, own: Own) -> None:
    response = world.client.post(f"/api/v1/brands/{own.brand_id}/webhooks/freshdesk/secret", headers=own.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["basic_username"] == f"brand-{own.brand_id}" and body["basic_password"]
    brand = world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers)
    freshdesk = [w for w in brand.json()["webhooks"] if w["source"] == "freshdesk"]
    assert freshdesk == [
        {
            "source": "freshdesk",
            "endpoint": f"/api/v1/webhooks/{own.brand_id}/freshdesk",
            "basic_username": f"brand-{own.brand_id}",
        }
    ]
    assert body["secret"] not in brand.text and body["basic_password"] not in brand.text


def test_zendesk_needs_its_own_signing_secret(world: World, own: Own) -> None:
    path = f"/api/v1/brands/{own.brand_id}/webhooks/zendesk/secret"
    refused = world.client.post(path, headers=own.headers)
    assert refused.status_code == 422 and "secret" in refused.json()["detail"]
    sources = [
        w["source"] for w in world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers).json()["webhooks"]
    ]
    assert "zendesk" not in sources
    accepted = world.client.post(path, json={"secret": "zendesk-signing-secret-1234"}, headers=own.headers)
    assert accepted.status_code == 200 and accepted.json()["basic_password"] is None


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("slack", None),
        ("generic", {"secret": "short"}),
        ("generic", {"secret": "has spaces in it, sixteen+"}),
        ("generic", {"secret": "a-long-enough-secret", "rotate": True}),
    ],
)
def test_a_malformed_secret_request_is_422(world: World, own: Own, source: str, body: Any) -> None:
    response = world.client.post(
        f"/api/v1/brands/{own.brand_id}/webhooks/{source}/secret", json=body, headers=own.headers
    )
    assert response.status_code == 422, response.text


# ---------------------------------------------------------------- pool and deposits


def test_the_pool_equals_the_ledger(world: World) -> None:
    world.drain()
    for brand_id in (world.dev.brand_id, world.brand2_id):
        response = world.client.get(f"/api/v1/brands/{brand_id}/pool", headers=world.bearer(world.auditor_key))
        assert response.status_code == 200, response.text
        pool = response.json()
        available, escrowed = world.dev.ledger.functions.pool(brand_id).call()
        assert (int(pool["available"]), int(pool["escrowed_open"])) == (available, escrowed)
        assert (int(pool["available_on_chain"]), int(pool["escrowed_on_chain"])) == (available, escrowed)
        assert pool["token"] == world.dev.token.address
        spent = int(pool["escrowed_open"]) + int(pool["paid"]) - int(pool["refunded"])
        assert int(pool["deposited"]) - int(pool["withdrawn"]) - spent == int(pool["available"])
        assert int(pool["paid"]) > 0  # the world's accepted answers
        assert pool["indexed_block"] <= pool["chain_block"]
    brand1_pool = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/pool", headers=brand1(world)).json()
    assert brand1_pool["deposited"] == str(10**30)


def _sign(prepared: dict[str, Any]) -> str:
    tx = {
        "type": 2,
        "chainId": prepared["chain_id"],
        "nonce": prepared["nonce"],
        "to": prepared["to"],
        "data": prepared["data"],
        "value": int(prepared["value"]),
        "gas": prepared["gas"],
        "maxFeePerGas": int(prepared["max_fee_per_gas"]),
        "maxPriorityFeePerGas": int(prepared["max_priority_fee_per_gas"]),
    }
    signed = dev_account(BRAND_ADMIN).sign_transaction(tx)
    return "0x" + signed.raw_transaction.hex().removeprefix("0x")


def _broadcast(world: World, prepared: list[dict[str, Any]]) -> None:
    hashes = []
    for tx in prepared:
        relayed = world.client.post("/api/v1/transactions", json={"raw": _sign(tx)})
        assert relayed.status_code == 200, relayed.text
        hashes.append(relayed.json()["tx_hash"])
    for tx_hash in hashes:
        receipt = world.dev.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.05)
        assert receipt["status"] == 1


def test_a_funder_deposits_with_the_prepared_transactions(world: World, own: Own) -> None:
    admin, token, ledger = dev_account(BRAND_ADMIN), world.dev.token, world.dev.ledger
    amount = 7 * 10**18
    transact(world.dev.w3, dev_account(DEPLOYER), token.functions.mint(admin.address, 3 * amount))
    pool_path = f"/api/v1/brands/{own.brand_id}/pool"
    before = world.client.get(pool_path, headers=own.headers).json()

    # No allowance: approve, then the deposit with the next nonce and a fixed gas limit.
    plan = world.client.post(
        f"{pool_path}/deposits/prepare", json={"amount": str(amount), "from": admin.address}, headers=own.headers
    )
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["allowance"] == "0" and int(body["balance"]) >= amount
    approve, deposit = body["transactions"]
    assert (approve["to"], deposit["to"]) == (token.address, ledger.address)
    assert approve["from"] == deposit["from"] == admin.address
    assert deposit["nonce"] == approve["nonce"] + 1
    _broadcast(world, body["transactions"])
    world.drain()
    after = world.client.get(pool_path, headers=own.headers).json()
    assert int(after["deposited"]) == int(before["deposited"]) + amount
    assert int(after["available"]) == int(before["available"]) + amount == int(after["available_on_chain"])

    # Allowance already there: only the deposit, estimated.
    transact(world.dev.w3, admin, token.functions.approve(ledger.address, amount))
    plan = world.client.post(
        f"{pool_path}/deposits/prepare", json={"amount": str(amount), "from": admin.address}, headers=own.headers
    )
    assert plan.status_code == 200, plan.text
    (only,) = plan.json()["transactions"]
    assert only["to"] == ledger.address and only["gas"] < 150_000
    _broadcast(world, [only])
    world.drain()
    again = world.client.get(pool_path, headers=own.headers).json()
    assert int(again["deposited"]) == int(before["deposited"]) + 2 * amount
    assert int(again["available"]) == ledger.functions.pool(own.brand_id).call()[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": str(10**27), "from": dev_account(BRAND_ADMIN).address}, "from"),
        ({"amount": str(2**128), "from": dev_account(BRAND_ADMIN).address}, "amount"),
        ({"amount": "0", "from": dev_account(BRAND_ADMIN).address}, "amount"),
        ({"amount": "1.5", "from": dev_account(BRAND_ADMIN).address}, "amount"),
        ({"amount": "1", "from": "0x1234"}, "from"),
        ({"amount": "1", "from": dev_account(BRAND_ADMIN).address, "memo": "x"}, "memo"),
        ({"amount": "1"}, "from"),
    ],
)
def test_a_deposit_that_cannot_be_made_is_refused_before_anyone_signs(
    world: World, own: Own, body: dict[str, Any], field: str
) -> None:
    response = world.client.post(f"/api/v1/brands/{own.brand_id}/pool/deposits/prepare", json=body, headers=own.headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


# ---------------------------------------------------------------- questions


def test_a_brand_pages_through_its_questions_with_their_states(world: World) -> None:
    world.drain()
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/questions", params=params, headers=brand1(world))
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 4
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [q["question_id"] for q in seen]
    assert len(ids) == len(set(ids)) >= 6
    tickets = {q["ticket_id"] for q in seen}
    assert {f"T{n}" for n in range(6)} <= tickets
    statuses = {0: "none", 1: "open", 2: "accepted", 3: "expired"}
    with world.oracle.database.read() as session:
        for q in seen:
            state = ix.question_status(session, q["question_id"])
            assert q["status"] == state.status.value
            assert q["answers"] == state.answers
            assert q["accepted_advocate"] == state.accepted_advocate
            qid = bytes.fromhex(q["question_id"][2:])
            _brand, deadline, status, bounty = question_as_ledger_holds_it(world.dev.ledger, world.public_store, qid)
            assert (q["status"], q["deadline"], int(q["bounty"])) == (statuses[status], deadline, bounty)
    world_tickets = [q for q in seen if q["ticket_id"] in {f"T{n}" for n in range(6)}]
    assert all(q["status"] == "accepted" and q["answers"] == 2 for q in world_tickets)
    assert all(q["source"] == "generic" for q in world_tickets)


def test_a_cursor_past_every_id_gives_an_empty_last_page(world: World, own: Own) -> None:
    for path, headers in (
        (f"/api/v1/brands/{world.dev.brand_id}/questions", brand1(world)),
        (f"/api/v1/brands/{own.brand_id}/keys", own.headers),
    ):
        response = world.client.get(path, params={"cursor": "9" * 18}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}
        assert world.client.get(path, params={"cursor": "9" * 19}, headers=headers).status_code == 422


def test_another_brands_question_is_not_found_under_this_brand(world: World) -> None:
    other = a_question_of(world, world.brand2_id)
    response = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/questions/{other}", headers=brand1(world))
    assert response.status_code == 404, response.text
    unknown = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/questions/0x{'ab' * 32}", headers=brand1(world))
    assert unknown.status_code == 404


# ---------------------------------------------------------------- API keys


def test_a_brand_creates_lists_and_revokes_its_keys(world: World, own: Own) -> None:
    keys_path = f"/api/v1/brands/{own.brand_id}/keys"
    created = world.client.post(keys_path, json={"label": "ci deploys"}, headers=own.headers)
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["token"].startswith(f"pc_{new['prefix']}_") and not new["revoked"]
    assert world.client.get(f"/api/v1/brands/{own.brand_id}", headers=world.bearer(new["token"])).status_code == 200

    listed = world.client.get(keys_path, headers=own.headers)
    assert listed.status_code == 200
    entry = next(k for k in listed.json()["items"] if k["prefix"] == new["prefix"])
    assert entry == {key: new[key] for key in ("prefix", "label", "created_at_ms", "revoked_at_ms", "revoked")}
    assert new["token"].split("_")[2] not in listed.text

    assert world.client.delete(f"{keys_path}/{new['prefix']}", headers=own.headers).status_code == 204
    refused = world.client.get(f"/api/v1/brands/{own.brand_id}", headers=world.bearer(new["token"]))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    entry = next(
        k for k in world.client.get(keys_path, headers=own.headers).json()["items"] if k["prefix"] == new["prefix"]
    )
    assert entry["revoked"] and entry["revoked_at_ms"] >= entry["created_at_ms"]
    assert world.client.delete(f"{keys_path}/{new['prefix']}", headers=own.headers).status_code == 204  # again: no-op


def test_the_last_active_key_cannot_be_revoked(world: World, own: Own) -> None:
    keys_path = f"/api/v1/brands/{own.brand_id}/keys"
    mine = own.token.split("_")[1]
    for key in world.client.get(keys_path, params={"limit": 200}, headers=own.headers).json()["items"]:
        if key["prefix"] != mine and not key["revoked"]:
            assert world.client.delete(f"{keys_path}/{key['prefix']}", headers=own.headers).status_code == 204
    response = world.client.delete(f"{keys_path}/{mine}", headers=own.headers)
    assert response.status_code == 409, response.text
    assert world.client.get(f"/api/v1/brands/{own.brand_id}", headers=own.headers).status_code == 200


def test_a_key_of_another_brand_or_unknown_is_not_found(world: World, own: Own) -> None:
    other = world.brand_keys[world.brand2_id].split("_")[1]
    for prefix in (other, "0123456789ab"):
        response = world.client.delete(f"/api/v1/brands/{own.brand_id}/keys/{prefix}", headers=own.headers)
        assert response.status_code == 404, response.text
    assert (
        world.client.get(
            f"/api/v1/brands/{world.brand2_id}", headers=world.bearer(world.brand_keys[world.brand2_id])
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body", [{}, {"label": ""}, {"label": "   "}, {"label": "x" * 201}, {"label": "ok", "role": "auditor"}]
)
def test_a_malformed_key_request_is_422_and_creates_nothing(world: World, own: Own, body: dict[str, Any]) -> None:
    keys_path = f"/api/v1/brands/{own.brand_id}/keys"
    before = world.client.get(keys_path, params={"limit": 200}, headers=own.headers).json()
    response = world.client.post(keys_path, json=body, headers=own.headers)
    assert response.status_code == 422, response.text
    assert world.client.get(keys_path, params={"limit": 200}, headers=own.headers).json() == before


def test_keys_are_listed_in_pages(world: World, own: Own) -> None:
    keys_path = f"/api/v1/brands/{own.brand_id}/keys"
    made = [
        world.client.post(keys_path, json={"label": f"k{n}"}, headers=own.headers).json()["prefix"] for n in range(3)
    ]
    prefixes: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = world.client.get(keys_path, params=params, headers=own.headers).json()
        prefixes += [k["prefix"] for k in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(prefixes) == len(set(prefixes)) and set(made) <= set(prefixes)
    for prefix in made:
        world.client.delete(f"{keys_path}/{prefix}", headers=own.headers)

"""The advocates' routes: public reputation proofs that verify on chain, and (signed in) earnings,
answers, ratings and withdrawals, each compared with the chain; who may call what."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import anyio.to_thread
import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from peercare.api import reputation_reads
from peercare.api.app import create_app
from peercare.api.reputation_reads import EpochUnreadable, EpochView, Reputation, topic_label
from peercare.chain.devnet import DEPLOYER, dev_account, transact
from peercare.content.cid import cid_from_digest
from peercare.core.ledger_ids import reputation_topic, short_string
from peercare.db.database import Database, sqlite_url
from peercare.oracle.posted_questions import questions_on_chain
from tests.support.oracle_process import ADVOCATES
from tests.support.world import World

STRANGER = "0x" + "ab" * 20  # never answered anything


def _logs(world: World, event: str) -> list[Any]:
    ledger = world.dev.ledger
    return list(getattr(ledger.events, event).get_logs(from_block=world.dev.deployment.deployed_at_block))


def _session_of(world: World, account: LocalAccount) -> dict[str, str]:
    if account.address not in world.advocate_tokens:
        world.advocate_tokens[account.address] = world.sign_in(account)
    return world.bearer(world.advocate_tokens[account.address])


def _credited(world: World) -> list[LocalAccount]:
    """Advocates the ledger ever credited (in the world's history)."""
    paid = {log["args"]["account"] for log in _logs(world, "RewardCredited")}
    return [account for account in ADVOCATES if account.address in paid]


# ---------------------------------------------------------------- reputation


def test_every_published_score_verifies_on_chain_and_a_tampered_one_does_not(world: World) -> None:
    roots = world.dev.roots.functions
    scored = 0
    for account in ADVOCATES:
        response = world.client.get(f"/api/v1/advocates/{account.address}/reputation")  # no credentials
        assert response.status_code == 200, response.text
        body = Reputation.model_validate(response.json())
        assert body.advocate == account.address and body.epoch == 1
        assert body.reputation_roots == world.dev.roots.address
        assert "0x" + roots.rootOf(1).call()[0].hex() == body.root
        for entry in body.scores:
            topic, score = bytes.fromhex(entry.topic[2:]), int(entry.score)
            proof = [bytes.fromhex(node[2:]) for node in entry.proof]
            assert roots.verifyScore(1, account.address, topic, score, proof).call()
            assert not roots.verifyScore(1, account.address, topic, score + 1, proof).call()
            # Reputation is per brand and topic: the leaf names the label namespaced by its brand.
            assert entry.brand_id is not None and entry.topic_label is not None
            assert reputation_topic(entry.brand_id, short_string(entry.topic_label)) == topic
            scored += 1
    assert scored > 0, "the world's epoch 1 should hold scores"


def test_reputation_defaults_to_the_latest_epoch(world: World) -> None:
    address = ADVOCATES[0].address
    latest = world.client.get(f"/api/v1/advocates/{address}/reputation")
    explicit = world.client.get(f"/api/v1/advocates/{address.lower()}/reputation", params={"epoch": 1})
    assert latest.status_code == explicit.status_code == 200
    assert latest.json() == explicit.json()
    assert world.dev.roots.functions.latestEpoch().call() == 1


def test_an_advocate_without_scores_has_an_empty_list(world: World) -> None:
    response = world.client.get(f"/api/v1/advocates/{STRANGER}/reputation")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scores"] == [] and body["epoch"] == 1
    assert body["advocate"] == world.dev.w3.to_checksum_address(STRANGER)


def test_an_unpublished_epoch_is_404(world: World) -> None:
    for epoch in (2, 2**64 - 1):
        response = world.client.get(f"/api/v1/advocates/{STRANGER}/reputation", params={"epoch": epoch})
        assert response.status_code == 404, response.text
        assert f"epoch {epoch} was not published" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/advocates/0x1234/reputation", {}),
        (f"/api/v1/advocates/{STRANGER}zz/reputation", {}),
        (f"/api/v1/advocates/{STRANGER}/reputation", {"epoch": 0}),
        (f"/api/v1/advocates/{STRANGER}/reputation", {"epoch": 2**64}),
        (f"/api/v1/advocates/{STRANGER}/reputation", {"epoch": "one"}),
    ],
)
def test_a_malformed_reputation_request_is_422(world: World, path: str, params: dict[str, Any]) -> None:
    response = world.client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_reputation_before_any_epoch_is_published_is_404(world: World, tmp_path: Any) -> None:
    empty = Database(sqlite_url(tmp_path / "empty.sqlite3"))
    empty.migrate()
    try:
        app = create_app(dataclasses.replace(world.oracle.context, database=empty))
        with TestClient(app) as client:
            response = client.get(f"/api/v1/advocates/{STRANGER}/reputation")
        assert response.status_code == 404
        assert response.json()["detail"] == "no reputation epoch has been published yet"
    finally:
        empty.dispose()


class _Unreachable:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) on a cache hit")


def test_a_warm_reputation_read_touches_neither_the_database_nor_a_thread(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reputation_reads, "LATEST_TTL_S", 3600.0)  # the latest epoch stays fresh throughout
    context = dataclasses.replace(world.oracle.context)
    app = create_app(context)
    address = ADVOCATES[0].address
    with TestClient(app) as client:
        warm = client.get(f"/api/v1/advocates/{address}/reputation")
        assert warm.status_code == 200
        context.database = _Unreachable()  # type: ignore[assignment]

        async def no_thread(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a worker thread was used on a cache hit")

        monkeypatch.setattr(anyio.to_thread, "run_sync", no_thread)
        for _ in range(3):
            hit = client.get(f"/api/v1/advocates/{address}/reputation")
            assert hit.status_code == 200 and hit.json() == warm.json()
            assert client.get(f"/api/v1/advocates/{STRANGER}/reputation").json()["scores"] == []


def test_a_manifest_that_is_not_the_published_root_is_not_served(world: World) -> None:
    root = world.dev.roots.functions.rootOf(1).call()[0]
    logs = world.dev.roots.events.ReputationRootPublished.get_logs(from_block=world.dev.deployment.deployed_at_block)
    digest = logs[0]["args"]["manifestDigest"]
    cid = cid_from_digest(digest)
    manifest = world.oracle.context.public_store.get(cid)
    contract = world.dev.roots.address
    served = EpochView.of(1, "0x" + root.hex(), cid, contract, manifest)
    assert served.bodies and all(body.startswith(b'{"advocate":') for body in served.bodies.values())
    with pytest.raises(EpochUnreadable, match="not epoch 1 with the root"):
        EpochView.of(1, "0x" + bytes(32).hex(), cid, contract, manifest)
    with pytest.raises(EpochUnreadable, match="not epoch 2"):
        EpochView.of(2, "0x" + root.hex(), cid, contract, manifest)
    tampered = json.loads(manifest)
    tampered["tree"]["values"][0]["value"][2] = str(int(tampered["tree"]["values"][0]["value"][2]) + 1)
    with pytest.raises(EpochUnreadable, match="is not sound"):
        EpochView.of(1, "0x" + root.hex(), cid, contract, json.dumps(tampered).encode())


def test_reputation_reads_follow_the_admins_root_correction(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reputation_reads, "LATEST_TTL_S", 0.0)  # every read checks the epoch's root
    path = f"/api/v1/advocates/{ADVOCATES[0].address}/reputation"
    before = world.client.get(path)
    assert before.status_code == 200
    roots = world.dev.roots.functions
    original = bytes(roots.rootOf(1).call()[0])
    [published] = world.dev.roots.events.ReputationRootPublished.get_logs(
        from_block=world.dev.deployment.deployed_at_block
    )
    digest = published["args"]["manifestDigest"]
    admin = dev_account(DEPLOYER)
    transact(world.dev.w3, admin, roots.correctRoot(1, bytes(31) + b"\x07", digest))
    try:
        world.drain()
        # The chain now proves against another root: the old proofs are no longer served as valid.
        corrected = world.client.get(path)
        assert corrected.status_code == 503, corrected.text
        assert "not epoch 1 with the root 0x" + "00" * 31 + "07" in corrected.json()["detail"]
    finally:
        transact(world.dev.w3, admin, roots.correctRoot(1, original, digest))
        world.drain()
    assert world.client.get(path).json() == before.json()


def test_topic_labels_are_the_short_strings_they_encode() -> None:
    assert topic_label(short_string("staking")) == "staking"
    assert topic_label(bytes(32)) is None
    assert topic_label(b"\xff" * 32) is None
    assert topic_label(b"a\0b".ljust(32, b"\0")) is None


# ---------------------------------------------------------------- earnings


def test_earnings_equal_the_chain_for_every_token_credited(world: World) -> None:
    world.drain()
    ledger = world.dev.ledger.functions
    credited_accounts = _credited(world)
    assert credited_accounts, "someone was paid in the world's history"
    for account in credited_accounts[:2]:
        response = world.client.get(
            f"/api/v1/advocates/{account.address}/earnings", headers=_session_of(world, account)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["advocate"] == account.address
        credits = [log["args"] for log in _logs(world, "RewardCredited") if log["args"]["account"] == account.address]
        assert {t["token"] for t in body["tokens"]} == {c["token"] for c in credits}
        for entry in body["tokens"]:
            on_chain = ledger.earnings(account.address, entry["token"]).call()
            assert int(entry["claimable_on_chain"]) == on_chain == int(entry["claimable"])
            assert int(entry["credited"]) == sum(c["amount"] for c in credits if c["token"] == entry["token"])
            assert int(entry["credited"]) - int(entry["withdrawn"]) == int(entry["claimable"])


def test_an_advocate_never_credited_has_no_earnings(world: World) -> None:
    paid = {account.address for account in _credited(world)}
    fresh = next((account for account in ADVOCATES if account.address not in paid), None)
    if fresh is None:
        pytest.skip("every advocate was paid in this history")
    response = world.client.get(f"/api/v1/advocates/{fresh.address}/earnings", headers=_session_of(world, fresh))
    assert response.status_code == 200
    assert response.json() == {"advocate": fresh.address, "tokens": []}


def test_credits_are_the_rewards_credited_on_chain_with_each_swarm_share(world: World) -> None:
    world.drain()
    bounties = {"0x" + log["args"]["questionId"].hex(): log["args"]["bounty"] for log in _logs(world, "AnswerAccepted")}
    credits = [log["args"] for log in _logs(world, "RewardCredited")]
    per_question: dict[str, int] = {}
    for credit in credits:
        question = "0x" + credit["questionId"].hex()
        per_question[question] = per_question.get(question, 0) + 1
    for account in _credited(world)[:2]:
        response = world.client.get(
            f"/api/v1/advocates/{account.address}/credits", params={"limit": 200}, headers=_session_of(world, account)
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        mine = [c for c in credits if c["account"] == account.address]
        assert [(i["question_id"], i["token"], int(i["amount"])) for i in items] == [
            ("0x" + c["questionId"].hex(), c["token"], c["amount"]) for c in mine
        ]
        for item in items:
            bounty = bounties[item["question_id"]]
            assert int(item["bounty"]) == bounty
            assert item["share_bps"] == int(item["amount"]) * 10_000 // bounty
            assert item["swarm"] == (per_question[item["question_id"]] > 1 or int(item["amount"]) != bounty)


def test_credits_are_the_advocates_own(world: World) -> None:
    owner, other = ADVOCATES[0], ADVOCATES[1]
    response = world.client.get(f"/api/v1/advocates/{owner.address}/credits", headers=_session_of(world, other))
    assert response.status_code == 403, response.text


# ---------------------------------------------------------------- answers and ratings


def test_answers_are_the_advocates_answers_on_chain_with_acceptance_and_ratings(world: World) -> None:
    world.drain()
    account = ADVOCATES[0]
    response = world.client.get(
        f"/api/v1/advocates/{account.address}/answers", params={"limit": 200}, headers=_session_of(world, account)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    items = body["items"]
    assert items, "the advocate answered in the world's history"
    accepted = {"0x" + log["args"]["answerId"].hex() for log in _logs(world, "AnswerAccepted")}
    rated: dict[str, list[int]] = {}
    for answer, rating, _, _ in world.ratings_on_chain():
        rated.setdefault(answer, []).append(rating)
    batches = {"0x" + log["args"]["batchRoot"].hex(): log["args"] for log in _logs(world, "AnswerBatchAnchored")}
    on_chain = questions_on_chain(world.dev.ledger, world.public_store)
    posted = {"0x" + qid.hex(): postings[0] for qid, postings in on_chain.items()}
    for item in items:
        assert item["accepted"] == (item["answer_id"] in accepted)
        scores = rated.get(item["answer_id"], [])
        assert item["ratings"] == len(scores)
        assert item["rating_average"] == (round(sum(scores) / len(scores), 4) if scores else None)
        assert item["brand_id"] == posted[item["question_id"]].brand_id
        assert item["content_cid"] == cid_from_digest(bytes.fromhex(item["content_digest"][2:]))
        if item["batch_root"] is None:
            assert item["leaf_index"] is None
        else:
            assert batches[item["batch_root"]]["brandId"] == item["brand_id"]
            assert 0 <= item["leaf_index"] < batches[item["batch_root"]]["size"]
        receipt = world.dev.w3.eth.get_transaction_receipt(item["tx_hash"])
        assert receipt["blockNumber"] == item["block_number"]
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)


def test_answer_pages_follow_each_other_without_gaps_or_repeats(world: World) -> None:
    account = ADVOCATES[0]
    headers = _session_of(world, account)
    url = f"/api/v1/advocates/{account.address}/answers"
    whole = world.client.get(url, params={"limit": 200}, headers=headers).json()["items"]
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = world.client.get(url, params=params, headers=headers).json()
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole


def test_ratings_are_every_rating_of_the_advocates_answers(world: World) -> None:
    world.drain()
    account = ADVOCATES[1]
    response = world.client.get(f"/api/v1/advocates/{account.address}/ratings", headers=_session_of(world, account))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    on_chain = sorted(
        (answer, rating, tx_hash)
        for answer, rating, advocate, tx_hash in world.ratings_on_chain()
        if advocate == account.address
    )
    assert sorted((i["answer_id"], i["rating"], i["tx_hash"]) for i in items) == on_chain
    assert all(i["rater_kind"] == "customer" and i["brand_id"] in world.brand_keys for i in items)


@pytest.mark.parametrize("kind", ["answers", "ratings"])
@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"cursor": "abc"}, {"cursor": "-1"}, {"cursor": "9" * 30}]
)
def test_a_malformed_page_request_is_422(world: World, kind: str, params: dict[str, Any]) -> None:
    account = ADVOCATES[0]
    response = world.client.get(
        f"/api/v1/advocates/{account.address}/{kind}", params=params, headers=_session_of(world, account)
    )
    assert response.status_code == 422, response.text


# ---------------------------------------------------------------- withdrawals


def test_a_prepared_withdrawal_signed_by_the_advocate_moves_all_their_earnings(world: World) -> None:
    world.drain()
    ledger, token = world.dev.ledger.functions, world.dev.token
    account = next(
        (a for a in _credited(world) if ledger.earnings(a.address, token.address).call() > 0),
        None,
    )
    assert account is not None, "someone has earnings to withdraw in the world's history"
    headers = _session_of(world, account)
    amount = ledger.earnings(account.address, token.address).call()
    balance = token.functions.balanceOf(account.address).call()

    prepared = world.client.post(
        f"/api/v1/advocates/{account.address}/withdrawals/prepare", json={"token": token.address}, headers=headers
    )
    assert prepared.status_code == 200, prepared.text
    tx = prepared.json()
    assert tx["from"] == account.address and tx["to"] == world.dev.ledger.address
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": tx["chain_id"],
            "to": tx["to"],
            "data": tx["data"],
            "value": int(tx["value"]),
            "gas": tx["gas"],
            "nonce": tx["nonce"],
            "maxFeePerGas": int(tx["max_fee_per_gas"]),
            "maxPriorityFeePerGas": int(tx["max_priority_fee_per_gas"]),
        }
    )
    relayed = world.client.post("/api/v1/transactions", json={"raw": "0x" + signed.raw_transaction.hex()})
    assert relayed.status_code == 200, relayed.text
    receipt = world.dev.w3.eth.wait_for_transaction_receipt(relayed.json()["tx_hash"], timeout=30)
    assert receipt["status"] == 1
    world.drain()

    assert token.functions.balanceOf(account.address).call() == balance + amount
    body = world.client.get(f"/api/v1/advocates/{account.address}/earnings", headers=headers).json()
    (entry,) = [t for t in body["tokens"] if t["token"] == token.address]
    assert entry["claimable"] == entry["claimable_on_chain"] == "0"
    assert int(entry["withdrawn"]) >= amount and entry["withdrawn"] == entry["credited"]

    again = world.client.post(
        f"/api/v1/advocates/{account.address}/withdrawals/prepare", json={"token": token.address}, headers=headers
    )
    assert again.status_code == 422
    assert "NothingToWithdraw" in again.json()["detail"]


def test_a_withdrawal_to_another_address_is_prepared_for_that_address(world: World) -> None:
    token = world.dev.token.address
    earning = [a for a in ADVOCATES if world.dev.ledger.functions.earnings(a.address, token).call() > 0]
    if not earning:
        pytest.skip("nothing claimable to prepare")
    account = earning[-1]
    response = world.client.post(
        f"/api/v1/advocates/{account.address}/withdrawals/prepare",
        json={"token": token, "to": STRANGER},
        headers=_session_of(world, account),
    )
    assert response.status_code == 200, response.text
    calldata = world.dev.ledger.encode_abi("withdrawEarnings", args=[token, world.dev.w3.to_checksum_address(STRANGER)])
    assert response.json()["data"] == calldata


@pytest.mark.parametrize(
    "body",
    [
        {"token": "0x1234"},
        {"token": STRANGER, "amount": "1"},
        {"to": STRANGER},
        {"token": STRANGER, "to": "me"},
    ],
)
def test_a_malformed_withdrawal_is_422(world: World, body: dict[str, Any]) -> None:
    account = ADVOCATES[0]
    response = world.client.post(
        f"/api/v1/advocates/{account.address}/withdrawals/prepare", json=body, headers=_session_of(world, account)
    )
    assert response.status_code == 422, response.text


def test_a_withdrawal_of_a_token_never_earned_is_422_with_the_ledgers_reason(world: World) -> None:
    account = ADVOCATES[0]
    response = world.client.post(
        f"/api/v1/advocates/{account.address}/withdrawals/prepare",
        json={"token": STRANGER},
        headers=_session_of(world, account),
    )
    assert response.status_code == 422
    assert "NothingToWithdraw" in response.json()["detail"]


# ---------------------------------------------------------------- who may call


def _private_calls(address: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    question = "0x" + "11" * 32
    return [
        ("GET", f"/api/v1/advocates/{address}/earnings", None),
        ("GET", f"/api/v1/advocates/{address}/answers", None),
        ("GET", f"/api/v1/advocates/{address}/ratings", None),
        ("POST", f"/api/v1/advocates/{address}/answers/draft", {"question_id": question, "body": "hello"}),
        (
            "POST",
            f"/api/v1/advocates/{address}/answers",
            {
                "question_id": question,
                "content_cid": cid_from_digest(bytes(32)),
                "nonce": 0,
                "deadline": 2**40,
                "signature": "0x" + "00" * 65,
            },
        ),
        ("POST", f"/api/v1/advocates/{address}/withdrawals/prepare", {"token": STRANGER}),
    ]


PRIVATE = [(method, path.split("{address}")[-1]) for method, path, _ in _private_calls("{address}")]


@pytest.mark.parametrize("call", range(len(PRIVATE)), ids=[f"{m} {p}" for m, p in PRIVATE])
def test_private_advocate_routes_need_credentials(world: World, call: int) -> None:
    method, path, body = _private_calls(ADVOCATES[0].address)[call]
    response = world.client.request(method, path, json=body)
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("call", range(len(PRIVATE)), ids=[f"{m} {p}" for m, p in PRIVATE])
def test_an_advocate_cannot_use_another_advocates_private_routes(world: World, call: int) -> None:
    owner, other = ADVOCATES[0], ADVOCATES[1]
    method, path, body = _private_calls(owner.address)[call]
    response = world.client.request(method, path, json=body, headers=_session_of(world, other))
    assert response.status_code == 403, response.text
    assert other.address in response.json()["detail"]


@pytest.mark.parametrize("key", ["brand", "auditor", "auditor_brand2"])
@pytest.mark.parametrize("call", range(len(PRIVATE)), ids=[f"{m} {p}" for m, p in PRIVATE])
def test_brand_and_auditor_keys_cannot_use_an_advocates_private_routes(world: World, call: int, key: str) -> None:
    token = {
        "brand": world.brand_keys[world.dev.brand_id],
        "auditor": world.auditor_key,
        "auditor_brand2": world.auditor_key_brand2,
    }[key]
    method, path, body = _private_calls(ADVOCATES[0].address)[call]
    response = world.client.request(method, path, json=body, headers=world.bearer(token))
    assert response.status_code == 403, response.text

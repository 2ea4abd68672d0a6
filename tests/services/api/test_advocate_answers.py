"""Gasless answers: drafted through the API (stored, typed data returned), signed by the advocate's
wallet, queued for the oracle's signer, and recorded on chain; every refusal stores nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import func, select

from peercare.content.cid import cid_from_digest, digest_from_cid
from peercare.core.enums import OutboxKind
from peercare.core.ledger_ids import question_id, short_string
from peercare.core.typed_data import answer_typed_data, sign_answer
from peercare.db.tables.oracle import Answer, OutboxTx
from tests.support.oracle_process import ADVOCATES
from tests.support.world import World

ZERO = bytes(32)


def _headers(world: World, account: LocalAccount) -> dict[str, str]:
    if account.address not in world.advocate_tokens:
        world.advocate_tokens[account.address] = world.sign_in(account)
    return world.bearer(world.advocate_tokens[account.address])


def _new_question(world: World) -> str:
    """A ticket just opened at brand 1, posted on chain and open for answers."""
    ticket = f"API-{uuid.uuid4().hex[:12]}"
    world.deliver(
        world.dev.brand_id,
        "ticket_created",
        f"{ticket}-open",
        ticket,
        subject="Staking question",
        body="How long does unstaking take?",
        tags=["staking"],
        requester_id=f"cust-{ticket}",
    )
    world.drain()
    return "0x" + question_id(world.dev.brand_id, short_string("generic"), ticket).hex()


def _draft(world: World, account: LocalAccount, question: str, text: str = "About a day.") -> dict[str, Any]:
    response = world.client.post(
        f"/api/v1/advocates/{account.address}/answers/draft",
        json={"question_id": question, "body": text},
        headers=_headers(world, account),
    )
    assert response.status_code == 200, response.text
    draft: dict[str, Any] = response.json()
    return draft


def _submission(draft: dict[str, Any], signer: LocalAccount, **changes: Any) -> dict[str, Any]:
    typed = draft["typed_data"]
    typed = {**typed, "message": {**typed["message"], **changes}}
    return {
        "question_id": draft["question_id"],
        "content_cid": draft["content_cid"],
        "nonce": typed["message"]["nonce"],
        "deadline": typed["message"]["deadline"],
        "signature": "0x" + sign_answer(signer.key, typed).hex(),
    }


def _submit(world: World, account: LocalAccount, body: dict[str, Any]) -> Any:
    return world.client.post(
        f"/api/v1/advocates/{account.address}/answers", json=body, headers=_headers(world, account)
    )


def _stored(world: World) -> tuple[int, int]:
    with world.oracle.database.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Answer)) or 0,
            # Relayed answers only: other writes (routing anchors of new tickets) go on meanwhile.
            session.scalar(select(func.count()).select_from(OutboxTx).where(OutboxTx.kind == OutboxKind.RELAY_ANSWER))
            or 0,
        )


def _recorded(world: World, question: str, advocate: str, digest: str) -> bool:
    ref: tuple[Any, ...] = (bytes.fromhex(question[2:]), advocate, bytes.fromhex(digest[2:]), ZERO, [])
    return bool(world.dev.ledger.functions.isAnswerRecorded(ref).call())


@pytest.fixture
def question(world: World) -> str:
    return _new_question(world)


def test_a_signed_answer_is_relayed_recorded_on_chain_and_listed(world: World, question: str) -> None:
    advocate = ADVOCATES[0]
    nonce = world.dev.ledger.functions.nonces(advocate.address).call()
    draft = _draft(world, advocate, question)
    assert draft["nonce"] == nonce and draft["advocate"] == advocate.address
    assert 3500 < draft["deadline"] - time.time() <= 3600

    response = _submit(world, advocate, _submission(draft, advocate))
    assert response.status_code == 202, response.text
    assert response.json() == {"answer_id": draft["answer_id"], "question_id": question, "status": "queued"}
    world.drain()

    assert _recorded(world, question, advocate.address, draft["content_digest"])
    assert world.dev.ledger.functions.nonces(advocate.address).call() == nonce + 1
    qid, digest = bytes.fromhex(question[2:]), bytes.fromhex(draft["content_digest"][2:])
    assert (
        "0x" + world.dev.ledger.functions.answerIdOf(qid, advocate.address, digest).call().hex() == draft["answer_id"]
    )
    listed = world.client.get(
        f"/api/v1/advocates/{advocate.address}/answers", params={"limit": 200}, headers=_headers(world, advocate)
    ).json()["items"]
    (mine,) = [item for item in listed if item["answer_id"] == draft["answer_id"]]
    assert mine["question_id"] == question and mine["brand_id"] == world.dev.brand_id
    assert mine["content_cid"] == draft["content_cid"] and mine["content_digest"] == draft["content_digest"]
    assert mine["batch_root"] is None and mine["leaf_index"] is None
    assert mine["accepted"] is False and mine["ratings"] == 0 and mine["rating_average"] is None
    conversation = world.oracle.context.vault.get(draft["content_cid"])
    assert conversation.messages[0].body == "About a day." and conversation.messages[0].author == advocate.address


def test_the_drafted_typed_data_is_what_the_ledger_verifies(world: World, question: str) -> None:
    advocate = ADVOCATES[1]
    draft = _draft(world, advocate, question)
    message = draft["typed_data"]["message"]
    signed = (
        bytes.fromhex(question[2:]),
        bytes.fromhex(draft["content_digest"][2:]),
        advocate.address,
        message["nonce"],
        message["deadline"],
    )
    hashed = encode_typed_data(full_message=draft["typed_data"])  # what a wallet signs: 0x19 0x01 domain struct
    wallet_digest = keccak(b"\x19" + hashed.version + hashed.header + hashed.body)
    assert world.dev.ledger.functions.signedAnswerDigest(signed).call() == wallet_digest
    assert draft["typed_data"]["domain"]["verifyingContract"] == world.dev.ledger.address
    assert message["contentDigest"] == draft["content_digest"] and message["questionId"] == question


def test_submitting_the_same_answer_twice_is_409_and_stores_nothing_new(world: World, question: str) -> None:
    advocate = ADVOCATES[0]
    body = _submission(_draft(world, advocate, question), advocate)
    assert _submit(world, advocate, body).status_code == 202
    stored = _stored(world)
    again = _submit(world, advocate, body)
    assert again.status_code == 409, again.text
    assert "submitted already" in again.json()["detail"]
    assert _stored(world) == stored
    world.drain()
    again = _submit(world, advocate, body)
    assert again.status_code == 409 and _stored(world) == stored


def test_two_answers_in_flight_take_consecutive_nonces(world: World, question: str) -> None:
    advocate = ADVOCATES[1]
    nonce = world.dev.ledger.functions.nonces(advocate.address).call()
    first = _draft(world, advocate, question, "First thought.")
    assert _submit(world, advocate, _submission(first, advocate)).status_code == 202
    second = _draft(world, advocate, question, "Second thought.")
    assert second["nonce"] == first["nonce"] + 1 == nonce + 1
    assert _submit(world, advocate, _submission(second, advocate)).status_code == 202
    world.drain()
    assert _recorded(world, question, advocate.address, first["content_digest"])
    assert _recorded(world, question, advocate.address, second["content_digest"])


def test_a_stale_nonce_is_409_and_stores_nothing(world: World, question: str) -> None:
    advocate = ADVOCATES[0]
    draft = _draft(world, advocate, question)
    stored = _stored(world)
    response = _submit(world, advocate, _submission(draft, advocate, nonce=draft["nonce"] + 5))
    assert response.status_code == 409, response.text
    assert f"not the advocate's next nonce {draft['nonce']}" in response.json()["detail"]
    assert _stored(world) == stored


def test_an_answer_signed_by_another_wallet_is_refused_and_nothing_is_stored(world: World, question: str) -> None:
    advocate, impostor = ADVOCATES[0], ADVOCATES[2]
    draft = _draft(world, advocate, question)
    stored = _stored(world)
    response = _submit(world, advocate, _submission(draft, impostor))
    assert response.status_code == 422, response.text
    assert f"recovered {impostor.address}" in response.json()["detail"]
    assert _stored(world) == stored


def test_a_signature_over_other_values_is_refused(world: World, question: str) -> None:
    advocate = ADVOCATES[0]
    draft = _draft(world, advocate, question)
    body = _submission(draft, advocate)
    body["deadline"] += 1  # signed over the draft's deadline, submitted with another
    stored = _stored(world)
    response = _submit(world, advocate, body)
    assert response.status_code == 422 and "does not recover" in response.json()["detail"]
    assert _stored(world) == stored


def test_an_expired_deadline_is_refused_and_nothing_is_stored(world: World, question: str) -> None:
    advocate = ADVOCATES[0]
    draft = _draft(world, advocate, question)
    stored = _stored(world)
    response = _submit(world, advocate, _submission(draft, advocate, deadline=int(time.time()) - 10))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("deadline:")
    assert _stored(world) == stored


def test_another_advocates_draft_cannot_be_submitted_as_ones_own(world: World, question: str) -> None:
    author, copier = ADVOCATES[1], ADVOCATES[0]
    theirs = _draft(world, author, question, "My own words.")
    mine = _draft(world, copier, question)
    copied = {**mine, "content_cid": theirs["content_cid"], "content_digest": theirs["content_digest"]}
    copied["typed_data"] = {
        **mine["typed_data"],
        "message": {**mine["typed_data"]["message"], "contentDigest": theirs["content_digest"]},
    }
    stored = _stored(world)
    response = _submit(world, copier, _submission(copied, copier))
    assert response.status_code == 422, response.text
    assert f"is not {copier.address}'s drafted answer" in response.json()["detail"]
    assert _stored(world) == stored


def test_content_never_drafted_here_is_refused(world: World, question: str) -> None:
    advocate = ADVOCATES[0]
    draft = _draft(world, advocate, question)
    unknown = world.oracle.context.public_store.put(b"not an answer")
    forged = {
        **draft,
        "content_cid": unknown,
        "typed_data": {
            **draft["typed_data"],
            "message": {**draft["typed_data"]["message"], "contentDigest": "0x" + digest_from_cid(unknown).hex()},
        },
    }
    stored = _stored(world)
    response = _submit(world, advocate, _submission(forged, advocate))
    assert response.status_code == 422, response.text
    assert "is not a drafted answer stored here" in response.json()["detail"]
    assert _stored(world) == stored


def test_an_unknown_question_is_404_for_drafts_and_submissions(world: World) -> None:
    advocate = ADVOCATES[0]
    unknown = "0x" + "42" * 32
    response = world.client.post(
        f"/api/v1/advocates/{advocate.address}/answers/draft",
        json={"question_id": unknown, "body": "Hi"},
        headers=_headers(world, advocate),
    )
    assert response.status_code == 404 and unknown in response.json()["detail"]
    fake = {
        "typed_data": {
            **_typed_template(world),
            "message": {
                "questionId": unknown,
                "contentDigest": "0x" + "01" * 32,
                "nonce": 0,
                "deadline": int(time.time()) + 3600,
            },
        },
        "question_id": unknown,
        "content_cid": cid_from_digest(b"\x01" * 32),
    }
    stored = _stored(world)
    response = _submit(world, advocate, _submission(fake, advocate))
    assert response.status_code == 404, response.text
    assert _stored(world) == stored


def _typed_template(world: World) -> dict[str, Any]:
    typed = answer_typed_data(
        chain_id=world.dev.w3.eth.chain_id,
        ledger=world.dev.ledger.address,
        question_id=bytes(32),
        content_digest=bytes(32),
        nonce=0,
        deadline=0,
    )
    return {k: v for k, v in typed.items() if k != "message"}


def test_an_answer_to_a_closed_question_is_409(world: World) -> None:
    advocate = ADVOCATES[0]
    accepted = (
        "0x"
        + world.dev.ledger.events.AnswerAccepted.get_logs(from_block=world.dev.deployment.deployed_at_block)[0]["args"][
            "questionId"
        ].hex()
    )
    response = world.client.post(
        f"/api/v1/advocates/{advocate.address}/answers/draft",
        json={"question_id": accepted, "body": "Late"},
        headers=_headers(world, advocate),
    )
    assert response.status_code == 409, response.text
    assert "is accepted" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"question_id": "0x" + "11" * 32},
        {"question_id": "0x" + "11" * 32, "body": ""},
        {"question_id": "0x" + "11" * 32, "body": "   \n "},
        {"question_id": "0x" + "11" * 32, "body": "x" * 20_001},
        {"question_id": "0x11", "body": "Hi"},
        {"question_id": "0x" + "11" * 32, "body": "Hi", "tip": 1},
    ],
)
def test_a_malformed_draft_is_422(world: World, body: dict[str, Any]) -> None:
    advocate = ADVOCATES[0]
    response = world.client.post(
        f"/api/v1/advocates/{advocate.address}/answers/draft", json=body, headers=_headers(world, advocate)
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0x1234"},
        {"content_cid": "QmNotACidV1"},
        {"nonce": -1},
        {"deadline": 2**64},
        {"extra": True},
        {"question_id": None},
    ],
)
def test_a_malformed_submission_is_422_and_stores_nothing(world: World, change: dict[str, Any]) -> None:
    advocate = ADVOCATES[0]
    body = {
        "question_id": "0x" + "11" * 32,
        "content_cid": cid_from_digest(bytes(32)),
        "nonce": 0,
        "deadline": 2**40,
        "signature": "0x" + "11" * 65,
    } | change
    stored = _stored(world)
    response = _submit(world, advocate, body)
    assert response.status_code == 422, response.text
    assert _stored(world) == stored

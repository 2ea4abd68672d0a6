"""`peercare demo` end to end: the first questions of cardano-se replayed against `peercare up`
(a subprocess, see conftest.py), then checked against the chain and the API, never against the
demo's own bookkeeping. A second run must change nothing."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from eth_typing import HexStr
from web3 import Web3
from web3.contract import Contract

from peercare.chain.deployment import Deployment
from peercare.cli import main
from peercare.cli.demo import demo
from peercare.content.cid import cid_from_digest
from peercare.content.embedded import EmbeddedStore
from peercare.core.ledger_ids import question_id, short_string
from peercare.demo.offers import halves
from peercare.demo.plan import UPVOTE_RATING, Plan, advocate_account, build_plan
from peercare.oracle.manifest import BatchManifest
from peercare.oracle.posted_questions import PostedQuestion, is_accepted, questions_on_chain
from peercare.routing.dump import load_dump
from tests.support.demo_peercare import ROOT, RunningPeerCare

DUMP = ROOT / "tests" / "data" / "stackexchange" / "cardano-se"
LIMIT = 40


def run_demo(peercare: RunningPeerCare, *args: str) -> Result:
    return CliRunner().invoke(demo, list(args), env=peercare.env, catch_exceptions=False)


def summary_of(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return summary


@dataclass(frozen=True)
class Chain:
    w3: Web3
    ledger: Contract
    token: Contract
    data_dir: Path

    @property
    def content(self) -> EmbeddedStore:
        return EmbeddedStore(self.data_dir / "content")

    def indexed_ratings(self) -> list[tuple[str, int]]:
        """(question, rating) of every rating the oracle indexed, from its database."""
        with sqlite3.connect(self.data_dir / "oracle.sqlite3") as db:
            return [(q, r) for q, r in db.execute("SELECT question_id, rating FROM ix_ratings ORDER BY id")]

    def outbox(self, brand_id: int) -> list[tuple[str, str, str | None]]:
        """(kind, status, tx hash) of the oracle's writes for the brand, from its database."""
        with sqlite3.connect(self.data_dir / "oracle.sqlite3") as db:
            query = "SELECT kind, status, tx_hash FROM outbox WHERE brand_id = ? ORDER BY id"
            return [(k, s, h) for k, s, h in db.execute(query, (brand_id,))]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return build_plan(load_dump(DUMP), DUMP.name, limit=LIMIT)


@pytest.fixture(scope="module")
def first_run(peercare: RunningPeerCare) -> dict[str, Any]:
    return summary_of(run_demo(peercare, "--limit", str(LIMIT), "--json"))


@pytest.fixture(scope="module")
def chain(peercare: RunningPeerCare) -> Chain:
    deployment = Deployment.load(peercare.data_dir / "deployment.json")
    w3 = Web3(Web3.HTTPProvider(peercare.rpc_url))
    return Chain(
        w3,
        deployment.contract(w3, "PeerCareLedger"),
        deployment.contract(w3, "PeerCareToken"),
        peercare.data_dir,
    )


def qid(brand_id: int, ticket_id: str) -> bytes:
    return question_id(brand_id, short_string("generic"), ticket_id)


def brand_questions(chain: Chain, brand_id: int) -> dict[bytes, PostedQuestion]:
    """The brand's questions on chain (in batches, by default), each posted once."""
    found = questions_on_chain(chain.ledger, chain.content, brand_id=brand_id)
    assert [qid for qid, postings in found.items() if len(postings) != 1] == []
    return {qid: postings[0] for qid, postings in found.items()}


def test_every_question_is_posted_with_its_bounty(first_run: dict[str, Any], plan: Plan, chain: Chain) -> None:
    brand_id = first_run["brand_id"]
    posted = brand_questions(chain, brand_id)
    assert set(posted) == {qid(brand_id, t.ticket_id) for t in plan.tickets}
    assert first_run["chain"]["questions"] == len(posted) == LIMIT
    for ticket in plan.tickets:
        question = posted[qid(brand_id, ticket.ticket_id)]
        assert (question.brand_id, question.bounty) == (brand_id, plan.bounty_of(ticket))


def test_every_accepted_answer_is_paid_its_bounty(first_run: dict[str, Any], plan: Plan, chain: Chain) -> None:
    """Each solved question's bounty is credited in full: to its answer's author, or split by the
    shares of the swarm the author was in (`peercare.oracle.swarm_credit`; the audit checks the
    shares against the anchored decision)."""
    brand_id = first_run["brand_id"]
    credited: dict[bytes, Counter[str]] = {}
    for log in chain.ledger.events.RewardCredited.get_logs(from_block=0):
        credited.setdefault(bytes(log["args"]["questionId"]), Counter())[log["args"]["account"]] += log["args"][
            "amount"
        ]
    escrowed = solved_count = 0
    posted = brand_questions(chain, brand_id)
    for ticket in plan.tickets:
        solved = [d for d in ticket.deliveries if d.kind == "ticket_solved"]
        question = qid(brand_id, ticket.ticket_id)
        bounty = posted[question].bounty
        if not solved:
            escrowed += bounty
            continue
        assert is_accepted(chain.ledger, question, posted[question]), ticket.ticket_id
        solved_count += 1
        comment = solved[0].data["solved_by_comment_id"]
        answer = next(d for d in ticket.deliveries if d.kind == "comment_added" and d.data["comment_id"] == comment)
        paid = credited.get(question, Counter())
        assert sum(paid.values()) == bounty and answer.data["author_wallet"] in paid, ticket.ticket_id
    earned: Counter[str] = sum(credited.values(), Counter())
    assert earned, "the first questions of cardano-se have accepted answers"
    for advocate, amount in earned.items():
        assert chain.ledger.functions.earnings(advocate, chain.token.address).call() == amount, advocate
    available, on_chain_escrow = chain.ledger.functions.pool(brand_id).call()
    figures = first_run["chain"]
    assert figures["tokens_paid"] == sum(earned.values())
    assert figures["acceptances"] == first_run["planned"]["acceptances"] == solved_count
    assert figures["swarm_acceptances"] == sum(len(paid) > 1 for paid in credited.values())
    assert (figures["pool_available"], figures["pool_escrowed"]) == (available, on_chain_escrow)
    assert on_chain_escrow == escrowed


def test_signed_answers_are_anchored_in_batches_carrying_their_signatures(
    first_run: dict[str, Any], plan: Plan, chain: Chain
) -> None:
    """Every answer is a batch leaf (the oracle's default): a signed one costs no transaction of its
    own, its manifest carries the advocate's signature, which the ledger verifies on demand, and
    no advocate's nonce is used."""
    brand_id = first_run["brand_id"]
    batches = chain.ledger.events.AnswerBatchAnchored.get_logs(from_block=0, argument_filters={"brandId": brand_id})
    signed = Counter(d.signer for d in plan.deliveries() if d.signer is not None)
    assert first_run["chain"]["answers_relayed"] == 0
    assert sum(b["args"]["size"] for b in batches) == first_run["planned"]["answers"] == first_run["chain"]["answers"]
    assert first_run["chain"]["answers_batched"] == first_run["planned"]["answers"] > 0
    assert first_run["chain"]["batches"] == len(batches)
    assert first_run["chain"]["answers_signed"] == sum(signed.values()) == first_run["planned"]["signed"] > 0
    leaves = [
        leaf
        for batch in batches
        for leaf in BatchManifest.from_bytes(
            chain.content.get(cid_from_digest(bytes(batch["args"]["manifestDigest"])))
        ).leaves
    ]
    carried = [leaf for leaf in leaves if leaf.signature is not None]
    assert len(carried) == sum(signed.values())
    for leaf in carried[:20]:
        assert leaf.signature is not None
        struct = (leaf.question_id, leaf.content_digest, leaf.advocate, leaf.signature.nonce, leaf.signature.deadline)
        assert chain.ledger.functions.isAnswerSignatureValid(struct, leaf.signature.signature).call()
    for user in signed:  # no signature was used on chain: nonces bind relays only
        assert chain.ledger.functions.nonces(advocate_account(plan.site, user).address).call() == 0


def test_votes_become_ratings(first_run: dict[str, Any], plan: Plan, chain: Chain) -> None:
    """Every vote is a rating, anchored in rating batches and indexed from their manifests."""
    brand_id = first_run["brand_id"]
    questions = {"0x" + q.hex() for q in brand_questions(chain, brand_id)}
    batches = chain.ledger.events.RatingBatchAnchored.get_logs(from_block=0, argument_filters={"brandId": brand_id})
    ratings = [rating for question, rating in chain.indexed_ratings() if question in questions]
    counts = plan.counts()
    assert len(ratings) == counts.ratings == first_run["chain"]["ratings"] == sum(b["args"]["size"] for b in batches)
    assert first_run["chain"]["rating_batches"] == len(batches) > 0
    assert Counter(ratings) == {UPVOTE_RATING: counts.upvotes, 1: counts.downvotes}


def test_gas_and_failures_are_what_the_chain_says(first_run: dict[str, Any], chain: Chain) -> None:
    rows = chain.outbox(first_run["brand_id"])
    assert {status for _, status, _ in rows} == {"confirmed"}
    receipts = [chain.w3.eth.get_transaction_receipt(HexStr(tx_hash)) for _, _, tx_hash in rows if tx_hash]
    assert all(r["status"] == 1 for r in receipts)
    assert first_run["chain"]["gas_used"] == sum(r["gasUsed"] for r in receipts)
    gas = first_run["gas"]
    assert gas["total"] == first_run["chain"]["gas_used"]
    assert gas["per_question"] == gas["total"] // first_run["chain"]["questions"]
    assert gas["per_accepted_question"] == gas["total"] // first_run["chain"]["acceptances"]
    assert sum(kind["gas"] for kind in gas["by_kind"].values()) == gas["total"]
    assert sum(kind["writes"] for kind in gas["by_kind"].values()) == len(rows)
    assert (first_run["chain"]["failed_events"], first_run["chain"]["failed_writes"]) == (0, 0)


def test_top_advocates_are_the_published_scores(first_run: dict[str, Any], peercare: RunningPeerCare) -> None:
    epoch = first_run["epoch"]
    assert epoch["epoch"] is not None and epoch["published_now"], epoch
    shown = [(topic, best) for topic, best in epoch["top"].items() if best]
    assert shown, "some topic has scores"
    with httpx.Client(base_url=peercare.api_url) as api:
        for topic, best in shown:
            assert len(best) <= 3
            assert [b["score"] for b in best] == sorted((b["score"] for b in best), reverse=True)
            for entry in best:
                path = f"/api/v1/advocates/{entry['advocate']}/reputation"
                response = api.get(path, params={"epoch": epoch["epoch"]})
                assert response.status_code == 200, response.text
                scores = {s["topic_label"]: int(s["score"]) for s in response.json()["scores"]}
                assert scores[topic] == entry["score"]


def test_second_run_duplicates_nothing(
    first_run: dict[str, Any], peercare: RunningPeerCare, chain: Chain, plan: Plan
) -> None:
    outbox_before = chain.outbox(first_run["brand_id"])
    second = summary_of(run_demo(peercare, "--limit", str(LIMIT), "--json"))
    assert second["brand_id"] == first_run["brand_id"]
    assert second["deliveries"]["duplicate"] == second["deliveries"]["total"] == plan.counts().deliveries
    assert second["deliveries"]["accepted"] == 0
    assert chain.outbox(first_run["brand_id"]) == outbox_before
    assert second["chain"] == first_run["chain"]
    assert (second["epoch"]["epoch"], second["epoch"]["published_now"]) == (first_run["epoch"]["epoch"], False)
    assert second["epoch"]["top"] == first_run["epoch"]["top"]


def brand_key(peercare: RunningPeerCare, brand_id: int) -> str:
    created = CliRunner().invoke(main, ["api", "key", "create", "--brand", str(brand_id)], env=peercare.env)
    assert created.exit_code == 0, created.output
    return created.output.split(": ", 1)[1].split()[0]


def test_second_half_questions_are_offered_and_the_advocates_who_answer_accept(
    first_run: dict[str, Any], peercare: RunningPeerCare, plan: Plan
) -> None:
    # Read back through the brand's API, not from the demo's own figures.
    brand_id = first_run["brand_id"]
    headers = {"Authorization": f"Bearer {brand_key(peercare, brand_id)}"}
    _, second = halves(plan)
    answerers = {
        t.ticket_id: {str(d.data["author_wallet"]).lower() for d in t.deliveries if "author_wallet" in d.data}
        for t in plan.tickets
    }
    second_half = {t.ticket_id for t in second.tickets}
    offers: list[tuple[str, int, dict[str, Any]]] = []
    with httpx.Client(base_url=peercare.api_url, headers=headers) as api:
        items = api.get(f"/api/v1/brands/{brand_id}/questions", params={"limit": 200}).json()["items"]
        for item in items:
            detail = api.get(f"/api/v1/brands/{brand_id}/questions/{item['question_id']}").json()
            offers += [(item["ticket_id"], r["round"], o) for r in detail["rounds"] for o in r["offer_states"]]
    assert {i["ticket_id"] for i in items} == {t.ticket_id for t in plan.tickets}
    assert all(i["route"] is not None for i in items), "every question is routed"
    assert {t for t, _, _ in offers} & second_half, "the second half's questions were offered to someone"
    for ticket, number, offer in offers:  # the rule, in every round: who answers it accepts, the others decline
        answers_it = offer["advocate"].lower() in answerers[ticket]
        decided = "answered" if answers_it else "declined"
        # A later round's offer may see its question solved before the sweep reaches it: expired.
        assert offer["state"] in ({decided} if number == 0 else {decided, "expired"}), (ticket, number, offer)
        if offer["accepted_at_ms"] is not None:
            assert answers_it, (ticket, number, offer)
        if number == 0:  # decided before the question's first comment was sent (second half only)
            assert (offer["accepted_at_ms"] is not None) == (answers_it and ticket in second_half), (ticket, offer)
    shown = first_run["offers"]
    states = Counter(o["state"] for _, _, o in offers)
    assert shown["made"] == len(offers) and shown["waiting"] == 0
    assert shown["accepted"] == sum(o["accepted_at_ms"] is not None for *_, o in offers)
    assert [shown[state] for state in ("answered", "declined", "expired")] == [
        states[state] for state in ("answered", "declined", "expired")
    ]
    # The brand's system received each delivery once, every one signed with the channel's secret.
    delivered = shown["deliveries"]
    assert delivered["received_by_the_brand"] == delivered["delivered"] > 0 and delivered["parked"] == 0
    assert (delivered["received_twice"], delivered["refused_by_the_brand"]) == (0, 0)
    latency = shown["ticket_to_offer_delivered_ms"]
    assert 0 < latency["count"] <= shown["delivered"] and 0 < latency["p50"] <= latency["p99"]
    share = first_run["routing"]["accepted_answer_offered_share"]
    assert first_run["routing"]["accepted_answers_judged"] > 0 and 0 <= share <= 1

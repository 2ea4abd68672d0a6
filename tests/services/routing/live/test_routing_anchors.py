"""Routing on chain, in a running PeerCare: each round the router decides is anchored in a routing
batch by the oracle's own worker, and anyone proves an offer from the chain and the content, with
the public API route or `peercare routing prove`."""

from __future__ import annotations

import hashlib
import json
import time

from click.testing import CliRunner
from eth_utils.crypto import keccak
from sqlalchemy import select
from web3 import Web3

from peercare.cli import main
from peercare.content.cid import cid_from_digest
from peercare.core.ledger_ids import ROUTING_LEAF_ENCODING, question_id, short_string
from peercare.core.merkle import verify
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Question
from peercare.db.tables.routing import Offer, RouteRound, RoutingBatch
from peercare.routing.anchors import RoutingManifest
from tests.support.health_support import wait_for
from tests.support.world import World

ZERO = "0x" + "00" * 20


def anchored_round(world: World) -> tuple[str, list[str], str]:
    """A first round the chain anchored, of a new ticket (or, when its round could offer no one,
    the latest that did): (question id, people offered, root)."""
    ticket = f"ANCHOR-{time.time_ns()}"
    data = {"subject": "Anchors?", "body": "Where?", "tags": ["staking"], "requester_id": f"c-{ticket}"}
    world.deliver(world.dev.brand_id, "ticket_created", f"{ticket}-open", ticket, **data)
    qid = "0x" + question_id(world.dev.brand_id, short_string("generic"), ticket).hex()

    def anchored() -> str | None:
        with world.oracle.database.read() as session:
            root = session.scalar(
                select(RoutingBatch.root)
                .join(RouteRound, RouteRound.batch_id == RoutingBatch.id)
                .where(RouteRound.question_id == qid, RouteRound.round == 0)
            )
            indexed = session.scalar(
                select(ix.RoutingBatchAnchoredRow.id).where(ix.RoutingBatchAnchoredRow.root == root)
            )
        return root if indexed is not None else None

    root = wait_for(anchored, f"round 0 of {qid} anchored and indexed", timeout_s=90)
    with world.oracle.database.read() as session:
        offered = list(session.scalars(select(Offer.advocate).where(Offer.question_id == qid, Offer.round == 0)))
        if offered:
            return qid, offered, root
        # Everyone is at their open-offer cap (other tests leave questions open): prove the latest
        # anchored round that did offer its question to someone.
        qid, root = session.execute(
            select(RouteRound.question_id, RoutingBatch.root)
            .join(RoutingBatch, RoutingBatch.id == RouteRound.batch_id)
            .join(ix.RoutingBatchAnchoredRow, ix.RoutingBatchAnchoredRow.root == RoutingBatch.root)
            .join(Offer, (Offer.question_id == RouteRound.question_id) & (Offer.round == RouteRound.round))
            .where(RouteRound.round == 0)
            .order_by(RouteRound.created_at_ms.desc())
            .limit(1)
        ).one()
        offered = list(session.scalars(select(Offer.advocate).where(Offer.question_id == qid, Offer.round == 0)))
    return qid, offered, root


def test_a_routed_round_is_anchored_and_each_offer_proves_against_the_chain(world: World) -> None:
    qid, offered, root = anchored_round(world)
    assert offered, "the router offered the question to someone"
    for person in [*offered, ZERO]:
        response = world.client.get(f"/api/v1/routing/questions/{qid}/rounds/0/offers/{person}/proof")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["root"] == root and body["leaf_encoding"] == list(ROUTING_LEAF_ENCODING)
        leaf = (bytes.fromhex(qid[2:]), 0, body["advocate"], bytes.fromhex(body["commitment"][2:]))
        assert verify(
            bytes.fromhex(root[2:]), ROUTING_LEAF_ENCODING, leaf, [bytes.fromhex(p[2:]) for p in body["proof"]]
        )
        logs = world.dev.ledger.events.RoutingBatchAnchored.get_logs(
            from_block=body["block_number"], to_block=body["block_number"]
        )
        assert "0x" + logs[0]["args"]["batchRoot"].hex() == root
    with world.oracle.database.read() as session:
        record = session.get(RouteRound, (qid, 0))
        assert record is not None and body["decision"] == record.decision


def test_no_proof_for_someone_not_offered_or_a_round_not_anchored(world: World) -> None:
    qid, offered, _ = anchored_round(world)
    stranger = "0x" + "ab" * 20
    refused = world.client.get(f"/api/v1/routing/questions/{qid}/rounds/0/offers/{stranger}/proof")
    assert refused.status_code == 404 and "no anchored routing batch proves" in refused.json()["detail"]
    later = world.client.get(f"/api/v1/routing/questions/{qid}/rounds/7/offers/{offered[0]}/proof")
    assert later.status_code == 404 and "round 7" in later.json()["detail"] and "not anchored" in later.json()["detail"]
    unknown = world.client.get(f"/api/v1/routing/questions/0x{'11' * 32}/rounds/0/offers/{offered[0]}/proof")
    assert unknown.status_code == 404 and "is not on chain" in unknown.json()["detail"]


def test_the_cli_proves_an_offer_from_the_chain_and_the_content_alone(world: World) -> None:
    qid, offered, root = anchored_round(world)
    settings = world.oracle.settings
    env = {
        "PEERCARE_DATA_DIR": str(settings.data_dir),
        "PEERCARE_RPC_URL": world.dev.url,
        "PEERCARE_DEPLOYMENT_FILE": str(world.dev.deployment_file),
    }
    result = CliRunner().invoke(main, ["routing", "prove", qid, "0", offered[0]], env=env)
    assert result.exit_code == 0, result.output
    proof = json.loads(result.stdout.strip().splitlines()[-1])
    assert proof["root"] == root and proof["advocate"] == offered[0]
    missing = CliRunner().invoke(main, ["routing", "prove", qid, "0", "0x" + "ab" * 20], env=env)
    assert missing.exit_code == 1 and "no routing batch anchored by brand" in missing.output


def test_no_routing_manifest_or_decision_record_holds_a_requesters_id_or_an_unkeyed_hash_of_it(world: World) -> None:
    anchored_round(world)
    store = world.oracle.context.public_store
    with world.oracle.database.read() as session:
        # A requester who is a wallet is an advocate asking in the open: the record names them as the
        # asker so that routing never offers them their own question. Everyone else is a customer.
        requesters = {r for r in session.scalars(select(Question.requester_id)) if not Web3.is_address(r)}
        digests = list(session.scalars(select(ix.RoutingBatchAnchoredRow.manifest_digest)))
    public = b""
    for digest in digests:
        manifest = RoutingManifest.from_bytes(store.get(cid_from_digest(bytes.fromhex(digest[2:]))))
        public += manifest.to_bytes() + b"".join(store.get(r.record_cid) for r in manifest.rounds)
    assert requesters and digests
    for requester in requesters:
        ids = [requester.encode(), f"generic:{requester}".encode()]
        forms = [keccak(f) for f in ids] + [hashlib.sha256(f).digest() for f in ids]
        forms += [i for i in ids if len(i) >= 6]  # an id of a few letters is in any text (the world has "c")
        assert [f for f in forms if f in public or f.hex().encode() in public] == [], requester

"""Publishing an epoch (peercare/reputation/publication.py): the history from the projections, one
outbox row sent by the oracle's signer, the root on chain, and proofs `verifyScore` accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from peercare.chain.rpc import Rpc
from peercare.content.embedded import EmbeddedStore
from peercare.core.enums import OutboxKind, RaterKind
from peercare.core.ledger_ids import reputation_topic
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus, OutboxTx
from peercare.db.tables.projections import IndexerCursor
from peercare.db.tables.reputation import ReputationEpoch
from peercare.oracle.brands import configure_brand
from peercare.oracle.outbox import GAS_LIMITS
from peercare.reputation.epoch import build_epoch, verify_manifest
from peercare.reputation.history import Expert, account_key
from peercare.reputation.publication import (
    PublicationError,
    history_from_projections,
    publish_epoch,
    scope_of,
    score_proof,
)
from peercare.reputation.scope import BrandScope, Scope
from tests.support.devchain import DevLedger
from tests.support.epoch_support import GENERAL, WALLETS, HistoryFacts, index_all, publish_directly, send_outbox


def leaves_of(manifest: dict[str, Any]) -> list[tuple[str, bytes, int]]:
    """(advocate, topic, score) of every leaf of a manifest's tree dump."""
    values = (entry["value"] for entry in manifest["tree"]["values"])
    return [(advocate, bytes.fromhex(topic[2:]), int(score)) for advocate, topic, score in values]


def _count(database: Database, model: type) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_history_comes_from_the_projections_up_to_the_cut_namespaced_by_the_counted_brand(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    with oracle_database.read() as session:
        scope = scope_of(session)
        history = history_from_projections(session, cut=facts.cut, scope=scope)
        later = history_from_projections(session, cut=facts.cut + 10**6, scope=scope)
    brand = dev_ledger.brand_id
    wallets, general = reputation_topic(brand, WALLETS), reputation_topic(brand, GENERAL)
    expert = account_key(facts.expert.address)
    assert scope == Scope.of([BrandScope.of(brand, ["general", "wallets"], [expert])])
    assert history.experts == tuple(sorted([Expert(expert, general), Expert(expert, wallets)], key=lambda e: e.topic))
    assert len(history.acceptances) == facts.accepted_before_cut
    assert len(later.acceptances) == facts.accepted_before_cut + 1  # the question accepted after the cut
    assert len(history.ratings) == facts.ratings_before_cut
    assert {r.rater_kind for r in history.ratings} == set(RaterKind)
    assert {(a.advocate, a.topic, a.brand) for a in history.acceptances} == {
        (account_key(facts.alice.address), wallets, brand),
        (account_key(facts.carol.address), general, brand),
        (account_key(facts.bob.address), wallets, brand),
    }
    # The swarm's acceptance paid two accounts; the others one each.
    assert len(history.payouts) == 4
    assert all(event.time <= facts.cut for event in (*history.acceptances, *history.ratings, *history.payouts))


def test_an_epoch_counts_only_the_brands_this_oracle_serves_and_the_ledger_admitted(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    with oracle_database.transaction() as session:
        # Configured here but never registered on the ledger: nothing of it can be vouched for.
        configure_brand(session, 99, "Unadmitted", answer_window_s=60)
    with oracle_database.read() as session:
        assert [b.brand for b in scope_of(session).brands] == [dev_ledger.brand_id]
        assert history_from_projections(session, cut=facts.cut, scope=Scope.of([])).acceptances == ()


def test_published_root_is_on_chain_and_proves_every_real_score(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    published = publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)

    with oracle_database.read() as session:
        row = session.get(OutboxTx, published.outbox_id)
        record = session.get(ReputationEpoch, 1)
    assert row is not None and record is not None
    assert (row.kind, row.brand_id, row.to, row.gas_limit) == (
        OutboxKind.PUBLISH_REPUTATION,
        None,
        dev_ledger.roots.address,
        GAS_LIMITS[OutboxKind.PUBLISH_REPUTATION],
    )
    assert (record.root, record.manifest_cid, record.cut, record.outbox_id) == (
        "0x" + published.root.hex(),
        published.manifest_cid,
        facts.cut,
        published.outbox_id,
    )

    [sent] = send_outbox(oracle_database, rpc, dev_ledger)
    assert sent.status == OutboxStatus.CONFIRMED and sent.gas_used is not None
    assert sent.gas_used < GAS_LIMITS[OutboxKind.PUBLISH_REPUTATION], sent.gas_used
    roots = dev_ledger.roots.functions
    assert roots.latestEpoch().call() == 1
    assert bytes(roots.rootOf(1).call()[0]) == published.root

    manifest = json.loads(store.get(published.manifest_cid))
    assert verify_manifest(manifest) == published.root
    leaves = leaves_of(manifest)
    assert len(leaves) == published.leaves >= 4
    for advocate, topic, score in leaves:
        proven, proof = score_proof(manifest, advocate, topic)
        assert proven == score > 0
        assert roots.verifyScore(1, advocate, topic, score, proof).call() is True
        assert roots.verifyScore(1, advocate, topic, score + 1, proof).call() is False


def test_the_epoch_is_the_pure_build_of_the_indexed_history(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    published = publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    with oracle_database.read() as session:
        history = history_from_projections(session, cut=facts.cut, scope=scope_of(session))
    with oracle_database.read() as session:
        expected = build_epoch(history, 1, scope=scope_of(session))
    assert published.root == expected.root
    assert store.get(published.manifest_cid) == expected.manifest_bytes()
    assert json.loads(expected.manifest_bytes())["experts"] == [
        [e.account, "0x" + e.topic.hex()] for e in history.experts
    ]


def test_publishing_an_epoch_again_is_refused_and_queues_nothing(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    first = publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    refused = rf"epoch 1 is not after epoch 1, already queued .*outbox row {first.outbox_id}.*publish epoch 2$"
    with pytest.raises(PublicationError, match=refused):
        publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    assert (_count(oracle_database, OutboxTx), _count(oracle_database, ReputationEpoch)) == (1, 1)

    # Once sent and indexed, the chain refuses it too, and so does publish_epoch.
    send_outbox(oracle_database, rpc, dev_ledger)
    index_all(oracle_database, rpc, dev_ledger, store)
    with pytest.raises(PublicationError, match="not after epoch 1"):
        publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    assert _count(oracle_database, OutboxTx) == 1


def test_an_epoch_that_skips_ahead_is_refused_and_queues_nothing(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    """ReputationRoots takes epochs in order (one of 2^64 - 1 would end all epochs): the oracle
    does not queue a publication the chain would revert."""
    index_all(oracle_database, rpc, dev_ledger, store)
    for epoch in (2, 2**64 - 1):
        with pytest.raises(PublicationError, match=f"epoch {epoch} would skip epochs: .* publish epoch 1$"):
            publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=epoch, cut=facts.cut)
    assert _count(oracle_database, OutboxTx) == 0


def test_an_epoch_whose_publication_failed_on_chain_is_published_again(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    """With epochs in order, a publication that reverted must not hold its number for ever."""
    index_all(oracle_database, rpc, dev_ledger, store)
    first = publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    with oracle_database.transaction() as session:
        row = session.get(OutboxTx, first.outbox_id)
        assert row is not None
        row.status, row.error = OutboxStatus.FAILED, "reverted"  # as the signer records a revert

    again = publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)

    assert again.outbox_id != first.outbox_id and again.root == first.root
    with oracle_database.read() as session:
        assert session.get(ReputationEpoch, 1).outbox_id == again.outbox_id  # type: ignore[union-attr]
    send_outbox(oracle_database, rpc, dev_ledger)
    assert dev_ledger.roots.functions.latestEpoch().call() == 1


def test_an_epoch_published_on_chain_by_another_path_is_refused(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    publish_directly(dev_ledger, 1, b"\x01" * 32, b"\x02" * 32)  # this database never heard of it
    with pytest.raises(PublicationError, match="epoch 1 is not after epoch 1, already published on chain"):
        publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    assert _count(oracle_database, OutboxTx) == 0


def test_a_cut_the_index_has_not_passed_is_refused(
    oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, store: EmbeddedStore, facts: HistoryFacts
) -> None:
    with pytest.raises(PublicationError, match="has not indexed any block"):
        publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=facts.cut)
    index_all(oracle_database, rpc, dev_ledger, store)
    # The block the index reached, not the chain's latest: the dev chain mines a block every
    # second, so "latest" may already be past the cursor when it is read.
    with oracle_database.read() as session:
        cursor = session.get(IndexerCursor, 1)
        assert cursor is not None
    reached = dev_ledger.w3.eth.get_block(cursor.block_number)["timestamp"]
    with pytest.raises(PublicationError, match=f"reach block time {reached}, not past the cut {reached}"):
        publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=1, cut=reached)
    assert _count(oracle_database, OutboxTx) == 0

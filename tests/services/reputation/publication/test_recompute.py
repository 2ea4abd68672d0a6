"""Recomputing a published epoch from the chain and the content store alone
(`peercare.reputation.publication.recompute_epoch`): an honest epoch checks out; a tampered manifest, a
manifest whose cut or experts are not what the root was computed from, and a root that does not
match the history are each reported, naming the first mismatch."""

from __future__ import annotations

import json
import re
from typing import Any

from peercare.chain.devnet import DEPLOYER, dev_account, transact
from peercare.chain.rpc import Rpc
from peercare.content.cid import cid_from_digest
from peercare.content.embedded import EmbeddedStore
from peercare.core.ledger_ids import reputation_topic
from peercare.db.database import Database
from peercare.db.tables.projections import current_root, current_roots
from peercare.reputation.epoch import Epoch, build_epoch
from peercare.reputation.history import Acceptance, History, account_key
from peercare.reputation.publication import (
    RecomputeResult,
    history_from_projections,
    publish_epoch,
    recompute_epoch,
    recompute_from_index,
    scope_of,
)
from peercare.reputation.scope import BrandScope, Scope
from tests.support.devchain import DevLedger
from tests.support.epoch_support import WALLETS, HistoryFacts, index_all, publish_directly, send_outbox, store_manifest

EPOCH = 1  # ReputationRoots takes epochs in order: the first published is 1


def _recompute(dev: DevLedger, store: EmbeddedStore, scratch_url: str, epoch: int = EPOCH) -> RecomputeResult:
    return recompute_epoch(dev.url, dev.deployment, store, epoch=epoch, scratch_database_url=scratch_url)


def _honest_epoch(
    database: Database, rpc: Rpc, dev: DevLedger, store: EmbeddedStore, cut: int
) -> tuple[History, Epoch]:
    """The epoch an honest oracle would publish, built from its index (nothing published yet)."""
    index_all(database, rpc, dev, store)
    with database.read() as session:
        scope = scope_of(session)
        history = history_from_projections(session, cut=cut, scope=scope)
    return history, build_epoch(history, EPOCH, scope=scope)


def test_an_honest_epoch_recomputes_from_the_chain_and_content_alone(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    index_all(oracle_database, rpc, dev_ledger, store)
    published = publish_epoch(oracle_database, dev_ledger.deployment, store, rpc, epoch=EPOCH, cut=facts.cut)
    send_outbox(oracle_database, rpc, dev_ledger)

    result = _recompute(dev_ledger, store, scratch_url)
    assert result.ok, result.message
    assert result.root_on_chain == result.manifest_root == result.root_recomputed == published.root
    assert (result.cut, result.manifest_cid, result.message) == (facts.cut, published.manifest_cid, "ok")


def test_an_unpublished_epoch_is_reported(dev_ledger: DevLedger, store: EmbeddedStore, scratch_url: str) -> None:
    result = _recompute(dev_ledger, store, scratch_url, epoch=9)
    assert not result.ok
    assert result.message == "epoch 9 was never published on chain (no ReputationRootPublished)"


def test_a_tampered_stored_manifest_is_refused_by_the_store_and_reported(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    _, epoch = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    manifest = epoch.manifest()
    digest = store_manifest(store, manifest)
    publish_directly(dev_ledger, EPOCH, epoch.root, digest)
    # Someone edits the stored manifest (one score up): its bytes no longer hash to the digest.
    manifest["tree"]["values"][0]["value"][2] = str(int(manifest["tree"]["values"][0]["value"][2]) + 1)
    cid = store.put(json.dumps(manifest).encode())  # a valid block of its own, under another CID
    store.path_of(cid_from_digest(digest)).write_bytes(store.get(cid))

    result = _recompute(dev_ledger, store, scratch_url)
    assert not result.ok
    assert result.root_on_chain == epoch.root and result.manifest_root is None and result.root_recomputed is None
    assert result.message.startswith(f"the manifest {cid_from_digest(digest)} named on chain cannot be read")
    assert "corrupt" in result.message.lower()


def test_a_manifest_declaring_another_cut_is_reported(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    _, epoch = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    manifest = epoch.manifest()
    manifest["cut"] = facts.cut + 150  # after the last event that counted, before the publication
    publish_directly(dev_ledger, EPOCH, epoch.root, store_manifest(store, manifest))

    result = _recompute(dev_ledger, store, scratch_url)
    assert not result.ok
    assert result.root_on_chain == result.manifest_root == epoch.root != result.root_recomputed
    assert result.message.startswith(f"the history on chain up to cut {facts.cut + 150} with the manifest's 2 experts")
    assert f"the manifest declares 0x{epoch.history_digest.hex()}" in result.message
    assert any(m.startswith("the recomputed root") for m in result.mismatches)


def test_a_manifest_listing_other_experts_is_reported_with_the_first_differing_score(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    _, epoch = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    # The root was computed with the brand's real expert; the manifest names Bob instead, with a
    # history digest made consistent with that claim: only recomputing the scores catches it.
    bob = account_key(facts.bob.address)
    claimed_scope = Scope.of([BrandScope.of(dev_ledger.brand_id, ["general", "wallets"], [bob])])
    with oracle_database.read() as session:
        claimed = build_epoch(
            history_from_projections(session, cut=facts.cut, scope=claimed_scope), EPOCH, scope=claimed_scope
        )
    manifest = epoch.manifest()
    for field in ("brands", "experts", "historyDigest"):
        manifest[field] = claimed.manifest()[field]
    publish_directly(dev_ledger, EPOCH, epoch.root, store_manifest(store, manifest))

    result = _recompute(dev_ledger, store, scratch_url)
    assert not result.ok
    assert result.root_on_chain == result.manifest_root == epoch.root
    assert result.root_recomputed == claimed.root
    assert len(result.mismatches) == 1
    assert re.match(
        r"the recomputed root 0x[0-9a-f]{64} is not the manifest's 0x[0-9a-f]{64}: \d+ of \d+ scores", result.message
    )
    assert re.search(r"first 0x[0-9a-fA-F]{40} in topic 0x[0-9a-f]{64}: \d+ published, \d+ recomputed", result.message)


def test_a_root_on_chain_that_is_not_the_manifests_is_reported(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    _, epoch = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    wrong = bytes(31) + b"\x01"
    publish_directly(dev_ledger, EPOCH, wrong, store_manifest(store, epoch.manifest()))

    result = _recompute(dev_ledger, store, scratch_url)
    assert not result.ok
    assert (result.root_on_chain, result.manifest_root, result.root_recomputed) == (wrong, epoch.root, epoch.root)
    assert result.mismatches == (
        f"the manifest's root 0x{epoch.root.hex()} is not the root published on chain 0x{wrong.hex()}",
    )


def test_an_inflated_score_published_with_a_consistent_manifest_is_reported(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    history, honest = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    # The oracle credits Carol with an acceptance that never happened, and publishes a sound tree
    # of those scores under the real history's digest.
    wallets = reputation_topic(dev_ledger.brand_id, WALLETS)
    invented = Acceptance(b"\x09" * 32, wallets, account_key(facts.carol.address), facts.cut, 1, dev_ledger.brand_id)
    forged = build_epoch(
        History.of(history.cut, (*history.acceptances, invented), history.ratings, history.payouts, history.experts),
        EPOCH,
        scope=honest.scope,
    )
    manifest: dict[str, Any] = forged.manifest()
    manifest["historyDigest"] = "0x" + honest.history_digest.hex()
    publish_directly(dev_ledger, EPOCH, forged.root, store_manifest(store, manifest))

    result = _recompute(dev_ledger, store, scratch_url)
    assert not result.ok
    assert result.root_on_chain == result.manifest_root == forged.root
    assert result.root_recomputed == honest.root
    carol = facts.carol.address
    published, recomputed = forged.score(carol, wallets), honest.score(carol, wallets)
    assert published > recomputed
    assert result.message.endswith(
        f"first {carol} in topic 0x{wallets.hex()}: {published} published, {recomputed} recomputed"
    )


def test_recomputation_reports_a_cut_not_before_its_publication(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    _, epoch = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    manifest = epoch.manifest()
    manifest["cut"] = facts.cut + 10**6  # a history the chain had not reached when it was published
    publish_directly(dev_ledger, EPOCH, epoch.root, store_manifest(store, manifest))

    result = _recompute(dev_ledger, store, scratch_url)
    assert not result.ok
    assert re.fullmatch(
        rf"the manifest's cut {facts.cut + 10**6} is not before the block that published it \(time \d+\)",
        result.message,
    )


def test_a_wrong_root_superseded_by_the_admins_correction_recomputes(
    oracle_database: Database,
    rpc: Rpc,
    dev_ledger: DevLedger,
    store: EmbeddedStore,
    facts: HistoryFacts,
    scratch_url: str,
) -> None:
    # The oracle published a wrong root; the admin (a key the reputation oracle does not hold)
    # corrects it with the honest root and manifest. Readers follow the correction: the indexer
    # projects RootCorrected, and recomputation checks the corrected root as the epoch's.
    _, epoch = _honest_epoch(oracle_database, rpc, dev_ledger, store, facts.cut)
    digest = store_manifest(store, epoch.manifest())
    publish_directly(dev_ledger, EPOCH, bytes(31) + b"\x01", digest)
    assert not _recompute(dev_ledger, store, scratch_url).ok

    admin = dev_account(DEPLOYER)
    transact(dev_ledger.w3, admin, dev_ledger.roots.functions.correctRoot(EPOCH, epoch.root, digest))
    assert bytes(dev_ledger.roots.functions.rootOf(EPOCH).call()[0]) == epoch.root

    index_all(oracle_database, rpc, dev_ledger, store)
    with oracle_database.read() as session:
        current = current_root(session, EPOCH)
        assert current is not None and current.root == "0x" + epoch.root.hex()
        assert [row.root for row in current_roots(session)] == [current.root]
        assert recompute_from_index(session, store, EPOCH).ok

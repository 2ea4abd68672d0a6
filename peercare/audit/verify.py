"""The audit: every claim of the public history checked from the chain and the content store alone.

`run_audit` indexes the chain from the deployment block into an empty scratch database (the same
`Indexer` the oracle runs, so the audit reads events exactly as the oracle does, but nothing the
oracle stored), then checks, for every brand or one (one module each in `peercare.audit.checks`):

1. content: each answer's block (CID of its digest) is present and hashes to the digest, or was
   erased on request (the key store's record says who, when and why);
2. batches: each anchored batch's manifest (public, addressed by the digest the chain carries)
   rebuilds a tree with the anchored root and size, and every leaf's proof verifies against it;
3. payouts: each `RewardCredited` comes with an `AnswerAccepted` of the same question in the same
   transaction, the credits of one acceptance sum to its bounty, the accepted answer was recorded,
   and each brand's pool (and each account's earnings) as summed from the events equals the ledger's;
4. reputation: each published epoch recomputes to the root on chain (`recompute_from_index`);
5. database: the oracle's own index, when there is one, equals the scratch index up to the block it
   reached; a row that differs is named (table, row id, columns). The oracle's database is read for
   this comparison only, never as a source for the other checks;
6. routing: each anchored routing batch's manifest rebuilds its root, each round's decision hashes
   to its commitment and replays on its epoch, no round is missing, no asker was offered their own
   question, and every swarm payout equals its committed shares (`checks.routing`);
7. ratings: each rating batch's manifest rebuilds its root, and its leaves count once per rater
   (`checks.ratings`);
8. questions: each question batch's manifest rebuilds its root, lists the brand's own tickets with
   bounties adding up to its total, no question id is posted twice, and each batch's escrow is
   conserved (`checks.questions`).

This module owns the order (the chain checked to be the deployment's, the oracle's index read, the
scratch index built in one pass that stops where the oracle's index did to compare it, then the
checks) and builds the report (`AuditReport`), which renders as text or JSON. What the checks share
(the report's types, `ScratchIndex`) is `peercare.audit.checks.common`. Pure
orchestration over `peercare.oracle.indexer` and the checks (which use `peercare.core.merkle` and
`peercare.reputation.publication`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from web3 import Web3
from web3.contract import Contract

from peercare.audit.checks.batches import check_batches
from peercare.audit.checks.common import AuditError, AuditReport, Progress, ScratchIndex
from peercare.audit.checks.content import check_content
from peercare.audit.checks.database import check_database, start_database_check
from peercare.audit.checks.payouts import check_payouts
from peercare.audit.checks.questions import check_questions
from peercare.audit.checks.ratings import check_ratings
from peercare.audit.checks.reputation import check_reputation
from peercare.audit.checks.routing import check_routing
from peercare.chain.deployment import Deployment
from peercare.chain.views import ChainReader
from peercare.content.store import EveryStore
from peercare.content.vault import Vault
from peercare.db.database import Database
from peercare.db.tables import projections as ix
from peercare.oracle.indexer import Indexer

# The audit's interface (what `peercare.cli.audit` imports); the two types are defined with what the checks share.
__all__ = ["AuditError", "AuditReport", "run_audit"]

#: How often (seconds) indexing reports how far it got.
PROGRESS_INTERVAL_S = 1.0


def run_audit(
    rpc: ChainReader,
    deployment: Deployment,
    vault: Vault,
    scratch: Database,
    *,
    oracle_database: Database | None = None,
    brand_id: int | None = None,
    sources: Mapping[str, Any] | None = None,
    progress: Progress = lambda _line: None,
    clock: Callable[[], float] = time.monotonic,
) -> AuditReport:
    """Audit the deployment's history (see the module docstring). `scratch` must be an empty,
    migrated database; `oracle_database`, if given, is only read and compared."""
    started = clock()
    public = EveryStore(vault.stores)
    ledger = deployment.contract(Web3(), "PeerCareLedger")
    head = _check_chain(rpc, deployment, ledger)
    first = deployment.deployed_at_block
    with scratch.read() as session:
        if session.get(ix.IndexerCursor, 1) is not None:
            raise AuditError("the scratch database already holds an index: the audit starts from an empty one")

    database_section, oracle_index, head = start_database_check(
        oracle_database, first, head, progress, head_now=lambda: int(rpc.call("eth_blockNumber", []), 16)
    )
    # One pass over the chain: up to where the oracle's index stopped (to compare it), then to the head.
    if oracle_index is not None and oracle_database is not None:
        _index(scratch, rpc, deployment, public, min(oracle_index[0], head), progress, clock)
        check_database(database_section, oracle_database, oracle_index[1], scratch)
    _index(scratch, rpc, deployment, public, head, progress, clock)

    with scratch.read() as session:
        index = ScratchIndex.load(session)
        if brand_id is not None and brand_id not in index.brands:
            known = ", ".join(map(str, sorted(index.brands))) or "none"
            raise AuditError(f"brand {brand_id} is not registered on the ledger (registered brands: {known})")
        progress(f"checking the content of {len({row.answer_id for row in index.answers})} answers")
        content = check_content(index, vault, brand_id)
        progress(f"checking {len(index.batches)} anchored batches")
        batches = check_batches(index, public, brand_id, chain_id=deployment.chain_id, ledger=ledger.address)
        progress(f"checking {len(index.acceptances)} acceptances and {len(index.credits)} payouts")
        payouts = check_payouts(index, session, rpc, ledger, head, brand_id)
        reputation = check_reputation(session, public, progress)
        progress(f"checking {len(index.routing_batches)} routing batches")
        routing = check_routing(index, session, public, brand_id)
        progress(f"checking {len(index.rating_batches)} rating batches")
        ratings = check_ratings(index, public, brand_id)
        progress(f"checking {len(index.question_batches)} question batches")
        questions = check_questions(index, public, rpc, ledger, head, brand_id)
    return AuditReport(
        chain_id=deployment.chain_id,
        brand_id=brand_id,
        first_block=first,
        last_block=head,
        sources=dict(sources or {}),
        sections=[content, batches, payouts, reputation, database_section, routing, ratings, questions],
        seconds=clock() - started,
    )


def _check_chain(rpc: ChainReader, deployment: Deployment, ledger: Contract) -> int:
    """The chain's head, after checking that it is the deployment's chain."""
    chain_id = int(rpc.call("eth_chainId", []), 16)
    if chain_id != deployment.chain_id:
        raise AuditError(f"the chain's id is {chain_id}, the deployment manifest is for chain {deployment.chain_id}")
    head = int(rpc.call("eth_blockNumber", []), 16)
    if rpc.call("eth_getCode", [ledger.address, hex(head)]) in (None, "0x", ""):
        raise AuditError(f"no ledger contract at {ledger.address} on this chain: wrong deployment manifest?")
    if head < deployment.deployed_at_block:
        raise AuditError(f"the chain's head {head} is before the deployment block {deployment.deployed_at_block}")
    return head


def _index(
    scratch: Database,
    rpc: ChainReader,
    deployment: Deployment,
    public: EveryStore,
    until: int,
    progress: Progress,
    clock: Callable[[], float],
) -> None:
    """Index the scratch database on up to block `until` (inclusive)."""
    indexer = Indexer(
        scratch, rpc, deployment, public, confirmations=0, until_block=until, manifest_retry_interval_s=0.0
    )
    start = indexer.cursor()
    total = until - start
    if total <= 0:
        return
    progress(f"indexing blocks {start + 1}..{until} ({total} blocks) into a scratch database")
    reported = clock()

    def report(cursor: int) -> None:
        nonlocal reported
        if clock() - reported >= PROGRESS_INTERVAL_S:
            reported = clock()
            progress(f"  indexed {cursor - start} of {total} blocks")

    indexer.catch_up(until, on_step=report)

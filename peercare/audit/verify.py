"""The audit: every claim of the public history checked from the chain and the content store alone.

`run_audit` indexes the chain from the deployment block into an empty scratch database (the same
`Indexer` the oracle runs, so the audit reads events exactly as the oracle does, but nothing the
oracle stored), then checks, for every brand or one:

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
   this comparison only, never as a source for the other checks.

Pure orchestration over `peercare.oracle.indexer`, `peercare.core.merkle` and `peercare.reputation.chain`;
the report (`AuditReport`) renders as text or JSON.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from eth_abi.abi import decode
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from web3 import Web3
from web3.contract import Contract

from peercare.chain.deployment import Deployment
from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentCorrupted, ContentMissing, StoreUnavailable
from peercare.content.store import Store
from peercare.content.vault import Status, Vault
from peercare.core.hex import unhex
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import verify
from peercare.db.database import Database
from peercare.db.tables import projections as ix
from peercare.oracle.indexer import ChainReader, Indexer
from peercare.oracle.manifest import BatchManifest, ManifestError
from peercare.reputation.chain import recompute_from_index

Progress = Callable[[str], None]
Snapshot = dict[str, list[tuple[Any, ...]]]

#: How often (seconds) indexing reports how far it got.
PROGRESS_INTERVAL_S = 1.0
#: Row ids looked up in the oracle's database per table (beyond that, rows are named by their log).
MAX_ROW_LOOKUPS = 1000


class AuditError(RuntimeError):
    """The audit cannot run: the chain, the content store or the database cannot be used as given."""


class Check(StrEnum):
    CONTENT = "content"
    BATCHES = "batches"
    PAYOUTS = "payouts"
    REPUTATION = "reputation"
    DATABASE = "database"


TITLES = {
    Check.CONTENT: "Answer content matches its identifier (or was erased)",
    Check.BATCHES: "Batched answers prove against their anchored roots",
    Check.PAYOUTS: "Payouts follow from acceptances; pools and earnings balance",
    Check.REPUTATION: "Published reputation roots recompute",
    Check.DATABASE: "The oracle's database agrees with the chain",
}


@dataclass(frozen=True)
class Entry:
    """One line of a section: a finding (something wrong) or a note (fine, but worth saying)."""

    subject: str  # what it is about: "answer 0x..", "batch 0x..", "epoch 2", "ix_answers row 7"
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.subject}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "message": self.message, "details": dict(self.details)}


@dataclass
class Section:
    """The result of one check: what was counted, what is wrong, and what is noteworthy."""

    check: Check
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Entry] = field(default_factory=list)
    notes: list[Entry] = field(default_factory=list)
    scope: str = ""  # when the check does not follow --brand, says what it covers
    skipped: str | None = None  # why the check did not run

    @property
    def ok(self) -> bool:
        return not self.findings

    def count(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def find(self, subject: str, message: str, /, **details: Any) -> None:
        self.findings.append(Entry(subject, message, details))

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check.value,
            "title": TITLES[self.check],
            "ok": self.ok,
            "skipped": self.skipped,
            "scope": self.scope or None,
            "counts": self.counts,
            "findings": [entry.as_json() for entry in self.findings],
            "notes": [entry.as_json() for entry in self.notes],
        }


@dataclass
class AuditReport:
    chain_id: int
    brand_id: int | None
    first_block: int
    last_block: int
    sources: dict[str, Any]
    sections: list[Section]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(section.ok for section in self.sections)

    @property
    def findings(self) -> list[Entry]:
        return [entry for section in self.sections for entry in section.findings]

    def section(self, check: Check) -> Section:
        return next(section for section in self.sections if section.check is check)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": len(self.findings),
            "chain_id": self.chain_id,
            "brand_id": self.brand_id,
            "blocks": [self.first_block, self.last_block],
            "sources": self.sources,
            "seconds": round(self.seconds, 2),
            "sections": [section.as_json() for section in self.sections],
        }

    def text(self, *, max_lines_per_section: int = 100) -> str:
        scope = "all brands" if self.brand_id is None else f"brand {self.brand_id}"
        lines = [
            f"PeerCare audit of chain {self.chain_id}, blocks {self.first_block}..{self.last_block}, {scope}",
            f"  content: {', '.join(self.sources['content'])}",
            f"  oracle database: {self.sources['database'] or 'none'} (compared with the chain, never trusted)",
            "",
        ]
        for number, section in enumerate(self.sections, start=1):
            verdict = (
                "SKIPPED"
                if section.skipped
                else "ok"
                if section.ok
                else f"FAILED ({len(section.findings)} finding{'s' * (len(section.findings) != 1)})"
            )
            lines.append(f"{number}. {TITLES[section.check]}: {verdict}")
            if section.skipped:
                lines.append(f"   {section.skipped}")
            if section.counts:
                lines.append("   " + ", ".join(f"{name} {value}" for name, value in section.counts.items()))
            if section.scope:
                lines.append(f"   ({section.scope})")
            for kind, entries in (("FAIL", section.findings), ("note", section.notes)):
                for entry in entries[:max_lines_per_section]:
                    lines.append(f"   {kind} {entry.line()}")
                if len(entries) > max_lines_per_section:
                    lines.append(f"   ... and {len(entries) - max_lines_per_section} more (see --json)")
            lines.append("")
        total = len(self.findings)
        plural = "s" * (total != 1)
        lines.append("Everything checks out." if self.ok else f"{total} finding{plural}: the history does NOT verify.")
        return "\n".join(lines)


# ---------------------------------------------------------------- content access


class PublicContent:
    """The public documents (batch and epoch manifests) from the first store holding an intact copy,
    as `Vault` reads sealed blocks; every store re-hashes what it returns."""

    def __init__(self, stores: Sequence[Store]) -> None:
        self.stores = list(stores)

    def get(self, cid: str) -> bytes:
        errors: list[Exception] = []
        for store in self.stores:
            try:
                return store.get(cid)
            except (ContentMissing, ContentCorrupted, StoreUnavailable) as exc:
                errors.append(exc)
        detail = "; ".join(map(str, errors))
        if any(isinstance(error, ContentCorrupted) for error in errors):
            raise ContentCorrupted(cid, detail)
        if any(isinstance(error, StoreUnavailable) for error in errors):
            raise StoreUnavailable(f"{cid} cannot be read: {detail}")
        raise ContentMissing(cid, detail)


# ---------------------------------------------------------------- the audit


@dataclass
class _Index:
    """What the checks read from the scratch index, loaded once."""

    brands: dict[int, ix.BrandRegistration]
    questions: dict[str, ix.QuestionPosted]
    answers: list[ix.AnswerRow]
    batches: list[ix.BatchAnchored]
    acceptances: list[ix.Acceptance]
    credits: list[ix.RewardCredit]
    withdrawals: list[ix.EarningsWithdrawal]

    @classmethod
    def load(cls, session: Session) -> _Index:
        def rows(model: type[Any]) -> list[Any]:
            return list(session.scalars(select(model).order_by(model.block_number, model.log_index, model.id)))

        return cls(
            brands={row.brand_id: row for row in rows(ix.BrandRegistration)},
            questions={row.question_id: row for row in rows(ix.QuestionPosted)},
            answers=rows(ix.AnswerRow),
            batches=rows(ix.BatchAnchored),
            acceptances=rows(ix.Acceptance),
            credits=rows(ix.RewardCredit),
            withdrawals=rows(ix.EarningsWithdrawal),
        )

    def brand_of_question(self, question_id: str) -> int | None:
        posted = self.questions.get(question_id)
        return None if posted is None else posted.brand_id


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
    public = PublicContent(vault.stores)
    ledger = deployment.contract(Web3(), "PeerCareLedger")
    head = _check_chain(rpc, deployment, ledger)
    first = deployment.deployed_at_block
    with scratch.read() as session:
        if session.get(ix.Cursor, 1) is not None:
            raise AuditError("the scratch database already holds an index: the audit starts from an empty one")

    database_section = Section(Check.DATABASE, scope="the whole database, every brand")
    oracle_index: tuple[int, Snapshot] | None = None
    if oracle_database is None:
        database_section.skipped = "no oracle database to compare (none configured, none in the data folder)"
    else:
        progress("reading the oracle's index (to compare it with the chain)")
        oracle_index = _read_oracle_index(oracle_database, first)
        if oracle_index[0] > head:
            database_section.find(
                "ix_cursor row 1",
                f"the database says it indexed up to block {oracle_index[0]}, past the chain's head {head}",
                cursor=oracle_index[0],
                head=head,
            )
    # One pass over the chain: up to where the oracle's index stopped (to compare it), then to the head.
    if oracle_index is not None and oracle_database is not None:
        _index(scratch, rpc, deployment, public, min(oracle_index[0], head), progress, clock)
        with scratch.read() as session:
            scratch_snapshot = ix.projection_snapshot(session)
        _compare_databases(database_section, oracle_database, oracle_index[1], scratch_snapshot)
    _index(scratch, rpc, deployment, public, head, progress, clock)

    with scratch.read() as session:
        index = _Index.load(session)
        if brand_id is not None and brand_id not in index.brands:
            known = ", ".join(map(str, sorted(index.brands))) or "none"
            raise AuditError(f"brand {brand_id} is not registered on the ledger (registered brands: {known})")
        progress(f"checking the content of {len({row.answer_id for row in index.answers})} answers")
        content = _check_content(index, vault, brand_id)
        progress(f"checking {len(index.batches)} anchored batches")
        batches = _check_batches(index, public, brand_id)
        progress(f"checking {len(index.acceptances)} acceptances and {len(index.credits)} payouts")
        payouts = _check_payouts(index, session, rpc, ledger, head, brand_id)
        reputation = _check_reputation(session, public, progress)
    return AuditReport(
        chain_id=deployment.chain_id,
        brand_id=brand_id,
        first_block=first,
        last_block=head,
        sources=dict(sources or {}),
        sections=[content, batches, payouts, reputation, database_section],
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
    public: PublicContent,
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
    while indexer.step():
        if clock() - reported >= PROGRESS_INTERVAL_S:
            reported = clock()
            progress(f"  indexed {indexer.cursor() - start} of {total} blocks")


# ---------------------------------------------------------------- 1. content


def _check_content(index: _Index, vault: Vault, brand_id: int | None) -> Section:
    section = Section(Check.CONTENT)
    # By the anchoring log an answer row came from: the same root may be anchored by two brands.
    batch_brand = {(batch.tx_hash, batch.log_index): batch.brand_id for batch in index.batches}
    seen: set[str] = set()
    statuses: dict[str, Status] = {}
    for counter in ("answers", "available", "erased", "present without key", "missing", "corrupted"):
        section.counts[counter] = 0
    for row in index.answers:
        brand = (
            batch_brand.get((row.tx_hash, row.log_index))
            if row.batch_root
            else index.brand_of_question(row.question_id)
        )
        if row.answer_id in seen or (brand_id is not None and brand != brand_id):
            continue
        seen.add(row.answer_id)
        section.count("answers")
        cid = cid_from_digest(unhex(row.content_digest))
        status = statuses.get(cid)
        if status is None:
            status = statuses[cid] = vault.status(cid)
        where = {"answer_id": row.answer_id, "cid": cid, "question_id": row.question_id, "brand_id": brand}
        if status is Status.AVAILABLE:
            section.count("available")
        elif status is Status.UNKNOWN_KEY:
            # The block is there and hashes to its identifier; this key store never held its key.
            section.count("present without key")
        elif status is Status.ERASED:
            section.count("erased")
            record = vault.keys.erasure(cid)
            if record is None:  # the key store said erased a moment ago
                section.find(f"answer {row.answer_id}", f"content {cid} is erased but its erasure record is gone")
                continue
            section.notes.append(
                Entry(
                    f"answer {row.answer_id}",
                    f"content {cid} erased at {record.erased_at.isoformat()} by {record.erased_by}: {record.reason}",
                    where
                    | {
                        "status": status.value,
                        "erased_at": record.erased_at.isoformat(),
                        "erased_by": record.erased_by,
                        "reason": record.reason,
                    },
                )
            )
        else:
            section.count(status.value)
            explanation = (
                "no store holds it" if status is Status.MISSING else "the stored bytes do not hash to its identifier"
            )
            section.find(
                f"answer {row.answer_id}", f"content {cid} is {status.value}: {explanation}", **where, status=status
            )
    return section


# ---------------------------------------------------------------- 2. batches


def _check_batches(index: _Index, public: PublicContent, brand_id: int | None) -> Section:
    section = Section(Check.BATCHES)
    for counter in (
        "batches",
        "proven",
        "leaves proven",
        "leaves left out",
        "missing",
        "corrupted",
        "invalid",
        "mismatched",
    ):
        section.counts[counter] = 0
    section.counts["direct answers (no batch)"] = len(
        {
            row.answer_id
            for row in index.answers
            if row.batch_root is None and brand_id in (None, index.brand_of_question(row.question_id))
        }
    )
    for batch in index.batches:
        if brand_id is not None and batch.brand_id != brand_id:
            continue
        section.count("batches")
        cid = cid_from_digest(unhex(batch.manifest_digest))
        subject = f"batch {batch.root}"
        where = {
            "root": batch.root,
            "brand_id": batch.brand_id,
            "size": batch.size,
            "manifest_cid": cid,
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
        }
        anchored = f"(brand {batch.brand_id}, {batch.size} answers, anchored in block {batch.block_number})"
        try:
            manifest = BatchManifest.from_bytes(public.get(cid))
        except ContentMissing:
            section.count("missing")
            section.find(subject, f"its manifest {cid} is missing from the content store {anchored}", **where)
            continue
        except ContentCorrupted:
            section.count("corrupted")
            section.find(subject, f"its manifest {cid} is corrupted in the content store {anchored}", **where)
            continue
        except ManifestError as err:
            section.count("invalid")
            section.find(subject, f"its manifest {cid} is not a batch manifest: {err} {anchored}", **where)
            continue
        tree = manifest.tree()
        root = unhex(batch.root)
        differences = []
        if tree.root != root:
            differences.append(f"its tree's root is 0x{tree.root.hex()}, not the anchored {batch.root}")
        if len(manifest.leaves) != batch.size:
            differences.append(f"it lists {len(manifest.leaves)} answers, the batch anchored {batch.size}")
        if manifest.brand_id != batch.brand_id:
            differences.append(f"it is for brand {manifest.brand_id}, the batch was anchored by brand {batch.brand_id}")
        if differences:
            section.count("mismatched")
            section.find(subject, f"its manifest {cid} does not match: " + "; ".join(differences), **where)
            continue
        unproven = [
            index_
            for index_, leaf in enumerate(manifest.leaves)
            if not verify(root, ANSWER_LEAF_ENCODING, leaf.value(), tree.proof(index_))
        ]
        section.count("leaves proven", len(manifest.leaves) - len(unproven))
        if unproven:
            section.find(subject, f"leaves {unproven[:10]} of manifest {cid} do not prove against the root", **where)
        else:
            section.count("proven")
        left_out = _leaves_left_out(index, batch, manifest)
        if left_out:
            section.count("leaves left out", len(left_out))
            section.notes.append(
                Entry(
                    subject,
                    f"{len(left_out)} of its {len(manifest.leaves)} leaves are not answers of brand "
                    f"{batch.brand_id} (the ledger refuses them for it; the index leaves them out): "
                    + "; ".join(left_out[:10]),
                    where | {"left_out": left_out},
                )
            )
    return section


def _leaves_left_out(index: _Index, batch: ix.BatchAnchored, manifest: BatchManifest) -> list[str]:
    """The leaves the ledger would not accept for the batch's brand, and why: the same rule as the
    indexer (`peercare.oracle.indexer.admission.admitted_answers`), a question posted before the
    anchoring log by that brand and an advocate."""
    left_out = []
    for position, leaf in enumerate(manifest.leaves):
        question = "0x" + leaf.question_id.hex()
        posted = index.questions.get(question)
        if posted is not None and (posted.block_number, posted.log_index) >= (batch.block_number, batch.log_index):
            posted = None
        if int(leaf.advocate, 16) == 0:
            left_out.append(f"leaf {position} names no advocate")
        elif posted is None:
            left_out.append(f"leaf {position} answers {question}, not posted before the batch")
        elif posted.brand_id != batch.brand_id:
            left_out.append(f"leaf {position} answers {question} of brand {posted.brand_id}")
    return left_out


# ---------------------------------------------------------------- 3. payouts


def _check_payouts(
    index: _Index, session: Session, rpc: ChainReader, ledger: Contract, head: int, brand_id: int | None
) -> Section:
    section = Section(Check.PAYOUTS)
    for counter in ("acceptances", "swarm acceptances", "payouts", "pools balanced", "earnings balanced"):
        section.counts[counter] = 0
    answers = {row.answer_id: row for row in index.answers}
    credits: dict[tuple[str, str], list[ix.RewardCredit]] = defaultdict(list)
    for credit in index.credits:
        credits[(credit.tx_hash, credit.question_id)].append(credit)
    accepted: dict[str, ix.Acceptance] = {}
    for acceptance in index.acceptances:
        question = acceptance.question_id
        subject = f"question {question}"
        where = {"question_id": question, "answer_id": acceptance.answer_id, "tx_hash": acceptance.tx_hash}
        posted = index.questions.get(question)
        paid = credits.pop((acceptance.tx_hash, question), [])
        if posted is None:
            if brand_id is None:
                section.find(subject, f"answer {acceptance.answer_id} was accepted but the question was never posted")
            continue
        if brand_id is not None and posted.brand_id != brand_id:
            continue
        section.count("acceptances")
        section.count("payouts", len(paid))
        if len(paid) > 1:
            section.count("swarm acceptances")
        if question in accepted:
            first = accepted[question].tx_hash
            section.find(subject, f"accepted twice (transactions {first} and {acceptance.tx_hash})", **where)
        accepted[question] = acceptance
        answer = answers.get(acceptance.answer_id)
        if answer is None:
            section.find(
                subject,
                f"the accepted answer {acceptance.answer_id} is not among the recorded answers "
                "(not recorded directly, nor in a batch whose manifest proves it)",
                **where,
            )
        elif answer.question_id != question or answer.advocate != acceptance.advocate:
            section.find(
                subject,
                f"the accepted answer {acceptance.answer_id} is {answer.advocate}'s answer to {answer.question_id}, "
                f"the acceptance names {acceptance.advocate}'s answer to this question",
                **where,
            )
        if acceptance.bounty != posted.bounty:
            section.find(subject, f"accepted with bounty {acceptance.bounty}, posted with {posted.bounty}", **where)
        total = sum(credit.amount for credit in paid)
        if total != acceptance.bounty:
            shares = ", ".join(f"{credit.account} {credit.amount}" for credit in paid) or "none"
            section.find(
                subject, f"its payouts sum to {total}, its accepted bounty is {acceptance.bounty} ({shares})", **where
            )
        registration = index.brands.get(posted.brand_id)
        pool_token = None if registration is None else registration.token
        wrong_token = [credit for credit in paid if credit.token != pool_token]
        if wrong_token:
            section.find(
                subject,
                f"paid in {wrong_token[0].token}, brand {posted.brand_id}'s pool token is {pool_token}",
                **where,
            )
    for (tx_hash, question), unaccepted in sorted(credits.items()):
        if brand_id is not None and index.brand_of_question(question) != brand_id:
            continue
        section.count("payouts", len(unaccepted))
        for credit in unaccepted:
            section.find(
                f"question {question}",
                f"{credit.amount} credited to {credit.account} in transaction {tx_hash} without an acceptance",
                question_id=question,
                tx_hash=tx_hash,
                account=credit.account,
                amount=str(credit.amount),
            )
    _check_pools(section, index, session, rpc, ledger, head, brand_id)
    if brand_id is None:
        _check_earnings(section, index, session, rpc, ledger, head)
    else:
        section.scope = "earnings are per account and token, across brands: checked without --brand only"
    return section


def _check_pools(
    section: Section,
    index: _Index,
    session: Session,
    rpc: ChainReader,
    ledger: Contract,
    head: int,
    brand_id: int | None,
) -> None:
    brands = sorted(brand for brand in index.brands if brand_id in (None, brand))
    results = _calls(rpc, ledger, head, [("pool", [brand]) for brand in brands])
    for brand, result in zip(brands, results, strict=True):
        available, escrowed = decode(["uint128", "uint128"], result)
        balance = ix.pool_balance(session, brand)
        if (balance.available, balance.escrowed_open) == (available, escrowed):
            section.count("pools balanced")
            continue
        section.find(
            f"brand {brand} pool",
            f"the ledger holds {available} available and {escrowed} escrowed at block {head}; its events "
            f"add up to {balance.available} available and {balance.escrowed_open} escrowed "
            f"(deposited {balance.deposited}, withdrawn {balance.withdrawn}, paid {balance.paid}, "
            f"refunded {balance.refunded})",
            brand_id=brand,
            ledger={"available": str(available), "escrowed": str(escrowed)},
            events={"available": str(balance.available), "escrowed": str(balance.escrowed_open)},
        )


def _check_earnings(
    section: Section, index: _Index, session: Session, rpc: ChainReader, ledger: Contract, head: int
) -> None:
    pairs = sorted(
        {(row.account, row.token) for row in index.credits} | {(row.account, row.token) for row in index.withdrawals}
    )
    results = _calls(rpc, ledger, head, [("earnings", [account, token]) for account, token in pairs])
    for (account, token), result in zip(pairs, results, strict=True):
        (held,) = decode(["uint256"], result)
        summed = ix.earnings(session, account, token)
        if summed.claimable == held:
            section.count("earnings balanced")
            continue
        section.find(
            f"account {account} earnings",
            f"the ledger holds {held} of token {token} at block {head}; its events add up to {summed.claimable} "
            f"(credited {summed.credited}, withdrawn {summed.withdrawn})",
            account=account,
            token=token,
        )


def _calls(rpc: ChainReader, contract: Contract, block: int, calls: Sequence[tuple[str, list[Any]]]) -> list[bytes]:
    """`eth_call`s of `contract`'s views at `block`, in JSON-RPC batches."""
    results: list[bytes] = []
    for start in range(0, len(calls), 200):
        chunk = calls[start : start + 200]
        answers = rpc.batch(
            [
                ("eth_call", [{"to": contract.address, "data": contract.encode_abi(name, args=args)}, hex(block)])
                for name, args in chunk
            ]
        )
        for (name, args), answer in zip(chunk, answers, strict=True):
            if isinstance(answer, Exception) or not isinstance(answer, str):
                raise AuditError(f"the ledger's {name}({', '.join(map(str, args))}) failed: {answer}")
            results.append(unhex(answer))
    return results


# ---------------------------------------------------------------- 4. reputation


def _check_reputation(session: Session, public: PublicContent, progress: Progress) -> Section:
    section = Section(Check.REPUTATION, scope="epochs cover every brand: checked whatever --brand says")
    section.counts = {"epochs": 0, "recomputed": 0}
    epochs = sorted(set(session.scalars(select(ix.ReputationRoot.epoch))))
    for epoch in epochs:
        progress(f"recomputing reputation epoch {epoch}")
        section.count("epochs")
        result = recompute_from_index(session, public, epoch)
        if result.ok:
            section.count("recomputed")
            continue
        roots = result.as_json()
        section.find(
            f"epoch {epoch}",
            f"root on chain {roots['root_on_chain']}, manifest's root {roots['manifest_root']}, recomputed "
            f"{roots['root_recomputed']}: " + "; ".join(result.mismatches),
            **roots,
        )
    return section


# ---------------------------------------------------------------- 5. database


def _read_oracle_index(database: Database, first_block: int, attempts: int = 5) -> tuple[int, Snapshot]:
    """(the block the oracle's index reached, its projections), read consistently while it may run."""
    try:
        for _ in range(attempts):
            with database.read() as session:
                if database.engine.dialect.name == "postgresql":
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                before = session.scalar(select(ix.Cursor.block_number).where(ix.Cursor.id == 1))
                snapshot = ix.projection_snapshot(session)
                after = session.scalar(select(ix.Cursor.block_number).where(ix.Cursor.id == 1))
            if before == after:
                return (first_block - 1 if after is None else after), snapshot
    except SQLAlchemyError as err:
        raise AuditError(f"cannot read the oracle's database: {err.__class__.__name__}: {err}") from err
    raise AuditError(f"the oracle's index moved during each of {attempts} reads: try again")


def _compare_databases(section: Section, database: Database, ours: Snapshot, theirs: Snapshot) -> None:
    """Name every projection row of the oracle's database (`ours`) that differs from the scratch
    index of the same blocks (`theirs`): by table, row id and the columns that differ."""
    for model in ix.PROJECTIONS:
        table = model.__table__  # type: ignore[attr-defined]
        columns = [column.name for column in table.columns if column.name != "id"]
        key_columns = [name for name in ("tx_hash", "log_index", "leaf_index") if name in columns]
        positions = [columns.index(name) for name in key_columns]
        in_database, on_chain = Counter(ours.get(table.name, [])), Counter(theirs.get(table.name, []))
        section.count("rows compared", sum(on_chain.values()))
        only_database = list((in_database - on_chain).elements())
        only_chain = list((on_chain - in_database).elements())
        if not only_database and not only_chain:
            continue
        chain_by_key: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for row in only_chain:
            chain_by_key[tuple(row[p] for p in positions)].append(row)
        ids = _row_ids(database, table, key_columns, [tuple(row[p] for p in positions) for row in only_database])
        for row in only_database:
            key = tuple(row[p] for p in positions)
            where = ", ".join(f"{name} {value}" for name, value in zip(key_columns, key, strict=True))
            row_id = ids.get(key)
            subject = f"{table.name} row {row_id if row_id is not None else '?'} ({where})"
            details = {"table": table.name, "row_id": row_id, "database": _jsonable(columns, row)}
            matching = chain_by_key.get(key)
            if matching:
                chain_row = matching.pop(0)
                changed = [
                    f"{name} is {a!r} in the database, {b!r} on chain"
                    for name, a, b in zip(columns, row, chain_row, strict=True)
                    if a != b
                ]
                section.find(subject, "; ".join(changed), **details, chain=_jsonable(columns, chain_row))
            else:
                section.find(subject, "this row is in the database but no such event is on chain", **details)
        for key, rows in sorted(chain_by_key.items(), key=lambda item: repr(item[0])):
            for row in rows:
                where = ", ".join(f"{name} {value}" for name, value in zip(key_columns, key, strict=True))
                section.find(
                    f"{table.name} (missing row: {where})",
                    f"the chain has this event (block {row[0]}) but the database lacks its row",
                    table=table.name,
                    chain=_jsonable(columns, row),
                )


def _row_ids(
    database: Database, table: Any, key_columns: list[str], keys: Iterable[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    ids: dict[tuple[Any, ...], int] = {}
    wanted = list(dict.fromkeys(keys))[:MAX_ROW_LOOKUPS]
    if not wanted:
        return ids
    with database.read() as session:
        for key in wanted:
            condition = [table.c[name] == value for name, value in zip(key_columns, key, strict=True)]
            found = session.scalar(select(table.c.id).where(*condition).order_by(table.c.id).limit(1))
            if found is not None:
                ids[key] = int(found)
    return ids


def _jsonable(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {
        name: str(value) if isinstance(value, int) and abs(value) >= 2**53 else value
        for name, value in zip(columns, row, strict=True)
    }

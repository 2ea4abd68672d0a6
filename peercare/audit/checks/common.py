"""What the audit's checks share: `AuditError`; the report (`Check` and its `TITLES`, `Entry` for a
finding or a note, one `Section` per check, the whole `AuditReport` rendered as text or JSON);
`Progress`; and `ScratchIndex`,
what the checks read from the scratch index, loaded once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.contract import Contract

from peercare.chain.views import ChainReader, ViewFailed, read_views
from peercare.db.tables import projections as ix

Progress = Callable[[str], None]


class AuditError(RuntimeError):
    """The audit cannot run: the chain, the content store or the database cannot be used as given."""


class Check(StrEnum):
    CONTENT = "content"
    BATCHES = "batches"
    PAYOUTS = "payouts"
    REPUTATION = "reputation"
    DATABASE = "database"
    ROUTING = "routing"
    RATINGS = "ratings"
    QUESTIONS = "questions"


TITLES = {
    Check.CONTENT: "Answer content matches its identifier (or was erased)",
    Check.BATCHES: "Batched answers prove against their anchored roots",
    Check.PAYOUTS: "Payouts follow from acceptances; pools and earnings balance",
    Check.REPUTATION: "Published reputation roots recompute",
    Check.DATABASE: "The oracle's database agrees with the chain",
    Check.ROUTING: "Routing decisions are anchored, untampered, follow the rule, and swarms are paid as committed",
    Check.RATINGS: "Batched ratings prove against their roots, rate recorded answers of their brand, once per rater",
    Check.QUESTIONS: "Question batches match their manifests, post their brand's tickets once, conserve escrow",
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


# ---------------------------------------------------------------- the scratch index


@dataclass
class ScratchIndex:
    """What the checks read from the scratch index, loaded once."""

    brands: dict[int, ix.BrandRegistration]
    questions: dict[str, ix.QuestionPosted]
    answers: list[ix.AnswerRow]
    batches: list[ix.BatchAnchored]
    acceptances: list[ix.Acceptance]
    credits: list[ix.RewardCredit]
    withdrawals: list[ix.EarningsWithdrawal]
    routing_batches: list[ix.RoutingBatchAnchoredRow]
    rating_batches: list[ix.RatingBatchAnchored]
    ratings: list[ix.AnswerRated]
    question_batches: list[ix.QuestionBatchPostedRow]
    settled: list[ix.BatchedQuestionSettled]  # batched questions accepted or opened
    releases: list[ix.QuestionBatchRelease]
    direct_escrows: list[ix.PoolMovement]  # the escrow of each `QuestionPosted` (a repeat has no question row)

    @classmethod
    def load(cls, session: Session) -> ScratchIndex:
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
            routing_batches=rows(ix.RoutingBatchAnchoredRow),
            rating_batches=rows(ix.RatingBatchAnchored),
            ratings=rows(ix.AnswerRated),
            question_batches=rows(ix.QuestionBatchPostedRow),
            settled=rows(ix.BatchedQuestionSettled),
            releases=rows(ix.QuestionBatchRelease),
            direct_escrows=[
                row
                for row in rows(ix.PoolMovement)
                if row.kind == ix.PoolMovementKind.ESCROW and row.question_id is not None
            ],
        )

    def brand_of_question(self, question_id: str) -> int | None:
        """The brand that posted the question, or for a batched question whose posting is not
        indexed (its batch's manifest unreadable) the brand the chain names when settling it."""
        posted = self.questions.get(question_id)
        if posted is not None:
            return posted.brand_id
        return next((row.brand_id for row in self.settled if row.question_id == question_id), None)


def ledger_views(
    rpc: ChainReader, contract: Contract, block: int, calls: Sequence[tuple[str, list[Any]]], types: list[str]
) -> list[tuple[Any, ...]]:
    """The ledger's views at `block`, read in JSON-RPC batches; a failed read stops the audit."""
    reads = [(str(contract.address), contract.encode_abi(name, args=args)) for name, args in calls]
    try:
        return read_views(rpc, reads, types, hex(block))
    except ViewFailed as exc:
        name, args = calls[exc.position]
        raise AuditError(f"the ledger's {name}({', '.join(map(str, args))}) failed: {exc.message}") from None

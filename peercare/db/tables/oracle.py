"""The oracle's own state: brands and their webhook credentials, accepted webhook events, the
questions, answers and batches made from them, and the outbox of chain writes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from peercare.db.base import ADDRESS, HASH, Amount, Base

DEFAULT_OFFER_WINDOW_S = 30 * 60  # a contact centre's first-response target: an offer not taken moves on
DEFAULT_MAX_OFFER_ROUNDS = 2  # direct rounds before a question no one took is swarmed


class Brand(Base):
    """A brand the oracle serves; `id` is its id on the ledger."""

    __tablename__ = "brands"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    default_topic: Mapped[str] = mapped_column(String(31))
    topics: Mapped[list[Any]] = mapped_column(default=list)  # ticket tags that are topics (each at most 31 bytes)
    default_bounty: Mapped[int] = mapped_column(Amount)
    bounty_by_tag: Mapped[dict[str, Any]] = mapped_column(default=dict)  # tag -> amount (decimal text)
    answer_window_s: Mapped[int]  # a question's deadline is its posting time plus this
    experts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ticketing-system agent id -> wallet
    created_at_ms: Mapped[int]
    # How offers move (peercare.routing.rounds): each offer's exclusive window, and the round from
    # which a question no one took is escalated to a swarm.
    offer_window_s: Mapped[int] = mapped_column(
        default=DEFAULT_OFFER_WINDOW_S, server_default=str(DEFAULT_OFFER_WINDOW_S)
    )
    max_offer_rounds: Mapped[int] = mapped_column(
        default=DEFAULT_MAX_OFFER_ROUNDS, server_default=str(DEFAULT_MAX_OFFER_ROUNDS)
    )


class WebhookCredential(Base):
    """How one brand's ticketing system proves its webhooks: an HMAC secret (zendesk, generic) or
    a secret token plus basic-auth credentials (freshdesk, which does not sign)."""

    __tablename__ = "webhook_credentials"
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    basic_username: Mapped[str | None] = mapped_column(String(200))
    basic_password_sha256: Mapped[str | None] = mapped_column(String(64))


class EventStatus(StrEnum):
    PENDING = "pending"  # stored and acknowledged, not processed yet
    DONE = "done"  # turned into chain writes (or deliberately nothing, e.g. a requester's comment)
    FAILED = "failed"  # can never be processed (the reason is in `error`)


class WebhookEvent(Base):
    """An accepted webhook event, normalised. Unique per (brand, source, event key): a replay
    finds its row and changes nothing."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("brand_id", "source", "event_key"),
        Index("ix_webhook_events_status_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    source: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[str] = mapped_column(String(100))
    occurred_at_ms: Mapped[int]
    received_at_ms: Mapped[int]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before_ms: Mapped[int] = mapped_column(default=0)  # a deferred event waits until then
    error: Mapped[str | None] = mapped_column(Text)  # why it failed, or a note on how it was handled


class Question(Base):
    """A ticket made a question: posted on its own (`outbox_id`: `postQuestion`), or a leaf of a
    question batch (`batch_id`, `leaf_index`; both null while it waits for its batch to be sealed).
    A batched question the oracle had to open for a direct write (a relayed signed answer, a direct
    rating) has `opened_outbox_id`; it is accepted like a posted one."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("brand_id", "source", "ticket_id"),
        Index("ix_questions_pending_batch", "brand_id", "batch_id"),
    )
    question_id: Mapped[str] = mapped_column(HASH, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    source: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(31))
    bounty: Mapped[int] = mapped_column(Amount)
    deadline: Mapped[int]
    content_cid: Mapped[str] = mapped_column(String(100))
    requester_id: Mapped[str] = mapped_column(String(100))
    accepted_answer_id: Mapped[str | None] = mapped_column(HASH)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())  # the ticket's priority: escalated
    # When the oracle made it (ms): the order questions are routed and batched in.
    created_at_ms: Mapped[int] = mapped_column(default=0, server_default="0")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("question_batches.id"))
    leaf_index: Mapped[int | None]
    opened_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class Answer(Base):
    """A reply by an advocate (by wallet) or a brand expert, recorded on chain either in a Merkle
    batch (`batch_id`) or relayed with the advocate's EIP-712 signature (`outbox_id`)."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("question_id", "comment_id"),
        Index("ix_answers_pending_batch", "brand_id", "batch_id"),
    )
    answer_id: Mapped[str] = mapped_column(HASH, primary_key=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.question_id"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    comment_id: Mapped[str] = mapped_column(String(100))
    advocate: Mapped[str] = mapped_column(ADDRESS)
    author_kind: Mapped[str] = mapped_column(String(16))  # "advocate" | "expert"
    content_cid: Mapped[str] = mapped_column(String(100))
    content_digest: Mapped[str] = mapped_column(HASH)
    created_at_ms: Mapped[int]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("answer_batches.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    # The advocate's EIP-712 signature when there is a valid one (`manifest.LeafSignature.as_json`,
    # canonical JSON): carried in the batch manifest, or relayed when the oracle relays signed answers.
    signature: Mapped[str | None] = mapped_column(Text)


class SentRating(Base):
    """A rating sent to the chain: in a Merkle batch of ratings (`batch_id`, the default) or by
    `rateAnswer` (`outbox_id`); one per (answer, rater kind, rater), as the oracle's rule."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("answer_id", "rater_kind", "rater_id"),
        Index("ix_ratings_pending_batch", "batch_id", "outbox_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.answer_id"))
    rater_kind: Mapped[int]  # IPeerCareLedger.RaterKind
    rater_id: Mapped[str] = mapped_column(HASH)
    rating: Mapped[int]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("rating_batches.id"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))  # null only for rows before batches
    created_at_ms: Mapped[int] = mapped_column(default=0, server_default="0")


class PendingAcceptance(Base):
    """An acceptance of a batched question, collected into one `acceptBatchedAnswers` with others
    of its brand (`outbox_id`, null while collecting; after the batch failed for good, the single
    acceptance it was split into). One per question: the key is what makes a question accepted
    at most once, as the outbox key "accept:<question id>" does for a single acceptance."""

    __tablename__ = "acceptances"
    __table_args__ = (Index("ix_acceptances_pending", "brand_id", "outbox_id"),)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.question_id"), primary_key=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.answer_id"))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    created_at_ms: Mapped[int]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class AnswerBatch(Base):
    """A Merkle batch of answers, anchored by one transaction. Its manifest (the leaves) is in the
    content store under `manifest_cid`."""

    __tablename__ = "answer_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    root: Mapped[str] = mapped_column(HASH, unique=True)
    size: Mapped[int]
    manifest_cid: Mapped[str] = mapped_column(String(100))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    created_at_ms: Mapped[int]


class QuestionBatch(Base):
    """A Merkle batch of a brand's questions, posted (and their bounties escrowed) by one
    `postQuestionBatch`. Its manifest is in the content store under `manifest_cid`; all its
    questions share its `deadline`."""

    __tablename__ = "question_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    root: Mapped[str] = mapped_column(HASH, unique=True)
    size: Mapped[int]
    total_bounty: Mapped[int] = mapped_column(Amount)
    deadline: Mapped[int]
    manifest_cid: Mapped[str] = mapped_column(String(100))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    created_at_ms: Mapped[int]
    # `releaseQuestionBatch`, queued once the deadline passed (its unsettled bounties back to the pool).
    release_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class RatingBatch(Base):
    """A Merkle batch of ratings, anchored by one `anchorRatingBatch`. Its manifest (the leaves) is
    in the content store under `manifest_cid`."""

    __tablename__ = "rating_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    root: Mapped[str] = mapped_column(HASH, unique=True)
    size: Mapped[int]
    manifest_cid: Mapped[str] = mapped_column(String(100))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    created_at_ms: Mapped[int]


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # written with the change that caused it; no nonce yet
    SENT = "sent"  # nonce assigned and signed transaction persisted, then broadcast (maybe)
    MINED = "mined"  # receipt seen, not yet `confirmations` deep
    CONFIRMED = "confirmed"  # receipt `confirmations` deep: final
    FAILED = "failed"  # reverted, or can never be sent; `error` says why


class OutboxTx(Base):
    """One chain write, in the order it must happen. Rows are only ever appended by the processor
    and advanced by the signer."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_dedupe_key", "dedupe_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # post_question, anchor_batch, relay_answer, accept, rate
    brand_id: Mapped[int | None]
    to: Mapped[str] = mapped_column(ADDRESS)
    data: Mapped[str] = mapped_column(Text)  # 0x-prefixed calldata
    gas_limit: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    nonce: Mapped[int | None]
    tx_hash: Mapped[str | None] = mapped_column(HASH)  # the attempt that was mined (or the latest)
    block_number: Mapped[int | None]
    block_hash: Mapped[str | None] = mapped_column(HASH)
    gas_used: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at_ms: Mapped[int]
    sent_at_ms: Mapped[int | None]
    # A write that may happen at most once, whoever queues it: "accept:<question id>" (a question is
    # accepted once). Unique, so the database refuses a second one; NULL for the other kinds.
    dedupe_key: Mapped[str | None] = mapped_column(String(80))


class TxAttempt(Base):
    """A signed transaction for an outbox row. Re-pricing adds attempts with the same nonce; at
    most one of them can ever be mined."""

    __tablename__ = "tx_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    nonce: Mapped[int]
    tx_hash: Mapped[str] = mapped_column(HASH, unique=True)
    raw: Mapped[str] = mapped_column(Text)
    max_fee_per_gas: Mapped[int] = mapped_column(Amount)
    max_priority_fee_per_gas: Mapped[int] = mapped_column(Amount)
    created_at_ms: Mapped[int]


class SignerState(Base):
    """The next nonce of the oracle's one signing account, persisted before every broadcast."""

    __tablename__ = "signer_state"
    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    chain_id: Mapped[int]
    next_nonce: Mapped[int]

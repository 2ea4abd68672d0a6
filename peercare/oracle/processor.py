"""The processor: stored webhook events become questions, answers, acceptances and ratings.

Each step takes the pending events in the order they were accepted and handles each one inside
the same database transaction that marks it done, together with the outbox rows it causes; a
crash anywhere rolls the whole step back and the next run redoes it. Content is written before
that commit, and writing the same conversation again gives the same identifier (the key store
remembers it), so a redone step finds exactly what the lost one wrote.

Ticket created -> a question (the conversation in the content store, the bounty from the brand's
rules), collected into a Merkle batch of questions posted by size or age (`question_batches`), or
posted on its own (`postQuestion`) when the oracle is set so. A public comment by an advocate (a
wallet) or a brand expert -> an answer, collected into a Merkle batch anchored by size or age
(`answer_batches`, with the advocate's EIP-712 signature in the manifest when there is one), or
relayed on its own when the oracle is set so. Solved -> an acceptance proving the answer (and a
batched question) against its batch; satisfaction -> a rating, collected into a rating batch
(`rating_batches`) or `rateAnswer`.
Outbox rows are written in the order the chain must see them (a question's batch before its
answers' batch, a batch before an acceptance that proves against it), and the signer keeps that
order by nonce.

A batch whose anchor failed for good (its outbox row FAILED in a block the indexer has passed, and
the chain holds no batch of that brand and root) is recovered (`answer_batches`): its answers go
back to the pending answers and into the next batch, and the acceptances and ratings that proved
against the dead root are queued again, after the new anchor, with proofs against the new batch
(each at most once: the outbox key "retry:<failed row id>"). Repeated failures of one brand's anchors back off (30 s,
doubling, at most an hour), so an oracle that lost its role does not spend gas in a loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eth_utils.crypto import keccak
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from web3 import Web3

from peercare.chain.deployment import Deployment
from peercare.content.cid import digest_from_cid
from peercare.content.document import Conversation, Message, canonical_json
from peercare.content.store import Store
from peercare.content.vault import Vault
from peercare.core.enums import OutboxKind, RaterKind
from peercare.core.hex import hexed
from peercare.core.ledger_ids import answer_id, question_id, short_string
from peercare.core.typed_data import is_answer_signature_valid
from peercare.db.database import Database
from peercare.db.tables.oracle import (
    Answer,
    AnswerBatch,
    Brand,
    EventStatus,
    OutboxTx,
    Question,
    SentRating,
    WebhookEvent,
)
from peercare.oracle.acceptance_batches import AcceptanceBatcher, Item
from peercare.oracle.answer_batches import AnswerBatcher
from peercare.oracle.deliveries.clients import is_delivered_by_peercare
from peercare.oracle.events import (
    CommentAdded,
    SatisfactionRated,
    TicketCreated,
    TicketEvent,
    TicketSolved,
    event_from_json,
)
from peercare.oracle.indexer.chunks import chunks
from peercare.oracle.manifest import LeafSignature
from peercare.oracle.outbox import enqueue, enqueue_once
from peercare.oracle.question_batches import QuestionBatcher
from peercare.oracle.rating_batches import RatingBatcher
from peercare.oracle.swarm_credit import Share, committed_shares

log = logging.getLogger("peercare.oracle.processor")

URGENT = "urgent"  # a ticket's priority (lowercased by every source) that escalates its question at once
IN_LIST = 500  # values in one SQL `IN (...)` list
DEFER_LIMIT_MS = 3_600_000  # an event still waiting for its ticket after an hour fails
LANGUAGE_UNDETERMINED = "und"  # BCP 47: ticketing webhooks do not say which language


class Deferred(Exception):
    """The event depends on one not processed yet (e.g. a comment before its ticket)."""


@dataclass(frozen=True)
class Outcome:
    note: str | None = None  # how the event was handled when it caused no chain write


#: What a question's `requester_id` becomes when its customer is erased (`peercare.oracle.erasure`).
ERASED_PERSON = "(erased)"


def legacy_rater_id(source: str, rater: str) -> bytes:
    """The rater id the oracle sent before pseudonyms: an unkeyed hash of the person's id, which
    anyone guessing the id can confirm. Never sent any more; computed only to recognise a rating
    already on chain under it, so that a customer is not counted twice (docs/privacy.md)."""
    return keccak(f"{source}:{rater}".encode())


def answer_conversation(
    brand_id: int, source: str, ticket_id: str, topic: str, role: str, author: str, when: datetime, body: str
) -> Conversation:
    """The stored document of one answer. An advocate who signs an answer signs the digest of this
    document's sealed block, so its shape is part of the interface: change it only with a new schema."""
    return Conversation(
        brand=brand_id,
        source=source,
        ticket_id=ticket_id,
        language=LANGUAGE_UNDETERMINED,
        topics=(topic,),
        messages=(Message(role=role, author=author, time=when, body=body),),
    )


class Processor:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        public_store: Store,
        deployment: Deployment,
        *,
        batch_size: int = 256,
        batch_max_age_s: float = 2.0,
        max_events_per_step: int = 200,
        relay_signed_answers: bool = False,
        rate_in_batches: bool = True,
        post_questions_in_batches: bool = True,
        accept_in_batches: bool = True,
        clock: Any = time.time,
    ) -> None:
        self.database = database
        self.vault = vault
        self.public_store = public_store
        self.chain_id = deployment.chain_id
        self.ledger = Web3().eth.contract(
            address=Web3.to_checksum_address(deployment.contracts["PeerCareLedger"].address),
            abi=deployment.abi("PeerCareLedger"),
        )
        self.batch_size = batch_size
        self.batch_max_age_ms = int(batch_max_age_s * 1000)
        self.max_events_per_step = max_events_per_step
        self.relay_signed_answers = relay_signed_answers
        self.rate_in_batches = rate_in_batches
        self.post_questions_in_batches = post_questions_in_batches
        self.accept_in_batches = accept_in_batches
        self.clock = clock
        self.question_batches = QuestionBatcher(
            public_store,
            self.ledger.address,
            lambda function, args: self.ledger.encode_abi(function, args=args),
            batch_size=batch_size,
            batch_max_age_ms=self.batch_max_age_ms,
            clock=lambda: self.clock(),
        )
        self.answer_batches = AnswerBatcher(
            public_store,
            self.ledger.address,
            lambda brand_id, root, size, digest: self.ledger.encode_abi(
                "anchorAnswerBatch", args=[brand_id, root, size, digest]
            ),
            self.question_batches,
            batch_size=batch_size,
            batch_max_age_ms=self.batch_max_age_ms,
            clock=lambda: self.clock(),
        )
        self.acceptances = AcceptanceBatcher(
            self.ledger.address,
            lambda items: self.ledger.encode_abi("acceptBatchedAnswers", args=[items]),
            self._acceptance_item,
            self._queue_single_acceptance,
            batch_size=batch_size,
            batch_max_age_ms=self.batch_max_age_ms,
        )
        self.rating_batches = RatingBatcher(
            public_store,
            self.ledger.address,
            lambda brand_id, root, size, digest: self.ledger.encode_abi(
                "anchorRatingBatch", args=[brand_id, root, size, digest]
            ),
            self.answer_batches.seal_now,
            batch_size=batch_size,
            batch_max_age_ms=self.batch_max_age_ms,
        )
        self._stored: dict[bytes, str] = {}  # canonical conversation -> sealed CID, within a step
        self._answer_ids: set[str] = set()  # ids of the answers the step's comments would record
        self._pseudonyms: dict[tuple[int, str, str], bytes] = {}  # (brand, source, person) -> rater id
        self._known = _Known({}, {}, set(), set())

    # ------------------------------------------------------------------ the loop

    def step(self) -> int:
        """Handle the pending events that are due, then seal the batches that are due. Returns how
        many events were handled (done, failed or deferred) plus batches sealed."""
        now = self._now_ms()
        due = (
            select(WebhookEvent)
            .where(WebhookEvent.status == EventStatus.PENDING, WebhookEvent.not_before_ms <= now)
            .order_by(WebhookEvent.id)
            .limit(self.max_events_per_step)
        )
        with self.database.read() as session:  # slow content writes happen outside the write lock
            rows = session.scalars(due).all()
            self._store_conversations(session, rows)
        with self.database.transaction() as session:
            # Exactly these events: any that arrived meanwhile wait for the next step (and its batch).
            events = session.scalars(
                select(WebhookEvent).where(WebhookEvent.id.in_([r.id for r in rows])).order_by(WebhookEvent.id)
            ).all()
            self._known = _Known.load(session, events, self._answer_ids)
            with session.no_autoflush:  # one flush for the step, not one per event
                waiting = [row for row in events if not self._handle_row(session, row, now)]
                if len(waiting) < len(events):  # what arrived later in this step may be what they wait for
                    for row in waiting:
                        self._handle_row(session, row, now, retry=True)
            recovered = self.answer_batches.recover_failed(session, now, self._queue_dependents_again)
            recovered += self.rating_batches.recover_failed(session, now)
            recovered += self.acceptances.recover_failed(session)
            # Ages as of now (the step took time); questions first: answers to them come after.
            sealed = self.question_batches.seal_due(session, self._now_ms())
            sealed += self.answer_batches.seal_due(session, self._now_ms())
            if sealed and waiting:  # a solve waiting for its answer's batch goes out right after it
                with session.no_autoflush:
                    waiting = [row for row in waiting if not self._handle_row(session, row, now, retry=True)]
            sealed += self.acceptances.seal_due(session, self._now_ms())  # after the batches they prove against
            sealed += self.rating_batches.seal_due(session, self._now_ms())  # after the answers they rate
            sealed += self.question_batches.release_due(session, int(self.clock()))
        self._stored.clear()
        self._answer_ids.clear()
        self._pseudonyms.clear()  # an erasure between steps must not find its pseudonym cached here
        return len(events) + recovered + sealed

    def _store_conversations(self, session: Session, rows: Sequence[WebhookEvent]) -> None:
        """Store, in one batch, the conversations the handlers are about to need (handlers store
        any they still miss one by one)."""
        conversations: list[Conversation] = []
        topics: dict[tuple[int, str, str], tuple[str, str]] = {}  # ticket -> (topic, requester)
        raters: dict[tuple[int, str], set[str]] = {}  # (brand, source) -> customers rating
        known = _Known.load(session, rows, None)
        brands = known.brands
        answers: list[tuple[bytes, str, int]] = []  # (question id, wallet, index of its conversation)
        for row in rows:
            brand, event = brands.get(row.brand_id), event_from_json(row.payload)
            if brand is None:
                continue
            ticket = (row.brand_id, row.source, event.ticket_id)
            if isinstance(event, SatisfactionRated):
                question = known.questions.get(ticket)
                if question is None or question.requester_id != ERASED_PERSON:  # else it would link them again
                    raters.setdefault((row.brand_id, row.source), set()).add(event.rater_id)
            elif isinstance(event, TicketCreated):
                topics[ticket] = (self._topic(brand, event.tags), event.requester_id)
                conversations.append(question_conversation(brand.id, row.source, event))
            elif isinstance(event, CommentAdded):
                if ticket not in topics:
                    question = known.questions.get(ticket)
                    if question is None:
                        continue
                    topics[ticket] = (question.topic, question.requester_id)
                topic, requester = topics[ticket]
                author = _answer_author(brand, requester, event)
                if isinstance(author, _Author):
                    qid = question_id(brand.id, short_string(row.source), event.ticket_id)
                    answers.append((qid, author.wallet, len(conversations)))
                    conversations.append(
                        answer_conversation(
                            brand.id,
                            row.source,
                            event.ticket_id,
                            topic,
                            author.role,
                            author.wallet,
                            event.occurred_at,
                            event.body,
                        )
                    )
        if conversations:
            cids = self.vault.put_many(conversations)
            self._stored = {c.canonical_bytes(): cid for c, cid in zip(conversations, cids, strict=True)}
            self._answer_ids = {hexed(answer_id(q, wallet, digest_from_cid(cids[i]))) for q, wallet, i in answers}
        for (brand_id, source), subjects in raters.items():  # one key-store transaction per brand
            for subject, pseudonym in self.vault.keys.pseudonyms(brand_id, source, subjects).items():
                self._pseudonyms[(brand_id, source, subject)] = pseudonym

    def _rater_pseudonym(self, brand_id: int, source: str, subject: str) -> bytes:
        """The customer's on-chain rater id: their pseudonym in the key store (`KeyStore.pseudonyms`)."""
        key = (brand_id, source, subject)
        if key not in self._pseudonyms:
            self._pseudonyms[key] = self.vault.keys.pseudonym(brand_id, source, subject)
        return self._pseudonyms[key]

    def _put(self, conversation: Conversation) -> str:
        return self._stored.get(conversation.canonical_bytes()) or self.vault.put(conversation)

    def _handle_row(self, session: Session, row: WebhookEvent, now: int, *, retry: bool = False) -> bool:
        """Handle one event; False when it has to wait (it is tried again later)."""
        if not retry:
            row.attempts += 1
        # Handlers check everything before they write anything, so an event they refuse leaves no
        # trace to roll back (no savepoint per event: they cost more than the event itself).
        try:
            outcome = self._handle(session, row.brand_id, row.source, event_from_json(row.payload))
        except Deferred as exc:
            if now - row.received_at_ms > DEFER_LIMIT_MS:
                row.status, row.error = EventStatus.FAILED, f"gave up after {row.attempts} attempts: {exc}"
            else:
                row.error = str(exc)
                row.not_before_ms = now + min(60_000, 100 * 2 ** min(row.attempts, 10))
            return False
        except EventRejected as exc:
            row.status, row.error = EventStatus.FAILED, str(exc)
            log.warning("event %d (%s, ticket %s) failed: %s", row.id, row.kind, row.ticket_id, exc)
            return True
        row.status, row.error = EventStatus.DONE, outcome.note
        return True

    def _handle(self, session: Session, brand_id: int, source: str, event: TicketEvent) -> Outcome:
        brand = self._known.brands.get(brand_id)
        if brand is None:
            raise EventRejected(f"brand {brand_id} is not configured")
        if isinstance(event, TicketCreated):
            return self._ticket_created(session, brand, source, event)
        question = self._known.questions.get((brand_id, source, event.ticket_id))
        if question is None:
            raise Deferred(f"ticket {event.ticket_id} has not been created yet")
        if isinstance(event, CommentAdded):
            return self._comment_added(session, brand, source, question, event)
        if isinstance(event, TicketSolved):
            return self._ticket_solved(session, question, event)
        if isinstance(event, SatisfactionRated):
            return self._satisfaction_rated(session, source, question, event)
        return Outcome(f"nothing to do for a {event.kind} event")

    # ------------------------------------------------------------------ event kinds

    def _ticket_created(self, session: Session, brand: Brand, source: str, event: TicketCreated) -> Outcome:
        qid = question_id(brand.id, short_string(source), event.ticket_id)
        if (brand.id, source, event.ticket_id) in self._known.questions:
            return Outcome("the ticket was created before (another event with the same ticket id)")
        topic = self._topic(brand, event.tags)
        bounty = max([int(brand.bounty_by_tag[t]) for t in event.tags if t in brand.bounty_by_tag], default=None)
        bounty = brand.default_bounty if bounty is None else bounty
        # From now (a replayed old ticket is still answerable); a batched question's is set again
        # when its batch is sealed.
        deadline = int(self.clock()) + brand.answer_window_s
        cid = self._put(question_conversation(brand.id, source, event))
        outbox = None
        if not self.post_questions_in_batches:
            data = self.ledger.encode_abi(
                "postQuestion",
                args=[
                    brand.id,
                    short_string(source),
                    event.ticket_id,
                    short_string(topic),
                    bounty,
                    deadline,
                    digest_from_cid(cid),
                ],
            )
            outbox = self._queue(session, OutboxKind.POST_QUESTION, brand.id, data)
        self._known.questions[brand.id, source, event.ticket_id] = question = Question(
            question_id=hexed(qid),
            brand_id=brand.id,
            source=source,
            ticket_id=event.ticket_id,
            topic=topic,
            bounty=bounty,
            deadline=deadline,
            content_cid=cid,
            requester_id=event.requester_id,
            outbox_id=None if outbox is None else outbox.id,
            urgent=event.priority == URGENT,
            created_at_ms=self._now_ms(),
        )
        session.add(question)
        session.flush()  # before its answers: without relationships the flush does not order tables
        return Outcome()

    def _comment_added(
        self, session: Session, brand: Brand, source: str, question: Question, event: CommentAdded
    ) -> Outcome:
        author = _answer_author(brand, question.requester_id, event)
        if not isinstance(author, _Author):
            return Outcome(author)
        wallet = author.wallet
        if (question.question_id, event.comment_id) in self._known.comments:
            return Outcome("this comment was recorded before")
        conversation = answer_conversation(
            brand.id, source, question.ticket_id, question.topic, author.role, wallet, event.occurred_at, event.body
        )
        cid = self._put(conversation)
        digest = digest_from_cid(cid)
        qid = bytes.fromhex(question.question_id[2:])
        aid = hexed(answer_id(qid, wallet, digest))
        if aid in self._known.answers:
            return Outcome("the same answer by the same author was recorded before")
        answer = Answer(
            answer_id=aid,
            question_id=question.question_id,
            brand_id=brand.id,
            comment_id=event.comment_id,
            advocate=wallet,
            author_kind=author.kind,
            content_cid=cid,
            content_digest=hexed(digest),
            created_at_ms=self._now_ms(),
        )
        note = None
        if event.signature is not None:
            signed = event.signature
            signature = bytes.fromhex(signed.signature[2:])
            if is_answer_signature_valid(
                chain_id=self.chain_id,
                ledger=self.ledger.address,
                question_id=qid,
                content_digest=digest,
                advocate=wallet,
                nonce=signed.nonce,
                deadline=signed.deadline,
                signature=signature,
            ):
                answer.signature = canonical_json(
                    LeafSignature(signed.nonce, signed.deadline, signature).as_json()
                ).decode()
                if self.relay_signed_answers:  # else its batch's manifest carries the signature
                    self.question_batches.open(session, question)
                    struct = (qid, digest, wallet, signed.nonce, signed.deadline)
                    data = self.ledger.encode_abi("submitAnswerWithSig", args=[struct, signature])
                    answer.outbox_id = self._queue(session, OutboxKind.RELAY_ANSWER, brand.id, data).id
            else:
                note = (
                    f"the advocate's signature does not verify as {wallet}'s over this answer's digest "
                    f"{hexed(digest)}; the answer is anchored in a batch without it"
                )
        session.add(answer)
        self._known.comments.add((question.question_id, event.comment_id))
        self._known.answers.add(aid)
        return Outcome(note)

    def _ticket_solved(self, session: Session, question: Question, event: TicketSolved) -> Outcome:
        if question.accepted_answer_id is not None:
            return Outcome("the question was accepted before")
        answer = self._answer_for(session, question, event.solved_by_comment_id)
        if answer is None:
            return Outcome("solved without an answer from an advocate or expert: nothing to accept")
        now_ms = self._now_ms()
        if now_ms >= question.deadline * 1000:
            raise EventRejected(f"question {question.question_id} passed its deadline; it can only expire")
        if answer.batch_id is None and answer.outbox_id is None:
            # Its proof needs its batch's root: wait for the batch (sealed by size or age, at most
            # `batch_max_age_s`) rather than seal a batch of one for every solve.
            raise Deferred(f"answer {answer.answer_id} waits for its batch to be sealed")
        if self.accept_in_batches and not _is_stored(question):
            if not self.acceptances.add(session, question.question_id, answer.answer_id, question.brand_id, now_ms):
                return Outcome("the question's acceptance was queued before")
            question.accepted_answer_id = answer.answer_id
            return Outcome()
        data, shares = self._acceptance(session, answer, self.answer_batches.ref(session, answer))
        key, steps = f"accept:{question.question_id}", self._proof_steps(answer, question)
        if self._queue_once(session, key, OutboxKind.ACCEPT, question.brand_id, data, steps, shares) is None:
            return Outcome("the question's acceptance was queued before")
        question.accepted_answer_id = answer.answer_id
        return Outcome()

    def _acceptance(self, session: Session, answer: Answer, ref: tuple[Any, ...]) -> tuple[str, int]:
        """The acceptance call for `answer` (`swarm_credit`: its swarm's committed shares, or the
        whole bounty to its advocate) and how many shares it credits: proving its question against
        the question's batch unless the question is stored (posted on its own, or opened)."""
        question, shares = self._accepted_question(session, answer)
        suffix, swarm = ("WithSwarm", [shares]) if shares else ("", [])
        if _is_stored(question):
            function, args = f"acceptAnswer{suffix}", [ref, *swarm]
        else:
            function, args = f"acceptBatchedAnswer{suffix}", [self.question_batches.ref(session, question), ref, *swarm]
        return self.ledger.encode_abi(function, args=args), len(shares)

    def _acceptance_item(self, session: Session, answer_id: str) -> Item:
        """One acceptance of an `acceptBatchedAnswers` call (`acceptance_batches`): (question ref,
        answer ref, shares), its proof steps and its shares' count."""
        answer = session.get(Answer, answer_id)
        assert answer is not None  # an acceptance names a recorded answer
        ref = self.answer_batches.ref(session, answer)
        question, shares = self._accepted_question(session, answer)
        item = (self.question_batches.ref(session, question), ref, shares)
        return item, self._proof_steps(answer, question), len(shares)

    @staticmethod
    def _accepted_question(session: Session, answer: Answer) -> tuple[Question, list[Share]]:
        """The question `answer` answers, locked first (as the router locks it to write a round: a
        round is written wholly before or after the acceptance), and its swarm's committed shares."""
        question = session.scalars(
            select(Question).where(Question.question_id == answer.question_id).with_for_update()
        ).one()
        return question, list(committed_shares(session, answer.question_id, answer.advocate))

    def _queue_single_acceptance(self, session: Session, answer_id: str, key: str) -> int | None:
        """Queue the acceptance of `answer_id` on its own, under outbox key `key`."""
        answer = session.get(Answer, answer_id)
        question = session.get(Question, answer.question_id) if answer is not None else None
        assert answer is not None and question is not None
        data, shares = self._acceptance(session, answer, self.answer_batches.ref(session, answer))
        steps = self._proof_steps(answer, question)
        return self._queue_once(session, key, OutboxKind.ACCEPT, answer.brand_id, data, steps, shares)

    def _satisfaction_rated(
        self, session: Session, source: str, question: Question, event: SatisfactionRated
    ) -> Outcome:
        answer = self._answer_for(session, question, event.comment_id, prefer_accepted=True)
        if answer is None:
            return Outcome("rated without an answer from an advocate or expert: nothing to rate")
        if question.requester_id == ERASED_PERSON:
            return Outcome("the ticket's customer was erased on request: nothing more is recorded of them")
        rater = hexed(self._rater_pseudonym(question.brand_id, source, event.rater_id))
        legacy = hexed(legacy_rater_id(source, event.rater_id))  # what a rating before pseudonyms carried
        if session.scalar(
            select(SentRating.id).where(
                SentRating.answer_id == answer.answer_id,
                SentRating.rater_kind == RaterKind.CUSTOMER,
                SentRating.rater_id.in_([rater, legacy]),
            )
        ):
            return Outcome("this rater rated this answer before; the ledger keeps the first rating")
        rating = SentRating(
            answer_id=answer.answer_id,
            rater_kind=RaterKind.CUSTOMER,
            rater_id=rater,
            rating=event.rating,
            brand_id=question.brand_id,
            created_at_ms=self._now_ms(),
        )
        if not self.rate_in_batches:
            self.question_batches.open(session, question)  # `rateAnswer` needs a stored question
            ref = self.answer_batches.ref(session, answer)
            data = self.ledger.encode_abi(
                "rateAnswer", args=[ref, event.rating, int(RaterKind.CUSTOMER), bytes.fromhex(rater[2:])]
            )
            rating.outbox_id = self._queue(
                session, OutboxKind.RATE, question.brand_id, data, self._proof_steps(answer)
            ).id
        session.add(rating)
        return Outcome()

    # ------------------------------------------------------------------ answers and batches

    def _answer_for(
        self, session: Session, question: Question, comment_id: str | None, *, prefer_accepted: bool = False
    ) -> Answer | None:
        """The named comment's answer; else the accepted one (for ratings); else the latest."""
        session.flush()  # answers recorded earlier in this step count
        query = select(Answer).where(Answer.question_id == question.question_id)
        if comment_id is not None:
            named = session.scalar(query.where(Answer.comment_id == comment_id))
            if named is None:
                raise EventRejected(f"comment {comment_id} of ticket {question.ticket_id} is not a recorded answer")
            return named
        if prefer_accepted and question.accepted_answer_id is not None:
            return session.get(Answer, question.accepted_answer_id)
        return session.scalar(query.order_by(Answer.created_at_ms.desc(), Answer.answer_id.desc()).limit(1))

    def _proof_steps(self, answer: Answer, question: Question | None = None) -> int:
        """Steps of the proofs a write about `answer` carries: none for an answer relayed on its own
        (it has an outbox row), at most the depth of a full batch's tree otherwise; and, for an
        acceptance (`question`) of a question in a batch, its proof's too."""
        steps = self.answer_batches.proof_steps(answer)
        if question is not None and not _is_stored(question):
            steps += self.question_batches.proof_steps()
        return steps

    def _queue_dependents_again(self, session: Session, batch: AnswerBatch, anchor: OutboxTx) -> None:
        """Queue again, with a proof against the answer's new batch, each acceptance and rating of
        the brand queued after the failed anchor that proves against its root: none can succeed
        (the chain has no such batch of the brand), whether it failed already or is on its way."""
        dependents = session.scalars(
            select(OutboxTx)
            .where(
                OutboxTx.brand_id == batch.brand_id,
                OutboxTx.kind.in_([OutboxKind.ACCEPT, OutboxKind.RATE]),
                OutboxTx.id > anchor.id,
            )
            .order_by(OutboxTx.id)
        ).all()
        for row in dependents:
            function, args = self.ledger.decode_function_input(row.data)
            ref = args["answer"]
            if hexed(bytes(ref["batchRoot"])) != batch.root:
                continue
            aid = answer_id(bytes(ref["questionId"]), ref["advocate"], bytes(ref["contentDigest"]))
            answer = session.get(Answer, hexed(aid))
            if answer is None:
                continue
            new_ref = self.answer_batches.ref(session, answer)  # seals the answer's new batch first
            if function.fn_name == "rateAnswer":
                data = self.ledger.encode_abi(
                    "rateAnswer", args=[new_ref, args["rating"], args["raterKind"], args["raterId"]]
                )
                shares = 0
            else:
                data, shares = self._acceptance(session, answer, new_ref)
            question = session.get(Question, answer.question_id) if row.kind == OutboxKind.ACCEPT else None
            kind, steps = OutboxKind(row.kind), self._proof_steps(answer, question)
            again = self._queue_once(session, f"retry-of:{row.id}", kind, batch.brand_id, data, steps, shares)
            if again is None:
                continue  # queued again before, by another processor
            if row.kind == OutboxKind.RATE:
                session.execute(update(SentRating).where(SentRating.outbox_id == row.id).values(outbox_id=again))
            log.info(
                "outbox %d (%s) proved against the dead batch %d: queued again as %d", row.id, row.kind, batch.id, again
            )

    # ------------------------------------------------------------------ helpers

    def _queue(self, session: Session, kind: OutboxKind, brand_id: int, data: str, proof_steps: int = 0) -> OutboxTx:
        now_ms = self._now_ms()
        to = self.ledger.address
        return enqueue(session, kind, to=to, data=data, brand_id=brand_id, now_ms=now_ms, proof_steps=proof_steps)

    def _queue_once(
        self,
        session: Session,
        dedupe_key: str,
        kind: OutboxKind,
        brand_id: int,
        data: str,
        proof_steps: int = 0,
        shares: int = 0,
    ) -> int | None:
        """`_queue` for a write that may happen at most once (`outbox.enqueue_once`)."""
        return enqueue_once(
            session,
            kind,
            dedupe_key,
            to=self.ledger.address,
            data=data,
            brand_id=brand_id,
            now_ms=self._now_ms(),
            proof_steps=proof_steps,
            shares=shares,
        )

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    @staticmethod
    def _topic(brand: Brand, tags: Sequence[str]) -> str:
        return next((tag for tag in tags if tag in brand.topics), brand.default_topic)


def _is_stored(question: Question) -> bool:
    """Whether the ledger holds the question on its own (posted so, or opened): accepted by
    `acceptAnswer`, not by proving it against its batch."""
    return question.outbox_id is not None or question.opened_outbox_id is not None


@dataclass
class _Known:
    """What the events of one step refer to, loaded in a few indexed queries instead of several per event."""

    brands: dict[int, Brand]
    questions: dict[tuple[int, str, str], Question]
    comments: set[tuple[str, str]]  # (question id, comment id) already answered
    answers: set[str]  # answer ids already recorded, of those the step's comments would record

    @classmethod
    def load(cls, session: Session, events: Sequence[WebhookEvent], answer_ids: Collection[str] | None) -> _Known:
        """The brands and questions the events name and, unless `answer_ids` is None (storing the
        step's conversations needs no more), which of the comments they add were recorded as
        answers and which of `answer_ids` were. Only what the events name is read (not, say, every
        answer of a ticket): a step costs the same with 10 or 10,000 answers on record. Each query
        is an indexed lookup (a key's leading columns equal, its last one IN a list)."""
        tickets: dict[tuple[int, str], set[str]] = {}
        for e in events:
            tickets.setdefault((e.brand_id, e.source), set()).add(e.ticket_id)
        questions: dict[tuple[int, str, str], Question] = {}
        for (brand_id, source), ticket_ids in tickets.items():
            for part in chunks(sorted(ticket_ids), IN_LIST):
                same_ticket = (Question.brand_id == brand_id) & (Question.source == source)
                for q in session.scalars(select(Question).where(same_ticket, Question.ticket_id.in_(part))):
                    questions[q.brand_id, q.source, q.ticket_id] = q
        brands = {b.id: b for b in session.scalars(select(Brand).where(Brand.id.in_({e.brand_id for e in events})))}
        if answer_ids is None:
            return cls(brands, questions, set(), set())
        named = {  # (question id, comment id) of each comment the events add to a known question
            (questions[ticket].question_id, e.payload["comment_id"])
            for e in events
            if e.kind == "comment_added" and (ticket := (e.brand_id, e.source, e.ticket_id)) in questions
        }
        comments: set[tuple[str, str]] = set()
        for part in chunks(sorted(named), IN_LIST):
            recorded = select(Answer.question_id, Answer.comment_id).where(
                Answer.question_id.in_({qid for qid, _ in part}), Answer.comment_id.in_({c for _, c in part})
            )
            comments.update((qid, c) for qid, c in session.execute(recorded) if (qid, c) in named)
        answers: set[str] = set()
        for part in chunks(sorted(answer_ids), IN_LIST):
            answers.update(session.scalars(select(Answer.answer_id).where(Answer.answer_id.in_(part))))
        return cls(brands, questions, comments, answers)


@dataclass(frozen=True)
class _Author:
    wallet: str
    role: str  # in the stored conversation: "advocate" or "agent"
    kind: str  # "advocate" (their own wallet) or "expert" (the brand registered their wallet)


def _answer_author(brand: Brand, requester_id: str, event: CommentAdded) -> _Author | str:
    """Who answered, or why the comment is not an answer."""
    if not event.public:
        return "an internal note, not an answer"
    if event.author_id == requester_id:
        return "the requester's own comment, not an answer"
    if is_delivered_by_peercare(event.body):
        return "PeerCare's own reply, posted for an answer already recorded"
    if event.author_wallet:  # checksummed when the event was parsed
        return _Author(event.author_wallet, "advocate", "advocate")
    wallet = brand.experts.get(event.author_id)
    if wallet is None:
        return f"author {event.author_id} has no wallet and is not one of the brand's experts"
    return _Author(Web3.to_checksum_address(wallet), "agent", "expert")


def question_conversation(brand_id: int, source: str, event: TicketCreated) -> Conversation:
    """The stored document of a ticket's question."""
    text = f"{event.subject}\n\n{event.body}" if event.subject else event.body
    return Conversation(
        brand=brand_id,
        source=source,
        ticket_id=event.ticket_id,
        language=LANGUAGE_UNDETERMINED,
        topics=event.tags,
        messages=(Message(role="customer", author=event.requester_id, time=event.occurred_at, body=text),),
    )


class EventRejected(Exception):
    """The event can never be processed; the reason is stored with it."""

"""Routes for advocates: their reputation (public: anyone can prove it), and, signed in with their
wallet, their earnings, answers and ratings, gasless answers and withdrawals.

Reads come from the indexer's projections of chain events, with on-chain figures read beside them
where a client wants to check (`claimable_on_chain`). Writes never hold an advocate's key: an
answer is drafted here (its conversation stored, the EIP-712 typed data returned), signed by the
advocate's wallet and relayed by the oracle's signer (`submitAnswerWithSig`); a withdrawal, which
the ledger takes only from the advocate's own account, is prepared here, signed by the wallet and
broadcast through `POST /api/v1/transactions`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from web3.contract import Contract

from peercare.api.chain_reads import read_view, token_decimals
from peercare.api.context import ApiContext
from peercare.api.paging import DEFAULT_LIMIT, Limit, PageCursor, after_cursor
from peercare.api.problems import Problem
from peercare.api.relay import API_ANSWER_PREFIX, check_relay_quota
from peercare.api.reputation_reads import EpochUnreadable, Reputation, ReputationCache, reputation_cache
from peercare.api.schemas.advocates import (
    AdvocateAnswer,
    AdvocateRating,
    AnswerTypedData,
    Credit,
    DraftIn,
    DraftOut,
    EarningsOut,
    SubmitIn,
    SubmittedOut,
    TokenEarnings,
)
from peercare.api.schemas.common import Page
from peercare.api.security import AddressPath, AdvocateSelf, Context
from peercare.api.signed_calls import RELAY_MARGIN_S, chain_nonce, check_relayable, draft_deadline, next_nonce
from peercare.content.cid import cid_from_digest, digest_from_cid
from peercare.content.document import Conversation
from peercare.content.errors import ContentErased, ContentError, InvalidCid
from peercare.core.enums import OutboxKind, QuestionStatus
from peercare.core.ledger_ids import answer_id
from peercare.core.typed_data import answer_typed_data
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Answer, Question
from peercare.oracle.deliveries import queue as deliveries
from peercare.oracle.outbox import enqueue
from peercare.oracle.processor import answer_conversation
from peercare.oracle.question_batches import QuestionBatcher

router = APIRouter(prefix="/api/v1", tags=["advocates"])


EpochQuery = Annotated[int | None, Query(ge=1, le=2**64 - 1, description="The epoch (default: the latest published)")]


# ---------------------------------------------------------------- reputation (public)


@router.get(
    "/advocates/{address}/reputation",
    response_model=Reputation,
    summary="An advocate's reputation scores in an epoch, with the Merkle proofs to verify them on chain",
    responses={
        404: {"description": "no such epoch, or no epoch published yet"},
        503: {"description": "the epoch's manifest cannot be read"},
    },
)
async def reputation(
    address: AddressPath,
    cache: Annotated[ReputationCache, Depends(reputation_cache)],
    epoch: EpochQuery = None,
) -> Response:
    # Served from memory by the event loop itself (see `reputation_reads`): no credentials, no thread.
    latest = await cache.latest()
    if latest is None:
        raise Problem(404, "no reputation epoch has been published yet")
    wanted = latest if epoch is None else epoch
    try:
        view = None if wanted > latest else await cache.view(wanted)
    except EpochUnreadable as err:
        raise Problem(503, str(err)) from None
    if view is None:
        raise Problem(404, f"epoch {wanted} was not published (the latest is epoch {latest})")
    return Response(view.body(address), media_type="application/json")


# ---------------------------------------------------------------- earnings


@router.get("/advocates/{address}/earnings", summary="The advocate's earnings per token, indexed and on chain")
def earnings(advocate: AdvocateSelf, context: Context) -> EarningsOut:
    with context.database.read() as session:
        tokens = session.scalars(
            select(ix.RewardCredit.token).where(ix.RewardCredit.account == advocate).distinct()
        ).all()
        indexed = {token: ix.earnings(session, advocate, token) for token in sorted(set(tokens))}
    return EarningsOut(
        advocate=advocate,
        tokens=[
            TokenEarnings(
                token=token,
                decimals=token_decimals(context, token),
                credited=str(e.credited),
                withdrawn=str(e.withdrawn),
                claimable=str(e.claimable),
                claimable_on_chain=str(_read(context, context.ledger, "earnings", [advocate, token], "uint256")),
            )
            for token, e in indexed.items()
        ],
    )


@router.get("/advocates/{address}/credits", summary="Each credit to the advocate: a bounty or a swarm share (paged)")
def credits(
    advocate: AdvocateSelf, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: PageCursor = None
) -> Page[Credit]:
    after = after_cursor(cursor)
    credits_of_question = (
        select(func.count())
        .where(ix.RewardCredit.question_id == ix.Acceptance.question_id)
        .correlate(ix.Acceptance)
        .scalar_subquery()
    )
    with context.database.read() as session:
        rows = session.execute(
            select(ix.RewardCredit, _brand_of(ix.RewardCredit.question_id), ix.Acceptance.bounty, credits_of_question)
            .outerjoin(ix.Acceptance, ix.Acceptance.question_id == ix.RewardCredit.question_id)
            .where(ix.RewardCredit.account == advocate, ix.RewardCredit.id > after)
            .order_by(ix.RewardCredit.id)
            .limit(limit + 1)
        ).all()
    page = rows[:limit]
    items = [
        Credit(
            id=row.id,
            question_id=row.question_id,
            brand_id=brand,
            token=row.token,
            amount=str(row.amount),
            bounty=None if bounty is None else str(bounty),
            share_bps=row.amount * 10_000 // bounty if bounty else None,
            swarm=bool(count and count > 1) or (bounty is not None and row.amount != bounty),
            block_time=row.block_time,
            tx_hash=row.tx_hash,
        )
        for row, brand, bounty, count in page
    ]
    return Page[Credit](items=items, next_cursor=str(page[-1][0].id) if len(rows) > limit else None)


# ---------------------------------------------------------------- answers and ratings


@router.get("/advocates/{address}/answers", summary="The advocate's answers recorded on chain (paged)")
def answers(
    advocate: AdvocateSelf, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: PageCursor = None
) -> Page[AdvocateAnswer]:
    after = after_cursor(cursor)
    with context.database.read() as session:
        rows = session.execute(
            select(ix.AnswerRow, _brand_of(ix.AnswerRow.question_id))
            .where(ix.AnswerRow.advocate == advocate, ix.AnswerRow.id > after)
            .order_by(ix.AnswerRow.id)
            .limit(limit + 1)
        ).all()
        page = rows[:limit]
        ids = list({row.answer_id for row, _ in page})
        accepted = set(session.scalars(select(ix.Acceptance.answer_id).where(ix.Acceptance.answer_id.in_(ids))))
        rated = {
            answer: (count, total)
            for answer, count, total in session.execute(
                select(ix.AnswerRated.answer_id, func.count(), func.sum(ix.AnswerRated.rating))
                .where(ix.AnswerRated.answer_id.in_(ids))
                .group_by(ix.AnswerRated.answer_id)
            )
        }
    items = []
    for row, brand in page:
        count, total = rated.get(row.answer_id, (0, 0))
        direct = row.batch_root is None
        items.append(
            AdvocateAnswer(
                id=row.id,
                answer_id=row.answer_id,
                question_id=row.question_id,
                brand_id=brand,
                content_digest=row.content_digest,
                content_cid=cid_from_digest(bytes.fromhex(row.content_digest[2:])),
                batch_root=row.batch_root,
                leaf_index=None if direct else row.leaf_index,
                block_number=row.block_number,
                block_time=row.block_time,
                tx_hash=row.tx_hash,
                accepted=row.answer_id in accepted,
                ratings=count,
                rating_average=round(total / count, 4) if count else None,
            )
        )
    return Page[AdvocateAnswer](items=items, next_cursor=str(page[-1][0].id) if len(rows) > limit else None)


@router.get("/advocates/{address}/ratings", summary="The ratings of the advocate's answers (paged)")
def ratings(
    advocate: AdvocateSelf, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: PageCursor = None
) -> Page[AdvocateRating]:
    after = after_cursor(cursor)
    with context.database.read() as session:
        rows = session.execute(
            select(ix.AnswerRated, _brand_of(ix.AnswerRated.question_id))
            .where(ix.AnswerRated.advocate == advocate, ix.AnswerRated.id > after)
            .order_by(ix.AnswerRated.id)
            .limit(limit + 1)
        ).all()
    page = rows[:limit]
    items = [
        AdvocateRating(
            id=row.id,
            answer_id=row.answer_id,
            question_id=row.question_id,
            brand_id=brand,
            rating=row.rating,
            rater_kind=row.rater_kind,
            rater_id=row.rater_id,
            block_number=row.block_number,
            block_time=row.block_time,
            tx_hash=row.tx_hash,
        )
        for row, brand in page
    ]
    return Page[AdvocateRating](items=items, next_cursor=str(page[-1][0].id) if len(rows) > limit else None)


# ---------------------------------------------------------------- gasless answers


@router.post(
    "/advocates/{address}/answers/draft",
    summary="Store an answer's text and get the EIP-712 typed data to sign for a gasless answer",
    responses={
        404: {"description": "no such question"},
        409: {"description": "the question is not open"},
        429: {"description": "the wallet's or the brand's relayed-answer quota is spent (nothing is stored)"},
    },
)
def draft_answer(body: DraftIn, advocate: AdvocateSelf, context: Context) -> DraftOut:
    question_id = body.question_id.lower()
    with context.database.read() as session:
        question = _open_question(session, question_id)
        # Nothing is stored for an answer that could not be relayed now (submission checks again).
        check_relay_quota(session, context.settings, advocate, question.brand_id, int(time.time() * 1000))
    conversation = answer_conversation(
        question.brand_id,
        question.source,
        question.ticket_id,
        question.topic,
        "advocate",
        advocate,
        datetime.now(UTC).replace(microsecond=0),
        body.body,
    )
    try:
        cid = context.vault.put(conversation)
    except ContentError as err:
        raise Problem(503, f"the content store could not store the answer: {err}") from None
    digest = digest_from_cid(cid)
    with context.database.read() as session:
        nonce = next_nonce(context, session, advocate)
    deadline = draft_deadline()
    typed = _typed_data(context, question_id, digest, nonce, deadline)
    return DraftOut(
        question_id=question_id,
        advocate=advocate,
        answer_id=_answer_id(question_id, advocate, digest),
        content_cid=cid,
        content_digest="0x" + digest.hex(),
        nonce=nonce,
        deadline=deadline,
        typed_data=AnswerTypedData.model_validate(typed),
    )


@router.post(
    "/advocates/{address}/answers",
    status_code=202,
    summary="Submit a signed answer; the oracle relays it to the ledger (gasless for the advocate)",
    responses={
        404: {"description": "no such question"},
        409: {"description": "the answer exists, the question is not open, or the nonce is used"},
        422: {"description": "the signature, deadline or content does not fit"},
        429: {"description": "the wallet's or the brand's relayed-answer quota is spent (nothing is stored)"},
    },
)
def submit_answer(body: SubmitIn, advocate: AdvocateSelf, context: Context) -> SubmittedOut:
    question_id = body.question_id.lower()
    try:
        digest = digest_from_cid(body.content_cid)
    except InvalidCid as err:
        raise Problem(422, f"content_cid: {err}") from None
    signature = bytes.fromhex(body.signature[2:])
    typed = _typed_data(context, question_id, digest, body.nonce, body.deadline)
    check_relayable(body.deadline, typed, signature, advocate, "answer")
    aid = _answer_id(question_id, advocate, digest)
    with context.database.read() as session:
        _refuse_existing(session, aid)
        question = _open_question(session, question_id)
    text = _check_content(context, question, advocate, body.content_cid)
    on_chain = chain_nonce(context, advocate)
    signed = (bytes.fromhex(question_id[2:]), digest, advocate, body.nonce, body.deadline)
    data = context.ledger.encode_abi("submitAnswerWithSig", args=[signed, signature])
    now_ms = int(time.time() * 1000)
    try:
        with context.database.transaction() as session:
            _refuse_existing(session, aid)  # again, under the write lock: a concurrent twin may have won
            check_relay_quota(session, context.settings, advocate, question.brand_id, now_ms, lock=True)
            expected = next_nonce(context, session, advocate, on_chain)
            if body.nonce != expected:
                raise Problem(
                    409,
                    f"nonce: {body.nonce} is not the advocate's next nonce {expected} (another answer used it, "
                    "or it is still being relayed): draft the answer again",
                )
            # `submitAnswerWithSig` needs the question stored: a batched one is opened first, once.
            stored = session.get(Question, question_id)
            assert stored is not None  # read above; questions are never deleted
            _question_batches(context).open(session, stored)
            outbox = enqueue(
                session,
                OutboxKind.RELAY_ANSWER,
                to=context.ledger.address,
                data=data,
                brand_id=question.brand_id,
                now_ms=now_ms,
            )
            session.add(
                Answer(
                    answer_id=aid,
                    question_id=question_id,
                    brand_id=question.brand_id,
                    comment_id=f"{API_ANSWER_PREFIX}{aid}",
                    advocate=advocate,
                    author_kind="advocate",
                    content_cid=body.content_cid,
                    content_digest="0x" + digest.hex(),
                    created_at_ms=now_ms,
                    outbox_id=outbox.id,
                )
            )
            # The customer sees the answer where they asked: a public reply on the ticket.
            deliveries.enqueue(
                session,
                key=f"answer:{aid}",
                brand_id=question.brand_id,
                source=question.source,
                ticket_id=question.ticket_id,
                question_id=question_id,
                kind="answer",
                payload={"question_id": question_id, "answer_id": aid, "advocate": advocate, "body": text},
                now_ms=now_ms,
            )
    except IntegrityError:  # another process recorded the same answer in between
        raise Problem(409, f"answer {aid} was submitted already") from None
    return SubmittedOut(answer_id=aid, question_id=question_id, status="queued")


# ---------------------------------------------------------------- helpers


def _read(context: ApiContext, contract: Contract, function: str, args: list[Any], output: str) -> Any:
    """One value from a view function at the latest block; 503 if the node cannot say."""
    (value,) = read_view(context, contract.address, contract.encode_abi(function, args=args), [output])
    return value


def _brand_of(question_id: Any) -> Any:
    """The brand of a question, as a correlated subquery on `ix_questions`."""
    return (
        select(ix.QuestionPosted.brand_id)
        .where(ix.QuestionPosted.question_id == question_id)
        .limit(1)
        .scalar_subquery()
    )


def _open_question(session: Session, question_id: str) -> Question:
    """The oracle's question, if it is open for answers on chain now; else 404 or 409 saying why."""
    question = session.get(Question, question_id)
    if question is None:
        raise Problem(404, f"question {question_id} is not a question this service posted")
    state = ix.question_status(session, question_id)
    if state.status is QuestionStatus.NONE:
        raise Problem(409, f"question {question_id} is not on chain yet: try again in a few seconds")
    if state.status is not QuestionStatus.OPEN:
        raise Problem(409, f"question {question_id} is {state.status.value}: it takes no more answers")
    if state.deadline is not None and state.deadline <= time.time() + RELAY_MARGIN_S:
        raise Problem(409, f"question {question_id} passed its deadline ({state.deadline}): it takes no more answers")
    return question


def _question_batches(context: ApiContext) -> QuestionBatcher:
    settings = context.settings
    return QuestionBatcher(
        context.public_store,
        context.ledger.address,
        lambda function, args: context.ledger.encode_abi(function, args=args),
        batch_size=settings.batch_size,
        batch_max_age_ms=int(settings.batch_max_age_s * 1000),
        clock=time.time,
    )


def _refuse_existing(session: Session, aid: str) -> None:
    if session.get(Answer, aid) is not None:
        raise Problem(409, f"answer {aid} was submitted already")


def _check_content(context: ApiContext, question: Question, advocate: str, cid: str) -> str:
    """The CID must be a stored draft of this advocate's answer to this question, so that nobody
    signs someone else's answer as theirs. Returns the answer's text."""
    try:
        conversation: Conversation = context.vault.get(cid)
    except ContentErased:
        raise Problem(422, f"content_cid: {cid} was erased") from None
    except ContentError:  # no key or no block here: not drafted through this service
        raise Problem(422, f"content_cid: {cid} is not a drafted answer stored here: draft the answer first") from None
    (message, *others) = conversation.messages
    if (
        others
        or (conversation.brand, conversation.source, conversation.ticket_id)
        != (question.brand_id, question.source, question.ticket_id)
        or (message.role, message.author) != ("advocate", advocate)
    ):
        raise Problem(422, f"content_cid: {cid} is not {advocate}'s drafted answer to question {question.question_id}")
    return message.body


def _typed_data(context: ApiContext, question_id: str, digest: bytes, nonce: int, deadline: int) -> dict[str, Any]:
    """The answer's typed data with its bytes as 0x hex (JSON as wallets take it)."""
    typed = answer_typed_data(
        chain_id=context.deployment.chain_id,
        ledger=context.ledger.address,
        question_id=bytes.fromhex(question_id[2:]),
        content_digest=digest,
        nonce=nonce,
        deadline=deadline,
    )
    typed["message"] = {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in typed["message"].items()}
    return typed


def _answer_id(question_id: str, advocate: str, digest: bytes) -> str:
    return "0x" + answer_id(bytes.fromhex(question_id[2:]), advocate, digest).hex()

"""Routes for brands: their configuration, webhook secrets, pool, questions and who they were
routed to, and their API keys.

Reads (`BrandReader`) are open to the brand's own keys and to auditor keys covering the brand;
writes (`BrandAdmin`) need the brand's key. The configuration is the oracle's (`oracle.models.Brand`)
and the processor reads it per event, so a change applies to the next ticket. Pool figures and
question states come from the indexer's projections of the chain, with the ledger's own `pool()`
beside them; deposits are prepared here and signed by the funder's wallet, never by the oracle.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Any, Literal, get_args

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Path, Response
from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peercare.api.auth import BrandAdmin, BrandReader, Context, create_api_key, now_ms
from peercare.api.context import ApiContext
from peercare.api.intake import CREDENTIALS_TTL_S
from peercare.api.problems import Problem
from peercare.api.relay import PreparedTx, prepare
from peercare.api.schemas import DEFAULT_LIMIT, Address, Cursor, Hex32, Limit, Page, Strict, TokenAmount
from peercare.chain.rpc import RpcUnavailable
from peercare.db.tables import projections as ix
from peercare.db.tables.api import ApiKey, KeyRole, QuestionRoute
from peercare.db.tables.oracle import Brand, WebhookCredential
from peercare.oracle.webhooks import FRESHDESK_TOKEN, GENERIC_SIGNATURE, SOURCES
from peercare.routing.live import Epochs, check_route, explain, topic_label
from peercare.routing.offers import decision_from_record

router = APIRouter(prefix="/api/v1", tags=["brands"])

#: A bounty above the ledger's pool accounting limit (uint128) could never be escrowed.
MAX_BOUNTY = 2**128 - 1
TOPIC_BYTES = 31  # a topic is stored as a bytes32 short string (`ledger_ids.short_string`) and in String(31)
MAX_WINDOW_S = 366 * 86_400
#: `deposit` measured at 57,039 gas on anvil; used when it cannot be estimated (the approve it
#: needs is not mined yet). Generous: unused gas is not charged.
GAS_DEPOSIT = 150_000
Source = Literal["zendesk", "freshdesk", "generic"]
assert set(SOURCES) == set(get_args(Source)), "Source must list webhooks.SOURCES"

QuestionIdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The question's id (bytes32)")]
KeyPrefixPath = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The key's public prefix")]
SourcePath = Annotated[Source, Path(description="The ticketing system")]


# ---------------------------------------------------------------- configuration: validation


def _topic_bytes(value: str) -> str:
    size = len(value.encode("utf-8"))
    if size > TOPIC_BYTES:
        raise ValueError(f"a topic is at most {TOPIC_BYTES} bytes in UTF-8; {value!r} is {size}")
    return value


def _bounty(value: str) -> str:
    if int(value) > MAX_BOUNTY:
        raise ValueError("a bounty is at most 2^128 - 1 wei (the ledger's pool limit)")
    return str(int(value))  # no leading zeros


def _wallet(value: str) -> str:
    # A mixed-case address claims an EIP-55 checksum; a wrong one is a typo, not a wallet.
    if value[2:] not in (value[2:].lower(), value[2:].upper()) and value != to_checksum_address(value):
        raise ValueError("the address's mixed-case EIP-55 checksum is wrong")
    if int(value, 16) == 0:
        raise ValueError("the zero address is nobody's wallet")
    return to_checksum_address(value)


Topic = Annotated[
    str,
    Field(min_length=1, max_length=TOPIC_BYTES, pattern=r"^[^\s\x00-\x1f\x7f]+$", description="1 to 31 bytes"),
    AfterValidator(_topic_bytes),
]
#: Ticket tags are lower case (`oracle.events.Tag`): topic tags and bounty tags are lowered to match.
TopicTag = Annotated[
    str,
    Field(min_length=1, max_length=TOPIC_BYTES, pattern=r"^[^\s\x00-\x1f\x7f]+$", description="1 to 31 bytes"),
    AfterValidator(str.lower),
    AfterValidator(_topic_bytes),
]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\s\x00-\x1f\x7f]+$")]
Bounty = Annotated[TokenAmount, AfterValidator(_bounty)]
AgentId = Annotated[str, Field(min_length=1, max_length=100, description="The expert's id in the ticketing system")]
Wallet = Annotated[Address, AfterValidator(_wallet)]


class BrandPatch(Strict):
    """Fields to change; each one given replaces the stored value (lists and maps whole)."""

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")] | SkipJsonSchema[None] = None
    default_topic: Topic | SkipJsonSchema[None] = Field(None, description="The topic of tickets with no topic tag")
    topics: Annotated[list[TopicTag], Field(max_length=100)] | SkipJsonSchema[None] = Field(
        None, description="Ticket tags that are topics (lower-cased)"
    )
    default_bounty: Bounty | SkipJsonSchema[None] = None
    bounty_by_tag: Annotated[dict[Tag, Bounty], Field(max_length=100)] | SkipJsonSchema[None] = Field(
        None, description="Bounty of tickets with this tag (the largest applies); tags lower-cased"
    )
    answer_window_s: Annotated[int, Field(ge=60, le=MAX_WINDOW_S)] | SkipJsonSchema[None] = Field(
        None, description="A question's deadline is its posting time plus this"
    )
    experts: Annotated[dict[AgentId, Wallet], Field(max_length=100)] | SkipJsonSchema[None] = Field(
        None, description="The brand's experts: ticketing agent id -> wallet"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @field_validator("bounty_by_tag")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        lowered = {tag.lower() for tag in value}
        if len(lowered) != len(value):
            raise ValueError("tags differ only in case: tags are lower-cased, so they would collide")
        return {tag.lower(): amount for tag, amount in sorted(value.items())}


# ---------------------------------------------------------------- configuration: routes


class WebhookOut(BaseModel):
    source: Source
    endpoint: str = Field(description="Where the ticketing system posts")
    basic_username: str | None = Field(description="Freshdesk's HTTP basic-auth username (not a secret)")


class BrandOut(BaseModel):
    id: int
    name: str
    default_topic: str
    topics: list[str]
    default_bounty: TokenAmount
    bounty_by_tag: dict[str, TokenAmount]
    answer_window_s: int
    experts: dict[str, Address]
    webhooks: list[WebhookOut] = Field(description="Configured webhook sources (their secrets are never shown)")
    created_at_ms: int


def _brand(session: Session, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise Problem(404, f"brand {brand_id} is not configured on this oracle")
    return brand


def _endpoint(brand_id: int, source: str) -> str:
    return f"/api/v1/webhooks/{brand_id}/{source}"


def _brand_out(session: Session, brand: Brand) -> BrandOut:
    credentials = session.scalars(
        select(WebhookCredential).where(WebhookCredential.brand_id == brand.id).order_by(WebhookCredential.source)
    )
    return BrandOut(
        id=brand.id,
        name=brand.name,
        default_topic=brand.default_topic,
        topics=list(brand.topics),
        default_bounty=str(brand.default_bounty),
        bounty_by_tag={tag: str(amount) for tag, amount in brand.bounty_by_tag.items()},
        answer_window_s=brand.answer_window_s,
        experts=dict(brand.experts),
        webhooks=[
            WebhookOut(source=c.source, endpoint=_endpoint(brand.id, c.source), basic_username=c.basic_username)
            for c in credentials
        ],
        created_at_ms=brand.created_at_ms,
    )


@router.get("/brands/{brand_id}", summary="The brand's configuration and its configured webhook sources")
def get_brand(brand_id: BrandReader, context: Context) -> BrandOut:
    with context.database.read() as session:
        return _brand_out(session, _brand(session, brand_id))


@router.patch(
    "/brands/{brand_id}",
    summary="Change the brand's configuration (applies to tickets created from now on)",
    responses={422: {"description": "a field is invalid; nothing was changed"}},
)
def patch_brand(brand_id: BrandAdmin, body: BrandPatch, context: Context) -> BrandOut:
    with context.database.transaction() as session:
        brand = _brand(session, brand_id)
        for name in body.model_fields_set:
            value = getattr(body, name)
            setattr(brand, name, int(value) if name == "default_bounty" else value)
        session.flush()
        return _brand_out(session, brand)


# ---------------------------------------------------------------- webhook secrets


class SecretIn(Strict):
    secret: str | SkipJsonSchema[None] = Field(
        None,
        min_length=16,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Use this secret (required for zendesk: Zendesk's own signing secret); else one is generated",
    )


class WebhookSecretOut(BaseModel):
    source: Source
    endpoint: str
    secret: str = Field(description="Shown once: the signing secret (zendesk, generic) or the X-PeerCare-Token value")
    basic_username: str | None = Field(description="freshdesk: the HTTP basic-auth username")
    basic_password: str | None = Field(description="freshdesk: the HTTP basic-auth password, shown once")
    effective_within_s: float = Field(description="The webhook intake uses the new credentials within this")
    note: str


@router.post(
    "/brands/{brand_id}/webhooks/{source}/secret",
    summary="Create or rotate a webhook source's credentials; the new secret is shown once",
    responses={422: {"description": "zendesk without its signing secret, or a malformed secret"}},
)
def rotate_webhook_secret(
    brand_id: BrandAdmin, source: SourcePath, context: Context, body: SecretIn | None = None
) -> WebhookSecretOut:
    """Like `peercare oracle webhook`. The intake re-reads credentials every few seconds
    (`intake.CREDENTIALS_TTL_S`): until then the previous secret is still accepted, after that only
    the new one. A generic sender switches over without a refused delivery by signing with both
    secrets meanwhile (two `v1=` signatures in X-PeerCare-Signature)."""
    given = body.secret if body is not None else None
    if source == "zendesk" and given is None:
        raise Problem(422, "secret: zendesk signs with its own secret: send Zendesk's signing secret as `secret`")
    secret = given or secrets.token_urlsafe(32)
    username = password = None
    if source == "freshdesk":
        username, password = f"brand-{brand_id}", secrets.token_urlsafe(24)
    with context.database.transaction() as session:
        _brand(session, brand_id)
        row = session.get(WebhookCredential, (brand_id, source))
        rotated = row is not None
        row = row or WebhookCredential(brand_id=brand_id, source=source)
        row.secret = secret
        row.basic_username = username
        row.basic_password_sha256 = hashlib.sha256(password.encode()).hexdigest() if password else None
        session.add(row)
    notes = {
        "zendesk": "Zendesk signs with this secret; nothing to paste.",
        "freshdesk": f"Send the secret as {FRESHDESK_TOKEN} and the basic-auth credentials from the automation rule.",
        "generic": f"Sign with it; during the switch-over send both signatures in {GENERIC_SIGNATURE} (v1=old,v1=new).",
    }
    when = f"the previous credentials stop working within {CREDENTIALS_TTL_S:g} s. " if rotated else ""
    return WebhookSecretOut(
        source=source,
        endpoint=_endpoint(brand_id, source),
        secret=secret,
        basic_username=username,
        basic_password=password,
        effective_within_s=CREDENTIALS_TTL_S,
        note=f"Shown once; {when}{notes[source]}",
    )


# ---------------------------------------------------------------- pool


class PoolOut(BaseModel):
    brand_id: int
    token: Address = Field(description="The pool's token")
    deposited: TokenAmount
    withdrawn: TokenAmount
    escrowed_open: TokenAmount = Field(description="Bounties of questions still open")
    paid: TokenAmount = Field(description="Bounties released to advocates")
    refunded: TokenAmount = Field(description="Bounties returned by expiry")
    available: TokenAmount = Field(description="Funds not escrowed: for new bounties or withdrawal")
    indexed_block: int | None = Field(description="The projections above are complete up to this block")
    available_on_chain: TokenAmount = Field(description="The ledger's pool(brandId).available at chain_block")
    escrowed_on_chain: TokenAmount = Field(description="The ledger's pool(brandId).escrowed at chain_block")
    chain_block: int


def _token_of(session: Session, brand_id: int) -> str:
    token = session.scalars(
        select(ix.BrandRegistration.token).where(ix.BrandRegistration.brand_id == brand_id).limit(1)
    ).first()
    if token is None:
        raise Problem(404, f"brand {brand_id} is not registered on the ledger (or not indexed yet)")
    return token


def _eth_call(context: ApiContext, to: str, data: str, types: list[str], block: str = "latest") -> tuple[Any, ...]:
    result = context.rpc.call("eth_call", [{"to": to, "data": data}, block])
    return tuple(decode(types, bytes.fromhex(result[2:])))


def _chain_unavailable(exc: RpcUnavailable) -> Problem:
    return Problem(503, f"the chain node is unreachable ({exc.fault}); try again shortly")


@router.get(
    "/brands/{brand_id}/pool",
    summary="The brand's pool: indexed totals and the ledger's balances",
    responses={503: {"description": "the chain node is unreachable"}},
)
def get_pool(brand_id: BrandReader, context: Context) -> PoolOut:
    with context.database.read() as session:
        _brand(session, brand_id)
        token = _token_of(session, brand_id)
        balance = ix.pool_balance(session, brand_id)
        cursor = session.get(ix.Cursor, 1)
    try:
        block = int(context.rpc.call("eth_blockNumber"), 16)
        available, escrowed = _eth_call(
            context,
            context.ledger.address,
            context.ledger.encode_abi("pool", args=[brand_id]),
            ["uint128", "uint128"],
            hex(block),
        )
    except RpcUnavailable as exc:
        raise _chain_unavailable(exc) from None
    return PoolOut(
        brand_id=brand_id,
        token=token,
        deposited=str(balance.deposited),
        withdrawn=str(balance.withdrawn),
        escrowed_open=str(balance.escrowed_open),
        paid=str(balance.paid),
        refunded=str(balance.refunded),
        available=str(balance.available),
        indexed_block=None if cursor is None else cursor.block_number,
        available_on_chain=str(available),
        escrowed_on_chain=str(escrowed),
        chain_block=block,
    )


def _positive(value: str) -> str:
    if int(value) == 0:
        raise ValueError("a deposit must be positive")
    if int(value) > MAX_BOUNTY:
        raise ValueError("a pool holds at most 2^128 - 1 wei")
    return str(int(value))


class DepositIn(Strict):
    amount: Annotated[TokenAmount, AfterValidator(_positive)]
    from_: Address = Field(alias="from", description="The funder's wallet: the ledger pulls the tokens from it")


class DepositPlan(BaseModel):
    token: Address
    ledger: Address
    amount: TokenAmount
    balance: TokenAmount = Field(description="The funder's token balance")
    allowance: TokenAmount = Field(description="What the funder lets the ledger pull now")
    transactions: list[PreparedTx] = Field(description="Sign and broadcast in this order (consecutive nonces)")
    note: str


@router.post(
    "/brands/{brand_id}/pool/deposits/prepare",
    summary="The transactions a funder signs to deposit into the brand's pool (approve if needed, deposit)",
    responses={
        422: {"description": "the funder cannot make this deposit (balance, pool limit, or the ledger refuses)"},
        503: {"description": "the chain node is unreachable"},
    },
)
def prepare_deposit(brand_id: BrandAdmin, body: DepositIn, context: Context) -> DepositPlan:
    """When the allowance is short, two transactions come back: `approve(ledger, amount)` on the
    token, and `deposit(brandId, amount)` with the next nonce. The deposit cannot be estimated
    before the approve is mined (the ledger's pull would fail), so it carries the fixed gas limit
    `GAS_DEPOSIT` instead of an estimate; the balance and the pool limit are checked here, so the
    pair only fails if the state changes before it is mined. Otherwise only the deposit, estimated.
    Broadcast each with `POST /api/v1/transactions` (only calls to this deployment's contracts are
    relayed: a pool in another token needs its approve broadcast by the funder's own wallet)."""
    sender, amount = to_checksum_address(body.from_), int(body.amount)
    ledger = context.ledger
    with context.database.read() as session:
        _brand(session, brand_id)
        token = _token_of(session, brand_id)
    erc20 = context.token
    try:
        (balance,) = _eth_call(context, token, erc20.encode_abi("balanceOf", args=[sender]), ["uint256"])
        (allowance,) = _eth_call(
            context, token, erc20.encode_abi("allowance", args=[sender, ledger.address]), ["uint256"]
        )
        available, escrowed = _eth_call(
            context, ledger.address, ledger.encode_abi("pool", args=[brand_id]), ["uint128", "uint128"]
        )
        if balance < amount:
            raise Problem(422, f"from: {sender} holds {balance} wei of the pool's token, less than {amount}")
        if available + escrowed + amount > MAX_BOUNTY:
            raise Problem(422, "amount: the pool would exceed the ledger's limit of 2^128 - 1 wei")
        deposit = ledger.encode_abi("deposit", args=[brand_id, amount])
        what = f"deposit {amount} wei into brand {brand_id}'s pool"
        if allowance >= amount:
            transactions = [prepare(context, sender, ledger.address, deposit, what)]
            note = "The ledger may already pull this amount: sign and broadcast the deposit."
        else:
            allow = erc20.encode_abi("approve", args=[ledger.address, amount])
            approve = prepare(context, sender, token, allow, f"let the ledger pull {amount} wei for the deposit")
            fixed = {"to": ledger.address, "data": deposit, "gas": GAS_DEPOSIT, "nonce": approve.nonce + 1}
            transactions = [approve, approve.model_copy(update={**fixed, "description": what})]
            note = (
                f"The allowance ({allowance} wei) is short: sign both, broadcast the approve, then the deposit "
                f"(its gas is a fixed {GAS_DEPOSIT}: it cannot be estimated before the approve is mined)."
            )
    except RpcUnavailable as exc:
        raise _chain_unavailable(exc) from None
    return DepositPlan(
        token=token,
        ledger=ledger.address,
        amount=str(amount),
        balance=str(balance),
        allowance=str(allowance),
        transactions=transactions,
        note=note,
    )


# ---------------------------------------------------------------- questions


QuestionStatus = Literal["open", "accepted", "expired"]


class RouteSummary(BaseModel):
    epoch: int | None = Field(description="The reputation epoch whose scores decided")
    mode: Literal["direct", "swarm"]
    offers: list[Address] = Field(description="Advocates offered the question, best first")
    expert: Address | None = Field(description="The swarm's brand expert")
    routed_at_ms: int


class QuestionOut(BaseModel):
    question_id: Hex32
    ticket_id: str
    source: str
    topic: str
    bounty: TokenAmount
    deadline: int = Field(description="Unix seconds")
    posted_block: int
    posted_at: int = Field(description="The posting block's time, unix seconds")
    status: QuestionStatus
    answers: int = Field(description="Answers indexed so far")
    accepted_answer_id: Hex32 | None
    accepted_advocate: Address | None
    route: RouteSummary | None = Field(description="Who it was offered to (null: not routed yet)")


def _questions(session: Session, posted: list[ix.QuestionPosted]) -> list[QuestionOut]:
    """The questions' states, in a fixed number of queries whatever the page's size."""
    ids = [p.question_id for p in posted]
    count = select(ix.AnswerRow.question_id, func.count()).where(ix.AnswerRow.question_id.in_(ids))
    answers: dict[str, int] = {qid: n for qid, n in session.execute(count.group_by(ix.AnswerRow.question_id))}
    accepted = {
        a.question_id: a for a in session.scalars(select(ix.Acceptance).where(ix.Acceptance.question_id.in_(ids)))
    }
    expired = set(session.scalars(select(ix.QuestionExpiry.question_id).where(ix.QuestionExpiry.question_id.in_(ids))))
    routes = {
        r.question_id: r for r in session.scalars(select(QuestionRoute).where(QuestionRoute.question_id.in_(ids)))
    }
    out = []
    for p in posted:
        acceptance, route = accepted.get(p.question_id), routes.get(p.question_id)
        status: QuestionStatus = "accepted" if acceptance else "expired" if p.question_id in expired else "open"
        out.append(
            QuestionOut(
                question_id=p.question_id,
                ticket_id=p.ticket_id,
                source=topic_label(bytes.fromhex(p.source[2:])),
                topic=topic_label(bytes.fromhex(p.topic[2:])),
                bounty=str(p.bounty),
                deadline=p.deadline,
                posted_block=p.block_number,
                posted_at=p.block_time,
                status=status,
                answers=answers.get(p.question_id, 0),
                accepted_answer_id=acceptance.answer_id if acceptance else None,
                accepted_advocate=acceptance.advocate if acceptance else None,
                route=None if route is None else _route_summary(route),
            )
        )
    return out


def _after(cursor: str | None) -> int:
    """The id a page starts after; ids are 64-bit signed, so a larger cursor is past the end."""
    return min(int(cursor), 2**63 - 1) if cursor else 0


def _route_summary(route: QuestionRoute) -> RouteSummary:
    record = route.decision
    return RouteSummary(
        epoch=route.epoch,
        mode=record["mode"],
        offers=[to_checksum_address(a) for a in record["offers"]],
        expert=None if record["expert"] is None else to_checksum_address(record["expert"]),
        routed_at_ms=route.created_at_ms,
    )


@router.get("/brands/{brand_id}/questions", summary="The brand's questions on chain, oldest first, with their routes")
def list_questions(
    brand_id: BrandReader, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[QuestionOut]:
    after = _after(cursor)
    with context.database.read() as session:
        _brand(session, brand_id)
        posted = list(
            session.scalars(
                select(ix.QuestionPosted)
                .where(ix.QuestionPosted.brand_id == brand_id, ix.QuestionPosted.id > after)
                .order_by(ix.QuestionPosted.id)
                .limit(limit + 1)
            )
        )
        more = len(posted) > limit
        posted = posted[:limit]
        items = _questions(session, posted)
    return Page(items=items, next_cursor=str(posted[-1].id) if more else None)


class Evaluated(BaseModel):
    """A candidate whose features the decision read (`offers.Evaluated`)."""

    account: Address
    reputation: int = Field(description="Topic reputation at the epoch")
    score: int
    adjusted: int = Field(description="The score after the load penalty; 0 if not eligible")
    open_assignments: int
    available: bool
    newcomer: bool
    eligible: bool = Field(description="Available, not the asker, under the open-assignment cap")
    offered: bool
    explored: bool = Field(description="Offered through an exploration slot for newcomers")


class Share(BaseModel):
    account: Address
    bps: int


class RoutingOut(BaseModel):
    epoch: int | None
    routed_at_ms: int
    mode: Literal["direct", "swarm"]
    asker: Address | None = Field(description="Never offered their own question")
    offers: list[Address]
    expert: Address | None
    shares: list[Share] = Field(description="A swarm's credit shares, in basis points")
    candidates: list[Evaluated]
    commitment: Hex32 = Field(description="keccak256 of the decision's canonical encoding")
    commitment_matches: bool = Field(description="The commitment is the hash of the recorded decision")
    replays: bool | None = Field(
        description="Deciding again on the epoch's scores gives the same choice (null: unknown)"
    )
    replay_detail: str
    why: str = Field(description="The decision in words")
    record: dict[str, Any] = Field(description="The stored decision record (`offers.decision_from_record` reads it)")


class QuestionDetail(QuestionOut):
    routing: RoutingOut | None = Field(description="The full routing decision (null: not routed yet)")


def _routing(session: Session, epochs: Epochs, route: QuestionRoute, topic: str) -> RoutingOut:
    record = route.decision
    check = check_route(session, epochs, route.epoch, record)
    decision = decision_from_record(record)
    offered, explored = {a.lower() for a in decision.offers}, {a.lower() for a in decision.explored}
    return RoutingOut(
        epoch=route.epoch,
        routed_at_ms=route.created_at_ms,
        mode=decision.mode,
        asker=None if decision.request.asker is None else to_checksum_address(decision.request.asker),
        offers=[to_checksum_address(a) for a in decision.offers],
        expert=None if decision.expert is None else to_checksum_address(decision.expert),
        shares=[Share(account=to_checksum_address(s.account), bps=s.bps) for s in decision.shares],
        candidates=[
            Evaluated(
                account=to_checksum_address(e.account),
                reputation=e.reputation,
                score=e.score,
                adjusted=e.adjusted,
                open_assignments=e.open_assignments,
                available=e.available,
                newcomer=e.newcomer,
                eligible=e.eligible,
                offered=e.account in offered,
                explored=e.account in explored,
            )
            for e in sorted(decision.evaluated, key=lambda e: (-e.adjusted, -e.reputation, e.account))
        ],
        commitment="0x" + decision.commitment.hex(),
        commitment_matches=check.commitment_matches,
        replays=check.replays,
        replay_detail=check.detail,
        why=explain(decision, route.epoch, topic),
        record=record,
    )


def _epochs(context: ApiContext) -> Epochs:
    """One cache of parsed epochs per API context (a published epoch never changes)."""
    epochs: Epochs = context.__dict__.setdefault("brand_routes_epochs", Epochs(context.public_store))
    return epochs


@router.get(
    "/brands/{brand_id}/questions/{question_id}",
    summary="One question of the brand, with the full routing decision, why it was taken, and whether it replays",
)
def get_question(brand_id: BrandReader, question_id: QuestionIdPath, context: Context) -> QuestionDetail:
    question_id = question_id.lower()
    with context.database.read() as session:
        _brand(session, brand_id)
        posted = session.scalars(
            select(ix.QuestionPosted)
            .where(ix.QuestionPosted.question_id == question_id, ix.QuestionPosted.brand_id == brand_id)
            .limit(1)
        ).first()
        if posted is None:
            raise Problem(404, f"brand {brand_id} has no question {question_id} on chain")
        (summary,) = _questions(session, [posted])
        route = session.get(QuestionRoute, question_id)
        routing = None if route is None else _routing(session, _epochs(context), route, summary.topic)
    return QuestionDetail(**summary.model_dump(), routing=routing)


# ---------------------------------------------------------------- API keys


class KeyIn(Strict):
    label: str = Field(min_length=1, max_length=200, pattern=r"\S", description="What the key is for")


class KeyOut(BaseModel):
    prefix: str = Field(description="The key's public part: `pc_<prefix>_...`")
    label: str
    created_at_ms: int
    revoked_at_ms: int | None
    revoked: bool


class NewKeyOut(KeyOut):
    token: str = Field(description="Shown once: send as 'Authorization: Bearer <token>'")


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "prefix": key.prefix,
        "label": key.label,
        "created_at_ms": key.created_at_ms,
        "revoked_at_ms": key.revoked_at_ms,
        "revoked": key.revoked_at_ms is not None,
    }


@router.post("/brands/{brand_id}/keys", status_code=201, summary="Create another API key for the brand")
def create_key(brand_id: BrandAdmin, body: KeyIn, context: Context) -> NewKeyOut:
    with context.database.transaction() as session:
        _brand(session, brand_id)
        key, token = create_api_key(session, KeyRole.BRAND, brand_id, body.label)
        return NewKeyOut(**_key_out(key), token=token)


@router.get("/brands/{brand_id}/keys", summary="The brand's API keys, oldest first (never their secrets)")
def list_keys(
    brand_id: BrandAdmin, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[KeyOut]:
    after = _after(cursor)
    with context.database.read() as session:
        keys = list(
            session.scalars(
                select(ApiKey)
                .where(ApiKey.role == KeyRole.BRAND.value, ApiKey.brand_id == brand_id, ApiKey.id > after)
                .order_by(ApiKey.id)
                .limit(limit + 1)
            )
        )
    more = len(keys) > limit
    keys = keys[:limit]
    return Page(items=[KeyOut(**_key_out(k)) for k in keys], next_cursor=str(keys[-1].id) if more else None)


@router.delete(
    "/brands/{brand_id}/keys/{prefix}",
    status_code=204,
    summary="Revoke one of the brand's API keys (it gets 401 from then on)",
    responses={404: {"description": "no such key of this brand"}, 409: {"description": "the brand's last active key"}},
)
def revoke_key(brand_id: BrandAdmin, prefix: KeyPrefixPath, context: Context) -> Response:
    """Revoking a revoked key changes nothing. The last active key cannot be revoked: the brand
    would lock itself out (create another first)."""
    with context.database.transaction() as session:
        key = session.scalars(
            select(ApiKey).where(
                ApiKey.prefix == prefix, ApiKey.role == KeyRole.BRAND.value, ApiKey.brand_id == brand_id
            )
        ).first()
        if key is None:
            raise Problem(404, f"brand {brand_id} has no API key {prefix}")
        if key.revoked_at_ms is None:
            active = session.scalar(
                select(func.count()).where(
                    ApiKey.role == KeyRole.BRAND.value, ApiKey.brand_id == brand_id, ApiKey.revoked_at_ms.is_(None)
                )
            )
            if active == 1:
                raise Problem(409, f"{prefix} is brand {brand_id}'s last active key: create another before revoking it")
            key.revoked_at_ms = now_ms()
    return Response(status_code=204)

"""Models of the brands' routes (`routes/brands/`): a brand's configuration and how it is
validated, webhook credentials, the pool and deposits, questions with their routing decisions, and
API keys. A brand's export is `peercare.api.exports.BrandHistory`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from eth_utils.address import to_checksum_address
from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from peercare.api.schemas.common import Address, Hex32, Source, Strict, TokenAmount
from peercare.api.schemas.deliveries import DeliveryOut
from peercare.api.schemas.relay import PreparedTx
from peercare.oracle.brands import MAX_OFFER_ROUNDS

#: A bounty above the ledger's pool accounting limit (uint128) could never be escrowed.
MAX_BOUNTY = 2**128 - 1
TOPIC_BYTES = 31  # a topic is stored as a bytes32 short string (`ledger_ids.short_string`) and in String(31)
MAX_WINDOW_S = 366 * 86_400


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
    offer_window_s: Annotated[int, Field(ge=60, le=MAX_WINDOW_S)] | SkipJsonSchema[None] = Field(
        None, description="How long an offer waits for its advocate before the question moves on"
    )
    max_offer_rounds: Annotated[int, Field(ge=0, le=MAX_OFFER_ROUNDS)] | SkipJsonSchema[None] = Field(
        None, description="Rounds of direct offers before a question no one took is offered to a swarm"
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


# ---------------------------------------------------------------- configuration


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
    offer_window_s: int
    max_offer_rounds: int
    webhooks: list[WebhookOut] = Field(description="Configured webhook sources (their secrets are never shown)")
    created_at_ms: int


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


# ---------------------------------------------------------------- questions


#: The `core.enums.QuestionStatus` values a posted question can have (a literal: the schema lists them).
PostedStatus = Literal["open", "accepted", "expired"]


class OfferOut(BaseModel):
    """One offer of the question to one person, and where it is (`core.enums.OfferState`)."""

    advocate: Address
    role: Literal["answerer", "swarm", "expert"]
    share_bps: int = Field(description="A swarm member's share of the bounty in basis points; 0 for a direct offer")
    state: Literal["offered", "accepted", "declined", "expired", "answered"]
    offered_at_ms: int
    window_ends_at_ms: int = Field(description="The advocate's exclusive window ends then")
    decided_at_ms: int | None = Field(description="When it was accepted, declined, expired or answered")
    accepted_at_ms: int | None = Field(description="When the advocate accepted it (kept once it is answered)")
    reason: str | None = Field(description="The advocate's reason for declining, if given")


class RouteSummary(BaseModel):
    """The question's latest round of offers."""

    round: int = Field(description="0 for the first; a round follows when no one took the one before")
    escalated: bool = Field(description="Swarmed because no one took the brand's `max_offer_rounds` rounds")
    epoch: int | None = Field(description="The reputation epoch whose scores decided")
    mode: Literal["direct", "swarm"]
    offers: list[Address] = Field(description="Advocates offered the question, best first")
    expert: Address | None = Field(description="The swarm's brand expert")
    routed_at_ms: int
    offer_states: list[OfferOut] = Field(description="Each offer of the round and its state")


class QuestionOut(BaseModel):
    question_id: Hex32
    ticket_id: str
    source: str
    topic: str
    bounty: TokenAmount
    deadline: int = Field(description="Unix seconds")
    posted_block: int
    posted_at: int = Field(description="The posting block's time, unix seconds")
    batch_root: Hex32 | None = Field(None, description="The question batch it was posted in (null: posted alone)")
    leaf_index: int = Field(0, description="Its position in that batch's manifest")
    status: PostedStatus
    answers: int = Field(description="Answers indexed so far")
    accepted_answer_id: Hex32 | None
    accepted_advocate: Address | None
    route: RouteSummary | None = Field(description="Who it was offered to (null: not routed yet)")


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


class RoundOut(RoutingOut):
    round: int
    escalated: bool
    offer_states: list[OfferOut]


class QuestionDetail(QuestionOut):
    routing: RoutingOut | None = Field(description="The first round's full routing decision (null: not routed yet)")
    rounds: list[RoundOut] = Field(description="Every round of offers, first first, each with its offers' states")
    deliveries: list[DeliveryOut] = Field(
        description="What was queued for the brand's ticketing system about it (offers, escalations, answers)"
    )


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

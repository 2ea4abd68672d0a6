"""Ticket events, normalised: what the oracle keeps of a webhook once it is authenticated.

Every ticketing source (`peercare.oracle.webhooks`) is turned into one of these models, so the rest
of the oracle never sees a source's format. They are strict, frozen and refuse unknown fields; the
lead's storage keeps `model_dump(mode="json")` and reads it back with `event_from_json`.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from eth_utils.address import to_checksum_address
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

UINT256_MAX = 2**256 - 1
MAX_TAGS = 50

_SIGNATURE_HEX = re.compile(r"0x[0-9a-fA-F]{130}")
_ADDRESS_HEX = re.compile(r"0x[0-9a-fA-F]{40}")


def _lower_signature(value: str) -> str:
    if not _SIGNATURE_HEX.fullmatch(value):
        raise ValueError("a signature is 0x followed by 130 hex characters (65 bytes: r, s, v)")
    return value.lower()


@functools.lru_cache(maxsize=65_536)  # advocates answer often: hashing each address once is enough
def _checksum_address(value: str) -> str:
    if not _ADDRESS_HEX.fullmatch(value):
        raise ValueError("not an Ethereum address (0x and 40 hex characters)")
    # A mixed-case address claims an EIP-55 checksum; a wrong one is a typo, not a wallet.
    if value[2:] not in (value[2:].lower(), value[2:].upper()) and value != to_checksum_address(value):
        raise ValueError("not an Ethereum address: its mixed-case EIP-55 checksum is wrong")
    return to_checksum_address(value)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _tuple_of_items(value: Any) -> Any:
    # Strict mode wants a tuple; a list is the same data (and what JSON has). Order is kept here so
    # that an error on one tag points at its position in the source.
    return tuple(value) if isinstance(value, list) else value


def _normalise_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    unique = tuple(sorted(set(tags)))
    if len(unique) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} distinct tags, got {len(unique)}")
    return unique


Id = Annotated[str, Field(min_length=1, max_length=100)]
EventKey = Annotated[str, Field(min_length=1, max_length=200)]
OccurredAt = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50, to_lower=True)]
Tags = Annotated[tuple[Tag, ...], BeforeValidator(_tuple_of_items), AfterValidator(_normalise_tags)]
#: A ticket's priority as its system names it, lowercased ("urgent" escalates the question's routing).
Priority = Annotated[str, Field(max_length=50), AfterValidator(str.lower)]
Wallet = Annotated[str, AfterValidator(_checksum_address)]
SignatureHex = Annotated[str, AfterValidator(_lower_signature)]


class _Event(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class AnswerSignature(_Event):
    """An advocate's EIP-712 `Answer` signature (peercare.core.typed_data), relayed gasless by the oracle."""

    nonce: int = Field(ge=0, le=UINT256_MAX)
    deadline: int = Field(gt=0, le=UINT256_MAX)  # unix seconds
    signature: SignatureHex


class TicketCreated(_Event):
    kind: Literal["ticket_created"]
    event_key: EventKey  # the replay key: unique per event at its source, the same on re-delivery
    ticket_id: Id
    occurred_at: OccurredAt
    subject: str = Field(max_length=1_000)
    body: str = Field(max_length=100_000)
    tags: Tags  # lowercased, unique, sorted
    requester_id: Id
    priority: Priority | None = None


class CommentAdded(_Event):
    kind: Literal["comment_added"]
    event_key: EventKey
    ticket_id: Id
    occurred_at: OccurredAt
    comment_id: Id
    author_id: Id
    author_wallet: Wallet | None  # EIP-55 checksummed; a claim unless `signature` proves it
    body: str = Field(max_length=100_000)
    public: bool
    signature: AnswerSignature | None = None


class TicketSolved(_Event):
    kind: Literal["ticket_solved"]
    event_key: EventKey
    ticket_id: Id
    occurred_at: OccurredAt
    solved_by_comment_id: Id | None = None


class SatisfactionRated(_Event):
    kind: Literal["satisfaction_rated"]
    event_key: EventKey
    ticket_id: Id
    occurred_at: OccurredAt
    rating: int = Field(ge=1, le=5)
    rater_id: Id
    comment_id: Id | None = None


class Ignored(_Event):
    """An authentic event the oracle has no use for (e.g. a priority change): acknowledged, nothing stored."""

    kind: Literal["ignored"]
    event_key: EventKey
    ticket_id: Id
    occurred_at: OccurredAt
    reason: str = Field(max_length=500)


TicketEvent = Annotated[
    TicketCreated | CommentAdded | TicketSolved | SatisfactionRated | Ignored, Field(discriminator="kind")
]
_TICKET_EVENT: TypeAdapter[TicketEvent] = TypeAdapter(TicketEvent)


def event_from_json(obj: dict[str, Any]) -> TicketEvent:
    """The event whose `model_dump(mode="json")` is `obj`. Validated as JSON so that strict mode takes
    ISO-8601 strings for datetimes and arrays for tuples, exactly what the dump produced."""
    return _TICKET_EVENT.validate_json(json.dumps(obj))

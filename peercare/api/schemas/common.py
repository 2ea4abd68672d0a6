"""Shapes shared by every route: strict request bodies, pages, hex values, amounts."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field

from peercare.oracle.webhooks import SOURCES

T = TypeVar("T")

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$", description="32 bytes, 0x-prefixed lower-case hex")]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="A 20-byte address, 0x-prefixed hex")]
#: Token amounts in the token's smallest unit, as decimal strings (JSON numbers lose precision past 2^53).
TokenAmount = Annotated[str, Field(pattern=r"^[0-9]{1,78}$", description="An amount in wei, as a decimal string")]
#: A ticketing system PeerCare talks to (its webhooks in, its deliveries out).
Source = Literal["zendesk", "freshdesk", "generic"]
assert set(SOURCES) == set(get_args(Source)), "Source must list webhooks.SOURCES"


class Strict(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


# The query parameters of a paged route, and the one parser of its cursor, are in `peercare.api.paging`.
class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next (null: last page)."""

    items: list[T]
    next_cursor: str | None

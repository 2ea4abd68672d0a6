"""The indexed history reputation is computed from: plain frozen records of ledger events.

The oracle fills these from `AnswerAccepted`, `AnswerRated`, `RewardCredited` and `QuestionPosted`
(which gives each question its topic). Addresses are kept as lowercase hex strings so that keys
compare the same whatever checksum form the indexer saw; `account_key` is the one normaliser.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from peercare.core.enums import RaterKind


def account_key(address: str) -> str:
    """The canonical form of an address inside this package: lowercase 0x-hex, 20 bytes."""
    key = address.lower()
    if len(key) != 42 or not key.startswith("0x"):
        raise ValueError(f"not a 20-byte hex address: {address!r}")
    int(key, 16)  # raises ValueError on a non-hex digit
    return key


def rater_account(rater_id: bytes) -> str | None:
    """The address a peer or expert `raterId` stands for: the ledger convention is the address
    left-padded to 32 bytes (`bytes32(uint256(uint160(addr)))`). None if it is not of that shape."""
    if len(rater_id) != 32 or any(rater_id[:12]):
        return None
    return "0x" + rater_id[12:].hex()


def rater_id_of(address: str) -> bytes:
    """The `raterId` a peer advocate or brand expert rates under (inverse of `rater_account`)."""
    return bytes(12) + bytes.fromhex(account_key(address)[2:])


@dataclass(frozen=True, slots=True)
class Acceptance:
    """`AnswerAccepted`: the brand accepted `advocate`'s answer to `question_id` at `time`."""

    question_id: bytes  # bytes32
    topic: bytes  # bytes32, from the question's QuestionPosted
    advocate: str  # the accepted answer's advocate
    time: int  # unix seconds (block timestamp)
    bounty: int  # token units credited (not used for reputation: bounties are the brand's to set)
    brand: int = 0  # the question's brand on the ledger (0: not known, counted by no scope)


@dataclass(frozen=True, slots=True)
class Rating:
    """`AnswerRated`: a 1-5 rating of `advocate`'s answer, on behalf of a rater."""

    answer_id: bytes  # bytes32
    question_id: bytes  # bytes32
    topic: bytes  # bytes32, from the question's QuestionPosted
    advocate: str  # whose answer was rated
    rating: int  # 1..5
    rater_kind: RaterKind
    rater_id: bytes  # bytes32: a customer's opaque id, or a padded address for peers and experts
    time: int  # unix seconds
    brand: int = 0  # the question's brand on the ledger, which relayed the rating


@dataclass(frozen=True, slots=True)
class Payout:
    """`RewardCredited`: `amount` of `token` credited to `account` for `question_id`. A swarm's
    acceptance credits several accounts; their amounts give each member's part of the credit."""

    question_id: bytes  # bytes32
    account: str
    token: str
    amount: int
    time: int
    brand: int = 0  # the question's brand on the ledger


@dataclass(frozen=True, slots=True)
class Expert:
    """A brand's verified expert in a topic: a seed of trust propagation there."""

    account: str
    topic: bytes  # bytes32


@dataclass(frozen=True, slots=True)
class History:
    """Everything indexed up to `cut` (unix seconds, inclusive); later events are ignored."""

    cut: int
    acceptances: tuple[Acceptance, ...] = ()
    ratings: tuple[Rating, ...] = ()
    payouts: tuple[Payout, ...] = ()
    experts: tuple[Expert, ...] = ()
    # `columns.rating_columns(history)`, built on first use; a cache, not part of the value (nor of
    # equality). Typed loosely: the columns need numpy, which a history does not.
    _columns: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        cut: int,
        acceptances: Iterable[Acceptance] = (),
        ratings: Iterable[Rating] = (),
        payouts: Iterable[Payout] = (),
        experts: Iterable[Expert] = (),
    ) -> History:
        return cls(cut, tuple(acceptances), tuple(ratings), tuple(payouts), tuple(experts))

    def topics(self) -> list[bytes]:
        """Every topic with an acceptance, a rating or an expert, in byte order."""
        rated = set(self._columns.topics) if self._columns is not None else {r.topic for r in self.ratings}
        return sorted({a.topic for a in self.acceptances} | rated | {e.topic for e in self.experts})

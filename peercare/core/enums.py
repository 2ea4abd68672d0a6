"""The project's enumerations, one owner each: who rated (the ledger's `RaterKind`), where a
question is (`QuestionStatus`), what an outbox row writes (`OutboxKind`), where an offer to an
advocate is (`OfferState`) and what part it offers (`OfferRole`). Tables store their
values; the API shows their labels."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Literal, get_args


class RaterKind(IntEnum):
    """`IPeerCareLedger.RaterKind`, with the same numbering. Its `label` ("customer",
    "peer_advocate", "brand_expert") is how the projections and the API spell it."""

    CUSTOMER = 0
    PEER_ADVOCATE = 1
    BRAND_EXPERT = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> RaterKind:
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown rater kind {label!r}") from None


# The labels as a type, for the API's schemas (a JSON string enum). Spelled out because a type
# checker cannot read them from the enum; the assertion keeps the two from drifting apart.
RaterKindLabel = Literal["customer", "peer_advocate", "brand_expert"]
assert get_args(RaterKindLabel) == tuple(kind.label for kind in RaterKind)


class QuestionStatus(StrEnum):
    """As the ledger's `QuestionStatus` (an open question past its deadline stays open until expired)."""

    NONE = "none"
    OPEN = "open"
    ACCEPTED = "accepted"
    EXPIRED = "expired"


class OutboxKind(StrEnum):
    """What an outbox row writes on chain (the column `outbox.kind`)."""

    POST_QUESTION = "post_question"
    POST_QUESTION_BATCH = "post_question_batch"  # a Merkle batch of questions (`peercare.oracle.question_batches`)
    OPEN_QUESTION = "open_question"  # a batched question stored on its own, for a direct write
    RELEASE_QUESTION_BATCH = "release_question_batch"  # an expired batch's unsettled bounties back to the pool
    RELAY_ANSWER = "relay_answer"
    RELAY_WITHDRAWAL = "relay_withdrawal"  # an advocate's signed withdrawal, relayed (they pay no gas)
    ANCHOR_BATCH = "anchor_batch"
    ANCHOR_ROUTING = "anchor_routing"  # a Merkle batch of routing decisions (`peercare.routing.anchors`)
    ANCHOR_RATINGS = "anchor_ratings"  # a Merkle batch of ratings (`peercare.oracle.rating_batches`)
    ACCEPT = "accept"
    ACCEPT_BATCH = "accept_batch"  # acceptances of batched questions in one call (`acceptance_batches`)
    RATE = "rate"
    PUBLISH_REPUTATION = "publish_reputation"
    NONCE_FILLER = "nonce_filler"  # a no-op self-transfer taking a nonce no row can use (the signer's)


class OfferState(StrEnum):
    """Where an offer of a question to one advocate is (`peercare.routing.rounds`)."""

    OFFERED = "offered"  # waiting for the advocate, until its window ends
    ACCEPTED = "accepted"  # the advocate took it (it counts toward their load until the question closes)
    DECLINED = "declined"  # the advocate said no (with an optional reason)
    EXPIRED = "expired"  # the window ended with no word from the advocate
    ANSWERED = "answered"  # the advocate's answer to the question is recorded


class OfferRole(StrEnum):
    """What an offer asks of its advocate: to answer (a direct offer), or to join a swarm (as an
    advocate or as the brand's expert) for a share of the bounty."""

    ANSWERER = "answerer"
    SWARM = "swarm"
    EXPERT = "expert"

"""How the oracle serves a brand: `configure_brand` creates or reconfigures a brand's row from a
whole configuration (the CLI's `peercare oracle brand`, the demo's set-up and the tests); the API's
`PATCH /brands/{id}` changes single fields, validated to the same limits by `BrandPatch`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from peercare.db.tables.oracle import DEFAULT_MAX_OFFER_ROUNDS, DEFAULT_OFFER_WINDOW_S, Brand

MAX_OFFER_ROUNDS = 10  # direct rounds before a swarm, at most: each round waits a whole window
MAX_TOPIC_BYTES = 31  # a topic label is a bytes32 short string on the ledger (core.ledger_ids.short_string)


class BrandConfigError(ValueError):
    """A brand's configuration the oracle cannot serve (the message says which value and why)."""


def configure_brand(
    session: Session,
    brand_id: int,
    name: str,
    *,
    default_topic: str = "general",
    topics: Iterable[str] = (),
    default_bounty: int = 0,
    bounty_by_tag: Mapping[str, int] | None = None,
    answer_window_s: int = 7 * 86_400,
    experts: Mapping[str, str] | None = None,
    offer_window_s: int = DEFAULT_OFFER_WINDOW_S,
    max_offer_rounds: int = DEFAULT_MAX_OFFER_ROUNDS,
) -> Brand:
    """Create brand `brand_id`'s row, or reconfigure it (keeping when it was first configured).
    Topics and tags are matched lower-case; `experts` maps a ticketing-system agent id to a wallet.
    An offer waits `offer_window_s` for its advocate; from round `max_offer_rounds` on (0: at once)
    a question no one took is offered to a swarm."""
    for topic in (default_topic, *topics):
        if not topic or len(topic.encode()) > MAX_TOPIC_BYTES:
            raise BrandConfigError(f"topic {topic!r} must be 1 to {MAX_TOPIC_BYTES} bytes")
    if default_bounty < 0 or any(amount < 0 for amount in (bounty_by_tag or {}).values()):
        raise BrandConfigError("a bounty cannot be negative")
    if answer_window_s <= 0:
        raise BrandConfigError(f"the answer window must be positive, not {answer_window_s} s")
    if offer_window_s < 60:
        raise BrandConfigError(f"an offer's window must be at least 60 s, not {offer_window_s} s")
    if not 0 <= max_offer_rounds <= MAX_OFFER_ROUNDS:
        raise BrandConfigError(f"max_offer_rounds must be 0 to {MAX_OFFER_ROUNDS}, not {max_offer_rounds}")
    row = session.get(Brand, brand_id) or Brand(id=brand_id, created_at_ms=int(time.time() * 1000))
    row.name, row.default_topic, row.topics = name, default_topic, sorted({t.lower() for t in topics})
    row.default_bounty = default_bounty
    row.bounty_by_tag = {tag.strip().lower(): str(amount) for tag, amount in (bounty_by_tag or {}).items()}
    row.answer_window_s, row.experts = answer_window_s, dict(experts or {})
    row.offer_window_s, row.max_offer_rounds = offer_window_s, max_offer_rounds
    session.add(row)
    session.flush()
    return row

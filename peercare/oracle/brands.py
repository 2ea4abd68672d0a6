"""How the oracle serves a brand: the one writer of a `Brand` row (the CLI's `peercare oracle brand`,
the demo's set-up and the tests all configure a brand through `configure_brand`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from peercare.db.tables.oracle import Brand

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
) -> Brand:
    """Create brand `brand_id`'s row, or reconfigure it (keeping when it was first configured).
    Topics and tags are matched lower-case; `experts` maps a ticketing-system agent id to a wallet."""
    for topic in (default_topic, *topics):
        if not topic or len(topic.encode()) > MAX_TOPIC_BYTES:
            raise BrandConfigError(f"topic {topic!r} must be 1 to {MAX_TOPIC_BYTES} bytes")
    if default_bounty < 0 or any(amount < 0 for amount in (bounty_by_tag or {}).values()):
        raise BrandConfigError("a bounty cannot be negative")
    if answer_window_s <= 0:
        raise BrandConfigError(f"the answer window must be positive, not {answer_window_s} s")
    row = session.get(Brand, brand_id) or Brand(id=brand_id, created_at_ms=int(time.time() * 1000))
    row.name, row.default_topic, row.topics = name, default_topic, sorted({t.lower() for t in topics})
    row.default_bounty = default_bounty
    row.bounty_by_tag = {tag.strip().lower(): str(amount) for tag, amount in (bounty_by_tag or {}).items()}
    row.answer_window_s, row.experts = answer_window_s, dict(experts or {})
    session.add(row)
    session.flush()
    return row

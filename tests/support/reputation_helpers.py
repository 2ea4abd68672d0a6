"""Small builders for reputation tests."""

from __future__ import annotations

from peercare.core.enums import RaterKind
from peercare.reputation.history import Acceptance, Rating, rater_id_of

DAY = 86_400
TOPIC = b"billing".ljust(32, b"\0")
OTHER = b"roaming".ljust(32, b"\0")
CUT = 1_000 * DAY


def addr(i: int) -> str:
    return "0x" + (0xA000 + i).to_bytes(20, "big").hex()


def peer(
    rater: str,
    advocate: str,
    stars: int = 5,
    time: int = CUT,
    topic: bytes = TOPIC,
    n: int = 0,
    kind: RaterKind = RaterKind.PEER_ADVOCATE,
) -> Rating:
    return Rating(n.to_bytes(32, "big"), n.to_bytes(32, "big"), topic, advocate, stars, kind, rater_id_of(rater), time)


def customer(
    customer_id: int, advocate: str, stars: int = 5, time: int = CUT, topic: bytes = TOPIC, n: int = 0
) -> Rating:
    return Rating(
        n.to_bytes(32, "big"),
        n.to_bytes(32, "big"),
        topic,
        advocate,
        stars,
        RaterKind.CUSTOMER,
        (1 << 250 | customer_id).to_bytes(32, "big"),
        time,
    )


def accepted(advocate: str, q: int, time: int = CUT, topic: bytes = TOPIC) -> Acceptance:
    return Acceptance(q.to_bytes(32, "big"), topic, advocate, time, 10**18)

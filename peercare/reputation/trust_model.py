"""What both trust engines (`trust.py` in Python, `fast.py` in numpy) share: the fixed-point
units, the exact decay table, the parameters, the `BRAND` node and the teleport step. Every
quantity is a Python int and every division a floor of non-negative ints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: Fixed-point one: trust shares are in parts per billion, decay factors in billionths.
ONE = 10**9
#: Basis points in one.
BPS = 10_000
#: The virtual node of the brand's oracle (customers' ratings flow from it). Never an address.
BRAND = "brand"
#: Steps per half-life in the decay table.
DECAY_STEPS = 64


def _decay_table() -> tuple[int, ...]:
    """floor(ONE * 2^(-i/64)) for i in 0..63, computed exactly: the largest x with
    x^64 * 2^i <= ONE^64."""
    table = []
    target = ONE**DECAY_STEPS
    for i in range(DECAY_STEPS):
        lo, hi = 0, ONE
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if mid**DECAY_STEPS << i <= target:
                lo = mid
            else:
                hi = mid - 1
        table.append(lo)
    return tuple(table)


DECAY_TABLE = _decay_table()


@dataclass(frozen=True, slots=True)
class TrustParams:
    """Parameters of trust propagation; they go into every epoch manifest."""

    half_life: int = 180 * 86_400  # seconds for a rating's weight to halve
    teleport_bps: int = 5_000  # share of trust sent back to the seeds every round
    rounds: int = 24  # fixed number of propagation rounds (stops earlier at an exact fixed point)
    brand_share_bps: int = 5_000  # share of the seeds' mass held by BRAND when the topic has experts
    customer_cap: int = ONE  # most decayed positive weight one customer gives in a topic (ONE = one fresh 4-star)

    def __post_init__(self) -> None:
        if self.half_life <= 0:
            raise ValueError("half_life must be positive")
        if not 0 < self.teleport_bps <= BPS:
            raise ValueError("teleport_bps must be in (0, 10000]")
        if not 0 <= self.brand_share_bps <= BPS:
            raise ValueError("brand_share_bps must be in [0, 10000]")
        if self.rounds < 0 or self.customer_cap < 0:
            raise ValueError("rounds and customer_cap must not be negative")

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def decay(age: int, half_life: int) -> int:
    """floor(ONE * 2^(-age/half_life)) with age quantised to half_life/64: 0 for future events."""
    if age < 0:
        return 0
    steps = age * DECAY_STEPS // half_life
    return DECAY_TABLE[steps % DECAY_STEPS] >> (steps // DECAY_STEPS)


def _decay_by_step(half_lives: int = 40) -> list[int]:
    """decay() for every quantised age up to `half_lives` half-lives (beyond, the weight is < 1e-12)."""
    return [DECAY_TABLE[step % DECAY_STEPS] >> (step // DECAY_STEPS) for step in range(half_lives * DECAY_STEPS)]


DECAY_BY_STEP = _decay_by_step()


def teleport_leftover(new: Any, seeds: Sequence[tuple[int, int]], leftover: int) -> None:
    """Hand the trust that did not flow along edges (the teleport share, and what dangling nodes
    hold) to the seeds by their shares, in place; the first seed takes the rounding remainder, so
    the total stays exactly ONE. `new` is a list or a numpy array of integers."""
    handed = 0
    for i, share in seeds:
        part = leftover * share // ONE
        new[i] += part
        handed += part
    new[seeds[0][0]] += leftover - handed

"""The same trust computation as `trust.py`, vectorised with numpy, on a history's columns.

Bit-identical by construction: every step is the same integer operation as in `trust.py`, on
int64 where values provably fit and on Python ints (object arrays) where a product could not:

- a rating's weight is at most 2 * 10^9, trust and decay factors at most 10^9;
- every sum (per pair, per customer, per row, per target) adds at most n terms of at most
  max(2 * 10^9, customer_cap), which `suitable` checks is below 2^63 before anything runs;
- products that could pass 2^63 (normalising a row: weight * ONE; capping a customer: weight *
  customer_cap) are computed in int64 where they fit and as Python ints where they do not;
- a round's product flow * c is at most 10^18;
- the float steps are `bincount`s over non-negative integers whose total is below 2^53, so every
  partial sum is an integer float64 holds exactly: a round's contributions (total at most ONE =
  10^9), and BRAND's capped shares per advocate (checked; a sort-based exact sum otherwise).

The input is `columns.RatingColumns` (`columns.rating_columns(history)` builds it once per history):
integer columns, so nothing here touches a Python object per rating. tests/services/reputation
checks both engines give the same trust and scores on random histories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from peercare.core.enums import RaterKind
from peercare.reputation.columns import RatingColumns, np
from peercare.reputation.history import Rating
from peercare.reputation.trust_model import BPS, BRAND, DECAY_BY_STEP, DECAY_STEPS, ONE, TrustParams, teleport_leftover

_INT64 = 2**63
_PADDING = bytes(12)


def available() -> bool:
    return np is not None


def suitable(params: TrustParams, ratings: int = 1) -> bool:
    """Whether int64 holds every sum for these parameters and this many ratings (see the module
    docstring), every quantised age, and every pair key (a product of two codes below 2^31)."""
    cap = max(2 * ONE, params.customer_cap)
    return params.half_life < 2**40 and ratings < 2**30 and cap * max(ratings, 1) < _INT64


def _mul_div(values: Any, factor: int, divisors: Any) -> Any:
    """floor(values * factor / divisors) as int64, exactly, for 0 <= values <= divisors: in int64
    where the product fits, on Python ints where it does not. Every result is at most `factor`."""
    out = np.zeros(len(values), dtype=np.int64)
    if not len(values) or not factor:
        return out
    small = values <= (_INT64 - 1) // factor
    out[small] = values[small] * factor // divisors[small]
    big = ~small
    if big.any():
        out[big] = (values[big].astype(object) * factor // divisors[big].astype(object)).astype(np.int64)
    return out


def _fold(keys: Any, weights: Any) -> tuple[Any, Any]:
    """Sum int64 `weights` per distinct non-negative int64 key, exactly; keys come back sorted."""
    n = len(keys)
    if not n:
        return keys, weights
    bits = max(1, (n - 1).bit_length())
    if int(keys.max()) < 2 ** (63 - bits):
        # One plain sort of key * 2^bits + position (faster than an argsort); any order of equal
        # keys will do, since the sums are exact.
        packed = (keys << bits) | np.arange(n, dtype=np.int64)
        packed.sort()
        keys, weights = packed >> bits, weights[packed & ((1 << bits) - 1)]
    else:
        order = np.argsort(keys)
        keys, weights = keys[order], weights[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(weights, starts)


def _fold_small(keys: Any, weights: Any, size: int) -> tuple[Any, Any]:
    """`_fold` for non-negative keys below `size` and non-negative weights: a bincount, exact when
    the total is below 2^53 (every partial sum is then an integer float64 holds exactly)."""
    if len(weights) and int(weights.sum()) >= 2**53:
        return _fold(keys, weights)
    sums = np.bincount(keys, weights=weights.astype(np.float64), minlength=size).astype(np.int64)
    present = np.flatnonzero(np.bincount(keys, minlength=size))
    return present, sums[present]


def _rater_name(rater_id: bytes) -> str:
    """The node a peer or expert rater is: `rater_account(rater_id) or "0x" + rater_id.hex()`."""
    if len(rater_id) == 32 and rater_id[:12] == _PADDING:
        return "0x" + rater_id[12:].hex()
    return "0x" + rater_id.hex()


def _rater_names(columns: RatingColumns, codes: Any) -> list[str]:
    """`_rater_name` of these rater codes, in bulk when the ids are 32-byte rows."""
    rows = columns.raters.rows(codes)
    if rows is None or rows.shape[1] != 32:
        return [_rater_name(rater_id) for rater_id in columns.raters.take(codes)]
    padded = ~rows[:, :12].any(axis=1)
    digits = rows.tobytes().hex()
    return ["0x" + digits[i * 64 + (24 if p else 0) : i * 64 + 64] for i, p in enumerate(padded.tolist())]


def trust_numpy(
    ratings: Sequence[Rating], seeds: Mapping[str, int], cut: int, params: TrustParams
) -> tuple[dict[str, int], int]:
    """(trust per node, rounds run) exactly as `trust.propagate(trust.rating_edges(...), seeds, ...)`."""
    if np is None:
        raise RuntimeError("numpy is not installed")
    return trust_columns(RatingColumns.of(ratings), seeds, cut, params)


def trust_columns(
    columns: RatingColumns, seeds: Mapping[str, int], cut: int, params: TrustParams
) -> tuple[dict[str, int], int]:
    """`trust_numpy` on ratings given as columns (all of them: one topic's, see `RatingColumns.take`)."""
    if np is None:
        raise RuntimeError("numpy is not installed")
    n = len(columns)
    if not suitable(params, n):
        raise ValueError("too many ratings or too large a customer_cap for int64 sums: use the python engine")
    value = columns.stars - 3
    if n and (value.min() < -2 or value.max() > 2):
        bad = int(columns.stars[(value < -2) | (value > 2)][0])
        raise ValueError(f"a rating is 1 to 5, got {bad}")

    # Decayed weights. Ages past the table (weight 0) are clipped so that nothing overflows.
    horizon = len(DECAY_BY_STEP)
    oldest = horizon * params.half_life
    if not -_INT64 <= cut - oldest < cut + 1 < _INT64:
        raise ValueError(f"cut {cut} is out of range")
    age = cut - np.clip(columns.time, cut - oldest, cut + 1)  # in [-1, oldest]
    step = np.where(age >= 0, age * DECAY_STEPS // params.half_life, horizon)
    weight = np.r_[np.asarray(DECAY_BY_STEP, dtype=np.int64), 0][np.minimum(step, horizon)] * value
    counted = weight != 0  # a rating of weight 0 changes no sum
    customer = columns.kind == int(RaterKind.CUSTOMER)

    # Nodes: the advocates and peer raters of this topic's ratings, the seeds and BRAND. Their
    # numbering is arbitrary (nothing depends on it); names are lowercase, as in `trust.py`.
    peer = counted & ~customer
    advocate_codes = np.flatnonzero(np.bincount(columns.advocate[counted], minlength=len(columns.advocates)))
    rater_codes = np.flatnonzero(np.bincount(columns.rater[peer], minlength=len(columns.raters)))
    advocate_names = columns.advocates.take_lower(advocate_codes)
    rater_names = _rater_names(columns, rater_codes)
    names = list(dict.fromkeys([*advocate_names, *rater_names, *seeds, BRAND]))
    size = len(names)
    if size >= 2**31:
        raise ValueError("too many accounts for int64 pair keys: use the python engine")
    node = dict(zip(names, range(size), strict=True))
    brand = node[BRAND]
    advocate_node = np.zeros(len(columns.advocates), dtype=np.int64)
    advocate_node[advocate_codes] = np.fromiter(map(node.__getitem__, advocate_names), np.int64, len(advocate_names))
    lowercase_merges = len(set(advocate_names)) < len(advocate_names)  # two spellings of one address
    rater_node = np.zeros(len(columns.raters), dtype=np.int64)
    rater_node[rater_codes] = np.fromiter(map(node.__getitem__, rater_names), np.int64, len(rater_names))

    # Peer edges: net weight per (source, target), self-ratings dropped, positive only.
    src = rater_node[columns.rater[peer]]
    dst = advocate_node[columns.advocate[peer]]
    not_self = src != dst
    pair_keys, pair_weights = _fold(src[not_self] * size + dst[not_self], weight[peer][not_self])
    positive = pair_weights > 0
    edge_src, edge_dst, edge_w = pair_keys[positive] // size, pair_keys[positive] % size, pair_weights[positive]

    # Customer edges into BRAND: net weight per (customer, advocate as written) kept if positive,
    # then per (customer, lowercase advocate), each customer capped at customer_cap.
    cust = counted & customer
    n_advocates = max(1, len(columns.advocates))
    keys, weights = _fold(columns.rater[cust] * n_advocates + columns.advocate[cust], weight[cust])
    positive = weights > 0
    keys, weights = keys[positive], weights[positive]
    who, target = keys // n_advocates, advocate_node[keys % n_advocates]
    if lowercase_merges:
        keys, weights = _fold(who * size + target, weights)
        who, target = keys // size, keys % size
    if len(keys):
        starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])  # keys are sorted: by customer
        totals = np.repeat(np.add.reduceat(weights, starts), np.diff(np.r_[starts, len(who)]))
        over = totals > params.customer_cap
        shares = weights.copy()
        shares[over] = _mul_div(weights[over], params.customer_cap, totals[over])
        brand_targets, brand_weights = _fold_small(target, shares, size)
        nonzero = brand_weights > 0
        # BRAND's edges stay contiguous after the peers' (which are sorted by source).
        edge_src = np.r_[edge_src, np.full(int(nonzero.sum()), brand, dtype=np.int64)]
        edge_dst = np.r_[edge_dst, brand_targets[nonzero]]
        edge_w = np.r_[edge_w, brand_weights[nonzero]]

    # Row-normalise: each source's edges are contiguous.
    if len(edge_src):
        starts = np.flatnonzero(np.r_[True, edge_src[1:] != edge_src[:-1]])
        row_totals = np.repeat(np.add.reduceat(edge_w, starts), np.diff(np.r_[starts, len(edge_src)]))
        c = _mul_div(edge_w, ONE, row_totals)
    else:
        c = np.zeros(0, dtype=np.int64)

    # Seeds in name order, as `trust.py` has them: the first takes the rounding remainder.
    seed_list = [(node[name], share) for name, share in sorted(seeds.items()) if share > 0]
    if sum(share for _, share in seed_list) != ONE:
        raise ValueError("the seed distribution must sum to ONE")
    keep_bps = BPS - params.teleport_bps
    trust = np.zeros(size, dtype=np.int64)
    for i, share in seed_list:
        trust[i] = share
    rounds_run = 0
    for _ in range(params.rounds):
        flow = trust * keep_bps // BPS
        contributions = flow[edge_src] * c // ONE
        new = np.bincount(edge_dst, weights=contributions.astype(np.float64), minlength=size).astype(np.int64)
        teleport_leftover(new, seed_list, ONE - int(new.sum()))
        rounds_run += 1
        if np.array_equal(new, trust):
            break
        trust = new
    held = np.flatnonzero(trust)
    found = dict(zip([names[i] for i in held.tolist()], trust[held].tolist(), strict=True))
    return {name: found[name] for name in sorted(found)}, rounds_run  # in name order, as `trust.py` gives it

"""A history's ratings as columns: what the numpy engine reads instead of a million Python objects.

`RatingColumns.of(ratings)` reads each attribute of the `Rating` records once, in C-level passes,
and codes the three identifiers (topic, rater id, advocate) as int64 positions in their distinct
values. `rating_columns(history)` builds it once per history and keeps it on the history.

Coding is over fixed-width bytes, not Python dicts: each value is one row of bytes (a 32-byte id
as it is; an address as its 42 ASCII characters, padded with NULs to 48), read as 64-bit words,
hashed to one uint64 per row (splitmix64's finaliser after each word) and grouped by sorting the
hashes. The grouping is then checked exactly: every row is compared, word by word, with a
representative of its group. If two different rows share a hash, the full 64-bit hashes are
tried (the first sort uses their top bits only), and then a lexicographic sort of the words
themselves, which is exact whatever the hashes. Values of another shape (an id that is not 32
bytes; text that is not ASCII, contains a NUL, or varies in length) are coded with a dict. Either
way, equal values, and only those, share a code.

The order of the codes is unspecified. Nothing downstream depends on it: every sum is exact, and
the engine orders nodes by name wherever an order matters.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

from peercare.reputation.history import History, Rating

try:  # imported by name so that type checking is the same with and without numpy
    np: Any = importlib.import_module("numpy")
except ImportError:  # pragma: no cover - depends on the environment
    np = None

_GOLDEN = 0x9E3779B97F4A7C15

T = TypeVar("T")


class Distinct(Generic[T]):
    """The distinct values of a column, by code. Values coded from fixed-width rows are kept as
    one compact table of rows and decoded when asked for (the engine needs a few of them)."""

    __slots__ = ("_items", "_table", "_text", "_width")

    def __init__(self, items: Sequence[T] = (), table: Any = None, width: int = 0, text: bool = False) -> None:
        self._items = tuple(items)
        self._table = table  # uint8 rows: the value is a row's first `width` bytes (ASCII text if `text`)
        self._width = width
        self._text = text

    def __len__(self) -> int:
        return len(self._items) if self._table is None else len(self._table)

    def __getitem__(self, code: int) -> T:
        return self._items[code] if self._table is None else self.take([code])[0]

    def __iter__(self) -> Iterator[T]:
        return iter(self.take(range(len(self))))

    def take(self, codes: Iterable[int]) -> list[T]:
        """The values of these codes, in bulk."""
        if self._table is None:
            return [self._items[code] for code in codes]
        return self._sliced(codes, lower=False)

    def take_lower(self: Distinct[str], codes: Iterable[int]) -> list[str]:
        """The values of these codes, lowercased, in bulk."""
        if self._table is None:
            return [self._items[code].lower() for code in codes]
        return self._sliced(codes, lower=True)

    def _sliced(self, codes: Iterable[int], lower: bool) -> list[Any]:
        width = self._width
        blob: Any = self._table[np.fromiter(codes, np.int64), :width].tobytes()
        if self._text:
            blob = blob.decode("ascii").lower() if lower else blob.decode("ascii")
        return [blob[i : i + width] for i in range(0, len(blob), width)]

    def rows(self, codes: Any) -> Any:
        """The values of these codes as rows of bytes (uint8), or None if they are not kept so."""
        return None if self._table is None else self._table[codes, : self._width]


def _mix(z: Any, scratch: Any) -> None:
    """splitmix64's finaliser, in place on a uint64 array (wrapping arithmetic): a bijection of
    64-bit words. `scratch` is an array of the same shape to work in."""
    np.right_shift(z, np.uint64(30), out=scratch)
    z ^= scratch
    z *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(z, np.uint64(27), out=scratch)
    z ^= scratch
    z *= np.uint64(0x94D049BB133111EB)
    np.right_shift(z, np.uint64(31), out=scratch)
    z ^= scratch


def _code_rows(rows: Any) -> tuple[Any, Any]:
    """(int64 code per row, index of one row per code) for a C-contiguous (n, width) uint8 array,
    width a multiple of 8: rows with the same bytes, and only those, share a code."""
    n = len(rows)
    words = rows.view(np.uint64)
    hashed = words[:, 0] + np.uint64(_GOLDEN)
    scratch = np.empty_like(hashed)
    _mix(hashed, scratch)
    for k in range(1, words.shape[1]):
        hashed ^= words[:, k]
        _mix(hashed, scratch)
    bits = max(1, (n - 1).bit_length())
    if bits <= 24:
        # Sort the hashes' top 64 - bits bits with the row number in the low bits: a plain sort,
        # faster than an argsort, whose low bits then give the order.
        low = np.uint64((1 << bits) - 1)
        keys = (hashed & ~low) | np.arange(n, dtype=np.uint64)
        keys.sort()
        order = (keys & low).astype(np.int64)
        codes, representative = _group(n, order, keys >> np.uint64(bits))
        if _same_rows(words, codes, representative):
            return codes, representative
    order = np.argsort(hashed)  # all 64 bits of the hash
    codes, representative = _group(n, order, hashed[order])
    if _same_rows(words, codes, representative):
        return codes, representative
    # Two different rows share a hash: code by the words themselves (a lexicographic sort).
    order = np.lexsort(words.T[::-1])
    ordered = words[order]
    return _group(n, order, None, (ordered[1:] != ordered[:-1]).any(axis=1))


def _group(n: int, order: Any, ordered: Any, differs: Any = None) -> tuple[Any, Any]:
    """Codes by runs of equal values in `ordered` (the values in `order`), or of rows that do not
    differ from the one before (`differs`)."""
    boundary = np.empty(n, dtype=bool)
    boundary[:1] = True
    if differs is None:
        np.not_equal(ordered[1:], ordered[:-1], out=boundary[1:])
    else:
        boundary[1:] = differs
    codes = np.empty(n, dtype=np.int64)
    codes[order] = np.cumsum(boundary) - 1
    return codes, order[boundary]


def _same_rows(words: Any, codes: Any, representative: Any) -> bool:
    """Whether every row equals its code's representative, word by word: the exact check."""
    return all(np.array_equal(np.take(words[representative, k], codes), words[:, k]) for k in range(words.shape[1]))


def _code_objects(items: list[T]) -> tuple[Any, Distinct[T]]:
    """(int64 code per item, distinct items): the general path, for values of any shape."""
    distinct = list(dict.fromkeys(items))
    position = {item: i for i, item in enumerate(distinct)}
    return np.fromiter(map(position.__getitem__, items), np.int64, len(items)), Distinct(distinct)


def code_bytes(items: list[bytes], width: int = 32) -> tuple[Any, Distinct[bytes]]:
    """(int64 code per item, distinct items) for byte strings, fast when all are `width` bytes
    (a multiple of 8)."""
    if items and items[0] == items[-1] and items.count(items[0]) == len(items):  # one value (one topic)
        return np.zeros(len(items), dtype=np.int64), Distinct([items[0]])
    if not items or width % 8 or set(map(len, items)) != {width}:
        return _code_objects(items)
    rows = np.fromiter(items, f"S{width}", len(items)).view(np.uint8).reshape(-1, width)
    codes, representative = _code_rows(rows)
    return codes, Distinct(table=rows[representative], width=width)


def code_strings(items: list[str]) -> tuple[Any, Distinct[str]]:
    """(int64 code per item, distinct items) for strings, coded as written (case counts): fast when
    all are ASCII, without NUL, and of one length, as addresses are."""
    width = len(items[0]) if items else 0
    padding = "\0" * (8 - width % 8)  # rows padded to whole 64-bit words
    joined = padding.join(itertools.chain(items, ("",)))
    # With exactly `padding` NULs per row, every one in the padding of its row, every item has
    # `width` characters and no NUL: the joined string is exactly the n padded rows.
    stride = width + len(padding)
    if not width or not joined.isascii() or len(joined) != stride * len(items):
        return _code_objects(items)
    if joined.count("\0") != len(padding) * len(items):
        return _code_objects(items)
    rows = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, stride)
    if rows[:, width:].any():
        return _code_objects(items)
    codes, representative = _code_rows(rows)
    return codes, Distinct(table=rows[representative], width=width, text=True)


@dataclass(frozen=True, eq=False, slots=True)
class RatingColumns:
    """One row per rating, in the history's order. `topic`, `rater` and `advocate` are int64
    positions in `topics`, `raters` (32-byte `raterId`s) and `advocates` (as written: the engine
    lowercases them, as the python engine does); `stars`, `kind` (a `RaterKind`) and `time` are
    int64 values."""

    topic: Any
    rater: Any
    advocate: Any
    stars: Any
    kind: Any
    time: Any
    topics: Distinct[bytes]
    raters: Distinct[bytes]
    advocates: Distinct[str]

    @classmethod
    def of(cls, ratings: Sequence[Rating]) -> RatingColumns:
        if np is None:
            raise RuntimeError("numpy is not installed")
        n = len(ratings)
        topic, topics = code_bytes(list(map(attrgetter("topic"), ratings)))
        rater, raters = code_bytes(list(map(attrgetter("rater_id"), ratings)))
        advocate, advocates = code_strings(list(map(attrgetter("advocate"), ratings)))
        return cls(
            topic,
            rater,
            advocate,
            np.fromiter(map(attrgetter("rating"), ratings), np.int64, n),
            np.fromiter(map(attrgetter("rater_kind"), ratings), np.int64, n),
            np.fromiter(map(attrgetter("time"), ratings), np.int64, n),
            topics,
            raters,
            advocates,
        )

    def __len__(self) -> int:
        return len(self.stars)

    def topic_rows(self) -> dict[bytes, Any]:
        """The rows of each topic (int64 positions, in order), or None for all rows when there is
        one topic."""
        if len(self.topics) == 1:
            return {self.topics[0]: None}
        order = np.argsort(self.topic, kind="stable")
        counts = np.bincount(self.topic, minlength=len(self.topics))
        bounds = np.r_[0, np.cumsum(counts)].tolist()
        return {self.topics[t]: order[bounds[t] : bounds[t + 1]] for t in range(len(self.topics)) if counts[t]}

    def take(self, rows: Any) -> RatingColumns:
        """These rows only (`rows`: int64 positions, or None for all), with the same code tables."""
        if rows is None:
            return self
        return RatingColumns(
            self.topic[rows],
            self.rater[rows],
            self.advocate[rows],
            self.stars[rows],
            self.kind[rows],
            self.time[rows],
            self.topics,
            self.raters,
            self.advocates,
        )


def rating_columns(history: History) -> RatingColumns:
    """`history`'s ratings as integer columns for the numpy engine (needs numpy). Built on first
    use and kept on the history (immutable, so the columns never go stale)."""
    columns: RatingColumns | None = history._columns
    if columns is None:
        columns = RatingColumns.of(history.ratings)
        object.__setattr__(history, "_columns", columns)
    return columns

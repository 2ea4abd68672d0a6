"""Cutting long lists into the chunks one JSON-RPC batch or one SQL `IN (...)` takes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

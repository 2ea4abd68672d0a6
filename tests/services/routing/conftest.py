"""Fixtures of the routing tests: a tiny hand-made dump written to a temporary folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.support.routing_eval_dump import A, Q, V, write_dump


@pytest.fixture
def dump_dir(tmp_path: Path) -> Callable[..., Path]:
    def make(posts: Sequence[Q | A], votes: Sequence[V] | None = None) -> Path:
        return write_dump(tmp_path / "dump", posts, votes)

    return make

"""The rule every kind of batch is sealed by (`peercare.oracle.batching`), on its own: full batches
always, the rest too once the oldest has waited long enough; oldest first; brands apart. And the
bounded cache of batch trees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from peercare.core.merkle import StandardMerkleTree
from peercare.oracle.batching import Trees, Waiting, seal_due


class _Base(DeclarativeBase):
    pass


class Item(_Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int]
    created_at_ms: Mapped[int]
    batch: Mapped[int | None]


WAITING = Waiting(Item, Item.brand_id, Item.created_at_ms, Item.batch.is_(None), (Item.created_at_ms, Item.id))


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def seal_all_due(session: Session, *, size: int, max_age_ms: int, now_ms: int) -> list[list[Item]]:
    """Run the rule with a sealer that puts each brand's next oldest items in a numbered batch."""
    batches: list[list[Item]] = []

    def seal(session: Session, brand_id: int, items: list[Item]) -> None:
        for item in items:
            item.batch = len(batches)
        batches.append(items)
        session.flush()

    sealed = seal_due(session, WAITING, seal, batch_size=size, max_age_ms=max_age_ms, now_ms=now_ms)
    assert sealed == len(batches)
    return batches


items_of_brands = st.lists(st.tuples(st.integers(1, 3), st.integers(0, 10_000)), max_size=60)


@settings(max_examples=60, deadline=None)
@example(items=[(1, 0), (1, 1)], size=3, max_age_ms=5, now_ms=5)  # the oldest exactly old enough
@example(items=[(1, 0), (1, 1)], size=3, max_age_ms=5, now_ms=4)  # and a moment before
@given(items=items_of_brands, size=st.integers(1, 8), max_age_ms=st.integers(1, 5_000), now_ms=st.integers(0, 12_000))
def test_full_batches_are_sealed_always_and_the_rest_once_the_oldest_is_old_enough(
    items: list[tuple[int, int]], size: int, max_age_ms: int, now_ms: int
) -> None:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Item(brand_id=brand, created_at_ms=created) for brand, created in items)
        session.flush()
        batches = seal_all_due(session, size=size, max_age_ms=max_age_ms, now_ms=now_ms)
        assert all(len(batch) <= size and len({item.brand_id for item in batch}) == 1 for batch in batches)
        for brand in {brand for brand, _ in items}:
            mine = sorted((created, i) for i, (b, created) in enumerate(items, start=1) if b == brand)
            due = now_ms - mine[0][0] >= max_age_ms
            expected = len(mine) if due else len(mine) - len(mine) % size
            sealed = [item for batch in batches if batch[0].brand_id == brand for item in batch]
            # Oldest first (ties by id); only the last of a brand's batches may be partial.
            assert [(item.created_at_ms, item.id) for item in sealed] == mine[:expected]
            partial = [batch for batch in batches if batch[0].brand_id == brand and len(batch) < size]
            assert len(partial) <= 1
        waiting = session.scalars(select(Item).where(WAITING.condition)).all()
        assert len(waiting) == len(items) - sum(len(batch) for batch in batches)
    engine.dispose()


def test_trees_are_built_once_per_root_and_the_least_recently_used_goes_first() -> None:
    built: list[str] = []

    def build(cid: str) -> StandardMerkleTree:
        built.append(cid)
        return StandardMerkleTree.of([(cid.encode().ljust(32, b"\0"),)], ["bytes32"])

    trees = Trees(build, size=2)
    a = trees.get("0xa", "cid-a")
    assert trees.get("0xa", "cid-a") is a
    trees.get("0xb", "cid-b")
    trees.get("0xa", "cid-a")  # a is now the most recently used
    trees.get("0xc", "cid-c")  # so b goes
    trees.get("0xa", "cid-a")
    trees.get("0xb", "cid-b")
    assert built == ["cid-a", "cid-b", "cid-c", "cid-b"]

"""Check 5, database: the oracle's own index, when there is one, equals the scratch index up to the
block it reached; a row that differs is named (table, row id, columns). The oracle's database is
read for this comparison only, never as a source for the other checks. Owns the section's start
(`start_database_check`: the oracle's index read consistently, before the chain is indexed) and
the comparison (`check_database`), with the row lookups and `Snapshot`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from peercare.audit.checks.common import AuditError, Check, Progress, Section
from peercare.db.database import Database
from peercare.db.tables import projections as ix

Snapshot = dict[str, list[tuple[Any, ...]]]

#: Row ids looked up in the oracle's database per table (beyond that, rows are named by their log).
MAX_ROW_LOOKUPS = 1000


def start_database_check(
    oracle_database: Database | None,
    first_block: int,
    head: int,
    progress: Progress,
    head_now: Callable[[], int] | None = None,
) -> tuple[Section, tuple[int, Snapshot] | None, int]:
    """The check's section, the oracle's index to compare (the block it reached, its projections)
    or None when there is no oracle database (the section says it was skipped), and the head to
    audit up to. Read before the chain is indexed, so that the scratch index can first stop at the
    block the oracle reached. A running oracle may have indexed blocks mined after `head` was read:
    the head is then read again (`head_now`), and only an index past that one is a finding."""
    section = Section(Check.DATABASE, scope="the whole database, every brand")
    if oracle_database is None:
        section.skipped = "no oracle database to compare (none configured, none in the data folder)"
        return section, None, head
    progress("reading the oracle's index (to compare it with the chain)")
    oracle_index = _read_oracle_index(oracle_database, first_block)
    if oracle_index[0] > head and head_now is not None:
        head = max(head, head_now())
    if oracle_index[0] > head:
        section.find(
            "ix_cursor row 1",
            f"the database says it indexed up to block {oracle_index[0]}, past the chain's head {head}",
            cursor=oracle_index[0],
            head=head,
        )
    return section, oracle_index, head


def check_database(section: Section, oracle_database: Database, oracle_snapshot: Snapshot, scratch: Database) -> None:
    """Compare the oracle's projections (`oracle_snapshot`) with the scratch index, which must be
    indexed up to the block the oracle's index reached."""
    with scratch.read() as session:
        scratch_snapshot = ix.projection_snapshot(session)
    _compare_databases(section, oracle_database, oracle_snapshot, scratch_snapshot)


def _read_oracle_index(database: Database, first_block: int, attempts: int = 5) -> tuple[int, Snapshot]:
    """(the block the oracle's index reached, its projections), read consistently while it may run."""
    try:
        for _ in range(attempts):
            with database.read() as session:
                if database.engine.dialect.name == "postgresql":
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                before = session.scalar(select(ix.IndexerCursor.block_number).where(ix.IndexerCursor.id == 1))
                snapshot = ix.projection_snapshot(session)
                after = session.scalar(select(ix.IndexerCursor.block_number).where(ix.IndexerCursor.id == 1))
            if before == after:
                return (first_block - 1 if after is None else after), snapshot
    except SQLAlchemyError as err:
        raise AuditError(f"cannot read the oracle's database: {err.__class__.__name__}: {err}") from err
    raise AuditError(f"the oracle's index moved during each of {attempts} reads: try again")


def _compare_databases(section: Section, database: Database, ours: Snapshot, theirs: Snapshot) -> None:
    """Name every projection row of the oracle's database (`ours`) that differs from the scratch
    index of the same blocks (`theirs`): by table, row id and the columns that differ."""
    for model in ix.PROJECTIONS:
        table = model.__table__  # type: ignore[attr-defined]
        columns = [column.name for column in table.columns if column.name != "id"]
        key_columns = [name for name in ("tx_hash", "log_index", "leaf_index") if name in columns]
        positions = [columns.index(name) for name in key_columns]
        in_database, on_chain = Counter(ours.get(table.name, [])), Counter(theirs.get(table.name, []))
        section.count("rows compared", sum(on_chain.values()))
        only_database = list((in_database - on_chain).elements())
        only_chain = list((on_chain - in_database).elements())
        if not only_database and not only_chain:
            continue
        chain_by_key: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for row in only_chain:
            chain_by_key[tuple(row[p] for p in positions)].append(row)
        ids = _row_ids(database, table, key_columns, [tuple(row[p] for p in positions) for row in only_database])
        for row in only_database:
            key = tuple(row[p] for p in positions)
            where = ", ".join(f"{name} {value}" for name, value in zip(key_columns, key, strict=True))
            row_id = ids.get(key)
            subject = f"{table.name} row {row_id if row_id is not None else '?'} ({where})"
            details = {"table": table.name, "row_id": row_id, "database": _jsonable(columns, row)}
            matching = chain_by_key.get(key)
            if matching:
                chain_row = matching.pop(0)
                changed = [
                    f"{name} is {a!r} in the database, {b!r} on chain"
                    for name, a, b in zip(columns, row, chain_row, strict=True)
                    if a != b
                ]
                section.find(subject, "; ".join(changed), **details, chain=_jsonable(columns, chain_row))
            else:
                section.find(subject, "this row is in the database but no such event is on chain", **details)
        for key, rows in sorted(chain_by_key.items(), key=lambda item: repr(item[0])):
            for row in rows:
                where = ", ".join(f"{name} {value}" for name, value in zip(key_columns, key, strict=True))
                section.find(
                    f"{table.name} (missing row: {where})",
                    f"the chain has this event (block {row[0]}) but the database lacks its row",
                    table=table.name,
                    chain=_jsonable(columns, row),
                )


def _row_ids(
    database: Database, table: Any, key_columns: list[str], keys: Iterable[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    ids: dict[tuple[Any, ...], int] = {}
    wanted = list(dict.fromkeys(keys))[:MAX_ROW_LOOKUPS]
    if not wanted:
        return ids
    with database.read() as session:
        for key in wanted:
            condition = [table.c[name] == value for name, value in zip(key_columns, key, strict=True)]
            found = session.scalar(select(table.c.id).where(*condition).order_by(table.c.id).limit(1))
            if found is not None:
                ids[key] = int(found)
    return ids


def _jsonable(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {
        name: str(value) if isinstance(value, int) and abs(value) >= 2**53 else value
        for name, value in zip(columns, row, strict=True)
    }

"""What every table is declared with: `Base` (its metadata, with stable constraint names), the
integer, amount, hash and address column types. One declaration each, for every table module."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Dialect, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# 64-bit integers everywhere; on SQLite spelled INTEGER, so that an integer primary key is the rowid
# and autoincrements (SQLite's INTEGER is 64-bit anyway).
BIG_INTEGER = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {int: BIG_INTEGER, dict[str, Any]: JSON, list[Any]: JSON}


class Amount(TypeDecorator[int]):
    """A token amount (up to uint256) kept exact: decimal text on every database, so SQLite's
    floating NUMERIC never rounds it. Sum amounts in Python, not in SQL."""

    impl = String(78)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value < 0:
            raise ValueError(f"amounts are never negative: {value}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


#: A bytes32 (an id, a hash, a root) as 0x-prefixed lower-case hex.
HASH = String(66)
#: An address as 0x-prefixed hex; whether it is checksummed or lower case is each column's to say
#: (lookups that compare addresses lower them).
ADDRESS = String(42)

"""The key store: one key per conversation in SQLite under the data folder, the pseudonym of each
person a ticketing system names (a customer who rates an answer), and erasure records.

A pseudonym is 32 random bytes per (brand, source, person id), drawn the first time the person is
seen and kept here only: the chain shows it as the rater's id, stable for that person and unlinkable
to them by anyone without this file. Not a hash of the id (anyone guessing an email address could
confirm a hash), and not a keyed hash under one key per brand (such a key could not be destroyed for
one customer alone). Erasing the person deletes the row, and with it the only link.

Erasing deletes the key and writes the erasure record (who, when, why) in one transaction. SQLite
runs with `secure_delete` (freed pages are zeroed) and in WAL mode with a truncating checkpoint
after each erasure, so the key bytes do not linger in the database or its journal. (Copies made
outside SQLite, such as backups or the disk's own remapping, are out of its reach: back the key
store up encrypted and rotate those backups out.)
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from peercare.content.cid import digest_from_cid
from peercare.content.errors import ContentErased, ContentError, ErasureRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS content_keys (
    cid        TEXT PRIMARY KEY,          -- CID of the sealed (encrypted) block
    key        BLOB NOT NULL,
    plain_cid  TEXT UNIQUE,               -- CID of the plaintext, so a re-put finds its sealed block
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS erasures (
    cid       TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL,
    erased_by TEXT NOT NULL,
    reason    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pseudonyms (
    brand_id   INTEGER NOT NULL,
    source     TEXT NOT NULL,
    subject    TEXT NOT NULL,             -- the person's id in the ticketing system
    pseudonym  BLOB NOT NULL UNIQUE,      -- 32 random bytes: what the chain shows
    created_at TEXT NOT NULL,
    PRIMARY KEY (brand_id, source, subject)
);
CREATE TABLE IF NOT EXISTS pseudonym_erasures (
    pseudonym TEXT PRIMARY KEY,           -- 0x-hex: which on-chain id lost its person (never who)
    erased_at TEXT NOT NULL,
    erased_by TEXT NOT NULL,
    reason    TEXT NOT NULL
);
"""

PSEUDONYM_SIZE = 32


class KeyMissing(ContentError, LookupError):
    """No key for this identifier, and no record that one was erased."""


class KeyStore:
    """Keys by CID of the sealed content, plus the erasure log. Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)
        os.chmod(self.path, 0o600)

    @classmethod
    def in_folder(cls, data_dir: str | os.PathLike[str]) -> KeyStore:
        """The key store at its usual place under a data folder."""
        return cls(Path(data_dir) / "keys.sqlite3")

    def save(self, cid: str, key: bytes, *, plain_cid: str | None = None) -> None:
        """Remember `key` for the sealed content `cid` (and which plaintext it seals). Refused once
        `cid` has been erased."""
        self.save_many([(cid, key, plain_cid)])

    def save_many(self, entries: Sequence[tuple[str, bytes, str | None]]) -> None:
        """`save` for several (cid, key, plain_cid) in one transaction (one disk sync)."""
        for cid, _, _ in entries:
            digest_from_cid(cid)
        with self._lock, self._immediate():
            for cid, key, plain_cid in entries:
                erased = self._erasure(cid)
                if erased is not None:
                    raise ContentErased(erased)
                self._db.execute(
                    "INSERT INTO content_keys (cid, key, plain_cid, created_at) VALUES (?, ?, ?, ?)",
                    (cid, key, plain_cid, _now().isoformat()),
                )

    def sealed_for(self, plain_cid: str) -> str | None:
        """The sealed block already holding this plaintext, if any (erased ones are forgotten)."""
        with self._lock:
            row = self._db.execute("SELECT cid FROM content_keys WHERE plain_cid = ?", (plain_cid,)).fetchone()
        return None if row is None else str(row[0])

    def key(self, cid: str) -> bytes:
        """The key for `cid`; `ContentErased` (with the record) if it was erased, else `KeyMissing`."""
        with self._lock:
            row = self._db.execute("SELECT key FROM content_keys WHERE cid = ?", (cid,)).fetchone()
            if row is not None:
                return bytes(row[0])
            erased = self._erasure(cid)
        if erased is not None:
            raise ContentErased(erased)
        raise KeyMissing(f"no key for {cid}")

    def erase(self, cid: str, *, erased_by: str, reason: str) -> ErasureRecord:
        """Destroy the key for `cid` and record who did it and why. Idempotent: erasing again returns
        the first record."""
        if not erased_by or not reason:
            raise ValueError("an erasure records who asked for it and why")
        with self._lock:
            with self._immediate():
                existing = self._erasure(cid)
                if existing is not None:
                    return existing
                record = ErasureRecord(cid=cid, erased_at=_now(), erased_by=erased_by, reason=reason)
                self._db.execute("DELETE FROM content_keys WHERE cid = ?", (cid,))
                self._db.execute(
                    "INSERT INTO erasures (cid, erased_at, erased_by, reason) VALUES (?, ?, ?, ?)",
                    (cid, record.erased_at.isoformat(), erased_by, reason),
                )
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return record

    def pseudonyms(self, brand_id: int, source: str, subjects: Iterable[str]) -> dict[str, bytes]:
        """The pseudonym of each person (`subjects`: their ids in the brand's `source` system),
        drawn at random the first time one is asked for; one transaction for all of them."""
        wanted = sorted(set(subjects))
        found: dict[str, bytes] = {}
        with self._lock, self._immediate():
            for subject in wanted:
                row = self._db.execute(
                    "SELECT pseudonym FROM pseudonyms WHERE brand_id = ? AND source = ? AND subject = ?",
                    (brand_id, source, subject),
                ).fetchone()
                if row is None:
                    row = (secrets.token_bytes(PSEUDONYM_SIZE),)
                    self._db.execute(
                        "INSERT INTO pseudonyms (brand_id, source, subject, pseudonym, created_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (brand_id, source, subject, row[0], _now().isoformat()),
                    )
                found[subject] = bytes(row[0])
        return found

    def pseudonym(self, brand_id: int, source: str, subject: str) -> bytes:
        """`pseudonyms` for one person."""
        return self.pseudonyms(brand_id, source, [subject])[subject]

    def erase_pseudonym(
        self, brand_id: int, source: str, subject: str, *, erased_by: str, reason: str
    ) -> PseudonymErasure | None:
        """Forget whose pseudonym it was: delete the person's row and record which pseudonym lost
        its person (never who), when, by whom and why. None when the person has no pseudonym here
        (never seen, or erased before). A person seen again afterwards gets a new pseudonym."""
        if not erased_by or not reason:
            raise ValueError("an erasure records who asked for it and why")
        with self._lock:
            with self._immediate():
                row = self._db.execute(
                    "SELECT pseudonym FROM pseudonyms WHERE brand_id = ? AND source = ? AND subject = ?",
                    (brand_id, source, subject),
                ).fetchone()
                if row is None:
                    return None
                record = PseudonymErasure("0x" + bytes(row[0]).hex(), _now(), erased_by, reason)
                self._db.execute(
                    "DELETE FROM pseudonyms WHERE brand_id = ? AND source = ? AND subject = ?",
                    (brand_id, source, subject),
                )
                self._db.execute(
                    "INSERT INTO pseudonym_erasures (pseudonym, erased_at, erased_by, reason) VALUES (?, ?, ?, ?)",
                    (record.pseudonym, record.erased_at.isoformat(), erased_by, reason),
                )
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return record

    def erasure(self, cid: str) -> ErasureRecord | None:
        """The erasure record for `cid`, if it was erased."""
        with self._lock:
            return self._erasure(cid)

    def erasures(self) -> list[ErasureRecord]:
        """Every erasure, oldest first (for audits)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT cid, erased_at, erased_by, reason FROM erasures ORDER BY erased_at, cid"
            ).fetchall()
        return [_record(row) for row in rows]

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """One write transaction, committed when the block ends (also by `return`), rolled back
        when it raises. The caller holds `_lock`."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _erasure(self, cid: str) -> ErasureRecord | None:
        row = self._db.execute(
            "SELECT cid, erased_at, erased_by, reason FROM erasures WHERE cid = ?", (cid,)
        ).fetchone()
        return None if row is None else _record(row)


@dataclass(frozen=True)
class PseudonymErasure:
    """That the link from a person to their on-chain pseudonym was destroyed. Kept forever."""

    pseudonym: str  # 0x-hex, as on chain
    erased_at: datetime
    erased_by: str
    reason: str


def _record(row: tuple[str, str, str, str]) -> ErasureRecord:
    cid, erased_at, erased_by, reason = row
    return ErasureRecord(cid=cid, erased_at=datetime.fromisoformat(erased_at), erased_by=erased_by, reason=reason)


def _now() -> datetime:
    return datetime.now(UTC)

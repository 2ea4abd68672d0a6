"""The key store: one key per conversation in SQLite under the data folder, and erasure records.

Erasing deletes the key and writes the erasure record (who, when, why) in one transaction. SQLite
runs with `secure_delete` (freed pages are zeroed) and in WAL mode with a truncating checkpoint
after each erasure, so the key bytes do not linger in the database or its journal. (Copies made
outside SQLite, such as backups or the disk's own remapping, are out of its reach: back the key
store up encrypted and rotate those backups out.)
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
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
"""


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
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for cid, key, plain_cid in entries:
                    erased = self._erasure(cid)
                    if erased is not None:
                        raise ContentErased(erased)
                    self._db.execute(
                        "INSERT INTO content_keys (cid, key, plain_cid, created_at) VALUES (?, ?, ?, ?)",
                        (cid, key, plain_cid, _now().isoformat()),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

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
            self._db.execute("BEGIN IMMEDIATE")
            try:
                existing = self._erasure(cid)
                if existing is not None:
                    self._db.execute("COMMIT")
                    return existing
                record = ErasureRecord(cid=cid, erased_at=_now(), erased_by=erased_by, reason=reason)
                self._db.execute("DELETE FROM content_keys WHERE cid = ?", (cid,))
                self._db.execute(
                    "INSERT INTO erasures (cid, erased_at, erased_by, reason) VALUES (?, ?, ?, ?)",
                    (cid, record.erased_at.isoformat(), erased_by, reason),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
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

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _erasure(self, cid: str) -> ErasureRecord | None:
        row = self._db.execute(
            "SELECT cid, erased_at, erased_by, reason FROM erasures WHERE cid = ?", (cid,)
        ).fetchone()
        return None if row is None else _record(row)


def _record(row: tuple[str, str, str, str]) -> ErasureRecord:
    cid, erased_at, erased_by, reason = row
    return ErasureRecord(cid=cid, erased_at=datetime.fromisoformat(erased_at), erased_by=erased_by, reason=reason)


def _now() -> datetime:
    return datetime.now(UTC)

"""The embedded content store: one file per block under a data folder, no daemon.

Layout: `<root>/blocks/<xy>/<cid>` where `xy` are the next-to-last two characters of the CID
(Kubo's flatfs `next-to-last/2` sharding keeps directories small). A write goes to a temporary
file in the same directory, is fsynced, renamed over the final name and the directory is fsynced,
so a crash leaves either nothing or the whole block. Every read re-hashes the bytes.

There is no separate pin set: everything stored is pinned, and `unpin` deletes the block at once
(the embedded store is its own garbage collector).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from peercare.content.cid import MAX_BLOCK_SIZE, compute_cid, digest_from_cid, matches
from peercare.content.errors import ContentCorrupted, ContentMissing, StoreUnavailable


def _find_syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2): flushes one file system (os.sync flushes them all)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True).syncfs if name else None
    except (OSError, AttributeError):
        return None


_libc_syncfs = _find_syncfs()


class EmbeddedStore:
    """Files named by CID under `root`; see the module docstring."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.blocks = self.root / "blocks"
        self._fsync = fsync
        try:
            self.blocks.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"embedded store: cannot use data folder {self.root}: {exc}") from exc

    def path_of(self, cid: str) -> Path:
        """Where the block for `cid` lives (whether or not it exists)."""
        digest_from_cid(cid)  # validates the identifier; never build a path from arbitrary input
        return self.blocks / cid[-3:-1] / cid

    def put(self, data: bytes) -> str:
        cid = compute_cid(data)
        path = self.path_of(cid)
        if path.exists() and self._intact(path, cid):
            return cid
        try:
            self._write_atomically(path, data)
        except OSError as exc:
            raise StoreUnavailable(f"embedded store: cannot write {path}: {exc}") from exc
        return cid

    def put_many(self, blocks: Sequence[bytes]) -> list[str]:
        """`put` for several blocks with two file-system syncs in all instead of two per block:
        every block is written to a temporary file, synced, renamed into place, and the folders
        synced. Nothing is visible under its CID before its bytes are on disk."""
        cids = [compute_cid(data) for data in blocks]
        todo = {cid: data for cid, data in zip(cids, blocks, strict=True) if not self._exists_intact(cid)}
        if not todo:
            return cids
        written: list[tuple[str, Path]] = []
        try:
            for cid, data in todo.items():
                path = self.path_of(cid)
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                written.append((tmp, path))
            self._sync_filesystem()
            for tmp, path in written:
                os.replace(tmp, path)
            self._sync_filesystem()
        except OSError as exc:
            for tmp, _ in written:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise StoreUnavailable(f"embedded store: cannot write under {self.blocks}: {exc}") from exc
        return cids

    def _exists_intact(self, cid: str) -> bool:
        path = self.path_of(cid)
        return path.exists() and self._intact(path, cid)

    def _sync_filesystem(self) -> None:
        if not self._fsync:
            return
        fd = os.open(self.blocks, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _libc_syncfs is not None:
                _libc_syncfs(fd)  # this file system only
            else:
                os.sync()
        finally:
            os.close(fd)

    def get(self, cid: str) -> bytes:
        path = self.path_of(cid)
        try:
            with path.open("rb") as f:
                data = f.read(MAX_BLOCK_SIZE + 1)
        except FileNotFoundError:
            raise ContentMissing(cid, f"no block at {path}") from None
        except OSError as exc:
            raise StoreUnavailable(f"embedded store: cannot read {path}: {exc}") from exc
        if len(data) > MAX_BLOCK_SIZE or not matches(cid, data):
            raise ContentCorrupted(cid, f"{path} does not hash to its name")
        return data

    def pin(self, cid: str) -> None:
        if not self.path_of(cid).exists():
            raise ContentMissing(cid, "nothing to pin")

    def unpin(self, cid: str) -> None:
        path = self.path_of(cid)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreUnavailable(f"embedded store: cannot delete {path}: {exc}") from exc
        self._sync_dir(path.parent)

    def is_pinned(self, cid: str) -> bool:
        return self.path_of(cid).exists()

    def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

    def _intact(self, path: Path, cid: str) -> bool:
        try:
            return matches(cid, path.read_bytes())
        except OSError:
            return False

    def _write_atomically(self, path: Path, data: bytes) -> None:
        directory = path.parent
        new_dir = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if self._fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._sync_dir(directory)
        if new_dir:
            self._sync_dir(directory.parent)

    def _sync_dir(self, directory: Path) -> None:
        if not self._fsync:
            return
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

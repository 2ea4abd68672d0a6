"""Helpers of the audit tests: the settings of the world's data folder, a run's results, and a rogue
brand oracle whose writes are undone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from peercare.chain.devnet import dev_account, transact
from peercare.content.embedded import EmbeddedStore
from peercare.db.tables import projections as ix
from tests.support.world import World

#: A port of this suite's range (8782-8789) nothing listens on: an unreachable chain.
UNUSED_PORT = 8789


def audit_environment(world: World) -> dict[str, str]:
    """The settings a user of the world's data folder would have in the environment."""
    settings = world.oracle.settings
    return {
        "PEERCARE_DATA_DIR": str(settings.data_dir),
        "PEERCARE_RPC_URL": world.dev.url,
        "PEERCARE_DEPLOYMENT_FILE": str(world.dev.deployment_file),
        "PEERCARE_DATABASE_URL": settings.effective_database_url,
    }


@dataclass
class AuditRun:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.stdout)
        return loaded

    def section(self, check: str) -> dict[str, Any]:
        found: dict[str, Any] = next(s for s in self.report["sections"] if s["check"] == check)
        return found

    def subjects(self, check: str) -> list[str]:
        return [finding["subject"] for finding in self.section(check)["findings"]]

    def failed_checks(self) -> list[str]:
        return [s["check"] for s in self.report["sections"] if not s["ok"]]


def wait_for_oracle_index(world: World, timeout_s: float = 30) -> None:
    """Until the oracle's index ends at the chain's head block (same hash)."""
    deadline = time.monotonic() + timeout_s
    while True:
        head = world.dev.w3.eth.get_block("latest")
        with world.oracle.database.read() as session:
            cursor = session.get(ix.IndexerCursor, 1)
            block = session.get(ix.IndexedBlock, head["number"])
        at_head = cursor is not None and cursor.block_number == head["number"]
        if at_head and block is not None and block.hash == "0x" + bytes(head["hash"]).hex():
            return
        assert time.monotonic() < deadline, "the oracle's indexer did not catch up with the chain"
        time.sleep(0.1)


def embedded_store(world: World) -> EmbeddedStore:
    return EmbeddedStore(world.oracle.settings.data_dir / "content")


#: A second signer the brand admits as its oracle inside `undone`: what a faulty or dishonest
#: operator could send. Not the running oracle's key, whose signer sends its own transactions at
#: the same time (two senders of one key would race for its nonces).
ROGUE = dev_account(9)


@contextmanager
def undone(world: World) -> Iterator[None]:
    """The rogue oracle admitted and the block run on a quiet oracle; all of it undone afterwards,
    and the oracle's index follows."""
    world.drain()
    snapshot = world.dev.snapshot()
    try:
        admit = world.dev.ledger.functions.setBrandOracle(world.dev.brand_id, ROGUE.address, True)
        transact(world.dev.w3, world.dev.brand_admin, admit)
        yield
    finally:
        world.dev.rpc("anvil_dropAllTransactions")
        world.dev.revert(snapshot)
        wait_for_oracle_index(world)

"""Fixtures for publishing and recomputing reputation epochs on a real chain, on both databases.

The chain and PostgreSQL helpers are the shared ones (`tests/support/devchain.py`,
`tests/support/pgserver.py`). The dev ledger runs on
its own port with brand 1 registered, `REPUTATION_ORACLE_ROLE` granted to brand 1's oracle (anvil
#1, the oracle's signer), and the history of `epoch_support.make_history` made once; each test
starts from a snapshot of that state. Ports: `PEERCARE_TEST_REPUTATION_CHAIN_PORT` (8730) and
`PEERCARE_TEST_REPUTATION_PG_PORT` (5930), distinct from the oracle tests' so one pytest run can
hold both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import peercare.db.tables.reputation  # noqa: F401  (its table is created by the migration)
from peercare.chain.devnet import DEPLOYER, dev_account, transact
from peercare.chain.rpc import Rpc
from peercare.content.embedded import EmbeddedStore
from peercare.db.database import Database
from peercare.oracle.brands import configure_brand
from tests.support.databases import ENGINES, migrated, new_database_url, postgres_fixture
from tests.support.devchain import DevLedger, start_dev_ledger
from tests.support.epoch_support import HistoryFacts, make_history

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_REPUTATION_CHAIN_PORT", "8730"))


postgres = postgres_fixture("PEERCARE_TEST_REPUTATION_PG_PORT", 5930)


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty oracle database, migrated."""
    with migrated(new_database_url(request, backend, tmp_path, "oracle")) as db:
        yield db


@pytest.fixture
def scratch_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """An empty database (same engine as `database`) for recomputation to index into."""
    return new_database_url(request, backend, tmp_path, "scratch")


@pytest.fixture(scope="session")
def chain_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevLedger, HistoryFacts]]:
    chain, dev = start_dev_ledger(
        tmp_path_factory.mktemp("chain"), CHAIN_PORT, f"peercare-reputation-test-{CHAIN_PORT}"
    )
    try:
        roots = dev.roots
        role = roots.functions.REPUTATION_ORACLE_ROLE().call()
        transact(dev.w3, dev_account(DEPLOYER), roots.functions.grantRole(role, dev.oracle.address))
        facts = make_history(dev)
        yield dev, facts
    finally:
        chain.stop()


@pytest.fixture
def dev_ledger(chain_session: tuple[DevLedger, HistoryFacts]) -> Iterator[DevLedger]:
    dev = chain_session[0]
    snapshot = dev.snapshot()
    try:
        yield dev
    finally:
        dev.rpc("anvil_dropAllTransactions")  # evm_revert keeps the mempool
        dev.revert(snapshot)


@pytest.fixture
def facts(chain_session: tuple[DevLedger, HistoryFacts]) -> HistoryFacts:
    return chain_session[1]


@pytest.fixture
def oracle_database(database: Database, facts: HistoryFacts) -> Database:
    """`database` with brand 1 as the oracle serves it: topics, default topic and one expert."""
    with database.transaction() as session:
        configure_brand(
            session,
            1,
            "Acme",
            topics=["wallets"],
            default_bounty=10**18,
            answer_window_s=30 * 86400,
            experts={"agent-7": facts.expert.address},
        )
    return database


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    content = EmbeddedStore(tmp_path / "content", fsync=False)
    yield content
    content.close()


@pytest.fixture
def rpc(dev_ledger: DevLedger) -> Iterator[Rpc]:
    client = Rpc(dev_ledger.url, max_attempts=2)
    yield client
    client.close()

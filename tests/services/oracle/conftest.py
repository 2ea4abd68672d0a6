"""Fixtures for the oracle tests: the database on both engines, and a deployed ledger on anvil.

`database` runs each test twice, on SQLite and on a real PostgreSQL server (Debian's package,
started for the session on 127.0.0.1:5871 and stopped by its process id). `dev_ledger` is anvil on
127.0.0.1:8671 with the contracts deployed by the Brownie script, brand 1 registered and funded;
each test starts from a snapshot of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercare.db.database import Database
from tests.support.databases import ENGINES, migrated, new_database_url, postgres_fixture
from tests.support.delivery_load import TICKETS, zendesk_with_tickets
from tests.support.devchain import DevLedger, start_dev_ledger
from tests.support.oracle_process import serve_cardano_brand
from tests.support.ticketing_standins import ZendeskStandin

# Overridable so that several test runs can share the machine (each its own chain and server).
CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_CHAIN_PORT", "8671"))


postgres = postgres_fixture("PEERCARE_TEST_PG_PORT", 5871)


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_database_url(request, request.param, tmp_path, "oracle")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with migrated(database_url) as db:
        yield db


@pytest.fixture(scope="session")
def dev_ledger_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevLedger]:
    chain, dev = start_dev_ledger(tmp_path_factory.mktemp("chain"), CHAIN_PORT, f"peercare-oracle-test-{CHAIN_PORT}")
    try:
        yield dev
    finally:
        chain.stop()


@pytest.fixture(scope="session")
def manual_dev_ledger_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevLedger]:
    """The same ledger on a chain without mixed mining, for tests that decide every block themselves
    (`manual_mining`): once automine is off, anvil cannot go back to mixed mining."""
    port = CHAIN_PORT + 3
    chain, dev = start_dev_ledger(
        tmp_path_factory.mktemp("manual-chain"), port, f"peercare-oracle-test-{port}", mixed_mining=False
    )
    try:
        yield dev
    finally:
        chain.stop()


@pytest.fixture
def automine_only() -> None:
    """Asks `dev_ledger` for the chain that mines only when sent a transaction (or told to)."""


@pytest.fixture
def dev_ledger(request: pytest.FixtureRequest) -> Iterator[DevLedger]:
    # Tests that count blocks (manual mining, reorgs of exact depth) ask for `automine_only`.
    manual = bool({"manual_mining", "automine_only"} & set(request.fixturenames))
    dev: DevLedger = request.getfixturevalue("manual_dev_ledger_session" if manual else "dev_ledger_session")
    dev.rpc("evm_mine")  # a reorg in the test must not reach the snapshot's block
    snapshot = dev.snapshot()
    try:
        yield dev
    finally:
        dev.rpc("anvil_dropAllTransactions")  # evm_revert keeps the mempool
        dev.revert(snapshot)


@pytest.fixture
def oracle_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    serve_cardano_brand(database, 1)
    yield database
    database.dispose()


@pytest.fixture
def zendesk_tickets() -> Iterator[ZendeskStandin]:
    """The Zendesk stand-in holding the kill tests' tickets (`tests/support/delivery_load.py`)."""
    with zendesk_with_tickets(TICKETS) as standin:
        yield standin

"""Fixtures for `peercare audit verify`: one running PeerCare with a history, built by the API
tests' `build_world` (tests/support/world.py: anvil with the contracts deployed, the real
oracle on SQLite and the embedded content store, tickets answered, solved and rated through the
webhook, reputation epoch 1 published), shared by the session on the audit tests' own port
(`PEERCARE_TEST_AUDIT_CHAIN_PORT`, 8781). The shared helpers are in tests/support/.

Tests that tamper with something restore it before they end (a block file, a database row, the
chain through `evm_snapshot`/`evm_revert`), except an erasure, which cannot be undone: tests count
erased answers rather than assume there are none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from peercare.cli.audit import audit
from tests.support.audit_support import AuditRun, audit_environment
from tests.support.world import World, running_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_AUDIT_CHAIN_PORT", "8781"))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "audit") as built:
        yield built


@pytest.fixture
def run_audit(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`run_audit(*args)`: `peercare audit verify ARGS` through click's CliRunner, with the world's
    settings in the environment."""
    for name, value in audit_environment(world).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PEERCARE_IPFS_API_URL", raising=False)

    def run(*args: str) -> AuditRun:
        result = CliRunner().invoke(audit, ["verify", *args], catch_exceptions=False)
        return AuditRun(result.exit_code, result.stdout, result.stderr)

    yield run

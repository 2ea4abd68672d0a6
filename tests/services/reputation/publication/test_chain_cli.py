"""`peercare reputation publish|recompute` (peercare/cli/reputation.py), through click's runner with
the settings in the environment, as an operator and an auditor run them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from peercare.chain.devnet import DEPLOYER, dev_account, transact
from peercare.chain.rpc import Rpc
from peercare.cli.reputation import reputation
from peercare.content.cid import digest_from_cid
from peercare.content.embedded import EmbeddedStore
from peercare.db.database import Database
from peercare.db.tables.projections import IndexerCursor
from peercare.reputation.publication import PUBLISHER_ROLE
from tests.support.devchain import DevLedger
from tests.support.epoch_support import index_all, publish_directly, send_outbox


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def run(oracle_database: Database, dev_ledger: DevLedger, data_dir: Path) -> Callable[..., Result]:
    env = {
        "PEERCARE_DATA_DIR": str(data_dir),
        "PEERCARE_DATABASE_URL": oracle_database.url,
        "PEERCARE_RPC_URL": dev_ledger.url,
        "PEERCARE_DEPLOYMENT_FILE": str(dev_ledger.deployment_file),
        "PEERCARE_ORACLE_KEY": dev_ledger.oracle.key.hex(),
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(reputation, list(args), env=env)

    return invoke


def test_publish_then_recompute_checks_out_and_a_wrong_root_exits_non_zero(
    run: Callable[..., Result], oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, data_dir: Path
) -> None:
    store = EmbeddedStore(data_dir / "content", fsync=False)
    index_all(oracle_database, rpc, dev_ledger, store)

    published = run("publish", "--epoch", "1")
    assert published.exit_code == 0, published.output
    assert "warning" not in published.stderr
    out = json.loads(published.stdout)
    assert out["epoch"] == 1 and out["outbox_id"] == 1 and out["leaves"] >= 4
    assert out["brands"] == [dev_ledger.brand_id]
    with oracle_database.read() as session:  # the index's latest complete cut (the chain mines on meanwhile)
        cursor = session.get(IndexerCursor, 1)
    assert cursor is not None
    assert out["cut"] == dev_ledger.w3.eth.get_block(cursor.block_number)["timestamp"] - 1

    again = run("publish", "--epoch", "1")
    assert again.exit_code != 0 and "epoch 1 is not after epoch 1, already queued" in again.stderr

    send_outbox(oracle_database, rpc, dev_ledger)  # what the running oracle's signer does
    checked = run("recompute", "--epoch", "1")
    assert checked.exit_code == 0, checked.output
    result = json.loads(checked.stdout)
    assert result["ok"] is True and result["message"] == "ok"
    assert result["root_on_chain"] == result["manifest_root"] == result["root_recomputed"] == out["root"]

    wrong = b"\x07" * 32
    publish_directly(dev_ledger, 2, wrong, digest_from_cid(out["manifest_cid"]))
    refused = run("recompute", "--epoch", "2")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["root_on_chain"] == "0x" + wrong.hex()
    assert "error: the manifest is for epoch 1, published as epoch 2" in refused.stderr


def test_publish_warns_when_the_oracles_signer_cannot_publish(
    run: Callable[..., Result], oracle_database: Database, rpc: Rpc, dev_ledger: DevLedger, data_dir: Path
) -> None:
    index_all(oracle_database, rpc, dev_ledger, EmbeddedStore(data_dir / "content", fsync=False))
    transact(
        dev_ledger.w3,
        dev_account(DEPLOYER),
        dev_ledger.roots.functions.revokeRole(PUBLISHER_ROLE, dev_ledger.oracle.address),
    )

    published = run("publish", "--epoch", "1")
    assert published.exit_code == 0, published.output
    assert f"the oracle's signer {dev_ledger.oracle.address} lacks REPUTATION_ORACLE_ROLE" in published.stderr

"""`peercare up` pointed at services it did not start: a chain (`PEERCARE_RPC_URL`), a real IPFS
node (`PEERCARE_IPFS_API_URL`, js-ipfs over the Kubo RPC API) and PostgreSQL
(`PEERCARE_DATABASE_URL`). It starts no chain of its own, and what the demo replays lands in
those: questions in PostgreSQL, conversations on the IPFS node. Ports 8795-8799."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from peercare.chain.deploy import register_brownie_network
from peercare.chain.local import LocalChain
from peercare.cli.demo import demo
from peercare.config import Settings
from peercare.content.devnode import JsIpfsNode
from peercare.content.ipfs import IpfsStore
from peercare.db.database import Database
from peercare.db.tables.oracle import Question
from tests.support.demo_peercare import CHAIN_PORT, ROOT, peercare_env, start_up, stop_up
from tests.support.pgserver import PostgresServer

ANVIL = ROOT / ".toolchain" / "bin" / "anvil"
CHAIN, API, IPFS_API, IPFS_GATEWAY, POSTGRES = (CHAIN_PORT + n for n in (4, 5, 6, 7, 8))


@pytest.fixture
def external(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A chain, an IPFS node and a PostgreSQL server, and the settings naming them."""
    network = f"peercare-external-test-{CHAIN}"
    chain = LocalChain(Settings(data_dir=tmp_path / "chain", chain_port=CHAIN), anvil=str(ANVIL))
    node = JsIpfsNode(tmp_path / "ipfs" / "repo", api_port=IPFS_API, gateway_port=IPFS_GATEWAY)
    postgres = PostgresServer(POSTGRES)
    chain.start()
    try:
        node.start()
        try:
            postgres.start()
            try:
                register_brownie_network(network, CHAIN)
                env = peercare_env(tmp_path / "data", chain_port=CHAIN)  # the API on the next port: API
                env |= {
                    "PEERCARE_RPC_URL": f"http://127.0.0.1:{CHAIN}",
                    "PEERCARE_BROWNIE_NETWORK": network,
                    "PEERCARE_IPFS_API_URL": node.api_url,
                    "PEERCARE_DATABASE_URL": postgres.create_database("peercare_up"),
                }
                yield env
            finally:
                postgres.stop()
        finally:
            node.stop()
    finally:
        chain.stop()


def test_up_uses_the_chain_ipfs_node_and_postgresql_it_is_given(external: dict[str, str], tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{API}"
    log = tmp_path / "up.log"
    process = start_up(external, log)
    try:
        assert "starting anvil" not in log.read_text()
        health = httpx.get(f"{api}/api/v1/health", timeout=10).json()
        assert health["chain"]["ok"] and health["database"]["detail"] == "postgresql"
        assert "IPFS" in health["content_store"]["detail"], health
        args = ["--limit", "1", "--wait-timeout", "180", "--json"]
        result = CliRunner().invoke(demo, args, env=external, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    finally:
        assert stop_up(process) == 0, log.read_text()[-3000:]
    database = Database(external["PEERCARE_DATABASE_URL"])
    with database.read() as session:
        questions = list(session.scalars(select(Question)))
    database.dispose()
    assert len(questions) == 1
    with IpfsStore(external["PEERCARE_IPFS_API_URL"]) as node:
        for question in questions:
            assert node.is_pinned(question.content_cid)
            assert node.get(question.content_cid)  # the sealed conversation, as the node serves it

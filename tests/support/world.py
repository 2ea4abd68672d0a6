"""A running PeerCare for the API tests: anvil with the contracts deployed by Brownie, the oracle
(intake, processor, signer, indexer: the real `Oracle`, workers in threads) on SQLite and the
embedded content store, and a history made the way brands make it: tickets delivered to the
generic webhook, answered by advocates, solved and rated, then reputation epoch 1 published.

`World` carries what tests need to call the API as each role: a brand key for brand 1 and one for
brand 2, an auditor key for every brand and one scoped to brand 2, and signed-in sessions for two
advocates (through the real Sign-In with Ethereum route).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from peercare.api.security import create_api_key
from peercare.api.siwe import SiweMessage
from peercare.chain.devnet import BRAND_ADMIN, DEPLOYER, dev_account, register_funded_brand, transact
from peercare.chain.rpc import Rpc
from peercare.config import Settings
from peercare.content.cid import cid_from_digest
from peercare.content.embedded import EmbeddedStore
from peercare.content.store import Store
from peercare.db.tables import projections as ix
from peercare.db.tables.api import KeyRole
from peercare.oracle.manifest import RatingManifest
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from peercare.reputation.publication import latest_complete_cut, publish_epoch
from peercare.runtime import Oracle
from tests.support.devchain import DevLedger, start_dev_ledger
from tests.support.oracle_process import ADVOCATES, SECRET, serve_cardano_brand, ticket_history, wait_until_drained

TICKETS = 6
DOMAIN = "testserver"  # what TestClient sends as Host; the sign-in domain of these tests


@dataclass
class World:
    dev: DevLedger
    oracle: Oracle
    client: TestClient  # no credentials: add headers per request (`as_` gives them)
    brand_keys: dict[int, str] = field(default_factory=dict)
    auditor_key: str = ""  # every brand
    auditor_key_brand2: str = ""  # brand 2 only
    advocate_tokens: dict[str, str] = field(default_factory=dict)  # address -> session token
    brand2_id: int = 0

    @property
    def public_store(self) -> Store:
        """Where the oracle puts what anyone may read: batch manifests."""
        return self.oracle.context.public_store

    @property
    def advocates(self) -> list[LocalAccount]:
        accounts: list[LocalAccount] = ADVOCATES
        return accounts

    def ratings_on_chain(self) -> list[tuple[str, int, str, str]]:
        """(answer id, rating, advocate, transaction hash) of every rating on chain, as the chain and
        the public content say (not the index): `AnswerRated` logs, and the leaves of every
        `RatingBatchAnchored`'s manifest."""
        ledger, start = self.dev.ledger, self.dev.deployment.deployed_at_block
        rated = [
            (
                "0x" + log["args"]["answerId"].hex(),
                log["args"]["rating"],
                log["args"]["advocate"],
                log["transactionHash"],
            )
            for log in ledger.events.AnswerRated.get_logs(from_block=start)
        ]
        store = EmbeddedStore(self.oracle.settings.data_dir / "content")
        for log in ledger.events.RatingBatchAnchored.get_logs(from_block=start):
            manifest = RatingManifest.from_bytes(store.get(cid_from_digest(log["args"]["manifestDigest"])))
            rated += [
                ("0x" + leaf.answer_id.hex(), leaf.rating, leaf.advocate, log["transactionHash"])
                for leaf in manifest.leaves
            ]
        return [(answer, rating, advocate, "0x" + bytes(tx).hex()) for answer, rating, advocate, tx in rated]

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def sign_in(self, account: LocalAccount) -> str:
        """A session token for `account`, through POST /auth/nonce and /auth/siwe."""
        nonce = self.client.post("/api/v1/auth/nonce").json()
        message = siwe_message(account.address, nonce["nonce"], self.oracle.context.deployment.chain_id)
        signature = account.sign_message(encode_defunct(text=message.text())).signature.hex()
        response = self.client.post(
            "/api/v1/auth/siwe", json={"message": message.text(), "signature": "0x" + signature.removeprefix("0x")}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def deliver(self, brand_id: int, kind: str, event_id: str, ticket: str, **data: object) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = generic_body(kind, event_id, ticket, now, **data)
        response = self.client.post(
            f"/api/v1/webhooks/{brand_id}/generic",
            content=body,
            headers=generic_headers(SECRET, body, brand_id=brand_id),
        )
        assert response.status_code == 200, response.text

    def earn(self, advocate: str) -> int:
        """A new ticket answered by `advocate` (through the webhook: they pay no gas) and solved, so
        they earn its bounty; returns what the ledger holds for them in the brand's token."""
        ticket = f"EARN-{uuid.uuid4().hex[:12]}"
        brand = self.dev.brand_id
        opened = {"subject": "Fees?", "body": "Why?", "tags": ["staking"], "requester_id": f"cust-{ticket}"}
        self.deliver(brand, "ticket_created", f"{ticket}-open", ticket, **opened)
        answer = {"comment_id": "c1", "author_id": "adv", "author_wallet": advocate, "body": "Because.", "public": True}
        self.deliver(brand, "comment_added", f"{ticket}-c1", ticket, **answer)
        self.deliver(brand, "ticket_solved", f"{ticket}-solved", ticket, solved_by_comment_id="c1")
        self.drain()
        return int(self.dev.ledger.functions.earnings(advocate, self.dev.token.address).call())

    def drain(self) -> None:
        wait_until_drained(self.dev, self.oracle.database, timeout_s=120)

    def drain_for_an_epoch(self) -> None:
        """Drain, then mine a block a second after the latest and wait until it is indexed: every
        event so far is then before the cut `latest_complete_cut` gives (a second before the indexed
        head's time). Without it, the events mined in the head's second fall after the cut and out
        of the epoch: often all of them but the first second's, and then advocate 0 has no score."""
        self.drain()
        self.dev.rpc("evm_mine", self.dev.w3.eth.get_block("latest")["timestamp"] + 1)
        self.drain()


def siwe_message(address: str, nonce: str, chain_id: int, **changes: object) -> SiweMessage:
    fields: dict[str, object] = {
        "domain": DOMAIN,
        "address": address,
        "statement": "Sign in to PeerCare.",
        "uri": f"http://{DOMAIN}/",
        "chain_id": chain_id,
        "nonce": nonce,
        "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    fields.update(changes)
    return SiweMessage(**fields)  # type: ignore[arg-type]


@contextmanager
def running_world(tmp_path_factory: pytest.TempPathFactory, port: int, suite: str, **settings: Any) -> Iterator[World]:
    """A world on its own chain at 127.0.0.1:`port`, stopped (workers, then chain) on exit;
    `settings` change the oracle's `Settings`."""
    chain, dev = start_dev_ledger(tmp_path_factory.mktemp("chain"), port, f"peercare-{suite}-test-{port}")
    try:
        built = build_world(dev, tmp_path_factory.mktemp("data"), **settings)
        try:
            yield built
        finally:
            built.client.close()
            built.oracle.stop_workers()
    finally:
        chain.stop()


def build_world(dev: DevLedger, data_dir: Path, **overrides: Any) -> World:
    roots = dev.roots
    role = roots.functions.REPUTATION_ORACLE_ROLE().call()
    transact(dev.w3, dev_account(DEPLOYER), roots.functions.grantRole(role, dev.oracle.address))
    brand2 = register_funded_brand(
        dev.w3,
        dev.deployment,
        admin=dev_account(BRAND_ADMIN),
        oracle=dev.oracle.address,
        funds=10**24,
        minter=dev_account(DEPLOYER),
    )
    settings = Settings(
        data_dir=data_dir,
        rpc_url=dev.url,
        deployment_file=dev.deployment_file,
        confirmations=0,
        batch_max_age_s=0.2,
        api_domains=DOMAIN,
        api_rate_per_s=10_000,
        api_burst=10_000,
        **overrides,
    )
    oracle = Oracle(settings, dev.deployment)
    serve_cardano_brand(oracle.database, dev.brand_id, batch_experts={"agent-7": dev_account(7).address})
    serve_cardano_brand(oracle.database, brand2)
    oracle.start_workers()
    world = World(dev, oracle, TestClient(oracle.app), brand2_id=brand2)
    rng = random.Random(7)
    for brand_id, tickets in ((dev.brand_id, range(TICKETS)), (brand2, range(100, 102))):
        for n in tickets:
            for delivery in ticket_history(n, rng):
                world.deliver(brand_id, delivery.kind, delivery.event_id, delivery.ticket, **delivery.data)
    world.drain_for_an_epoch()
    with Rpc(dev.url) as rpc:
        epoch = publish_epoch(
            oracle.database,
            dev.deployment,
            oracle.context.public_store,
            rpc,
            epoch=1,
            cut=latest_complete_cut(oracle.database, rpc),
        )
    with oracle.database.read() as session:
        last = session.scalar(select(func.max(ix.Acceptance.block_time)))
    assert last is not None and epoch.cut >= last, f"epoch 1 (cut {epoch.cut}) leaves out acceptances (until {last})"
    dev.rpc("evm_mine")
    world.drain()
    with oracle.database.transaction() as session:
        for brand_id in (dev.brand_id, brand2):
            world.brand_keys[brand_id] = create_api_key(session, KeyRole.BRAND, brand_id, f"brand {brand_id}")[1]
        world.auditor_key = create_api_key(session, KeyRole.AUDITOR, None, "auditor")[1]
        world.auditor_key_brand2 = create_api_key(session, KeyRole.AUDITOR, brand2, "auditor of brand 2")[1]
    for account in ADVOCATES[:2]:
        world.advocate_tokens[account.address] = world.sign_in(account)
    return world

"""The demo brand, set up idempotently: found by name in the oracle's database or registered on the
local chain (anvil #2 its admin, the oracle's signer its oracle); its topics, bounties and answer
window configured and its generic webhook secret kept or created in the oracle's database (as
`peercare oracle brand` and `peercare oracle webhook` do); its pool topped up to the bounties of the
questions not posted yet."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from peercare.chain.devnet import BRAND_ADMIN, DEPLOYER, dev_account, register_funded_brand, transact
from peercare.db.tables.oracle import Brand, Question, WebhookCredential
from peercare.demo.connection import Connection
from peercare.demo.errors import DemoError
from peercare.demo.plan import DEFAULT_BOUNTY, DEFAULT_TOPIC, SOURCE, TOPIC_BOUNTY, Plan
from peercare.oracle.brands import configure_brand

ANSWER_WINDOW_S = 30 * 86_400  # long enough for any replay: acceptances must come before it ends


def brand_name(site: str) -> str:
    return f"{site} (Stack Exchange demo)"


@dataclass(frozen=True)
class BrandSetup:
    brand_id: int
    secret: str
    registered: bool  # now, by this run
    deposited: int  # tokens (wei) added to the pool by this run


def set_up_brand(conn: Connection, plan: Plan) -> BrandSetup:
    """Find or register the demo brand, configure it in the oracle, fund its pool. Idempotent."""
    name = brand_name(plan.site)
    ledger = conn.deployment.contract(conn.w3, "PeerCareLedger")
    admin = dev_account(BRAND_ADMIN)
    with conn.database.read() as session:
        brand_id = session.scalar(select(Brand.id).where(Brand.name == name).order_by(Brand.id).limit(1))
    registered = brand_id is None
    if brand_id is None:
        brand_id = register_funded_brand(
            conn.w3, conn.deployment, admin=admin, oracle=conn.oracle_address, funds=0, minter=dev_account(DEPLOYER)
        )
    else:
        _check_brand_on_chain(ledger, brand_id, admin.address, conn.oracle_address)
    with conn.database.transaction() as session:
        configure_brand(
            session,
            brand_id,
            name,
            default_topic=DEFAULT_TOPIC,
            topics=plan.topics,
            default_bounty=DEFAULT_BOUNTY,
            bounty_by_tag=dict.fromkeys(plan.topics, TOPIC_BOUNTY),
            answer_window_s=ANSWER_WINDOW_S,
        )
        credential = session.get(WebhookCredential, (brand_id, SOURCE))
        if credential is None:
            credential = WebhookCredential(brand_id=brand_id, source=SOURCE, secret=secrets.token_urlsafe(32))
            session.add(credential)
        secret = credential.secret
    return BrandSetup(brand_id, secret, registered, _fund(conn, plan, brand_id))


def _check_brand_on_chain(ledger: Any, brand_id: int, admin: str, oracle: str) -> None:
    try:
        on_chain_admin = ledger.functions.brand(brand_id).call()[0]
    except Exception:
        raise DemoError(
            f"the oracle's database configures brand {brand_id} for the demo, but the chain has no such brand: "
            "was the chain reset without the database? Use a fresh PEERCARE_DATA_DIR"
        ) from None
    if on_chain_admin != admin or not ledger.functions.isBrandOracle(brand_id, oracle).call():
        raise DemoError(
            f"brand {brand_id} on chain is not the demo's (admin {on_chain_admin}, expected {admin} with oracle "
            f"{oracle}): rename or remove brand {brand_id} in the oracle's database"
        )


def _fund(conn: Connection, plan: Plan, brand_id: int) -> int:
    """Deposit what the pool lacks for the bounties of the plan's questions not posted yet."""
    with conn.database.read() as session:
        posted = set(
            session.scalars(select(Question.ticket_id).where(Question.brand_id == brand_id, Question.source == SOURCE))
        )
    needed = sum(plan.bounty_of(t) for t in plan.tickets if t.ticket_id not in posted)
    ledger = conn.deployment.contract(conn.w3, "PeerCareLedger")
    available = int(ledger.functions.pool(brand_id).call()[0])
    missing = needed - available
    if missing <= 0:
        return 0
    token = conn.deployment.contract(conn.w3, "PeerCareToken")
    admin = dev_account(BRAND_ADMIN)
    transact(conn.w3, dev_account(DEPLOYER), token.functions.mint(admin.address, missing))
    transact(conn.w3, admin, token.functions.approve(ledger.address, missing))
    transact(conn.w3, admin, ledger.functions.deposit(brand_id, missing))
    return missing

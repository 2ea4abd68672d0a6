"""`peercare oracle ...`: run the oracle and configure the brands it serves."""

from __future__ import annotations

import hashlib
import logging
import secrets
import sys
import time
from decimal import Decimal, InvalidOperation

import click
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import ContractCustomError, Web3Exception

from peercare.chain.deployment import Deployment, DeploymentError
from peercare.config import Settings
from peercare.content.errors import StoreUnavailable
from peercare.content.vault import Vault
from peercare.db.database import Database
from peercare.db.tables.oracle import DEFAULT_MAX_OFFER_ROUNDS, DEFAULT_OFFER_WINDOW_S, Brand, WebhookCredential
from peercare.oracle.brands import MAX_OFFER_ROUNDS, BrandConfigError, configure_brand
from peercare.oracle.deliveries.queue import set_channel
from peercare.oracle.erasure import ErasureRefused, erase_customer
from peercare.oracle.webhooks import SOURCES


def _amount(text: str, decimals: int) -> int:
    """Whole tokens on the command line ("12.5") in the token's smallest units."""
    try:
        value = Decimal(text) * 10**decimals
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a number of tokens") from None
    if value < 0 or value != value.to_integral_value():
        raise click.BadParameter(f"{text!r} must be a non-negative amount with at most {decimals} decimals")
    return int(value)


def _token_decimals(settings: Settings, brand_id: int) -> int:
    """`decimals()` of the token brand `brand_id` pays in, read from the ledger (6 for a USD
    stablecoin, 18 for the demo token): bounties are given in whole tokens."""
    try:
        deployment = Deployment.load(settings.deployment_path)
        w3 = Web3(Web3.HTTPProvider(settings.effective_rpc_url, request_kwargs={"timeout": 10}))
        try:
            token = deployment.contract(w3, "PeerCareLedger").functions.brand(brand_id).call()[1]
        except ContractCustomError:  # UnknownBrand
            raise click.UsageError(f"brand {brand_id} is not registered on the ledger") from None
        (decimals,) = w3.codec.decode(["uint8"], w3.eth.call({"to": token, "data": HexStr("0x313ce567")}))
    except (DeploymentError, OSError, ValueError, Web3Exception) as exc:
        raise click.UsageError(
            f"could not read brand {brand_id}'s token from the chain ({exc}): pass --decimals"
        ) from None
    return int(decimals)


def _open_database(settings: Settings) -> Database:
    database = Database(settings.effective_database_url)
    database.migrate()
    return database


@click.group()
def oracle() -> None:
    """The oracle: ticketing webhooks in, ledger transactions out."""


@oracle.command("run")
def run() -> None:
    """Serve webhooks and run the processor, signer and indexer until Ctrl-C.

    Settings come from PEERCARE_* environment variables (see README); the contracts from the
    deployment manifest written by `peercare chain up`."""
    from peercare.oracle.account import OracleConfigError
    from peercare.oracle.leadership import OracleRefused, lock_sqlite_database
    from peercare.oracle.signer import SignerError
    from peercare.runtime import Oracle, WorkerStopped

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per RPC call otherwise
    settings = Settings()
    try:
        lock_sqlite_database(settings.effective_database_url)  # SQLite: one oracle per database, checked first
        deployment = Deployment.load(settings.deployment_path)
        problems = deployment.check_live(Web3(Web3.HTTPProvider(settings.effective_rpc_url)))
        if problems:
            raise DeploymentError("; ".join(problems))
        service = Oracle(settings, deployment)
    except (DeploymentError, OracleConfigError, OracleRefused) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"oracle signer {service.account.address}; database {settings.effective_database_url.split('://')[0]}")
    click.echo(f"webhooks: http://{settings.api_host}:{settings.api_port}/api/v1/webhooks/<brand_id>/<source>")
    try:
        service.serve()
    except (SignerError, WorkerStopped) as exc:  # e.g. the node serves another chain than the signer's
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@oracle.command("brand")
@click.argument("brand_id", type=click.IntRange(1, 2**64 - 1))
@click.option("--name", required=True, help="Display name.")
@click.option("--default-topic", default="general", show_default=True, help="Topic of tickets with no topic tag.")
@click.option("--topic", "topics", multiple=True, help="A ticket tag that is a topic (repeatable).")
@click.option("--bounty", default="0", show_default=True, help="Default bounty per question, in tokens.")
@click.option("--tag-bounty", multiple=True, metavar="TAG=TOKENS", help="Bounty for tickets with this tag.")
@click.option("--answer-window-days", default=7.0, show_default=True, type=click.FloatRange(min=0.001))
@click.option("--expert", multiple=True, metavar="AGENT_ID=WALLET", help="A brand expert's agent id and wallet.")
@click.option(
    "--offer-window-minutes",
    default=DEFAULT_OFFER_WINDOW_S / 60,
    show_default=True,
    type=click.FloatRange(min=1),
    help="How long an offer waits for its advocate before it moves on.",
)
@click.option(
    "--max-offer-rounds",
    default=DEFAULT_MAX_OFFER_ROUNDS,
    show_default=True,
    type=click.IntRange(0, MAX_OFFER_ROUNDS),
    help="Rounds of direct offers before a question no one took is offered to a swarm.",
)
@click.option(
    "--decimals",
    type=click.IntRange(0, 36),
    help="Decimals of the brand's token (read from the chain when omitted; 6 for USDC).",
)
def brand(
    brand_id: int,
    name: str,
    default_topic: str,
    topics: tuple[str, ...],
    bounty: str,
    tag_bounty: tuple[str, ...],
    answer_window_days: float,
    expert: tuple[str, ...],
    offer_window_minutes: float,
    max_offer_rounds: int,
    decimals: int | None,
) -> None:
    """Configure (or reconfigure) brand BRAND_ID, already registered on the ledger. Bounties are
    in whole tokens of the brand's token."""
    settings = Settings()
    if decimals is None:
        decimals = _token_decimals(settings, brand_id)
    bounty_by_tag = {}
    for item in tag_bounty:
        tag, _, tokens = item.partition("=")
        bounty_by_tag[tag] = _amount(tokens, decimals)
    experts = {}
    for item in expert:
        agent, _, wallet = item.partition("=")
        if not Web3.is_address(wallet):
            raise click.BadParameter(f"{wallet!r} is not an address", param_hint="--expert")
        experts[agent] = Web3.to_checksum_address(wallet)
    database = _open_database(settings)
    try:
        with database.transaction() as session:
            configure_brand(
                session,
                brand_id,
                name,
                default_topic=default_topic,
                topics=topics,
                default_bounty=_amount(bounty, decimals),
                bounty_by_tag=bounty_by_tag,
                answer_window_s=int(answer_window_days * 86400),
                experts=experts,
                offer_window_s=int(offer_window_minutes * 60),
                max_offer_rounds=max_offer_rounds,
            )
    except BrandConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"brand {brand_id} ({name}) configured")


@oracle.command("webhook")
@click.argument("brand_id", type=click.IntRange(1, 2**64 - 1))
@click.argument("source", type=click.Choice(SOURCES))
@click.option("--secret", help="Use this secret instead of a generated one (e.g. Zendesk's signing secret).")
def webhook(brand_id: int, source: str, secret: str | None) -> None:
    """Create or rotate the credentials of brand BRAND_ID's SOURCE webhook; prints them once."""
    database = _open_database(Settings())
    secret = secret or secrets.token_urlsafe(32)
    username = password = None
    if source == "freshdesk":
        username, password = f"brand-{brand_id}", secrets.token_urlsafe(24)
    with database.transaction() as session:
        if session.get(Brand, brand_id) is None:
            raise click.UsageError(f"brand {brand_id} is not configured: run `peercare oracle brand {brand_id}` first")
        row = session.get(WebhookCredential, (brand_id, source)) or WebhookCredential(brand_id=brand_id, source=source)
        row.secret = secret
        row.basic_username = username
        row.basic_password_sha256 = hashlib.sha256(password.encode()).hexdigest() if password else None
        session.add(row)
    click.echo(f"endpoint: POST /api/v1/webhooks/{brand_id}/{source}")
    click.echo(f"{'token (X-PeerCare-Token)' if source == 'freshdesk' else 'signing secret'}: {secret}")
    if password:
        click.echo(f"basic auth: {username} / {password}")
    click.echo("these are shown once; run this again to rotate them")


@oracle.command("channel")
@click.argument("brand_id", type=click.IntRange(1, 2**64 - 1))
@click.argument("source", type=click.Choice(SOURCES))
@click.option(
    "--url", "base_url", required=True, help="generic: the receiving URL; zendesk/freshdesk: the account URL."
)
@click.option("--username", help="zendesk: the email of the agent the API token belongs to.")
@click.option(
    "--secret", prompt=True, hide_input=True, help="generic: HMAC secret; zendesk: API token; freshdesk: API key."
)
def channel(brand_id: int, source: str, base_url: str, username: str | None, secret: str) -> None:
    """Tell brand BRAND_ID's SOURCE ticketing system about offers and answers (docs/webhooks.md, Outbound)."""
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r} is not an http(s) URL", param_hint="--url")
    if source == "zendesk" and not username:
        raise click.BadParameter(
            "zendesk's API token authenticates as an agent: give the agent's email", param_hint="--username"
        )
    if len(secret) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="--secret")
    database = _open_database(Settings())
    with database.transaction() as session:
        if session.get(Brand, brand_id) is None:
            raise click.UsageError(f"brand {brand_id} is not configured: run `peercare oracle brand {brand_id}` first")
        set_channel(
            session,
            brand_id,
            source,
            base_url=base_url.rstrip("/"),
            secret=secret,
            username=username if source == "zendesk" else None,
            now_ms=int(time.time() * 1000),
        )
    click.echo(f"brand {brand_id}: offers and answers are now told to {source} at {base_url.rstrip('/')}")


@oracle.command("erase-customer")
@click.argument("brand_id", type=click.IntRange(1, 2**64 - 1))
@click.argument("source", type=click.Choice(SOURCES))
@click.argument("customer_id")
@click.option("--by", "erased_by", required=True, help="Who asked for the erasure (recorded; e.g. the DPO's email).")
@click.option("--reason", required=True, help="Why (recorded; e.g. the request's reference).")
def erase_customer_command(brand_id: int, source: str, customer_id: str, erased_by: str, reason: str) -> None:
    """Erase CUSTOMER_ID (their id in brand BRAND_ID's SOURCE system): their pseudonym's link, their
    tickets' conversations and the stored events of those tickets (docs/privacy.md)."""
    settings = Settings()
    database = _open_database(settings)
    vault = Vault.open(settings.data_dir, ipfs_api_url=settings.ipfs_api_url)
    try:
        done = erase_customer(database, vault, brand_id, source, customer_id, erased_by=erased_by, reason=reason)
    except ErasureRefused as exc:
        raise click.UsageError(str(exc)) from None
    except StoreUnavailable as exc:
        click.echo(f"keys destroyed, but a store could not unpin: {exc}; run this again to finish", err=True)
        sys.exit(1)
    finally:
        vault.close()
    pseudonym = "they never rated: no pseudonym" if done.pseudonym is None else f"pseudonym {done.pseudonym.pseudonym}"
    click.echo(
        f"erased: {pseudonym} unlinked; {done.conversations} conversation(s) of {done.tickets} ticket(s) destroyed; "
        f"{done.events} stored event(s) emptied"
    )

"""`peercare api ...`: API keys for brands and auditors (advocates sign in with their wallet)."""

from __future__ import annotations

import time

import click
from sqlalchemy import select

from peercare.api.security import create_api_key
from peercare.config import Settings
from peercare.db.database import Database
from peercare.db.tables.api import ApiKey, KeyRole
from peercare.db.tables.oracle import Brand


def _database() -> Database:
    database = Database(Settings().effective_database_url)
    database.migrate()
    return database


@click.group()
def api() -> None:
    """The HTTP API (served by `peercare oracle run`): its API keys."""


@api.group()
def key() -> None:
    """Create, list and revoke API keys."""


@key.command("create")
@click.option("--brand", "brand_id", type=click.IntRange(1, 2**64 - 1), help="The brand the key is for.")
@click.option("--auditor", is_flag=True, help="A read-only auditor key (of --brand only, or of every brand).")
@click.option("--label", default="", help="A note saying who holds the key.")
def create(brand_id: int | None, auditor: bool, label: str) -> None:
    """Create a key and print it once (only its SHA-256 is stored)."""
    role = KeyRole.AUDITOR if auditor else KeyRole.BRAND
    if role is KeyRole.BRAND and brand_id is None:
        raise click.UsageError("a brand key needs --brand ID (or pass --auditor for an auditor key)")
    database = _database()
    with database.transaction() as session:
        if brand_id is not None and session.get(Brand, brand_id) is None:
            raise click.UsageError(f"brand {brand_id} is not configured: run `peercare oracle brand {brand_id}` first")
        row, token = create_api_key(session, role, brand_id, label)
        scope = f"brand {brand_id}" if brand_id is not None else "every brand"
        click.echo(f"{role.value} key {row.prefix} for {scope}: {token}")
    click.echo("shown once: store it now (send it as 'Authorization: Bearer <key>')")


@key.command("list")
def list_keys() -> None:
    """Every key: prefix, role, brand, label, created, revoked (never the secrets)."""
    database = _database()
    with database.read() as session:
        rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
    if not rows:
        click.echo("no API keys; create one with `peercare api key create --brand ID`")
    for row in rows:
        revoked = f"revoked {_when(row.revoked_at_ms)}" if row.revoked_at_ms else "active"
        brand = row.brand_id if row.brand_id is not None else "*"
        click.echo(
            f"{row.prefix}  {row.role:8} brand {brand!s:5} {revoked:28} created {_when(row.created_at_ms)}  {row.label}"
        )


@key.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke the key with this PREFIX (the part after 'pc_'); it stops working at once."""
    database = _database()
    with database.transaction() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix.removeprefix("pc_"))).first()
        if row is None:
            raise click.UsageError(f"no API key with prefix {prefix!r}")
        if row.revoked_at_ms is None:
            row.revoked_at_ms = int(time.time() * 1000)
    click.echo(f"key {row.prefix} revoked")


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime((ms or 0) / 1000))

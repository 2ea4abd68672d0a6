"""`peercare audit verify [--brand ID] [--json]`: check the public history from the chain and the
content store alone (see `peercare.audit.verify` and docs/audit.md).

Settings come from the environment like every `peercare` command: PEERCARE_RPC_URL (or the local
chain), PEERCARE_DEPLOYMENT_FILE, PEERCARE_DATA_DIR (embedded content store and key store),
PEERCARE_IPFS_API_URL, and PEERCARE_DATABASE_URL (or DATA_DIR/oracle.sqlite3, if it exists): the
oracle's database, which is only compared with the chain. Exit status: 0 when everything checks
out, 1 on any finding, 2 when the audit cannot run (bad option, chain or store unreachable).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from peercare.audit.verify import AuditError, AuditReport, run_audit
from peercare.chain.deployment import Deployment, DeploymentError
from peercare.chain.rpc import Rpc, RpcError, RpcUnavailable, redact_url
from peercare.config import Settings
from peercare.content.errors import ContentError
from peercare.content.vault import Vault
from peercare.db.database import Database, sqlite_url
from peercare.oracle.indexer import IndexerError

#: Exit status when the audit found something wrong, and when it could not run.
EXIT_FINDINGS = 1
EXIT_CANNOT_RUN = 2
_FAILURES = (AuditError, DeploymentError, ContentError, RpcError, RpcUnavailable, IndexerError, SQLAlchemyError)


class CannotAudit(click.ClickException):
    """The audit could not run: printed as one line, exit status 2 (as click's usage errors)."""

    exit_code = EXIT_CANNOT_RUN


@click.group()
def audit() -> None:
    """Audit the public history from the chain and the content store, trusting no oracle database."""


@audit.command("verify")
@click.option(
    "--brand", "brand_id", type=click.IntRange(1, 2**63 - 1), help="Check this brand only (default: every brand)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
@click.option(
    "--scratch-database",
    help="An empty database URL to index the chain into (default: a temporary SQLite file, removed afterwards).",
)
def verify_command(brand_id: int | None, as_json: bool, scratch_database: str | None) -> None:
    """Index the chain from the deployment block into a scratch database and check every answer's
    content, every batch proof, every payout and pool, and every reputation root; then compare the
    oracle's database, if there is one, with the chain. Progress goes to standard error; the report
    to standard output. Exit 0 when everything checks out, 1 on any finding, 2 if it cannot run."""
    settings = Settings()
    started = time.monotonic()
    report = _audit(settings, brand_id, scratch_database)
    report.seconds = time.monotonic() - started
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.text())
    if not report.ok:
        sys.exit(EXIT_FINDINGS)


def _audit(settings: Settings, brand_id: int | None, scratch_url: str | None) -> AuditReport:
    def progress(line: str) -> None:
        click.echo(line, err=True)

    try:
        deployment = Deployment.load(settings.deployment_path)
        content_dir = settings.data_dir / "content"
        if not content_dir.is_dir() and not settings.ipfs_api_url:
            raise AuditError(
                f"no content store: {content_dir} does not exist and PEERCARE_IPFS_API_URL is not set "
                "(set PEERCARE_DATA_DIR to the data folder, or name an IPFS node)"
            )
        database_url = _oracle_database_url(settings)
        sources = {
            "rpc": redact_url(settings.effective_rpc_url),
            "content": [f"embedded {content_dir}"]
            + ([f"ipfs {redact_url(settings.ipfs_api_url)}"] if settings.ipfs_api_url else []),
            "database": None if database_url is None else make_url(database_url).render_as_string(hide_password=True),
        }
        with tempfile.TemporaryDirectory(prefix="peercare-audit-") as folder:
            scratch = Database(scratch_url or sqlite_url(Path(folder) / "index.sqlite3"))
            oracle_database = None if database_url is None else Database(database_url)
            vault = Vault.open(settings.data_dir, ipfs_api_url=settings.ipfs_api_url)
            rpc = Rpc(settings.effective_rpc_url, timeout_s=settings.rpc_timeout_s, max_attempts=3)
            try:
                scratch.migrate()
                return run_audit(
                    rpc,
                    deployment,
                    vault,
                    scratch,
                    oracle_database=oracle_database,
                    brand_id=brand_id,
                    sources=sources,
                    progress=progress,
                )
            finally:
                rpc.close()
                vault.close()
                scratch.dispose()
                if oracle_database is not None:
                    oracle_database.dispose()
    except _FAILURES as err:
        raise CannotAudit(str(err) or err.__class__.__name__) from err


def _oracle_database_url(settings: Settings) -> str | None:
    """The oracle's database if there is one: PEERCARE_DATABASE_URL, else DATA_DIR/oracle.sqlite3 if
    that file exists (never created here)."""
    if settings.database_url:
        return settings.database_url
    path = settings.data_dir / "oracle.sqlite3"
    return sqlite_url(path) if path.is_file() else None


if __name__ == "__main__":
    audit()

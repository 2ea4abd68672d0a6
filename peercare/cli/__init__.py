"""The `peercare` command."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from web3 import Web3

from peercare.chain.deploy import ensure_deployed, register_brownie_network
from peercare.chain.deployment import Deployment, DeploymentError
from peercare.chain.local import ChainError, LocalChain
from peercare.cli.api import api
from peercare.cli.audit import audit
from peercare.cli.content import cid
from peercare.cli.demo import demo
from peercare.cli.oracle import oracle
from peercare.cli.reputation import reputation
from peercare.cli.routing import routing
from peercare.config import Settings


@click.group()
def main() -> None:
    """PeerCare: peer-to-peer customer care on a public ledger."""


main.add_command(cid)
main.add_command(routing)
main.add_command(reputation)
main.add_command(oracle)
main.add_command(api)
main.add_command(audit)
main.add_command(demo)


@main.group()
def chain() -> None:
    """The chain the ledger lives on."""


@contextmanager
def running_chain(settings: Settings) -> Iterator[tuple[Deployment, LocalChain | None]]:
    """The chain (anvil with its state on disk, unless PEERCARE_RPC_URL names one) with the
    contracts deployed on first start; a local chain is stopped, its state saved, on exit."""
    local = None if settings.rpc_url else LocalChain(settings)
    try:
        if local is not None:
            click.echo(f"starting anvil at {settings.local_rpc_url} (state in {local.state_file})")
            local.start()
            register_brownie_network(settings.brownie_network, settings.chain_port)  # deploy to this port
        w3 = Web3(Web3.HTTPProvider(settings.effective_rpc_url))
        deployment, fresh = ensure_deployed(settings, w3, echo=click.echo)
        click.echo(f"chain {deployment.chain_id} at {settings.effective_rpc_url}, block {w3.eth.block_number}")
        click.echo(
            f"contracts {'deployed now' if fresh else 'already deployed'} (manifest {settings.deployment_path}):"
        )
        for name, entry in deployment.contracts.items():
            click.echo(f"  {name:16} {entry.address}")
        yield deployment, local
    finally:
        if local is not None:
            click.echo("stopping the chain (saving its state)")
            local.stop()


@chain.command("up")
def chain_up() -> None:
    """Start the local chain (state kept in PEERCARE_DATA_DIR), deploy the contracts on first
    start, print their addresses, and run until Ctrl-C."""
    settings = Settings()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with running_chain(settings) as (_, local):
            if local is None:
                return
            click.echo("running; Ctrl-C stops the chain and keeps its state")
            while not stop.wait(1.0):
                if local.process is not None and local.process.poll() is not None:
                    raise ChainError(f"anvil exited with code {local.process.returncode}; see {local.log_file}")
    except (ChainError, DeploymentError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@main.command("up")
def up() -> None:
    """Start everything on this machine: the chain (state on disk), the contracts (deployed on
    first start), the oracle and the HTTP API, all under PEERCARE_DATA_DIR; Ctrl-C stops them all.

    With PEERCARE_RPC_URL, PEERCARE_IPFS_API_URL and PEERCARE_DATABASE_URL it uses that chain,
    IPFS node and database instead of the embedded ones."""
    from peercare.oracle.account import OracleConfigError
    from peercare.oracle.leadership import OracleRefused, lock_sqlite_database
    from peercare.oracle.signer import SignerError
    from peercare.runtime import Oracle, WorkerStopped

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings()
    try:
        lock_sqlite_database(settings.effective_database_url)  # SQLite: a second oracle is refused before the chain
        with running_chain(settings) as (deployment, _):
            service = Oracle(settings, deployment)
            base = f"http://{settings.api_host}:{settings.api_port}"
            click.echo(
                f"data in {settings.data_dir.resolve()}; database {settings.effective_database_url.split(':')[0]}"
            )
            click.echo(f"API  {base}/api/v1   docs {base}/docs   health {base}/api/v1/health")
            click.echo(f"web  {base}/advocate   {base}/auditor")
            service.serve(on_listening=lambda: click.echo("running; Ctrl-C stops everything and keeps its state"))
    except (ChainError, DeploymentError, OracleConfigError, OracleRefused, SignerError, WorkerStopped) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

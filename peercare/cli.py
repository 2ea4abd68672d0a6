"""The `peercare` command."""

from __future__ import annotations

import signal
import sys
import threading

import click
from web3 import Web3

from peercare.api.cli import api
from peercare.chain.deploy import ensure_deployed
from peercare.chain.local import ChainError, LocalChain
from peercare.config import Settings
from peercare.content.cli import cid
from peercare.deployment import DeploymentError
from peercare.oracle.cli import oracle
from peercare.reputation.cli import reputation
from peercare.routing.cli import routing


@click.group()
def main() -> None:
    """PeerCare: peer-to-peer customer care on a public ledger."""


main.add_command(cid)
main.add_command(routing)
main.add_command(reputation)
main.add_command(oracle)
main.add_command(api)


@main.group()
def chain() -> None:
    """The chain the ledger lives on."""


@chain.command("up")
def chain_up() -> None:
    """Start the local chain (state kept in PEERCARE_DATA_DIR), deploy the contracts on first
    start, print their addresses, and run until Ctrl-C."""
    settings = Settings()
    local = None if settings.rpc_url else LocalChain(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if local is not None:
            click.echo(f"starting anvil at {settings.local_rpc_url} (state in {local.state_file})")
            local.start()
        w3 = Web3(Web3.HTTPProvider(settings.effective_rpc_url))
        deployment, fresh = ensure_deployed(settings, w3, echo=click.echo)
        click.echo(f"chain {deployment.chain_id} at {settings.effective_rpc_url}, block {w3.eth.block_number}")
        click.echo(
            f"contracts {'deployed now' if fresh else 'already deployed'} (manifest {settings.deployment_path}):"
        )
        for name, entry in deployment.contracts.items():
            click.echo(f"  {name:16} {entry.address}")
        if local is None:
            return
        click.echo("running; Ctrl-C stops the chain and keeps its state")
        while not stop.wait(1.0):
            if local.process is not None and local.process.poll() is not None:
                raise ChainError(f"anvil exited with code {local.process.returncode}; see {local.log_file}")
    except (ChainError, DeploymentError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        if local is not None:
            click.echo("stopping the chain (saving its state)")
            local.stop()


if __name__ == "__main__":
    main()

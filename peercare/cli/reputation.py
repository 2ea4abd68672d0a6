"""`peercare reputation verify|prove|publish|recompute`: epochs from manifest to chain and back.

`verify` and `prove` need nothing but the manifest (from the content store, addressed by the
`manifestDigest` of `ReputationRootPublished`): an auditor checks that its tree is sound and
compares the root with the chain's; an advocate takes the proof to `IReputationRoots.verifyScore`.
`publish` queues an epoch built from the oracle's index for the running oracle's signer to send;
`recompute` checks a published epoch from the chain and the content store alone.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import click
from eth_utils.address import to_checksum_address

from peercare.chain.deployment import Deployment, DeploymentError
from peercare.chain.rpc import Rpc, RpcError, RpcUnavailable
from peercare.config import Settings
from peercare.content.embedded import EmbeddedStore
from peercare.content.errors import ContentError
from peercare.core.ledger_ids import reputation_topic, short_string
from peercare.db.database import Database, sqlite_url
from peercare.oracle.account import OracleConfigError, oracle_account
from peercare.reputation.epoch import EpochError, verify_manifest
from peercare.reputation.publication import (
    PublicationError,
    holds_publisher_role,
    latest_complete_cut,
    publish_epoch,
    recompute_epoch,
    roots_contract,
    score_proof,
)
from peercare.reputation.scope import topic_names_in

#: What can go wrong talking to the database, chain or store, shown as a one-line error.
_FAILURES = (PublicationError, EpochError, DeploymentError, ContentError, RpcError, RpcUnavailable)


def parse_topic(text: str) -> bytes:
    """A topic as 0x-prefixed bytes32 hex, or a short label (`bytes32("billing")`)."""
    if text.startswith("0x") and len(text) == 66:
        return bytes.fromhex(text[2:])
    try:
        return short_string(text)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


def _load(file: BinaryIO) -> tuple[dict[str, Any], bytes]:
    try:
        manifest = json.loads(file.read())
        return manifest, verify_manifest(manifest)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise click.ClickException(f"not a JSON manifest: {err}") from err
    except (EpochError, KeyError, TypeError) as err:
        raise click.ClickException(f"invalid manifest: {err}") from err


@click.group()
def reputation() -> None:
    """Reputation epochs: check a manifest, prove a score, publish and recompute an epoch."""


@reputation.command("verify")
@click.argument("manifest", type=click.File("rb"))
@click.option("--root", "expected", help="The root published on-chain for the epoch (0x-hex); must match.")
def verify_command(manifest: BinaryIO, expected: str | None) -> None:
    """Check MANIFEST's tree node by node and print its epoch, leaf count and root."""
    data, root = _load(manifest)
    if expected is not None and expected.lower() != "0x" + root.hex():
        raise click.ClickException(f"the manifest's root 0x{root.hex()} is not the published {expected}")
    click.echo(
        json.dumps(
            {
                "epoch": data["epoch"],
                "cut": data["cut"],
                "leaves": len(data["tree"]["values"]),
                "root": "0x" + root.hex(),
            }
        )
    )


def _leaf_topic(manifest: dict[str, Any], topic: str, brand: int | None) -> bytes:
    """The topic a leaf names: 0x-hex as it is; a label, namespaced by `brand`, or by the one brand
    of the manifest that names it, or (no brand names it: a manifest of labels, format v1) as it is."""
    if topic.startswith("0x") and len(topic) == 66 and brand is None:
        return bytes.fromhex(topic[2:])
    label = parse_topic(topic)
    if brand is not None:
        return reputation_topic(brand, label)
    named = sorted(
        (owner, key) for key, (owner, name) in topic_names_in(manifest).items() if short_string(name) == label
    )
    if not named:
        return label
    if len(named) > 1:
        brands = ", ".join(str(owner) for owner, _ in named)
        raise click.BadParameter(
            f"reputation is per brand and topic: give --brand (brands of the manifest naming {topic!r}: {brands})",
            param_hint="TOPIC",
        )
    return named[0][1]


@reputation.command("prove")
@click.argument("manifest", type=click.File("rb"))
@click.argument("advocate")
@click.argument("topic")
@click.option("--brand", type=click.IntRange(1, 2**64 - 1), help="The brand whose topic TOPIC is (a label).")
def prove_command(manifest: BinaryIO, advocate: str, topic: str, brand: int | None) -> None:
    """Print ADVOCATE's score in TOPIC and its proof, as arguments of `verifyScore`.

    TOPIC is a brand's topic label (with --brand, or the one brand of the manifest that names it)
    or the leaf's topic as 0x-hex."""
    data, root = _load(manifest)
    leaf_topic = _leaf_topic(data, topic, brand)
    try:
        score, proof = score_proof(data, advocate, leaf_topic)
    except EpochError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        json.dumps(
            {
                "epoch": data["epoch"],
                "advocate": to_checksum_address(advocate),
                "topic": "0x" + leaf_topic.hex(),
                "score": str(score),
                "proof": ["0x" + node.hex() for node in proof],
                "root": "0x" + root.hex(),
            }
        )
    )


@reputation.command("publish")
@click.option(
    "--epoch", required=True, type=click.IntRange(1, 2**64 - 1), help="The next epoch: the latest published plus 1."
)
@click.option(
    "--cut",
    type=click.IntRange(min=0),
    help="History cut, unix seconds (block time, inclusive). Default: the latest the oracle's index is complete for.",
)
def publish_command(epoch: int, cut: int | None) -> None:
    """Build epoch EPOCH from the oracle's index, store its manifest and queue `publishRoot`.

    The running oracle's signer sends the queued transaction (`peercare oracle run`)."""
    settings = Settings()
    with _failures_as_errors(), _rpc(settings) as rpc:
        deployment = Deployment.load(settings.deployment_path)
        database = Database(settings.effective_database_url)
        database.migrate()
        store = EmbeddedStore(settings.data_dir / "content")
        try:
            cut = latest_complete_cut(database, rpc) if cut is None else cut
            published = publish_epoch(database, deployment, store, rpc, epoch=epoch, cut=cut)
            _warn_without_role(settings, deployment, rpc)
        finally:
            store.close()
            database.dispose()
    click.echo(
        json.dumps(
            {
                "epoch": published.epoch,
                "cut": published.cut,
                "root": "0x" + published.root.hex(),
                "manifest_cid": published.manifest_cid,
                "leaves": published.leaves,
                "brands": list(published.brands),
                "outbox_id": published.outbox_id,
            }
        )
    )


@reputation.command("recompute")
@click.option("--epoch", required=True, type=click.IntRange(1, 2**64 - 1))
@click.option(
    "--scratch-database",
    help="An empty database URL to index the chain into (default: a temporary SQLite file, removed afterwards).",
)
def recompute_command(epoch: int, scratch_database: str | None) -> None:
    """Recompute epoch EPOCH from the chain and the content store alone; exit 1 unless the root on
    chain, the manifest's root and the recomputed root are equal. Reads nothing of the oracle's."""
    settings = Settings()
    with _failures_as_errors(), tempfile.TemporaryDirectory(prefix="peercare-recompute-") as folder:
        deployment = Deployment.load(settings.deployment_path)
        store = EmbeddedStore(settings.data_dir / "content")
        try:
            result = recompute_epoch(
                settings.effective_rpc_url,
                deployment,
                store,
                epoch=epoch,
                scratch_database_url=scratch_database or sqlite_url(Path(folder) / "index.sqlite3"),
            )
        finally:
            store.close()
    click.echo(json.dumps(result.as_json()))
    if not result.ok:
        click.echo(f"error: {result.message}", err=True)
        sys.exit(1)


@contextmanager
def _failures_as_errors() -> Iterator[None]:
    try:
        yield
    except _FAILURES as err:
        raise click.ClickException(str(err)) from err


@contextmanager
def _rpc(settings: Settings) -> Iterator[Rpc]:
    rpc = Rpc(settings.effective_rpc_url, timeout_s=settings.rpc_timeout_s)
    try:
        yield rpc
    finally:
        rpc.close()


def _warn_without_role(settings: Settings, deployment: Deployment, rpc: Rpc) -> None:
    """The oracle's signer sends the row: say so now if the contract will refuse it."""

    try:
        signer = oracle_account(settings, deployment.chain_id).address
    except OracleConfigError:
        return  # the oracle will not start either, and says why
    if not holds_publisher_role(rpc, roots_contract(deployment), signer):
        click.echo(
            f"warning: the oracle's signer {signer} lacks REPUTATION_ORACLE_ROLE on ReputationRoots: "
            "publishRoot will revert until an admin grants it (grantRole)",
            err=True,
        )

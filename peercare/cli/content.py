"""`peercare cid FILE`: the identifier of a file's bytes, for checking content by hand."""

from __future__ import annotations

from typing import BinaryIO

import click

from peercare.content.cid import MAX_BLOCK_SIZE, compute_cid, digest_from_cid
from peercare.content.errors import ContentTooLarge


@click.command("cid")
@click.argument("file", type=click.File("rb"))
@click.option("--digest", is_flag=True, help="Also print the bytes32 sha2-256 digest the contracts store.")
def cid(file: BinaryIO, digest: bool) -> None:
    """Print the CIDv1 (raw, sha2-256, base32) of FILE's bytes ("-" reads standard input): the
    identifier `ipfs add --cid-version=1` gives it. Files over 262,144 bytes are refused."""
    data = file.read(MAX_BLOCK_SIZE + 1)
    if len(data) > MAX_BLOCK_SIZE:
        size = len(data)
        while chunk := file.read(1 << 20):
            size += len(chunk)
        raise click.ClickException(str(ContentTooLarge(size, MAX_BLOCK_SIZE)))
    identifier = compute_cid(data)
    click.echo(identifier)
    if digest:
        click.echo("0x" + digest_from_cid(identifier).hex())

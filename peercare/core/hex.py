"""Bytes as 0x-prefixed hex text and back: how ids, hashes and roots travel in JSON, logs and the
database (lower-case, as `bytes.hex` writes them)."""

from __future__ import annotations


def unhex(text: str) -> bytes:
    """`0x`-prefixed (or bare) hex text as bytes; ValueError if it is not hex."""
    return bytes.fromhex(text.removeprefix("0x"))


def hexed(value: bytes) -> str:
    """`value` as 0x-prefixed lower-case hex."""
    return "0x" + value.hex()

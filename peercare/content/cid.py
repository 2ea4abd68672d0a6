"""CIDv1, raw codec, sha2-256, base32: the identifier an IPFS node gives a file of one block.

`ipfs add --cid-version=1` (raw leaves) of a file of at most 262,144 bytes (the default chunk size)
stores it as a single raw block whose CID is `b` + base32(0x01 0x55 0x12 0x20 || sha256(bytes)).
Anything larger would be chunked into a dag-pb tree with another identifier, so it is refused here.
The contracts store only the 32-byte digest; the prefix is fixed, so the two convert losslessly.
"""

from __future__ import annotations

import base64
import hashlib

from peercare.content.errors import ContentTooLarge, InvalidCid

#: The largest document stored as one raw block (the IPFS default chunker's size-262144).
MAX_BLOCK_SIZE = 262_144

#: CID version 1, multicodec raw (0x55), multihash sha2-256 (0x12), digest length 32 (0x20).
_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])
_MULTIBASE_BASE32 = "b"
_CID_LENGTH = 59  # "b" + 58 base32 characters for 36 bytes


def check_size(data: bytes) -> None:
    """Refuse a document that does not fit in one raw block."""
    if len(data) > MAX_BLOCK_SIZE:
        raise ContentTooLarge(len(data), MAX_BLOCK_SIZE)


def cid_from_digest(digest: bytes) -> str:
    """The CID for a sha2-256 digest (as stored on-chain in a bytes32)."""
    if len(digest) != 32:
        raise InvalidCid(f"a sha2-256 digest is 32 bytes, got {len(digest)}")
    return _MULTIBASE_BASE32 + base64.b32encode(_PREFIX + digest).decode("ascii").lower().rstrip("=")


def compute_cid(data: bytes) -> str:
    """The CID an IPFS node assigns to `data` (refused if over `MAX_BLOCK_SIZE`)."""
    check_size(data)
    return cid_from_digest(hashlib.sha256(data).digest())


def digest_from_cid(cid: str) -> bytes:
    """The 32-byte sha2-256 digest inside a CIDv1 raw sha2-256 base32 identifier."""
    if not isinstance(cid, str) or len(cid) != _CID_LENGTH or not cid.startswith(_MULTIBASE_BASE32):
        raise InvalidCid(f"not a CIDv1 raw sha2-256 base32 identifier: {cid!r}")
    body = cid[1:]
    if body != body.lower():
        raise InvalidCid(f"base32 CIDs are lower case: {cid!r}")
    try:
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InvalidCid(f"not base32: {cid!r}") from exc
    if raw[:4] != _PREFIX:
        raise InvalidCid(f"{cid!r} is not CIDv1/raw/sha2-256 (prefix {raw[:4].hex()}, expected {_PREFIX.hex()})")
    digest = raw[4:]
    if cid_from_digest(digest) != cid:  # non-canonical trailing bits
        raise InvalidCid(f"non-canonical base32 encoding: {cid!r}")
    return digest


_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def normalise_cid(cid: str) -> str:
    """`cid` in base32 if it is a CIDv1 written in base58btc (`z...`, as js-ipfs prints by default);
    any other string is returned unchanged (and then compares unequal to a base32 CID)."""
    if not cid.startswith("z") or len(cid) < 2:
        return cid
    number = 0
    for char in cid[1:]:
        index = _BASE58_ALPHABET.find(char)
        if index < 0:
            return cid
        number = number * 58 + index
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(raw) != len(_PREFIX) + 32 or raw[:4] != _PREFIX:
        return cid
    return cid_from_digest(raw[4:])


def is_cid(cid: str) -> bool:
    """Whether `cid` is a well-formed identifier of this kind."""
    try:
        digest_from_cid(cid)
    except InvalidCid:
        return False
    return True


def matches(cid: str, data: bytes) -> bool:
    """Whether `data` hashes to `cid` (no size check: a corrupted blob may be any size)."""
    return hashlib.sha256(data).digest() == digest_from_cid(cid)

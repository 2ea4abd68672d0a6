"""Sign-In with Ethereum (EIP-4361): the message format, parsed strictly, and its verification.

The message is plain text a wallet shows and signs with `personal_sign` (EIP-191). The server
checks that it names this service (`domain`, and a `URI` at this service's origin), this chain, a
nonce it handed out and has not seen used, that it is within its validity window, and that the
signature recovers to the address in the message. Contract wallets (ERC-1271) are not supported:
the signer must be the address itself.

The `siwe` package on PyPI pins web3 7 and eth-account 0.13 (older than ours), so the grammar of
the EIP is implemented here, with the EIP's own examples in the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_checksum_address

HEADER = " wants you to sign in with your Ethereum account:"
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_DOMAIN = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<domain>[^\s/?#]+)$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_FIELDS = (
    ("uri", "URI"),
    ("version", "Version"),
    ("chain_id", "Chain ID"),
    ("nonce", "Nonce"),
    ("issued_at", "Issued At"),
    ("expiration_time", "Expiration Time"),
    ("not_before", "Not Before"),
    ("request_id", "Request ID"),
)
_REQUIRED = {"uri", "version", "chain_id", "nonce", "issued_at"}


class SiweError(ValueError):
    """The message is malformed, or does not sign this service in (the text says which rule)."""


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    version: str = "1"
    statement: str | None = None
    scheme: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The message exactly as EIP-4361 lays it out (what the wallet signs)."""
        prefix = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [prefix + HEADER, self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines.append("")
        for attribute, label in _FIELDS:
            value = getattr(self, attribute)
            if value is not None:
                lines.append(f"{label}: {value}")
        if self.resources:
            lines.append("Resources:")
            lines.extend(f"- {resource}" for resource in self.resources)
        return "\n".join(lines)


def parse(text: str) -> SiweMessage:
    """The message's fields; raises `SiweError` naming the first rule the text breaks."""
    lines = text.split("\n")
    if len(lines) < 6 or not lines[0].endswith(HEADER):
        raise SiweError(f"the first line must be '<domain>{HEADER}'")
    origin = _DOMAIN.match(lines[0][: -len(HEADER)])
    if origin is None:
        raise SiweError("the domain is not an RFC 3986 authority")
    address = lines[1]
    if not is_checksum_address(address):
        raise SiweError(f"the address {address!r} is not an EIP-55 checksummed address")
    if lines[2] != "":
        raise SiweError("an empty line must follow the address")
    statement: str | None = None
    rest = lines[3:]
    if rest and rest[0] != "":  # a statement, then an empty line
        statement = rest[0]
        if "\n" in statement or len(rest) < 2 or rest[1] != "":
            raise SiweError("the statement must be one line followed by an empty line")
        rest = rest[2:]
    elif rest:
        rest = rest[1:]
    values: dict[str, str] = {}
    position = 0
    for attribute, label in _FIELDS:
        if position < len(rest) and rest[position].startswith(label + ": "):
            values[attribute] = rest[position][len(label) + 2 :]
            position += 1
        elif attribute in _REQUIRED:
            raise SiweError(f"the line '{label}: ...' is missing or out of order")
    resources: list[str] = []
    if position < len(rest) and rest[position] == "Resources:":
        for line in rest[position + 1 :]:
            if not line.startswith("- ") or not _URI.match(line[2:]):
                raise SiweError(f"a resource line must be '- <URI>', got {line!r}")
            resources.append(line[2:])
        position = len(rest)
    if position != len(rest):
        raise SiweError(f"unexpected line {rest[position]!r}")
    if values["version"] != "1":
        raise SiweError(f"version must be 1, got {values['version']!r}")
    if not values["chain_id"].isdigit():
        raise SiweError(f"the chain id must be a decimal integer, got {values['chain_id']!r}")
    if not _NONCE.match(values["nonce"]):
        raise SiweError("the nonce must be at least 8 letters or digits")
    if not _URI.match(values["uri"]):
        raise SiweError(f"the URI {values['uri']!r} is not an RFC 3986 URI")
    for attribute in ("issued_at", "expiration_time", "not_before"):
        if attribute in values:
            _instant(values[attribute], attribute)
    return SiweMessage(
        domain=origin["domain"],
        scheme=origin["scheme"],
        address=address,
        statement=statement,
        uri=values["uri"],
        version=values["version"],
        chain_id=int(values["chain_id"]),
        nonce=values["nonce"],
        issued_at=values["issued_at"],
        expiration_time=values.get("expiration_time"),
        not_before=values.get("not_before"),
        request_id=values.get("request_id"),
        resources=tuple(resources),
    )


def uri_origin(uri: str) -> str | None:
    """The authority (host[:port]) of an http or https URI, None for any other URI: what must be one
    of this service's domains (a wallet fills it with the page's `location.origin`)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc:
        return None
    return parts.netloc


def _instant(value: str, name: str) -> datetime:
    if not _DATETIME.match(value):
        raise SiweError(f"{name.replace('_', ' ')} {value!r} is not an RFC 3339 date-time")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise SiweError(f"{name.replace('_', ' ')} {value!r} is not a valid date-time") from None


def verify(
    text: str, signature: str, *, domains: frozenset[str], chain_id: int, now: datetime, skew_s: float = 300
) -> SiweMessage:
    """The message, once it is well formed, for one of `domains` (its domain, and its URI's origin)
    and `chain_id`, valid at `now` (issued at most `skew_s` in the future), and signed by its
    address. The nonce is the caller's to check and consume."""
    message = parse(text)
    if message.domain not in domains:
        raise SiweError(f"the message is for {message.domain!r}, not this service ({', '.join(sorted(domains))})")
    if uri_origin(message.uri) not in domains:
        origins = ", ".join(f"http(s)://{domain}" for domain in sorted(domains))
        raise SiweError(f"the message's URI {message.uri!r} is not at this service's origin ({origins})")
    if message.chain_id != chain_id:
        raise SiweError(f"the message is for chain {message.chain_id}, this service is on chain {chain_id}")
    if (_instant(message.issued_at, "issued_at") - now).total_seconds() > skew_s:
        raise SiweError("the message is issued in the future")
    if message.expiration_time is not None and _instant(message.expiration_time, "expiration_time") <= now:
        raise SiweError("the message has expired")
    if message.not_before is not None and _instant(message.not_before, "not_before") > now:
        raise SiweError("the message is not valid yet (Not Before)")
    raw = signature.removeprefix("0x")
    if len(raw) != 130 or not all(c in "0123456789abcdefABCDEF" for c in raw):
        raise SiweError("the signature must be 65 bytes of hex (r, s, v)")
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=bytes.fromhex(raw))
    except Exception:  # malformed r/s/v: eth-keys raises several types
        raise SiweError("the signature is not a valid secp256k1 signature") from None
    if signer != message.address:
        raise SiweError(f"the signature recovers to {signer}, not {message.address}")
    return message

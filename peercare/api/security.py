"""Who is calling, and what they may touch.

Two kinds of credential, both sent as `Authorization: Bearer <token>`:
- API keys `pc_<prefix>_<secret>` for brands (scoped to one brand) and auditors (read-only; one
  brand or all), created with `peercare api key create` and stored as SHA-256 digests;
- advocate session tokens `pcs_<secret>`, issued by Sign-In with Ethereum (`routes/auth.py`).

Routes declare what they need with the dependencies at the bottom (`advocate_self`,
`brand_admin`, `brand_reader`, `auditor`); object-level checks compare the path's advocate or
brand with the credential's, so advocate A never reads B's private data and brand X never touches
brand Y.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Literal

from eth_utils.address import is_hex_address, to_checksum_address
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.db.database import Database
from peercare.db.tables.api import AdvocateSession, ApiKey, KeyRole

KEY_PREFIX = "pc_"
SESSION_PREFIX = "pcs_"
SESSION_TTL_S = 24 * 3600


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------- credentials


def create_api_key(session: Session, role: KeyRole, brand_id: int | None, label: str) -> tuple[ApiKey, str]:
    """A new key row and its secret token (shown once: only its digest is stored)."""
    if role is KeyRole.BRAND and brand_id is None:
        raise ValueError("a brand key needs a brand")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(
        prefix=prefix,
        secret_sha256=_sha256(secret),
        role=role.value,
        brand_id=brand_id,
        label=label,
        created_at_ms=now_ms(),
        revoked_at_ms=None,
    )
    session.add(row)
    session.flush()
    return row, f"{KEY_PREFIX}{prefix}_{secret}"


def create_session_token(session: Session, address: str, ttl_s: int = SESSION_TTL_S) -> tuple[str, int]:
    """A new advocate session: its bearer token and expiry (unix ms)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    created = now_ms()
    expires = created + ttl_s * 1000
    session.add(
        AdvocateSession(
            token_sha256=_sha256(token),
            address=to_checksum_address(address),
            created_at_ms=created,
            expires_at_ms=expires,
        )
    )
    return token, expires


def revoke_session_token(session: Session, token: str) -> bool:
    row = session.get(AdvocateSession, _sha256(token))
    if row is None:
        return False
    session.delete(row)
    return True


@dataclass(frozen=True)
class Principal:
    role: Literal["advocate", "brand", "auditor"]
    address: str | None = None  # an advocate's wallet
    brand_id: int | None = None  # a brand key's brand; an auditor key's brand, or None for every brand
    key_id: int | None = None


def principal_for(session: Session, token: str) -> Principal:
    """The principal a bearer token stands for; `Problem(401)` saying why if none."""
    if token.startswith(SESSION_PREFIX):
        row = session.get(AdvocateSession, _sha256(token))
        if row is None:
            raise Problem(401, "unknown session token: sign in again (POST /api/v1/auth/siwe)")
        if row.expires_at_ms <= now_ms():
            raise Problem(401, "the session has expired: sign in again (POST /api/v1/auth/siwe)")
        return Principal("advocate", address=row.address)
    if token.startswith(KEY_PREFIX):
        prefix, _, secret = token[len(KEY_PREFIX) :].partition("_")
        key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if key is None or not hmac.compare_digest(key.secret_sha256, _sha256(secret)):
            raise Problem(401, "unknown API key")
        if key.revoked_at_ms is not None:
            raise Problem(401, f"API key {prefix} was revoked")
        return Principal(KeyRole(key.role).value, brand_id=key.brand_id, key_id=key.id)
    raise Problem(
        401, f"unrecognised credential: an API key starts with {KEY_PREFIX!r}, a session token with {SESSION_PREFIX!r}"
    )


def rate_key(database: Database, token: str) -> str | None:
    """The rate limiter's bucket for a bearer token (`limits.Principals`): the principal it proves,
    `key:<id>` for an API key and `advocate:<address>` for a session (every session of one wallet
    shares it), or None when it proves nothing, and the request counts against its client address.
    One primary-key or unique-prefix read; none for a token of neither form."""
    if not token.startswith((SESSION_PREFIX, KEY_PREFIX)):
        return None
    try:
        with database.read() as session:
            principal = principal_for(session, token)
    except Problem:
        return None
    if principal.role == "advocate":
        return f"advocate:{principal.address}"
    return f"key:{principal.key_id}"


# ---------------------------------------------------------------- dependencies

_bearer = HTTPBearer(auto_error=False, description="An API key (pc_...) or an advocate session token (pcs_...)")


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


def authenticated(
    context: Context, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller, from their bearer token; 401 without a valid one."""
    if credentials is None:
        raise Problem(401, "missing credentials: send 'Authorization: Bearer <API key or session token>'")
    with context.database.read() as session:
        return principal_for(session, credentials.credentials)


Caller = Annotated[Principal, Depends(authenticated)]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def checksummed(value: str, what: str = "address") -> str:
    if not is_hex_address(value):
        raise Problem(422, f"{what} {value!r} is not a 20-byte hex address")
    return to_checksum_address(value)


AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="An advocate's wallet address")]
#: Brand ids are uint64 on the ledger; the databases' integers stop at 2^63 - 1, and so do real ids.
BrandPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The brand's id on the ledger")]


def advocate_self(address: AddressPath, caller: Caller) -> str:
    """The path's advocate, when the caller is that advocate signed in."""
    wanted = to_checksum_address(address)
    if caller.role != "advocate":
        raise Problem(403, "only the advocate, signed in with their wallet, may do this")
    if caller.address != wanted:
        raise Problem(403, f"signed in as {caller.address}, not {wanted}")
    return wanted


def brand_admin(brand_id: BrandPath, caller: Caller) -> int:
    """The path's brand, when the caller holds that brand's key."""
    if caller.role != "brand":
        raise Problem(403, "this needs a brand API key")
    if caller.brand_id != brand_id:
        raise Problem(403, f"this key is for brand {caller.brand_id}, not brand {brand_id}")
    return brand_id


def brand_reader(brand_id: BrandPath, caller: Caller) -> int:
    """The path's brand, when the caller holds its brand key or an auditor key covering it."""
    if caller.role == "brand" and caller.brand_id == brand_id:
        return brand_id
    if caller.role == "auditor" and caller.brand_id in (None, brand_id):
        return brand_id
    if caller.role in ("brand", "auditor"):
        raise Problem(403, f"this key is for brand {caller.brand_id}, not brand {brand_id}")
    raise Problem(403, "this needs the brand's API key or an auditor key")


def auditor(caller: Caller) -> Principal:
    """Any auditor key (a brand-scoped one is checked against the object by the route)."""
    if caller.role != "auditor":
        raise Problem(403, "this needs an auditor API key")
    return caller


AdvocateSelf = Annotated[str, Depends(advocate_self)]
BrandAdmin = Annotated[int, Depends(brand_admin)]
BrandReader = Annotated[int, Depends(brand_reader)]
Auditor = Annotated[Principal, Depends(auditor)]

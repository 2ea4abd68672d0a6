"""Sign-In with Ethereum for advocates: a nonce, a signed EIP-4361 message, a session token."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from peercare.api.problems import Problem
from peercare.api.schemas.auth import NonceOut, SessionOut, SiweIn
from peercare.api.security import Bearer, Caller, Context, create_session_token, now_ms, revoke_session_token
from peercare.api.siwe import SiweError, verify
from peercare.db.tables.api import SiweNonce

NONCE_TTL_S = 600
router = APIRouter(prefix="/api/v1/auth", tags=["sign-in"])


@router.post("/nonce", summary="A single-use nonce for a Sign-In with Ethereum message")
def new_nonce(context: Context) -> NonceOut:
    nonce = secrets.token_hex(16)
    now = now_ms()
    with context.database.transaction() as session:
        session.execute(delete(SiweNonce).where(SiweNonce.expires_at_ms <= now))
        session.add(SiweNonce(nonce=nonce, expires_at_ms=now + NONCE_TTL_S * 1000))
    return NonceOut(
        nonce=nonce,
        domain=sorted(context.settings.siwe_domains)[0],
        chain_id=context.deployment.chain_id,
        expires_at_ms=now + NONCE_TTL_S * 1000,
    )


@router.post(
    "/siwe",
    summary="Sign in with a signed EIP-4361 message; returns a session token",
    responses={401: {"description": "the message or signature does not sign this service in (or its nonce is spent)"}},
)
def sign_in(body: SiweIn, context: Context) -> SessionOut:
    try:
        message = verify(
            body.message,
            body.signature,
            domains=context.settings.siwe_domains,
            chain_id=context.deployment.chain_id,
            now=datetime.now(UTC),
        )
    except SiweError as exc:
        raise Problem(401, f"sign-in refused: {exc}") from None
    with context.database.transaction() as session:
        if not consume_nonce(session, message.nonce, now_ms()):
            raise Problem(401, "sign-in refused: the nonce is unknown, used or expired; get a new one")
        token, expires = create_session_token(session, message.address)
    return SessionOut(token=token, address=message.address, expires_at_ms=expires)


def consume_nonce(session: Session, nonce: str, now_ms: int) -> bool:
    """Spend a nonce handed out by `new_nonce`, once: whether it was there, unexpired, and is now
    gone. One conditional DELETE whose row count answers, so two sign-ins with the same nonce
    cannot both succeed: on PostgreSQL the second DELETE waits for the first's row lock and, once
    that commits, matches nothing (reading the row, then deleting it, let both through)."""
    result = session.execute(delete(SiweNonce).where(SiweNonce.nonce == nonce, SiweNonce.expires_at_ms > now_ms))
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


@router.post("/logout", status_code=204, summary="End the advocate's session (its token stops working)")
def sign_out(caller: Caller, context: Context, credentials: Bearer) -> None:
    if caller.role != "advocate" or credentials is None:
        raise Problem(403, "only a signed-in advocate has a session to end")
    with context.database.transaction() as session:
        revoke_session_token(session, credentials.credentials)

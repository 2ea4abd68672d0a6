"""Transactions a user signs with their own wallet: prepared here, signed by them, relayed here.

Some ledger calls take `msg.sender` as the actor (an advocate's `withdrawEarnings`, a brand's
`deposit`): nobody else can send them. The API prepares the exact transaction (calldata, gas
estimated against the current state, the sender's next nonce, the chain id), the wallet signs it,
and `POST /api/v1/transactions` broadcasts the signed bytes, but only if they call one of the
deployment's own contracts. A call that would revert is refused at preparation with the ledger's
decoded error (e.g. `NothingToWithdraw(...)`), before anyone signs anything.

The other way round, the oracle's signer pays the gas of the answers advocates sign and submit
through the API (`submitAnswerWithSig`), so those are under a quota (`check_relay_quota`): so many
per wallet per hour and per brand per 24 hours, counted from the answers already stored.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from hexbytes import HexBytes
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from peercare.api.context import ApiContext
from peercare.api.limits import TooManyRequests
from peercare.api.problems import Problem
from peercare.api.schemas.relay import PreparedTx, Relayed, SignedTx
from peercare.api.security import Context
from peercare.chain.revert_reasons import RevertReasons, revert_data
from peercare.chain.rpc import RpcError
from peercare.config import Settings
from peercare.db.tables.oracle import Answer

#: Headroom over the estimate: state can change between preparing and mining.
GAS_MARGIN = 1.25
router = APIRouter(prefix="/api/v1", tags=["transactions"])


def prepare(context: ApiContext, sender: str, to: str, data: str, description: str) -> PreparedTx:
    """The transaction `sender` must sign to make this call; `Problem(422)` if it would revert now."""
    sender, to = to_checksum_address(sender), to_checksum_address(to)
    call = {"from": sender, "to": to, "data": data}
    try:
        estimate = int(context.rpc.call("eth_estimateGas", [call, "pending"]), 16)
    except RpcError as exc:
        reason = RevertReasons.from_deployment(context.deployment).describe(revert_data(exc.data))
        raise Problem(422, f"the ledger would refuse this transaction: {reason}") from None
    nonce = int(context.rpc.call("eth_getTransactionCount", [sender, "pending"]), 16)
    block = context.rpc.call("eth_getBlockByNumber", ["latest", False])
    tip = int(context.rpc.call("eth_maxPriorityFeePerGas"), 16)
    base_fee = int(block.get("baseFeePerGas") or "0x0", 16)
    return PreparedTx(
        chain_id=context.deployment.chain_id,
        **{"from": sender},
        to=to,
        data=data,
        gas=int(estimate * GAS_MARGIN),
        nonce=nonce,
        max_fee_per_gas=str(2 * base_fee + tip),
        max_priority_fee_per_gas=str(tip),
        description=description,
    )


@router.post(
    "/transactions",
    summary="Broadcast a transaction the caller signed (only calls to this deployment's contracts)",
    responses={409: {"description": "nonce already used"}, 422: {"description": "not a valid signed transaction"}},
)
def relay(body: SignedTx, context: Context) -> Relayed:
    raw = bytes.fromhex(body.raw[2:])
    try:
        sender = Account.recover_transaction(raw)
        to, chain_id = _decoded_fields(raw)
    except Exception as exc:
        raise Problem(422, f"raw: not a signed EIP-1559 transaction ({exc})") from None
    ours = {to_checksum_address(c.address) for c in context.deployment.contracts.values()}
    if to not in ours:
        raise Problem(422, f"raw: the transaction calls {to or 'nothing'}, not one of this deployment's contracts")
    if chain_id != context.deployment.chain_id:
        raise Problem(422, f"raw: signed for chain {chain_id}, not {context.deployment.chain_id}")
    try:
        tx_hash = context.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
    except RpcError as exc:
        if "nonce" in exc.message.lower():
            raise Problem(409, f"the node refused the transaction: {exc.message}") from None
        raise Problem(422, f"the node refused the transaction: {exc.message}") from None
    return Relayed(tx_hash=str(tx_hash), sender=sender, to=to)


def _decoded_fields(raw: bytes) -> tuple[str | None, int | None]:
    """(to, chain id) of a typed (EIP-2718) transaction; legacy ones are refused."""
    if not raw or raw[0] > 0x7F:
        raise ValueError("legacy transactions are not relayed: sign an EIP-1559 transaction")
    fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    to = fields.get("to")
    return (to_checksum_address(to) if to else None), fields.get("chainId")


# ---------------------------------------------------------------- relayed-gas quota

#: `Answer.comment_id` of an answer submitted through the API (`routes/advocates.submit_answer`).
API_ANSWER_PREFIX = "api:"
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def check_relay_quota(
    session: Session, settings: Settings, advocate: str, brand_id: int, now_ms: int, *, lock: bool = False
) -> None:
    """Refuse (429, `TooManyRequests`) one more answer relayed at the oracle's expense when `advocate`
    had `relay_quota_per_wallet_hour` answers relayed through the API in the last hour, or brand
    `brand_id`'s questions `relay_quota_per_brand_day` in the last 24 hours (rolling windows, counted
    from the stored answers, so restarts and several processes share them). With `lock`, in the
    write transaction that stores the answer, it first locks the wallet's and the brand's counts on
    PostgreSQL, so that concurrent submissions cannot both take the last one (SQLite's write
    transactions are serialised already)."""
    if lock and session.get_bind().dialect.name == "postgresql":
        for name in (f"relay-quota:wallet:{advocate}", f"relay-quota:brand:{brand_id}"):  # always in this order
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})
    quotas = (
        (
            Answer.advocate == advocate,
            settings.relay_quota_per_wallet_hour,
            HOUR_MS,
            f"wallet {advocate} had {{used}} answers relayed in the last hour",
            "per_wallet_hour",
            "PEERCARE_RELAY_QUOTA_PER_WALLET_HOUR",
        ),
        (
            Answer.brand_id == brand_id,
            settings.relay_quota_per_brand_day,
            DAY_MS,
            f"brand {brand_id}'s questions had {{used}} answers relayed in the last 24 hours",
            "per_brand_day",
            "PEERCARE_RELAY_QUOTA_PER_BRAND_DAY",
        ),
    )
    for condition, limit, window_ms, what, name, setting in quotas:
        used, frees_at_ms = _used(session, condition, limit, now_ms - window_ms)
        if used < limit:
            continue
        resets_at_ms = frees_at_ms + window_ms
        resets_at = datetime.fromtimestamp(-(-resets_at_ms // 1000), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # rounded up
        raise TooManyRequests(
            f"relayed-answer quota spent: {what.format(used=used)}, the most allowed ({setting}={limit}); "
            f"the next one can be relayed from {resets_at} (nothing was stored)",
            (resets_at_ms - now_ms) / 1000,
            quota=name,
            limit=limit,
            used=used,
            resets_at=resets_at,
        )


def _used(session: Session, condition: ColumnElement[bool], limit: int, since_ms: int) -> tuple[int, int]:
    """How many API-relayed answers match `condition` since `since_ms`, and when the one whose
    leaving the window brings the count under `limit` was stored (0 when under it already)."""
    relayed = (
        condition,
        Answer.comment_id.startswith(API_ANSWER_PREFIX),
        Answer.outbox_id.is_not(None),
        Answer.created_at_ms > since_ms,
    )
    used = session.scalar(select(func.count()).select_from(Answer).where(*relayed)) or 0
    if used < limit:
        return used, 0
    oldest = select(Answer.created_at_ms).where(*relayed).order_by(Answer.created_at_ms)
    frees_at = session.scalar(oldest.offset(used - limit).limit(1))
    return used, int(frees_at or since_ms)


def _lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)

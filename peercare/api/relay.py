"""Transactions a user signs with their own wallet: prepared here, signed by them, relayed here.

Some ledger calls take `msg.sender` as the actor (an advocate's `withdrawEarnings`, a brand's
`deposit`): nobody else can send them. The API prepares the exact transaction (calldata, gas
estimated against the current state, the sender's next nonce, the chain id), the wallet signs it,
and `POST /api/v1/transactions` broadcasts the signed bytes, but only if they call one of the
deployment's own contracts. A call that would revert is refused at preparation with the ledger's
decoded error (e.g. `NothingToWithdraw(...)`), before anyone signs anything.
"""

from __future__ import annotations

from typing import Annotated

from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from hexbytes import HexBytes
from pydantic import BaseModel, Field

from peercare.api.auth import Context
from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.api.schemas import Strict
from peercare.oracle.revert_reasons import RevertReasons, revert_data
from peercare.oracle.rpc import RpcError

#: Headroom over the estimate: state can change between preparing and mining.
GAS_MARGIN = 1.25
router = APIRouter(prefix="/api/v1", tags=["transactions"])


class PreparedTx(BaseModel):
    """An unsigned EIP-1559 transaction for the `from` account to sign (e.g. eth_signTransaction)."""

    chain_id: int
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    data: str
    value: str = "0"
    gas: int
    nonce: int
    max_fee_per_gas: str
    max_priority_fee_per_gas: str
    description: str


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


class SignedTx(Strict):
    raw: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2}){1,32768}$", description="The signed transaction, hex")]


class Relayed(BaseModel):
    tx_hash: str
    sender: str
    to: str


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

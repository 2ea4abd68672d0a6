"""An advocate's withdrawals: gasless (signed, relayed by the oracle) or sent from their own wallet.

Gasless: `POST .../withdrawals/draft` gives the EIP-712 typed data of `withdrawEarningsWithSig`
(everything the advocate earned in a token, to an address, with their next nonce and a deadline);
the wallet signs it and `POST .../withdrawals` queues it for the oracle's signer, which pays the
gas. The ledger checks the signature, the nonce (shared with signed answers), the deadline and
the domain (chain and contract). The route refuses, before anything is queued, what the ledger
would refuse, and a second withdrawal of a token while one is being relayed. A relayed withdrawal
always pays out real earnings, so nobody can spend the oracle's gas without having earned.

From the advocate's own wallet: `POST .../withdrawals/prepare` gives the unsigned transaction
(`peercare.api.relay`).
"""

from __future__ import annotations

import time
from typing import Any

from eth_utils.address import to_checksum_address
from fastapi import APIRouter

from peercare.api.chain_reads import read_view
from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.api.relay import prepare
from peercare.api.schemas.advocates import (
    SignedWithdrawalIn,
    WithdrawalDraftOut,
    WithdrawalIn,
    WithdrawalQueuedOut,
    WithdrawalTypedData,
)
from peercare.api.schemas.relay import PreparedTx
from peercare.api.security import AdvocateSelf, Context
from peercare.api.signed_calls import chain_nonce, check_relayable, draft_deadline, in_flight, next_nonce
from peercare.chain.revert_reasons import RevertReasons, revert_data
from peercare.chain.rpc import RpcError
from peercare.core.enums import OutboxKind
from peercare.core.typed_data import withdrawal_typed_data
from peercare.oracle.outbox import enqueue

router = APIRouter(prefix="/api/v1", tags=["advocates"])

ZERO_ADDRESS = "0x" + "00" * 20


@router.post(
    "/advocates/{address}/withdrawals/draft",
    summary="The EIP-712 typed data to sign for a gasless withdrawal of everything earned in a token",
    responses={422: {"description": "nothing to withdraw in that token, or `to` is the zero address"}},
)
def draft_withdrawal(body: WithdrawalIn, advocate: AdvocateSelf, context: Context) -> WithdrawalDraftOut:
    token, to = _token_and_recipient(body.token, body.to, advocate)
    amount = _claimable(context, advocate, token)
    with context.database.read() as session:
        nonce = next_nonce(context, session, advocate)
    deadline = draft_deadline()
    typed = _typed_data(context, advocate, token, to, nonce, deadline)
    return WithdrawalDraftOut(
        advocate=advocate,
        token=token,
        to=to,
        amount=str(amount),
        nonce=nonce,
        deadline=deadline,
        typed_data=WithdrawalTypedData.model_validate(typed),
    )


@router.post(
    "/advocates/{address}/withdrawals",
    status_code=202,
    summary="Submit a signed withdrawal; the oracle relays it to the ledger (gasless for the advocate)",
    responses={
        409: {"description": "the nonce is not the next one, or a withdrawal of the token is being relayed"},
        422: {"description": "the signature or deadline does not fit, or the ledger would refuse it"},
    },
)
def submit_withdrawal(body: SignedWithdrawalIn, advocate: AdvocateSelf, context: Context) -> WithdrawalQueuedOut:
    token, to = _token_and_recipient(body.token, body.to, advocate)
    signature = bytes.fromhex(body.signature[2:])
    typed = _typed_data(context, advocate, token, to, body.nonce, body.deadline)
    check_relayable(body.deadline, typed, signature, advocate, "withdrawal")
    amount = _claimable(context, advocate, token)
    on_chain = chain_nonce(context, advocate)
    signed = (advocate, token, to, body.nonce, body.deadline)
    data = context.ledger.encode_abi("withdrawEarningsWithSig", args=[signed, signature])
    if body.nonce == on_chain:  # nothing of theirs in flight: the ledger can say now whether it would take it
        _refuse_if_it_would_revert(context, data)
    with context.database.transaction() as session:
        expected = next_nonce(context, session, advocate, on_chain)
        if body.nonce != expected:
            raise Problem(
                409,
                f"nonce: {body.nonce} is not the advocate's next nonce {expected} (another signed answer or "
                "withdrawal used it, or it is still being relayed): draft the withdrawal again",
            )
        pending = [s for kind, s in in_flight(context, session, advocate) if kind is OutboxKind.RELAY_WITHDRAWAL]
        if any(str(s["token"]).lower() == token.lower() for s in pending):
            raise Problem(409, f"a withdrawal of {token} is being relayed already: wait until it is mined")
        enqueue(
            session,
            OutboxKind.RELAY_WITHDRAWAL,
            to=context.ledger.address,
            data=data,
            brand_id=None,
            now_ms=int(time.time() * 1000),
        )
    return WithdrawalQueuedOut(
        advocate=advocate, token=token, to=to, amount=str(amount), nonce=body.nonce, status="queued"
    )


@router.post(
    "/advocates/{address}/withdrawals/prepare",
    summary="The unsigned transaction withdrawing an advocate's earnings in a token, to sign and POST to /transactions",
    responses={422: {"description": "the ledger would refuse it (e.g. nothing to withdraw)"}},
)
def prepare_withdrawal(body: WithdrawalIn, advocate: AdvocateSelf, context: Context) -> PreparedTx:
    token = to_checksum_address(body.token)
    to = advocate if body.to is None else to_checksum_address(body.to)
    data = context.ledger.encode_abi("withdrawEarnings", args=[token, to])
    return prepare(
        context, advocate, context.ledger.address, data, f"withdraw {advocate}'s earnings in {token} to {to}"
    )


def _token_and_recipient(token: str, to: str | None, advocate: str) -> tuple[str, str]:
    recipient = advocate if to is None else to_checksum_address(to)
    if recipient == ZERO_ADDRESS:
        raise Problem(422, "to: the zero address cannot receive earnings (the ledger refuses it)")
    return to_checksum_address(token), recipient


def _claimable(context: ApiContext, advocate: str, token: str) -> int:
    """What the ledger holds for the advocate in `token` now; 422 when it is nothing."""
    (amount,) = read_view(
        context, context.ledger.address, context.ledger.encode_abi("earnings", args=[advocate, token]), ["uint256"]
    )
    if amount == 0:
        raise Problem(422, f"token: {advocate} has nothing to withdraw in {token}")
    return int(amount)


def _refuse_if_it_would_revert(context: ApiContext, data: str) -> None:
    try:
        context.rpc.call("eth_call", [{"to": context.ledger.address, "data": data}, "latest"])
    except RpcError as exc:
        reason = RevertReasons.from_deployment(context.deployment).describe(revert_data(exc.data))
        raise Problem(422, f"the ledger would refuse this withdrawal: {reason}") from None


def _typed_data(context: ApiContext, advocate: str, token: str, to: str, nonce: int, deadline: int) -> dict[str, Any]:
    return withdrawal_typed_data(
        chain_id=context.deployment.chain_id,
        ledger=context.ledger.address,
        account=advocate,
        token=token,
        to=to,
        nonce=nonce,
        deadline=deadline,
    )

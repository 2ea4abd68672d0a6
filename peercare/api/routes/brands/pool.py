"""`/brands/{brand_id}/pool`: a brand's pool, the indexed totals beside the ledger's own
`pool(brandId)`, and the transactions a funder signs to deposit into it (prepared here, signed by
the funder's wallet, never by the oracle)."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from sqlalchemy.orm import Session

from peercare.api.chain_reads import chain_unavailable, read_view
from peercare.api.problems import Problem
from peercare.api.relay import prepare
from peercare.api.routes.brands.common import configured_brand
from peercare.api.schemas.brands import MAX_BOUNTY, DepositIn, DepositPlan, PoolOut
from peercare.api.security import BrandAdmin, BrandReader, Context
from peercare.chain.rpc import RpcUnavailable
from peercare.db.tables import projections as ix

router = APIRouter()

#: `deposit` measured at 57,039 gas on anvil; used when it cannot be estimated (the approve it
#: needs is not mined yet). Generous: unused gas is not charged.
GAS_DEPOSIT = 150_000


def _token_of(session: Session, brand_id: int) -> str:
    token = ix.brand_token(session, brand_id)
    if token is None:
        raise Problem(404, f"brand {brand_id} is not registered on the ledger (or not indexed yet)")
    return token


@router.get(
    "/brands/{brand_id}/pool",
    summary="The brand's pool: indexed totals and the ledger's balances",
    responses={503: {"description": "the chain node is unreachable"}},
)
def get_pool(brand_id: BrandReader, context: Context) -> PoolOut:
    with context.database.read() as session:
        configured_brand(session, brand_id)
        token = _token_of(session, brand_id)
        balance = ix.pool_balance(session, brand_id)
        cursor = session.get(ix.IndexerCursor, 1)
    try:
        block = int(context.rpc.call("eth_blockNumber"), 16)
        available, escrowed = read_view(
            context,
            context.ledger.address,
            context.ledger.encode_abi("pool", args=[brand_id]),
            ["uint128", "uint128"],
            hex(block),
        )
    except RpcUnavailable as exc:
        raise chain_unavailable(exc) from None
    return PoolOut(
        brand_id=brand_id,
        token=token,
        deposited=str(balance.deposited),
        withdrawn=str(balance.withdrawn),
        escrowed_open=str(balance.escrowed_open),
        paid=str(balance.paid),
        refunded=str(balance.refunded),
        available=str(balance.available),
        indexed_block=None if cursor is None else cursor.block_number,
        available_on_chain=str(available),
        escrowed_on_chain=str(escrowed),
        chain_block=block,
    )


@router.post(
    "/brands/{brand_id}/pool/deposits/prepare",
    summary="The transactions a funder signs to deposit into the brand's pool (approve if needed, deposit)",
    responses={
        422: {"description": "the funder cannot make this deposit (balance, pool limit, or the ledger refuses)"},
        503: {"description": "the chain node is unreachable"},
    },
)
def prepare_deposit(brand_id: BrandAdmin, body: DepositIn, context: Context) -> DepositPlan:
    """When the allowance is short, two transactions come back: `approve(ledger, amount)` on the
    token, and `deposit(brandId, amount)` with the next nonce. The deposit cannot be estimated
    before the approve is mined (the ledger's pull would fail), so it carries the fixed gas limit
    `GAS_DEPOSIT` instead of an estimate; the balance and the pool limit are checked here, so the
    pair only fails if the state changes before it is mined. Otherwise only the deposit, estimated.
    Broadcast each with `POST /api/v1/transactions` (only calls to this deployment's contracts are
    relayed: a pool in another token needs its approve broadcast by the funder's own wallet)."""
    sender, amount = to_checksum_address(body.from_), int(body.amount)
    ledger = context.ledger
    with context.database.read() as session:
        configured_brand(session, brand_id)
        token = _token_of(session, brand_id)
    erc20 = context.token
    try:
        (balance,) = read_view(context, token, erc20.encode_abi("balanceOf", args=[sender]), ["uint256"])
        (allowance,) = read_view(
            context, token, erc20.encode_abi("allowance", args=[sender, ledger.address]), ["uint256"]
        )
        available, escrowed = read_view(
            context, ledger.address, ledger.encode_abi("pool", args=[brand_id]), ["uint128", "uint128"]
        )
        if balance < amount:
            raise Problem(422, f"from: {sender} holds {balance} wei of the pool's token, less than {amount}")
        if available + escrowed + amount > MAX_BOUNTY:
            raise Problem(422, "amount: the pool would exceed the ledger's limit of 2^128 - 1 wei")
        deposit = ledger.encode_abi("deposit", args=[brand_id, amount])
        what = f"deposit {amount} wei into brand {brand_id}'s pool"
        if allowance >= amount:
            transactions = [prepare(context, sender, ledger.address, deposit, what)]
            note = "The ledger may already pull this amount: sign and broadcast the deposit."
        else:
            allow = erc20.encode_abi("approve", args=[ledger.address, amount])
            approve = prepare(context, sender, token, allow, f"let the ledger pull {amount} wei for the deposit")
            fixed = {"to": ledger.address, "data": deposit, "gas": GAS_DEPOSIT, "nonce": approve.nonce + 1}
            transactions = [approve, approve.model_copy(update={**fixed, "description": what})]
            note = (
                f"The allowance ({allowance} wei) is short: sign both, broadcast the approve, then the deposit "
                f"(its gas is a fixed {GAS_DEPOSIT}: it cannot be estimated before the approve is mined)."
            )
    except RpcUnavailable as exc:
        raise chain_unavailable(exc) from None
    return DepositPlan(
        token=token,
        ledger=ledger.address,
        amount=str(amount),
        balance=str(balance),
        allowance=str(allowance),
        transactions=transactions,
        note=note,
    )

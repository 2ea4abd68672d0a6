"""What the calls an advocate signs for the oracle to relay (answers, withdrawals) share: a draft's
validity, the checks on a submission's deadline and signature, and the nonce. Signed answers and
signed withdrawals share the ledger's one nonce per account (`Nonces`), taken once each and in
order, so a new signature must come after every one still being relayed, whichever kind it is."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.api.chain_reads import read_view
from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.core.enums import OutboxKind
from peercare.core.typed_data import recover_signer
from peercare.db.tables.oracle import OutboxStatus, OutboxTx

#: How long a drafted call's signature stays valid.
DRAFT_VALIDITY_S = 3600
#: A signature must stay valid at least this long after submission, for the relay to be mined.
RELAY_MARGIN_S = 120

#: What the signer may still send (and the chain's nonce does not count yet).
UNSETTLED = (OutboxStatus.QUEUED, OutboxStatus.SENT, OutboxStatus.MINED)
#: The relayed calls carrying an advocate's signature, and the argument holding it.
SIGNED_CALLS = {OutboxKind.RELAY_ANSWER: ("answer", "advocate"), OutboxKind.RELAY_WITHDRAWAL: ("withdrawal", "account")}


def chain_nonce(context: ApiContext, advocate: str) -> int:
    """The ledger's `nonces(advocate)` at the latest block; 503 if the node cannot say."""
    (value,) = read_view(
        context, context.ledger.address, context.ledger.encode_abi("nonces", args=[advocate]), ["uint256"]
    )
    return int(value)


def in_flight(context: ApiContext, session: Session, advocate: str) -> Iterable[tuple[OutboxKind, Mapping[str, Any]]]:
    """The advocate's signed calls the oracle has not settled: (kind, the signed struct)."""
    rows = session.execute(
        select(OutboxTx.kind, OutboxTx.data).where(
            OutboxTx.kind.in_(list(SIGNED_CALLS)), OutboxTx.status.in_(UNSETTLED)
        )
    )
    for kind, data in rows:
        argument, signer = SIGNED_CALLS[OutboxKind(kind)]
        signed = context.ledger.decode_function_input(data)[1][argument]
        if str(signed[signer]).lower() == advocate.lower():
            yield OutboxKind(kind), signed


def next_nonce(context: ApiContext, session: Session, advocate: str, on_chain: int | None = None) -> int:
    """The ledger's nonce for `advocate`, past the nonces of their signed calls still being relayed."""
    if on_chain is None:
        on_chain = chain_nonce(context, advocate)
    used = [int(signed["nonce"]) for _, signed in in_flight(context, session, advocate)]
    return max([on_chain, *(nonce + 1 for nonce in used)])


def draft_deadline() -> int:
    """The deadline a new draft's signature gets."""
    return int(time.time()) + DRAFT_VALIDITY_S


def check_relayable(deadline: int, typed: dict[str, Any], signature: bytes, advocate: str, what: str) -> None:
    """Refuse (422) a submitted `what` ("answer", "withdrawal") whose deadline is too near to be
    relayed, or whose signature does not recover to `advocate` over `typed`."""
    if deadline < time.time() + RELAY_MARGIN_S:
        raise Problem(
            422,
            f"deadline: {deadline} is past or less than {RELAY_MARGIN_S} s away, too soon to relay: "
            f"draft the {what} again",
        )
    try:
        signer: str | None = recover_signer(typed, signature)
    except Exception:  # malformed signature bytes: eth-keys raises several types
        signer = None
    if signer != advocate:
        raise Problem(
            422,
            f"signature: it does not recover to {advocate} over this {what}'s typed data "
            f"(recovered {signer or 'nothing'}): sign the typed data of the draft",
        )

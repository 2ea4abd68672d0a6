"""Gasless withdrawals: an advocate with earnings and no ETH drafts a withdrawal, signs its EIP-712
typed data, and the oracle relays it; every refusal queues nothing and leaves the earnings where
they were."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import func, select

from peercare.core.enums import OutboxKind
from peercare.core.typed_data import sign_withdrawal, withdrawal_typed_data
from peercare.db.tables.oracle import OutboxTx
from tests.support.health_support import oracle_without_funds
from tests.support.world import World

STRANGER = Account.from_key(keccak(text="gasless withdrawals: a stranger"))


def _earnings(world: World, account: str) -> int:
    return int(world.dev.ledger.functions.earnings(account, world.dev.token.address).call())


def _headers(world: World, account: LocalAccount) -> dict[str, str]:
    if account.address not in world.advocate_tokens:
        world.advocate_tokens[account.address] = world.sign_in(account)
    return world.bearer(world.advocate_tokens[account.address])


def _draft(world: World, advocate: LocalAccount, **body: Any) -> Any:
    return world.client.post(
        f"/api/v1/advocates/{advocate.address}/withdrawals/draft",
        json={"token": world.dev.token.address, **body},
        headers=_headers(world, advocate),
    )


def _signed(draft: dict[str, Any], signer: LocalAccount, **changes: Any) -> dict[str, Any]:
    typed = draft["typed_data"]
    typed = {**typed, "message": {**typed["message"], **changes}}
    message = typed["message"]
    return {
        "token": message["token"],
        "to": message["to"],
        "nonce": message["nonce"],
        "deadline": message["deadline"],
        "signature": "0x" + sign_withdrawal(signer.key, typed).hex(),
    }


def _submit(world: World, advocate: LocalAccount, body: dict[str, Any]) -> Any:
    return world.client.post(
        f"/api/v1/advocates/{advocate.address}/withdrawals", json=body, headers=_headers(world, advocate)
    )


def _queued(world: World) -> int:
    with world.oracle.database.read() as session:
        return (
            session.scalar(
                select(func.count()).select_from(OutboxTx).where(OutboxTx.kind == OutboxKind.RELAY_WITHDRAWAL)
            )
            or 0
        )


@pytest.fixture
def earner(world: World) -> tuple[LocalAccount, int]:
    """A new advocate (a fresh key: no ETH, ever) who earned one bounty."""
    advocate = Account.create()
    return advocate, world.earn(advocate.address)


def test_an_advocate_without_gas_withdraws_through_the_oracle(world: World, earner: tuple[LocalAccount, int]) -> None:
    advocate, earned = earner
    assert earned > 0 and world.dev.w3.eth.get_balance(advocate.address) == 0
    response = _draft(world, advocate, to=STRANGER.address)
    assert response.status_code == 200, response.text
    draft = response.json()
    assert (draft["amount"], draft["to"], draft["nonce"]) == (str(earned), STRANGER.address, 0)
    assert 3500 < draft["deadline"] - time.time() <= 3600
    expected = withdrawal_typed_data(
        chain_id=world.dev.deployment.chain_id,
        ledger=world.dev.ledger.address,
        account=advocate.address,
        token=world.dev.token.address,
        to=STRANGER.address,
        nonce=0,
        deadline=draft["deadline"],
    )
    assert draft["typed_data"] == expected  # exactly what the ledger hashes (tests/contracts)

    queued = _submit(world, advocate, _signed(draft, advocate))
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued" and queued.json()["amount"] == str(earned)
    world.drain()

    assert _earnings(world, advocate.address) == 0
    assert world.dev.token.functions.balanceOf(STRANGER.address).call() >= earned
    assert world.dev.w3.eth.get_balance(advocate.address) == 0  # they paid nothing
    assert world.dev.ledger.functions.nonces(advocate.address).call() == 1
    replay = _submit(world, advocate, _signed(draft, advocate))
    assert replay.status_code == 422 and "has nothing to withdraw" in replay.json()["detail"]


@pytest.mark.parametrize(
    ("signer", "changes", "status", "detail"),
    [
        ("stranger", {}, 422, "does not recover to"),
        ("advocate", {"deadline": 1}, 422, "too soon to relay"),
        ("advocate", {"nonce": 7}, 409, "is not the advocate's next nonce 0"),
    ],
)
def test_a_withdrawal_the_ledger_would_refuse_is_refused_and_queues_nothing(
    world: World, earner: tuple[LocalAccount, int], signer: str, changes: dict[str, Any], status: int, detail: str
) -> None:
    advocate, earned = earner
    draft = _draft(world, advocate).json()
    before = _queued(world)
    key = STRANGER if signer == "stranger" else advocate
    response = _submit(world, advocate, _signed(draft, key, **changes))
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert _queued(world) == before and _earnings(world, advocate.address) == earned


def test_a_signature_for_another_chain_is_refused(world: World, earner: tuple[LocalAccount, int]) -> None:
    advocate, earned = earner
    draft = _draft(world, advocate).json()
    other_chain = {**draft["typed_data"], "domain": {**draft["typed_data"]["domain"], "chainId": 1}}
    response = _submit(world, advocate, _signed({**draft, "typed_data": other_chain}, advocate))
    assert response.status_code == 422 and "does not recover to" in response.json()["detail"]
    assert _earnings(world, advocate.address) == earned


def test_a_second_withdrawal_of_a_token_being_relayed_is_409(world: World, earner: tuple[LocalAccount, int]) -> None:
    advocate, _ = earner
    first = _draft(world, advocate).json()
    second = _draft(world, advocate, to=STRANGER.address).json()
    # The first stays in flight (the node refuses the oracle's transactions meanwhile): mined, it
    # would leave nothing to withdraw, and the second would be refused for that instead.
    with oracle_without_funds(world):
        assert _submit(world, advocate, _signed(first, advocate)).status_code == 202
        again = _submit(world, advocate, _signed(second | {"typed_data": _next(second["typed_data"])}, advocate))
        assert again.status_code == 409, again.text
        assert "is being relayed already" in again.json()["detail"]
    assert _earnings(world, advocate.address) == 0  # the first went through, once


def _next(typed: dict[str, Any]) -> dict[str, Any]:
    return {**typed, "message": {**typed["message"], "nonce": typed["message"]["nonce"] + 1}}


def test_nothing_to_withdraw_or_the_zero_address_is_422(world: World) -> None:
    fresh = Account.create()
    nothing = _draft(world, fresh)
    assert nothing.status_code == 422 and "has nothing to withdraw" in nothing.json()["detail"]
    zero = _draft(world, fresh, to="0x" + "00" * 20)
    assert zero.status_code == 422 and "the zero address cannot receive earnings" in zero.json()["detail"]

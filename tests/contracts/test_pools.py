"""Reward pools: deposits (plain and with an EIP-2612 permit), withdrawals by the brand admin,
refusal of tokens that deliver less than asked, and isolation between brands' pools."""

import brownie
import pytest
from brownie import accounts
from conftest import INITIAL_POOL, TOPIC, ZENDESK, deadline_in, digest
from errors import ZERO_ADDRESS, custom_error, permit_signature

AMOUNT = 5_000


@pytest.fixture
def funder(token, admin):
    """A fresh account with a known private key (for permits), holding AMOUNT tokens."""
    account = accounts.add()
    token.mint(account, AMOUNT, {"from": admin})
    return account


@pytest.fixture
def fee_token(FeeOnTransferToken, ledger, admin):
    """A token that burns 1% of each transfer, allow-listed so that only the delivery check stops it."""
    fee_token = FeeOnTransferToken.deploy({"from": admin})
    ledger.setTokenAllowed(fee_token, True, {"from": admin})
    return fee_token


# ---------------------------------------------------------------- deposit


def test_deposit_moves_tokens_into_the_pool(ledger, token, brand_id, stranger, admin):
    token.mint(stranger, AMOUNT, {"from": admin})
    token.approve(ledger, AMOUNT, {"from": stranger})

    tx = ledger.deposit(brand_id, AMOUNT, {"from": stranger})

    assert tx.events["PoolDeposited"] == {"brandId": brand_id, "from": stranger, "amount": AMOUNT}
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL + AMOUNT, 0)
    assert token.balanceOf(ledger) == INITIAL_POOL + AMOUNT
    assert token.balanceOf(stranger) == 0


def test_deposit_refuses_zero_amount(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAmount")):
        ledger.deposit(brand_id, 0, {"from": brand_admin})


def test_deposit_to_unknown_brand_is_refused(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "UnknownBrand", brand_id + 1)):
        ledger.deposit(brand_id + 1, 1, {"from": brand_admin})


def test_deposit_without_allowance_fails_with_the_tokens_error(ledger, token, brand_id, stranger, admin):
    token.mint(stranger, AMOUNT, {"from": admin})

    with brownie.reverts(custom_error(token, "ERC20InsufficientAllowance", ledger, 0, AMOUNT)):
        ledger.deposit(brand_id, AMOUNT, {"from": stranger})


def test_fee_on_transfer_token_is_refused(ledger, fee_token, brand_admin, admin):
    brand_id = ledger.registerBrand(brand_admin, fee_token, [], {"from": admin}).return_value
    fee_token.approve(ledger, 1_000, {"from": admin})

    with brownie.reverts(custom_error(ledger, "DeliveredAmountMismatch", fee_token, 1_000, 990)):
        ledger.deposit(brand_id, 1_000, {"from": admin})


def test_deposit_refuses_to_overflow_pool_accounting(ledger, token, brand_id, brand_admin, admin, post_question):
    post_question(bounty=10)  # escrowed funds count towards the limit too
    room = 2**128 - 1 - INITIAL_POOL
    token.mint(brand_admin, room + 1, {"from": admin})
    token.approve(ledger, room + 1, {"from": brand_admin})

    with brownie.reverts(custom_error(ledger, "PoolOverflow", brand_id)):
        ledger.deposit(brand_id, room + 1, {"from": brand_admin})

    ledger.deposit(brand_id, room, {"from": brand_admin})
    assert tuple(ledger.pool(brand_id)) == (2**128 - 1 - 10, 10)


# ---------------------------------------------------------------- depositWithPermit


def test_deposit_with_permit_needs_no_prior_approval(ledger, token, brand_id, funder):
    deadline = deadline_in(3600)
    v, r, s = permit_signature(token, funder, ledger, AMOUNT, deadline)

    tx = ledger.depositWithPermit(brand_id, AMOUNT, deadline, v, r, s, {"from": funder})

    assert tx.events["Approval"][0] == {"owner": funder, "spender": ledger, "value": AMOUNT}
    assert tx.events["PoolDeposited"] == {"brandId": brand_id, "from": funder, "amount": AMOUNT}
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL + AMOUNT, 0)
    assert token.balanceOf(funder) == 0
    assert token.nonces(funder) == 1
    assert token.allowance(funder, ledger) == 0


def test_deposit_with_permit_survives_a_front_run_permit(ledger, token, brand_id, funder, stranger):
    deadline = deadline_in(3600)
    v, r, s = permit_signature(token, funder, ledger, AMOUNT, deadline)
    # Someone copies the permit from the mempool and submits it first: the allowance is set,
    # the permit's nonce is spent, and the deposit must still go through.
    token.permit(funder, ledger, AMOUNT, deadline, v, r, s, {"from": stranger})

    tx = ledger.depositWithPermit(brand_id, AMOUNT, deadline, v, r, s, {"from": funder})

    assert tx.events["PoolDeposited"] == {"brandId": brand_id, "from": funder, "amount": AMOUNT}
    assert token.balanceOf(funder) == 0


def test_deposit_with_invalid_permit_and_no_allowance_is_refused(ledger, token, brand_id, funder):
    deadline = deadline_in(3600)
    v, r, s = permit_signature(token, funder, ledger, AMOUNT - 1, deadline)  # signed for another amount

    with brownie.reverts(custom_error(token, "ERC20InsufficientAllowance", ledger, 0, AMOUNT)):
        ledger.depositWithPermit(brand_id, AMOUNT, deadline, v, r, s, {"from": funder})


def test_deposit_with_permit_signed_by_another_account_does_not_move_the_callers_funds(
    ledger, token, brand_id, funder, stranger
):
    deadline = deadline_in(3600)
    v, r, s = permit_signature(token, funder, ledger, AMOUNT, deadline)

    # The permit names the signer as owner; relayed by someone else it authorises nothing for them.
    with brownie.reverts(custom_error(token, "ERC20InsufficientAllowance", ledger, 0, AMOUNT)):
        ledger.depositWithPermit(brand_id, AMOUNT, deadline, v, r, s, {"from": stranger})
    assert token.balanceOf(funder) == AMOUNT


def test_deposit_with_permit_to_unknown_brand_is_refused(ledger, token, brand_id, funder):
    deadline = deadline_in(3600)
    v, r, s = permit_signature(token, funder, ledger, AMOUNT, deadline)

    with brownie.reverts(custom_error(ledger, "UnknownBrand", 7)):
        ledger.depositWithPermit(7, AMOUNT, deadline, v, r, s, {"from": funder})


def test_deposit_with_permit_refuses_zero_amount(ledger, token, brand_id, funder):
    deadline = deadline_in(3600)
    v, r, s = permit_signature(token, funder, ledger, 0, deadline)

    with brownie.reverts(custom_error(ledger, "ZeroAmount")):
        ledger.depositWithPermit(brand_id, 0, deadline, v, r, s, {"from": funder})


# ---------------------------------------------------------------- withdrawFromPool


def test_withdraw_from_pool_sends_unescrowed_funds(ledger, token, brand_id, brand_admin, stranger):
    tx = ledger.withdrawFromPool(brand_id, AMOUNT, stranger, {"from": brand_admin})

    assert tx.events["PoolWithdrawn"] == {"brandId": brand_id, "to": stranger, "amount": AMOUNT}
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - AMOUNT, 0)
    assert token.balanceOf(stranger) == AMOUNT
    assert token.balanceOf(ledger) == INITIAL_POOL - AMOUNT


def test_withdraw_from_pool_can_empty_the_unescrowed_part(ledger, token, brand_id, brand_admin, post_question):
    post_question(bounty=100)

    ledger.withdrawFromPool(brand_id, INITIAL_POOL - 100, brand_admin, {"from": brand_admin})

    assert tuple(ledger.pool(brand_id)) == (0, 100)
    assert token.balanceOf(ledger) == 100


def test_withdraw_from_pool_cannot_touch_escrow(ledger, brand_id, brand_admin, post_question):
    post_question(bounty=100)

    with brownie.reverts(custom_error(ledger, "InsufficientPoolBalance", brand_id, INITIAL_POOL - 100, INITIAL_POOL)):
        ledger.withdrawFromPool(brand_id, INITIAL_POOL, brand_admin, {"from": brand_admin})


def test_withdraw_from_pool_by_brand_admin_only(ledger, brand_id, oracle, stranger, admin):
    for account in (oracle, stranger, admin):
        with brownie.reverts(custom_error(ledger, "NotBrandAdmin", brand_id, account)):
            ledger.withdrawFromPool(brand_id, 1, account, {"from": account})


def test_withdraw_from_pool_refuses_zero_amount(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAmount")):
        ledger.withdrawFromPool(brand_id, 0, brand_admin, {"from": brand_admin})


def test_withdraw_from_pool_refuses_zero_recipient(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.withdrawFromPool(brand_id, 1, ZERO_ADDRESS, {"from": brand_admin})


def test_withdraw_from_unknown_brand_is_refused(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "UnknownBrand", 3)):
        ledger.withdrawFromPool(3, 1, brand_admin, {"from": brand_admin})


# ---------------------------------------------------------------- isolation


def test_pools_are_isolated_between_brands(ledger, token, brand_id, oracle, stranger, admin, brand_admin):
    other = ledger.registerBrand(stranger, token, [stranger], {"from": admin}).return_value
    token.mint(stranger, 500, {"from": admin})
    token.approve(ledger, 500, {"from": stranger})
    ledger.deposit(other, 500, {"from": stranger})

    # The ledger holds both pools in the same token, but each brand only reaches its own.
    assert token.balanceOf(ledger) == INITIAL_POOL + 500
    with brownie.reverts(custom_error(ledger, "InsufficientPoolBalance", other, 500, 501)):
        ledger.withdrawFromPool(other, 501, stranger, {"from": stranger})
    with brownie.reverts(custom_error(ledger, "InsufficientPoolBalance", other, 500, 501)):
        ledger.postQuestion(other, ZENDESK, "T-1", TOPIC, 501, deadline_in(3600), digest("q"), {"from": stranger})
    with brownie.reverts(custom_error(ledger, "NotBrandAdmin", brand_id, stranger)):
        ledger.withdrawFromPool(brand_id, 1, stranger, {"from": stranger})

    ledger.withdrawFromPool(other, 500, stranger, {"from": stranger})
    assert tuple(ledger.pool(other)) == (0, 0)
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL, 0)

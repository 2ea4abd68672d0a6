"""Signed withdrawals: an advocate who never holds ETH signs the ledger's EIP-712 `Withdrawal` with
eth-account (the services' peercare.core.typed_data), anyone relays it, and the contract pays the
advocate's earnings to the address signed for. Like a signed answer, the signature is bound to its
chain, its contract, its nonce (the same per-account counter as signed answers) and its deadline,
and only its low-s form counts. Every refusal leaves earnings, nonce and balances as they were.
"""

import brownie
import pytest
from brownie import chain
from conftest import DAY, digest
from errors import ZERO_ADDRESS, custom_error, direct_answer, hexstr, mine_at, next_block_at
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from peercare.core.typed_data import (
    answer_typed_data,
    recover_signer,
    sign_answer,
    sign_withdrawal,
    withdrawal_typed_data,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BOUNTY = 250


@pytest.fixture(scope="module")
def signer(accounts):
    """An advocate whose private key is known (a Brownie LocalAccount); it never pays for gas."""
    return accounts.add(keccak(text="PeerCare signed-withdrawal advocate"))


@pytest.fixture(scope="module")
def recipient(accounts):
    """Where the advocate asks its earnings to be paid (its exchange deposit address, say)."""
    return accounts.add(keccak(text="PeerCare signed-withdrawal recipient"))


def _sign_answer(ledger, signer, qid, content, nonce):
    deadline = chain[-1].timestamp + DAY
    typed = answer_typed_data(
        chain_id=chain.id,
        ledger=str(ledger.address),
        question_id=qid,
        content_digest=content,
        nonce=nonce,
        deadline=deadline,
    )
    return (qid, content, signer.address, nonce, deadline), sign_answer(signer.private_key, typed)


def _earn(ledger, oracle, stranger, signer, qid, content):
    """The signer answers `qid` gaslessly (a relayed signed answer, using its next nonce) and the
    oracle accepts it."""
    struct, signature = _sign_answer(ledger, signer, qid, content, ledger.nonces(signer))
    ledger.submitAnswerWithSig(struct, signature, {"from": stranger})
    ledger.acceptAnswer(direct_answer(qid, signer, content), {"from": oracle})


@pytest.fixture
def earned(ledger, token, oracle, stranger, signer, post_question):
    """The signer earned BOUNTY without ever holding ETH; its signed answer used nonce 0."""
    _earn(ledger, oracle, stranger, signer, post_question(ticket="W-1", bounty=BOUNTY), digest("answer"))
    assert ledger.earnings(signer, token) == BOUNTY
    assert ledger.nonces(signer) == 1
    return BOUNTY


def _sign(ledger_address, signer, token, to, nonce=1, deadline=None, chain_id=None, key=None):
    """(SignedWithdrawal struct, 65-byte signature, typed data) for the given domain; signed with
    `key` (another account's) when given."""
    deadline = chain[-1].timestamp + DAY if deadline is None else deadline
    typed = withdrawal_typed_data(
        chain_id=chain.id if chain_id is None else chain_id,
        ledger=str(ledger_address),
        account=signer.address,
        token=str(token.address) if hasattr(token, "address") else token,
        to=str(to),
        nonce=nonce,
        deadline=deadline,
    )
    struct = (signer.address, typed["message"]["token"], typed["message"]["to"], nonce, deadline)
    return struct, sign_withdrawal(key or signer.private_key, typed), typed


def _on_chain_typed(ledger, struct):
    """The typed data the ledger itself hashes for `struct` (its chain, its address)."""
    account, token, to, nonce, deadline = struct
    return withdrawal_typed_data(
        chain_id=chain.id,
        ledger=str(ledger.address),
        account=account,
        token=token,
        to=to,
        nonce=nonce,
        deadline=deadline,
    )


@pytest.fixture
def state(ledger, token, signer, recipient, stranger):
    """What a refused withdrawal must leave untouched."""

    def read():
        return {
            "earnings": ledger.earnings(signer, token),
            "nonce": ledger.nonces(signer),
            "ledger": token.balanceOf(ledger),
            "recipient": token.balanceOf(recipient),
            "signer": token.balanceOf(signer),
            "stranger": token.balanceOf(stranger),
            "signer_eth": signer.balance(),
        }

    return read


# ---------------------------------------------------------------- the happy path


def test_contract_digest_equals_eth_accounts(ledger, token, signer, recipient):
    struct, _, typed = _sign(ledger, signer, token, recipient)
    signable = encode_typed_data(full_message=typed)
    assert ledger.DOMAIN_SEPARATOR() == hexstr(signable.header)
    assert ledger.signedWithdrawalDigest(struct) == hexstr(keccak(b"\x19\x01" + signable.header + signable.body))


def test_relayed_signed_withdrawal_pays_the_signed_recipient(ledger, token, signer, recipient, stranger, earned):
    struct, signature, typed = _sign(ledger, signer, token, recipient)
    assert recover_signer(typed, signature) == signer.address
    ledger_before, stranger_eth = token.balanceOf(ledger), stranger.balance()

    tx = ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})

    assert tx.return_value == earned
    assert tx.events["EarningsWithdrawn"] == {"account": signer, "token": token, "to": recipient, "amount": earned}
    assert tx.events["Transfer"] == {"from": ledger, "to": recipient, "value": earned}
    assert token.balanceOf(recipient) == earned
    assert token.balanceOf(ledger) == ledger_before - earned
    assert token.balanceOf(signer) == token.balanceOf(stranger) == 0
    assert ledger.earnings(signer, token) == 0
    assert ledger.nonces(signer) == 2
    assert signer.balance() == 0  # the advocate never held ETH and paid nothing
    assert stranger.balance() == stranger_eth - tx.gas_used * tx.gas_price  # the relayer paid the gas


def test_signature_is_valid_up_to_its_deadline_inclusive(ledger, token, signer, recipient, stranger, earned):
    deadline = chain[-1].timestamp + 3600
    struct, signature, _ = _sign(ledger, signer, token, recipient, deadline=deadline)
    next_block_at(deadline)
    tx = ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert tx.timestamp == deadline
    assert token.balanceOf(recipient) == earned


def test_withdrawal_nonce_is_not_reusable_for_an_answer(
    ledger, signer, stranger, token, recipient, earned, post_question
):
    struct, signature, _ = _sign(ledger, signer, token, recipient, nonce=1)
    ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    qid = post_question(ticket="W-2")
    answer, answer_signature = _sign_answer(ledger, signer, qid, digest("late answer"), 1)
    with brownie.reverts(custom_error(ledger, "InvalidAccountNonce", signer, 2)):
        ledger.submitAnswerWithSig(answer, answer_signature, {"from": stranger})


# ---------------------------------------------------------------- replays and forgeries


def test_signature_for_another_chain_is_refused(ledger, token, signer, recipient, stranger, earned, state):
    struct, signature, _ = _sign(ledger, signer, token, recipient, chain_id=chain.id + 1)
    recovered = recover_signer(_on_chain_typed(ledger, struct), signature)
    assert recovered != signer.address
    before = state()
    with brownie.reverts(custom_error(ledger, "InvalidWithdrawalSigner", signer, recovered)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before


def test_signature_for_another_contract_is_refused(
    PeerCareLedger, ledger, admin, pauser, token, signer, recipient, stranger, earned, state
):
    other = PeerCareLedger.deploy(admin, pauser, {"from": admin})
    struct, signature, typed = _sign(other, signer, token, recipient)
    # A good signature, for the other ledger: it hashes the struct to what was signed.
    signable = encode_typed_data(full_message=typed)
    assert other.signedWithdrawalDigest(struct) == hexstr(keccak(b"\x19\x01" + signable.header + signable.body))
    assert other.signedWithdrawalDigest(struct) != ledger.signedWithdrawalDigest(struct)

    recovered = recover_signer(_on_chain_typed(ledger, struct), signature)
    assert recovered != signer.address
    before = state()
    with brownie.reverts(custom_error(ledger, "InvalidWithdrawalSigner", signer, recovered)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before


def test_signature_after_its_deadline_is_refused(ledger, token, signer, recipient, stranger, earned, state):
    deadline = chain[-1].timestamp + 3600
    struct, signature, _ = _sign(ledger, signer, token, recipient, deadline=deadline)
    mine_at(deadline + 1)
    before = state()
    with brownie.reverts(custom_error(ledger, "SignatureExpired", deadline)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before


def test_signature_used_twice_is_refused(
    ledger, token, oracle, signer, recipient, stranger, earned, post_question, state
):
    struct, signature, _ = _sign(ledger, signer, token, recipient, nonce=1)
    ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    # Earned again (the answer uses nonce 2): a replay would have something to pay out.
    _earn(ledger, oracle, stranger, signer, post_question(ticket="W-2", bounty=BOUNTY), digest("answer 2"))
    assert ledger.earnings(signer, token) == BOUNTY
    before = state()
    with brownie.reverts(custom_error(ledger, "InvalidAccountNonce", signer, 3)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before
    assert token.balanceOf(recipient) == earned


def test_nonce_used_by_a_signed_answer_is_refused(ledger, token, signer, recipient, stranger, earned, state):
    # `earned`'s relayed answer used nonce 0: a withdrawal signed with it is a replay.
    struct, signature, typed = _sign(ledger, signer, token, recipient, nonce=0)
    assert recover_signer(typed, signature) == signer.address
    before = state()
    with brownie.reverts(custom_error(ledger, "InvalidAccountNonce", signer, 1)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before


def test_high_s_form_of_a_signature_is_refused(ledger, token, signer, recipient, stranger, earned, state):
    struct, signature, typed = _sign(ledger, signer, token, recipient)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    high_s = (SECP256K1_N - s).to_bytes(32, "big")
    malleated = r + high_s + bytes([55 - v])  # v: 27 <-> 28
    # The same key signs both forms: only the ledger's low-s rule tells them apart.
    assert recover_signer(typed, malleated) == signer.address
    before = state()
    with brownie.reverts(custom_error(ledger, "ECDSAInvalidSignatureS", high_s)):
        ledger.withdrawEarningsWithSig(struct, malleated, {"from": stranger})
    assert state() == before


def test_signature_by_someone_else_is_refused(ledger, accounts, token, signer, recipient, stranger, earned, state):
    impostor = accounts.add(keccak(text="PeerCare withdrawal impostor"))
    struct, signature, _ = _sign(ledger, signer, token, recipient, key=impostor.private_key)
    before = state()
    with brownie.reverts(custom_error(ledger, "InvalidWithdrawalSigner", signer, impostor)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before


def test_relayer_cannot_redirect_the_payment(ledger, token, signer, recipient, stranger, earned, state):
    struct, signature, _ = _sign(ledger, signer, token, recipient)
    redirected = (struct[0], struct[1], stranger.address, *struct[3:])
    recovered = recover_signer(_on_chain_typed(ledger, redirected), signature)
    before = state()
    with brownie.reverts(custom_error(ledger, "InvalidWithdrawalSigner", signer, recovered)):
        ledger.withdrawEarningsWithSig(redirected, signature, {"from": stranger})
    assert state() == before


# ---------------------------------------------------------------- the withdrawal itself


def test_signed_withdrawal_to_the_zero_address_is_refused(ledger, token, signer, stranger, earned, state):
    struct, signature, _ = _sign(ledger, signer, token, ZERO_ADDRESS)
    before = state()
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before  # the nonce too: the signature was not spent


def test_signed_withdrawal_of_nothing_is_refused(
    ledger, PeerCareToken, admin, token, signer, recipient, stranger, earned, state
):
    other_token = PeerCareToken.deploy("Other", "OTH", admin, {"from": admin})
    struct, signature, _ = _sign(ledger, signer, other_token, recipient)
    before = state()
    with brownie.reverts(custom_error(ledger, "NothingToWithdraw", signer, other_token)):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before


def test_signed_withdrawal_while_paused_is_refused(ledger, token, pauser, signer, recipient, stranger, earned, state):
    struct, signature, _ = _sign(ledger, signer, token, recipient)
    ledger.pause({"from": pauser})
    before = state()
    with brownie.reverts(custom_error(ledger, "EnforcedPause")):
        ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert state() == before

    ledger.unpause({"from": pauser})  # the same signature works once the pause ends
    ledger.withdrawEarningsWithSig(struct, signature, {"from": stranger})
    assert token.balanceOf(recipient) == earned

"""Signed answers: an advocate signs the ledger's EIP-712 typed data with eth-account (the services'
peercare.core.typed_data), anyone relays it, and the contract recovers the advocate. A signature is
bound to its chain, its contract, its nonce and its deadline, and only its low-s form counts.
"""

import brownie
import pytest
from brownie import chain
from conftest import DAY, answer_id, digest
from errors import custom_error, direct_answer, hexstr, mine_at, next_block_at
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from peercare.core.typed_data import answer_typed_data, recover_signer, sign_answer

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture(scope="module")
def signer(accounts):
    """An advocate whose private key is known (a Brownie LocalAccount); it never pays for gas."""
    return accounts.add(keccak(text="PeerCare signed-answer advocate"))


@pytest.fixture
def question(post_question):
    return post_question(ticket="SIG-1")


def _sign(ledger_address, signer, qid, content, nonce=0, deadline=None, chain_id=None):
    """(SignedAnswer struct, 65-byte signature, typed data) for the given domain."""
    deadline = chain[-1].timestamp + DAY if deadline is None else deadline
    typed = answer_typed_data(
        chain_id=chain.id if chain_id is None else chain_id,
        ledger=str(ledger_address),
        question_id=qid,
        content_digest=content,
        nonce=nonce,
        deadline=deadline,
    )
    struct = (qid, content, signer.address, nonce, deadline)
    return struct, sign_answer(signer.private_key, typed), typed


def _on_chain_typed(ledger, struct):
    """The typed data the ledger itself hashes for `struct` (its chain, its address)."""
    qid, content, _, nonce, deadline = struct
    return answer_typed_data(
        chain_id=chain.id,
        ledger=str(ledger.address),
        question_id=qid,
        content_digest=content,
        nonce=nonce,
        deadline=deadline,
    )


# ---------------------------------------------------------------- the happy path


def test_contract_digest_equals_eth_accounts(ledger, signer, question):
    struct, _, typed = _sign(ledger, signer, question, digest("answer"))
    signable = encode_typed_data(full_message=typed)
    assert ledger.DOMAIN_SEPARATOR() == hexstr(signable.header)
    assert ledger.signedAnswerDigest(struct) == hexstr(keccak(b"\x19\x01" + signable.header + signable.body))


def test_relayed_signed_answer_is_recorded(ledger, signer, stranger, question):
    content = digest("answer")
    struct, signature, typed = _sign(ledger, signer, question, content)
    assert recover_signer(typed, signature) == signer.address
    assert ledger.nonces(signer) == 0

    tx = ledger.submitAnswerWithSig(struct, signature, {"from": stranger})

    assert tx.events["AnswerRecorded"] == {
        "questionId": hexstr(question),
        "advocate": signer,
        "contentDigest": hexstr(content),
    }
    assert tx.return_value == hexstr(answer_id(question, signer.address, content))
    assert ledger.nonces(signer) == 1
    assert ledger.isAnswerRecorded(direct_answer(question, signer, content))
    assert signer.balance() == 0  # the advocate paid nothing


def test_signature_is_valid_up_to_its_deadline_inclusive(ledger, signer, stranger, question):
    deadline = chain[-1].timestamp + 3600
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"), deadline=deadline)
    next_block_at(deadline)
    tx = ledger.submitAnswerWithSig(struct, signature, {"from": stranger})
    assert tx.timestamp == deadline
    assert ledger.nonces(signer) == 1


def test_consecutive_nonces_each_record_an_answer(ledger, signer, stranger, question):
    for nonce in range(3):
        struct, signature, _ = _sign(ledger, signer, question, digest(f"answer {nonce}"), nonce=nonce)
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})
        assert ledger.nonces(signer) == nonce + 1


# ---------------------------------------------------------------- replays and forgeries


def test_signature_for_another_chain_is_refused(ledger, signer, stranger, question):
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"), chain_id=chain.id + 1)
    recovered = recover_signer(_on_chain_typed(ledger, struct), signature)
    assert recovered != signer.address
    with brownie.reverts(custom_error(ledger, "InvalidAnswerSigner", signer, recovered)):
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})
    assert ledger.nonces(signer) == 0


def test_signature_for_another_contract_is_refused(PeerCareLedger, ledger, admin, pauser, signer, stranger, question):
    other = PeerCareLedger.deploy(admin, pauser, {"from": admin})
    struct, signature, typed = _sign(other, signer, question, digest("answer"))
    # A good signature, for the other ledger: it hashes the struct to what was signed.
    signable = encode_typed_data(full_message=typed)
    assert other.signedAnswerDigest(struct) == hexstr(keccak(b"\x19\x01" + signable.header + signable.body))
    assert other.signedAnswerDigest(struct) != ledger.signedAnswerDigest(struct)

    recovered = recover_signer(_on_chain_typed(ledger, struct), signature)
    assert recovered != signer.address
    with brownie.reverts(custom_error(ledger, "InvalidAnswerSigner", signer, recovered)):
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})


def test_signature_after_its_deadline_is_refused(ledger, signer, stranger, question):
    deadline = chain[-1].timestamp + 3600
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"), deadline=deadline)
    mine_at(deadline + 1)
    with brownie.reverts(custom_error(ledger, "SignatureExpired", deadline)):
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})


def test_signature_used_twice_is_refused(ledger, signer, stranger, question):
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"))
    ledger.submitAnswerWithSig(struct, signature, {"from": stranger})
    with brownie.reverts(custom_error(ledger, "InvalidAccountNonce", signer, 1)):
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})


def test_signature_with_a_future_nonce_is_refused(ledger, signer, stranger, question):
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"), nonce=1)
    with brownie.reverts(custom_error(ledger, "InvalidAccountNonce", signer, 0)):
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})


def test_high_s_form_of_a_signature_is_refused(ledger, signer, stranger, question):
    struct, signature, typed = _sign(ledger, signer, question, digest("answer"))
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    high_s = (SECP256K1_N - s).to_bytes(32, "big")
    malleated = r + high_s + bytes([55 - v])  # v: 27 <-> 28
    # The same key signs both forms: only the ledger's low-s rule tells them apart.
    assert recover_signer(typed, malleated) == signer.address
    with brownie.reverts(custom_error(ledger, "ECDSAInvalidSignatureS", high_s)):
        ledger.submitAnswerWithSig(struct, malleated, {"from": stranger})
    assert ledger.nonces(signer) == 0


def test_signature_by_someone_else_is_refused(ledger, accounts, signer, stranger, question):
    impostor = accounts.add(keccak(text="PeerCare impostor"))
    struct, _, typed = _sign(ledger, signer, question, digest("answer"))
    signature = sign_answer(impostor.private_key, typed)
    with brownie.reverts(custom_error(ledger, "InvalidAnswerSigner", signer, impostor)):
        ledger.submitAnswerWithSig(struct, signature, {"from": stranger})


def test_signed_fields_cannot_be_changed_by_the_relayer(ledger, signer, stranger, question):
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"))
    changed = (struct[0], digest("the relayer's answer"), *struct[2:])
    recovered = recover_signer(_on_chain_typed(ledger, changed), signature)
    with brownie.reverts(custom_error(ledger, "InvalidAnswerSigner", signer, recovered)):
        ledger.submitAnswerWithSig(changed, signature, {"from": stranger})


# ---------------------------------------------------------------- a batched answer's signature, on demand


def test_the_view_verifies_a_batched_answers_signature_without_using_its_nonce(ledger, signer, stranger, question):
    """A signed answer anchored in a batch carries its signature in the manifest: anyone can ask the
    ledger whether it is the advocate's, and asking changes nothing (the nonce stays unused)."""
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"), nonce=7)
    assert ledger.isAnswerSignatureValid(struct, signature)
    assert ledger.nonces(signer) == 0


def test_the_view_refuses_a_signature_by_someone_else_or_over_other_fields(ledger, accounts, signer, question):
    struct, signature, typed = _sign(ledger, signer, question, digest("answer"))
    impostor = accounts.add(keccak(text="PeerCare impostor"))
    assert not ledger.isAnswerSignatureValid(struct, sign_answer(impostor.private_key, typed))
    assert not ledger.isAnswerSignatureValid((struct[0], digest("another answer"), *struct[2:]), signature)
    assert not ledger.isAnswerSignatureValid((*struct[:2], impostor.address, *struct[3:]), signature)


def test_the_view_refuses_malformed_and_high_s_signatures(ledger, signer, question):
    struct, signature, typed = _sign(ledger, signer, question, digest("answer"))
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    malleated = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    assert recover_signer(typed, malleated) == signer.address  # valid to a lax verifier
    assert not ledger.isAnswerSignatureValid(struct, malleated)
    assert not ledger.isAnswerSignatureValid(struct, signature[:64])
    assert not ledger.isAnswerSignatureValid(struct, b"")


def test_the_view_refuses_a_signature_for_another_chain(ledger, signer, question):
    struct, signature, _ = _sign(ledger, signer, question, digest("answer"), chain_id=chain.id + 1)
    assert not ledger.isAnswerSignatureValid(struct, signature)

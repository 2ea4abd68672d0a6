"""EIP-712 as the services sign it: eth-account against published vectors, and the ledger's typed data.

The vectors (tests/vectors/eip712/, origins and licences in SOURCES.txt) are the specification's own
"Mail" example (ethereum/EIPs assets/eip-712/Example.js) and eth-account's fixtures of messages every
implementation must encode or refuse. The answer and withdrawal typed data are checked against the definitions in
contracts/PeerCareLedger.sol, so that a signature made here is the one the contract recovers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak
from eth_utils.exceptions import ValidationError

from peercare.core.typed_data import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    answer_typed_data,
    recover_signer,
    sign_answer,
    sign_withdrawal,
    withdrawal_typed_data,
)

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "tests" / "vectors" / "eip712"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def _cases(prefix: str) -> list[Any]:
    """Every message of the files `prefix*.json`, as pytest params named file:case."""
    params = []
    for path in sorted(VECTORS.glob(f"{prefix}*.json")):
        data = json.loads(path.read_text())
        cases = {path.stem: data} if "types" in data else data
        params += [pytest.param(message, id=f"{path.stem}:{name}") for name, message in cases.items()]
    return params


def _digest(signable: SignableMessage) -> bytes:
    """keccak256(0x19 || 0x01 || domainSeparator || hashStruct(message))."""
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


# ---------------------------------------------------------------- the specification's Mail example

MAIL = _load("expected_mail.json")
COW = keccak(text="cow")


def test_vectors_are_those_described_in_sources() -> None:
    assert MAIL["source"].startswith("ethereum/EIPs @ 68b7c485")
    assert MAIL["private_key"] == 'keccak256("cow")'
    assert "68b7c485a712511a095e134d84b21217b0eb5a04" in (VECTORS / "SOURCES.txt").read_text()


def test_mail_domain_separator_struct_hash_and_digest() -> None:
    signable = encode_typed_data(full_message=_load("valid_eip712_example.json"))
    assert signable.version == b"\x01"
    assert "0x" + signable.header.hex() == MAIL["domain_separator"]
    assert "0x" + signable.body.hex() == MAIL["struct_hash"]
    assert "0x" + _digest(signable).hex() == MAIL["digest"]


def test_mail_three_argument_form_gives_the_same_message() -> None:
    message = _load("valid_eip712_example.json")
    types = {name: fields for name, fields in message["types"].items() if name != "EIP712Domain"}
    signable = encode_typed_data(message["domain"], types, message["message"])
    assert signable == encode_typed_data(full_message=message)


def test_mail_signature() -> None:
    signable = encode_typed_data(full_message=_load("valid_eip712_example.json"))
    signed = Account.sign_message(signable, COW)
    assert Account.from_key(COW).address.lower() == MAIL["signer"]
    assert (signed.v, signed.r, signed.s) == (MAIL["v"], int(MAIL["r"], 16), int(MAIL["s"], 16))
    assert "0x" + bytes(signed.message_hash).hex() == MAIL["digest"]
    assert bytes(signed.signature) == bytes.fromhex(MAIL["r"][2:] + MAIL["s"][2:]) + bytes([MAIL["v"]])
    assert Account.recover_message(signable, signature=signed.signature).lower() == MAIL["signer"]


# ---------------------------------------------------------------- eth-account's fixtures


@pytest.mark.parametrize("message", _cases("valid_"))
def test_valid_messages_encode(message: dict[str, Any]) -> None:
    signable = encode_typed_data(full_message=message)
    assert len(signable.header) == len(signable.body) == 32


@pytest.mark.parametrize("message", _cases("invalid") + _cases("one_arg_invalid"))
def test_invalid_messages_are_refused(message: dict[str, Any]) -> None:
    with pytest.raises((ValueError, ValidationError)):
        encode_typed_data(full_message=message)


def test_every_vector_file_is_used() -> None:
    used = {"expected_mail.json", "valid_eip712_example.json", "invalid.json", "one_arg_invalid.json"}
    used |= {path.name for path in VECTORS.glob("valid_*.json")}
    assert {path.name for path in VECTORS.glob("*.json")} == used
    assert len(_cases("valid_")) == 18 and len(_cases("invalid") + _cases("one_arg_invalid")) == 12


# ---------------------------------------------------------------- the ledger's signed answers

LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ADVOCATE = Account.from_key(keccak(text="advocate"))
ANSWER = {
    "chain_id": 1337,
    "ledger": LEDGER,
    "question_id": keccak(text="question"),
    "content_digest": keccak(text="answer"),
    "nonce": 0,
    "deadline": 2_000_000_000,
}


def _solidity(pattern: str) -> str:
    match = re.search(pattern, (REPO / "contracts" / "PeerCareLedger.sol").read_text())
    assert match, pattern
    return match.group(1)


def test_answer_typed_data_matches_the_contracts_definitions() -> None:
    """Type string, domain name and version as PeerCareLedger.sol declares them; hashes per EIP-712."""
    answer_type = _solidity(r'SIGNED_ANSWER_TYPEHASH\s*=\s*keccak256\("([^"]+)"\)')
    assert _solidity(r'EIP712\("([^"]+)", "[^"]+"\)') == DOMAIN_NAME
    assert _solidity(r'EIP712\("[^"]+", "([^"]+)"\)') == DOMAIN_VERSION

    signable = encode_typed_data(full_message=answer_typed_data(**ANSWER))
    domain_type = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    domain_separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [keccak(text=domain_type), keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), 1337, LEDGER],
        )
    )
    struct_hash = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "uint256"],
            [keccak(text=answer_type), ANSWER["question_id"], ANSWER["content_digest"], 0, 2_000_000_000],
        )
    )
    assert signable.header == domain_separator
    assert signable.body == struct_hash


def test_signed_answer_round_trips() -> None:
    typed = answer_typed_data(**ANSWER)
    signature = sign_answer(ADVOCATE.key, typed)
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2  # low-s, as OpenZeppelin's ECDSA wants
    assert recover_signer(typed, signature) == ADVOCATE.address
    assert sign_answer(ADVOCATE.key.hex(), typed) == signature  # hex keys too; RFC 6979 is deterministic


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": 1},
        {"ledger": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"},
        {"question_id": keccak(text="another question")},
        {"content_digest": keccak(text="another answer")},
        {"nonce": 1},
        {"deadline": 2_000_000_001},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_signature_does_not_carry_over_to_other_data(change: dict[str, Any]) -> None:
    signature = sign_answer(ADVOCATE.key, answer_typed_data(**ANSWER))
    assert recover_signer(answer_typed_data(**{**ANSWER, **change}), signature) != ADVOCATE.address


# ---------------------------------------------------------------- the ledger's signed withdrawals

WITHDRAWAL = {
    "chain_id": 1337,
    "ledger": LEDGER,
    "account": ADVOCATE.address,
    "token": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    "to": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    "nonce": 3,
    "deadline": 2_000_000_000,
}


def test_withdrawal_typed_data_matches_the_contracts_definitions() -> None:
    withdrawal_type = _solidity(r'SIGNED_WITHDRAWAL_TYPEHASH\s*=\s*keccak256\("([^"]+)"\)')
    assert withdrawal_type == "Withdrawal(address account,address token,address to,uint256 nonce,uint256 deadline)"
    signable = encode_typed_data(full_message=withdrawal_typed_data(**WITHDRAWAL))
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "address", "address", "uint256", "uint256"],
            [
                keccak(text=withdrawal_type),
                WITHDRAWAL["account"],
                WITHDRAWAL["token"],
                WITHDRAWAL["to"],
                3,
                2_000_000_000,
            ],
        )
    )
    assert signable.header == encode_typed_data(full_message=answer_typed_data(**ANSWER)).header  # one domain
    assert signable.body == struct_hash


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": 1},
        {"ledger": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"},
        {"account": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
        {"token": LEDGER},
        {"to": LEDGER},
        {"nonce": 4},
        {"deadline": 2_000_000_001},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_withdrawal_signature_does_not_carry_over_to_other_data(change: dict[str, Any]) -> None:
    signature = sign_withdrawal(ADVOCATE.key, withdrawal_typed_data(**WITHDRAWAL))
    assert recover_signer(withdrawal_typed_data(**WITHDRAWAL), signature) == ADVOCATE.address
    assert recover_signer(withdrawal_typed_data(**{**WITHDRAWAL, **change}), signature) != ADVOCATE.address

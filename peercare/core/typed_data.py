"""EIP-712 typed data an advocate signs so that anyone can relay the answer or the withdrawal of
their earnings (gasless).

The domain (name, version, chain id, ledger address) makes a signature useless on another chain
or contract; the nonce makes it single-use; the deadline makes it expire.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address

DOMAIN_NAME = "PeerCareLedger"
DOMAIN_VERSION = "1"

ANSWER_TYPES = {
    "Answer": [
        {"name": "questionId", "type": "bytes32"},
        {"name": "contentDigest", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}

WITHDRAWAL_TYPES = {
    "Withdrawal": [
        {"name": "account", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def _typed_data(
    types: dict[str, list[dict[str, str]]],
    name: str,
    version: str,
    chain_id: int,
    contract: str,
    message: dict[str, Any],
) -> dict[str, Any]:
    """A full EIP-712 message (eth_signTypedData_v4 shape) with the standard four-field domain."""
    (primary_type,) = types
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **types},
        "primaryType": primary_type,
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(contract),
        },
        "message": message,
    }


def answer_typed_data(
    *, chain_id: int, ledger: str, question_id: bytes, content_digest: bytes, nonce: int, deadline: int
) -> dict[str, Any]:
    """The typed data an advocate signs for a relayed answer."""
    message = {"questionId": question_id, "contentDigest": content_digest, "nonce": nonce, "deadline": deadline}
    return _typed_data(ANSWER_TYPES, DOMAIN_NAME, DOMAIN_VERSION, chain_id, ledger, message)


def withdrawal_typed_data(
    *, chain_id: int, ledger: str, account: str, token: str, to: str, nonce: int, deadline: int
) -> dict[str, Any]:
    """The typed data an account signs for a relayed withdrawal of everything it earned in `token`,
    paid to `to`. The nonce is the account's ledger nonce, shared with its signed answers."""
    message = {
        "account": to_checksum_address(account),
        "token": to_checksum_address(token),
        "to": to_checksum_address(to),
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed_data(WITHDRAWAL_TYPES, DOMAIN_NAME, DOMAIN_VERSION, chain_id, ledger, message)


def permit_typed_data(
    *, chain_id: int, token: str, token_name: str, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The typed data of an EIP-2612 permit for an OpenZeppelin ERC20Permit (domain version "1"),
    e.g. a brand letting the ledger pull a deposit."""
    message = {
        "owner": to_checksum_address(owner),
        "spender": to_checksum_address(spender),
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed_data(PERMIT_TYPES, token_name, "1", chain_id, token, message)


def sign_typed_data(private_key: bytes | str, typed_data: dict[str, Any]) -> bytes:
    """The 65-byte signature (r, s, v) over the typed data."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), private_key)
    return bytes(signed.signature)


def recover_signer(typed_data: dict[str, Any], signature: bytes) -> str:
    """The address that signed the typed data."""
    return str(Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature))


#: An advocate signs an answer's or a withdrawal's typed data like any other.
sign_answer = sign_typed_data
sign_withdrawal = sign_typed_data


#: secp256k1's group order: a signature whose s is above half of it is the malleable twin of a
#: valid one, which the ledger (OpenZeppelin's ECDSA) refuses; so does everything checked here.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def is_answer_signature_valid(
    *,
    chain_id: int,
    ledger: str,
    question_id: bytes,
    content_digest: bytes,
    advocate: str,
    nonce: int,
    deadline: int,
    signature: bytes,
) -> bool:
    """Whether `signature` is `advocate`'s signature of the answer, as the ledger's
    `isAnswerSignatureValid` decides: 65 bytes, v 27 or 28, low s, recovering to the advocate."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        return False
    if int.from_bytes(signature[32:64], "big") > SECP256K1_N // 2:
        return False
    typed = answer_typed_data(
        chain_id=chain_id,
        ledger=ledger,
        question_id=question_id,
        content_digest=content_digest,
        nonce=nonce,
        deadline=deadline,
    )
    try:
        return recover_signer(typed, signature) == to_checksum_address(advocate)
    except Exception:  # eth-keys raises several types for bytes that are no signature
        return False

"""Exact custom-error revert messages and small shared helpers for the contract tests.

Brownie decodes a custom error it knows from a compiled ABI as ``"Name: arg1, arg2"`` (each
argument as Python's ``str`` of its ABI-decoded value: addresses lower-case, ``bytes32`` as a
bytes literal, enums as integers). ``custom_error`` builds that exact string from the contract's
ABI and the expected arguments, by encoding them and decoding them back the way Brownie does, so
``brownie.reverts(custom_error(ledger, "UnknownQuestion", qid))`` pins both the error and every
argument: a different selector or a single differing argument fails the test.
"""

from __future__ import annotations

from typing import Any

from faster_eth_abi import decode, encode

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_BYTES32 = b"\0" * 32


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return param["type"]


def _normalise(value: Any) -> Any:
    """Brownie accounts and contracts to address strings, HexBytes to bytes, enums to ints."""
    if hasattr(value, "address"):
        return str(value.address)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_normalise(item) for item in value)
    return value


def error_abi(contract: Any, name: str) -> dict[str, Any]:
    """The ABI entry of the custom error `name` of a deployed contract or a contract container."""
    matches = [item for item in contract.abi if item.get("type") == "error" and item["name"] == name]
    if len(matches) != 1:
        raise KeyError(f"{name!r} is not exactly one custom error of this contract's ABI ({len(matches)} found)")
    return matches[0]


def custom_error(contract: Any, name: str, *args: Any) -> str:
    """The revert message Brownie reports for `contract` reverting with `name(*args)`."""
    abi = error_abi(contract, name)
    types = [_abi_type(param) for param in abi["inputs"]]
    if len(args) != len(types):
        raise TypeError(f"{name} takes {len(types)} arguments ({', '.join(types)}), got {len(args)}")
    decoded = decode(types, encode(types, [_normalise(arg) for arg in args]))
    return f"{name}: {', '.join(str(value) for value in decoded)}"


def direct_answer(question_id: bytes, advocate: Any, content_digest: bytes) -> tuple:
    """An `AnswerRef` for a directly recorded answer (no batch root, no proof)."""
    return (question_id, advocate, content_digest, ZERO_BYTES32, [])


def hexstr(value: bytes) -> str:
    """`0x`-prefixed hex of a bytes value: the form Brownie's bytes32 return values and event
    fields compare equal to (they refuse comparison with raw bytes)."""
    return "0x" + bytes(value).hex()


def mine_at(timestamp: int) -> None:
    """Mine a block at `timestamp`; anvil mines later transactions at or after it (a block may
    share its parent's timestamp), so `mine_at(deadline + 1)` puts the next ones past a deadline.

    Preferred over `chain.sleep`: after each test's snapshot revert, anvil's clock restarts from
    the snapshot's block while Brownie's `chain.time()` keeps counting wall time, so a relative
    sleep can land a few seconds short of a deadline computed from `chain.time()`.
    """
    from brownie import chain, web3

    # Not `chain.mine(timestamp=...)`: Brownie 1.22 sends anvil a form it rejects ("Invalid request").
    response = web3.provider.make_request("evm_mine", [timestamp])
    if "error" in response:
        raise RuntimeError(f"evm_mine at {timestamp} failed: {response['error']}")
    assert chain[-1].timestamp == timestamp


def next_block_at(timestamp: int) -> None:
    """Mine the next transaction's block at exactly `timestamp` (anvil), to pin time boundaries."""
    from brownie import web3

    web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])


def permit_signature(token: Any, owner: Any, spender: Any, value: int, deadline: int, nonce: int | None = None):
    """(v, r, s) of an EIP-2612 permit signed with eth-account by `owner`, a Brownie LocalAccount
    (from `accounts.add()`) whose private key is known."""
    from brownie import chain

    from peercare.core.typed_data import sign_typed_data

    signature = sign_typed_data(
        owner.private_key, permit_typed_data(token, owner, spender, value, deadline, nonce, chain.id)
    )
    return signature[64], signature[:32], signature[32:64]


def permit_typed_data(
    token: Any, owner: Any, spender: Any, value: int, deadline: int, nonce: int | None, chain_id: int
) -> dict[str, Any]:
    """The EIP-712 message of an EIP-2612 permit for the Brownie `token` contract."""
    from peercare.core import typed_data

    return typed_data.permit_typed_data(
        chain_id=chain_id,
        token=str(token.address),
        token_name=token.name(),
        owner=str(owner),
        spender=str(spender),
        value=value,
        nonce=token.nonces(owner) if nonce is None else nonce,
        deadline=deadline,
    )

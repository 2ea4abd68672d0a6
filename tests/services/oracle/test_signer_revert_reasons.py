"""Revert data reads as the contract's error, by name and arguments, from the deployment's ABIs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from peercare.chain.revert_reasons import RevertReasons, revert_data
from tests.support.devchain import ROOT, DevLedger

ORACLE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
QID = bytes.fromhex("ab" * 32)


def error_data(signature: str, types: list[str], values: list[Any]) -> str:
    return "0x" + (keccak(text=signature)[:4] + encode(types, values)).hex()


@pytest.fixture(scope="module")
def reasons(dev_ledger_session: DevLedger) -> RevertReasons:
    return RevertReasons.from_deployment(dev_ledger_session.deployment)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            error_data("QuestionAlreadyPosted(bytes32)", ["bytes32"], [QID]),
            f"QuestionAlreadyPosted(questionId=0x{QID.hex()})",
        ),
        (
            error_data("QuestionNotOpen(bytes32,uint8)", ["bytes32", "uint8"], [QID, 2]),
            f"QuestionNotOpen(questionId=0x{QID.hex()}, status=2)",
        ),
        (
            error_data("NotBrandOracle(uint64,address)", ["uint64", "address"], [7, ORACLE]),
            f"NotBrandOracle(brandId=7, account={ORACLE})",
        ),
        (
            error_data(
                "InsufficientPoolBalance(uint64,uint256,uint256)", ["uint64", "uint256", "uint256"], [1, 0, 10**30]
            ),
            f"InsufficientPoolBalance(brandId=1, available=0, needed={10**30})",
        ),
        (
            error_data(
                "ERC20InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [ORACLE, 1, 2]
            ),
            f"ERC20InsufficientBalance(sender={ORACLE}, balance=1, needed=2)",
        ),
        (error_data("EmptyBatch()", [], []), "EmptyBatch()"),
        (error_data("Error(string)", ["string"], ['no "way"']), 'Error(message="no \\"way\\"")'),
        (error_data("Panic(uint256)", ["uint256"], [0x11]), "Panic(code=0x11: arithmetic overflow or underflow)"),
        ("0x", "reverted without data"),
        (None, "reverted without data"),
        ("0xdeadbeef00", "unknown error 0xdeadbeef (revert data 0xdeadbeef00)"),
        (
            error_data("QuestionAlreadyPosted(bytes32)", [], []) + "ab",
            "QuestionAlreadyPosted(undecodable=0xab)",
        ),
    ],
    ids=lambda value: str(value)[:24],
)
def test_revert_data_reads_as_the_error_by_name_and_arguments(
    reasons: RevertReasons, data: str | None, expected: str
) -> None:
    assert reasons.describe(data) == expected


def test_every_error_of_the_ledger_interface_is_known(reasons: RevertReasons) -> None:
    source = (ROOT / "contracts" / "interfaces" / "IPeerCareLedger.sol").read_text()
    declared = set(re.findall(r"^\s*error (\w+)\(", source, flags=re.MULTILINE))
    assert declared and declared <= reasons.names


def test_without_abis_only_solidity_builtin_errors_are_known() -> None:
    bare = RevertReasons()
    assert bare.describe(error_data("Error(string)", ["string"], ["x"])) == 'Error(message="x")'
    assert bare.describe(error_data("EmptyBatch()", [], [])).startswith("unknown error 0x")


@pytest.mark.parametrize(
    ("error_member", "expected"),
    [
        ("0xce26b1b0", "0xce26b1b0"),  # geth, anvil
        ({"data": "0xce26b1b0"}, "0xce26b1b0"),
        ({"originalError": {"data": "0xce26b1b0"}}, "0xce26b1b0"),
        ("Reverted", None),
        (None, None),
        ({"message": "out of gas"}, None),
    ],
)
def test_revert_data_is_found_where_nodes_put_it(error_member: Any, expected: str | None) -> None:
    assert revert_data(error_member) == expected

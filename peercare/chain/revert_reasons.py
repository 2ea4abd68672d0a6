"""Revert data decoded into the contracts' errors, by name and arguments.

The ledger reverts with custom errors (`QuestionAlreadyPosted(bytes32 questionId)`); their selectors
and argument names come from the ABIs in the deployment's compiled artifacts, so a failed write
reads `QuestionAlreadyPosted(questionId=0x…)` instead of four bytes of hex. Solidity's built-in
`Error(string)` and `Panic(uint256)` are always known.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from peercare.chain.deployment import Deployment

# Solidity's panic codes (docs: "Panic via assert and Error via require").
PANIC_CODES = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialised function",
}
_BUILTIN_ERRORS: list[dict[str, Any]] = [
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]


@dataclass(frozen=True)
class Revert:
    """Decoded revert data. `name` is empty when there was no data, and `selector` is set with
    `name` empty when no known error has that selector."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()
    types: tuple[str, ...] = ()
    selector: str = ""
    data: str = "0x"

    def __str__(self) -> str:
        if self.name == "Panic" and self.args:
            code = self.args[0][1]
            return f"Panic(code=0x{code:02x}: {PANIC_CODES.get(code, 'unknown panic code')})"
        if self.name:
            rendered = (
                f"{key}={to_checksum_address(value) if kind == 'address' else _render(value)}"
                for (key, value), kind in zip(self.args, self.types, strict=True)
            )
            return f"{self.name}({', '.join(rendered)})"
        if self.selector:
            return f"unknown error {self.selector} (revert data {self.data})"
        return "reverted without data"


@dataclass(frozen=True)
class _ErrorAbi:
    name: str
    types: tuple[str, ...]
    names: tuple[str, ...]


class RevertReasons:
    """Selector -> error table built from contract ABIs; `decode` never raises on odd data."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]] = ()) -> None:
        self._errors: dict[bytes, _ErrorAbi] = {}
        for abi in [_BUILTIN_ERRORS, *abis]:
            for entry in abi:
                if entry.get("type") == "error":
                    error = _error_abi(entry)
                    self._errors[_selector(error)] = error

    @classmethod
    def from_deployment(cls, deployment: Deployment) -> RevertReasons:
        """All errors of all deployed contracts (the ledger, and the token and libraries it calls)."""
        return cls(deployment.abi(name) for name in deployment.contracts)

    @property
    def names(self) -> set[str]:
        return {error.name for error in self._errors.values()}

    def decode(self, data: bytes | str | None) -> Revert:
        raw = _to_bytes(data)
        if len(raw) < 4:
            return Revert(name="", data="0x" + raw.hex())
        selector, body = raw[:4], raw[4:]
        error = self._errors.get(selector)
        if error is None:
            return Revert(name="", selector="0x" + selector.hex(), data="0x" + raw.hex())
        try:
            values = decode(list(error.types), body)
        except (DecodingError, ValueError, OverflowError):
            return Revert(
                name=error.name,
                args=(("undecodable", body),),
                types=("bytes",),
                selector="0x" + selector.hex(),
                data="0x" + raw.hex(),
            )
        return Revert(
            name=error.name,
            args=tuple(zip(error.names, values, strict=True)),
            types=error.types,
            selector="0x" + selector.hex(),
            data="0x" + raw.hex(),
        )

    def describe(self, data: bytes | str | None) -> str:
        return str(self.decode(data))


def revert_data(error_data: Any) -> str | None:
    """The revert data (0x hex) in a JSON-RPC error's `data` member: geth and anvil put the hex
    string there, some nodes nest it in an object. None when there is none."""
    if isinstance(error_data, str) and error_data.startswith("0x"):
        return error_data
    if isinstance(error_data, Mapping):
        for key in ("data", "originalError"):
            found = revert_data(error_data.get(key))
            if found is not None:
                return found
    return None


def _canonical_type(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(component) for component in param.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _error_abi(entry: Mapping[str, Any]) -> _ErrorAbi:
    inputs = entry.get("inputs", [])
    return _ErrorAbi(
        name=str(entry["name"]),
        types=tuple(_canonical_type(param) for param in inputs),
        names=tuple(str(param.get("name") or f"arg{index}") for index, param in enumerate(inputs)),
    )


def _selector(error: _ErrorAbi) -> bytes:
    return keccak(text=f"{error.name}({','.join(error.types)})")[:4]


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    try:
        return bytes.fromhex(data.removeprefix("0x"))
    except ValueError:
        return b""


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple | list):  # eth_abi gives tuples for both structs and arrays
        return "(" + ", ".join(_render(item) for item in value) + ")"
    return str(value)

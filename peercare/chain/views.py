"""Reading the contracts' view functions: the one way the project calls `eth_call`, and its one
error policy. A node that cannot be reached raises `RpcUnavailable` (after `Rpc`'s retries); a read
the node answers with an error raises `ViewFailed`, which names the read. Neither is retried or
translated here: each caller says what it means to its user (the API a 503 problem document, the
audit an `AuditError`, the CLI an exit with the message). The signer's replay of a reverted
transaction is not a view read and keeps its own `eth_call`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eth_abi.abi import decode

from peercare.chain.rpc import RpcError
from peercare.core.hex import unhex

BATCH_SIZE = 200  # reads per JSON-RPC batch: well under what nodes accept in one request


class ChainReader(Protocol):
    """What a reader needs of `peercare.chain.rpc.Rpc`."""

    def call(self, method: str, params: list[Any] | None = None) -> Any: ...

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]: ...


class ViewFailed(RpcError):
    """The node answered the read of `to` (the `position`-th of a batch) with an error."""

    def __init__(self, to: str, error: RpcError | str, position: int = 0) -> None:
        code, message, data = (
            (error.code, error.message, error.data) if isinstance(error, RpcError) else (0, error, None)
        )
        super().__init__(code, message, data)
        self.args = (f"the chain node could not answer a read of {to}: {error}",)
        self.to = to
        self.position = position


def read_view(rpc: ChainReader, to: str, data: str, types: Sequence[str], block: str = "latest") -> tuple[Any, ...]:
    """The decoded outputs (ABI `types`) of an `eth_call` of `data` on `to` at `block`."""
    try:
        result = rpc.call("eth_call", [{"to": to, "data": data}, block])
    except RpcError as exc:
        raise ViewFailed(to, exc) from None
    return tuple(decode(list(types), unhex(str(result))))


def read_views(
    rpc: ChainReader, reads: Sequence[tuple[str, str]], types: Sequence[str], block: str = "latest"
) -> list[tuple[Any, ...]]:
    """The decoded outputs of many `(to, data)` reads returning the same `types`, in JSON-RPC batches."""
    results: list[tuple[Any, ...]] = []
    for start in range(0, len(reads), BATCH_SIZE):
        chunk = reads[start : start + BATCH_SIZE]
        answers = rpc.batch([("eth_call", [{"to": to, "data": data}, block]) for to, data in chunk])
        for offset, ((to, _data), answer) in enumerate(zip(chunk, answers, strict=True)):
            if isinstance(answer, RpcError):
                raise ViewFailed(to, answer, start + offset)
            if not isinstance(answer, str):
                raise ViewFailed(to, f"not a hex string: {answer!r}", start + offset)
            results.append(tuple(decode(list(types), unhex(answer))))
    return results

"""The API's one way to read a view function of the chain, and its one error policy: a node that
cannot be reached, or that answers a read with an error, is a 503 problem document (the request
may be tried again; nothing was changed)."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode

from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.chain.rpc import RpcError, RpcUnavailable
from peercare.core.hex import unhex


def chain_unavailable(exc: RpcUnavailable) -> Problem:
    return Problem(503, f"the chain node is unreachable ({exc.fault}); try again shortly")


def read_view(context: ApiContext, to: str, data: str, types: list[str], block: str = "latest") -> tuple[Any, ...]:
    """The decoded outputs of an `eth_call` of `data` on `to` at `block`."""
    try:
        result = context.rpc.call("eth_call", [{"to": to, "data": data}, block])
    except RpcUnavailable as exc:
        raise chain_unavailable(exc) from None
    except RpcError as exc:
        raise Problem(503, f"the chain node could not answer a read of {to}: {exc}") from None
    return tuple(decode(types, unhex(str(result))))

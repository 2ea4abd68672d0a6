"""What the chain layer's view reads (`peercare.chain.views`) mean to an API client: a node that
cannot be reached, or that answers a read with an error, is a 503 problem document (the request
may be tried again; nothing was changed)."""

from __future__ import annotations

from typing import Any

from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.chain.rpc import RpcUnavailable
from peercare.chain.views import ViewFailed
from peercare.chain.views import read_view as read_chain_view


def chain_unavailable(exc: RpcUnavailable) -> Problem:
    return Problem(503, f"the chain node is unreachable ({exc.fault}); try again shortly")


def read_view(context: ApiContext, to: str, data: str, types: list[str], block: str = "latest") -> tuple[Any, ...]:
    """The decoded outputs of an `eth_call` of `data` on `to` at `block`."""
    try:
        return read_chain_view(context.rpc, to, data, types, block)
    except RpcUnavailable as exc:
        raise chain_unavailable(exc) from None
    except ViewFailed as exc:
        raise Problem(503, str(exc)) from None


_DECIMALS_SELECTOR = "0x313ce567"  # decimals()


def token_decimals(context: ApiContext, token: str) -> int:
    """The token's `decimals()` (18 for the demo token, 6 for a USD stablecoin), so that a client
    shows amounts in whole units exactly. Read once per token and process: decimals never change."""
    key = token.lower()
    if key not in context.token_decimals:
        (decimals,) = read_view(context, token, _DECIMALS_SELECTOR, ["uint8"])
        context.token_decimals[key] = int(decimals)
    return context.token_decimals[key]

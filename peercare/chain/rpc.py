"""The oracle's JSON-RPC client: one keep-alive HTTP connection to the node, retries with back-off.

Transport faults (timeouts, refused/reset/closed connections, HTTP 429 and 5xx, a body that is not
JSON-RPC) are retried with exponential back-off and full jitter until `max_attempts` attempts have
failed, then `RpcUnavailable` is raised. An answer from the node that is a JSON-RPC error raises
`RpcError` at once: it is the node's verdict, and only the caller knows what it means (for
`eth_sendRawTransaction`, "nonce too low" or "already known" may well mean success).

Retries are not idempotent by themselves. A request can reach the node and take effect while its
response is lost (a reset or timeout after the node acted), and the retry then sends it again. For
reads this is harmless; a caller that writes must make the repeat harmless itself: the signer sends
the same signed transaction again (same nonce, same hash), so the repeat can only be rejected as
known or as using a spent nonce, and it checks the transaction's receipt to tell which.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

log = logging.getLogger("peercare.chain.rpc")

_T = TypeVar("_T")
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
# A path segment that looks like an API key (Infura `/v3/<key>`, Alchemy `/v2/<key>`): kept out of messages.
_SECRET_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{16,}")


class RpcError(Exception):
    """The node answered with a JSON-RPC error object. Never retried: the caller decides what it means."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    @classmethod
    def from_response(cls, error: dict[str, Any]) -> RpcError:
        code = error.get("code")
        message = error.get("message")
        return cls(
            code if isinstance(code, int) else 0,
            message if isinstance(message, str) else json.dumps(error),
            error.get("data"),
        )


class RpcUnavailable(Exception):
    """The node could not be reached usefully: transport faults outlasted the retry budget (or the
    endpoint refused the request outright, e.g. HTTP 401). `fault` is the last fault seen."""

    def __init__(self, message: str, *, fault: str, attempts: int, url: str) -> None:
        super().__init__(message)
        self.fault = fault
        self.attempts = attempts
        self.url = url


class _Fault(Exception):
    """One failed attempt worth retrying. `kind` is short and stable (it is tallied); `detail` adds context."""

    def __init__(self, kind: str, detail: str = "", *, retry_after: float | None = None, final: bool = False) -> None:
        super().__init__(f"{kind} ({detail})" if detail else kind)
        self.kind = kind
        self.retry_after = retry_after
        self.final = final  # retrying will not help: give up now


def redact_url(url: str) -> str:
    """The URL without what may be a credential: userinfo, query, fragment and key-like path segments."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = "/".join("***" if _SECRET_SEGMENT.fullmatch(segment) else segment for segment in parts.path.split("/"))
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _retry_after_s(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Rpc:
    """A JSON-RPC client for one node URL, for use by one thread (the signer and the indexer each own one).

    `call` and `batch` retry transport faults: timeouts, connection errors (refused, reset, closed
    without a response), HTTP 429 (waiting `Retry-After` seconds, capped by `backoff_max_s`), HTTP
    5xx, and a response that is not valid JSON-RPC. Between attempts it sleeps a random time in
    [0, min(backoff_max_s, backoff_base_s * 2**n)] for the n-th retry (exponential back-off with full
    jitter). After `max_attempts` failed attempts `RpcUnavailable` is raised. A JSON-RPC error answer
    raises `RpcError` at once (in `batch`, it is returned in its slot).

    A retried request may already have reached the node (the response, not the request, was lost),
    so a retry can repeat a write: making that harmless is the caller's concern (see the module
    docstring). `retries` counts every retried attempt, for tests and metrics.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 8,
        backoff_base_s: float = 0.1,
        backoff_max_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        if timeout_s <= 0 or backoff_base_s < 0 or backoff_max_s < 0:
            raise ValueError("timeout_s must be positive, backoff_base_s and backoff_max_s not negative")
        self._url = url
        self._safe_url = redact_url(url)
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), headers=_HEADERS)
        self.retries = 0

    def __enter__(self) -> Rpc:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Rpc({self._safe_url!r})"

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """Call `method` and return its `result`; raise `RpcError` if the node answers with an error."""
        request_id = next(self._ids)
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}
        if log.isEnabledFor(logging.DEBUG):
            log.debug("rpc request %d: %s %s", request_id, method, json.dumps(params or []))

        def parse(reply: Any) -> Any:
            if not isinstance(reply, dict):
                raise _Fault("malformed response", f"expected an object, got {type(reply).__name__}")
            if reply.get("id") not in (request_id, None):
                raise _Fault("malformed response", f"id {reply.get('id')!r} answers another request")
            if isinstance(reply.get("error"), dict):
                raise RpcError.from_response(reply["error"])
            if reply.get("id") != request_id or "result" not in reply:
                raise _Fault("malformed response", "neither a result nor an error")
            return reply["result"]

        return self._exchange(method, request, parse)

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any | RpcError]:
        """Send `calls` as one JSON-RPC batch (one HTTP request); return their results in order, with an
        `RpcError` instance in the slot of each call the node answered with an error. If the node rejects
        the batch as a whole, that error is raised."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        request = [
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            for request_id, (method, params) in zip(ids, calls, strict=True)
        ]
        label = f"batch of {len(calls)} ({', '.join(sorted({method for method, _ in calls}))})"
        if log.isEnabledFor(logging.DEBUG):
            log.debug("rpc batch %d..%d: %s", ids[0], ids[-1], json.dumps(request))

        def parse(reply: Any) -> list[Any | RpcError]:
            if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
                raise RpcError.from_response(reply["error"])
            if not isinstance(reply, list):
                raise _Fault("malformed response", f"expected a list, got {type(reply).__name__}")
            by_id = {item["id"]: item for item in reply if isinstance(item, dict) and isinstance(item.get("id"), int)}
            results: list[Any | RpcError] = []
            for request_id in ids:
                item = by_id.get(request_id)
                if item is None:
                    raise _Fault("malformed response", f"no answer for request {request_id}")
                if isinstance(item.get("error"), dict):
                    results.append(RpcError.from_response(item["error"]))
                elif "result" in item:
                    results.append(item["result"])
                else:
                    raise _Fault("malformed response", f"neither a result nor an error for request {request_id}")
            return results

        return self._exchange(label, request, parse)

    def _exchange(self, label: str, request: Any, parse: Callable[[Any], _T]) -> _T:
        content = json.dumps(request, separators=(",", ":")).encode()
        faults: Counter[str] = Counter()
        for attempt in range(1, self._max_attempts + 1):
            try:
                return parse(self._post(content))
            except _Fault as fault:
                faults[fault.kind] += 1
                if fault.final or attempt == self._max_attempts:
                    tally = ", ".join(f"{count}x {kind}" for kind, count in faults.most_common())
                    raise RpcUnavailable(
                        f"{label}: {self._safe_url} unavailable after {attempt} attempts; "
                        f"last fault: {fault}; faults: {tally}",
                        fault=str(fault),
                        attempts=attempt,
                        url=self._safe_url,
                    ) from fault
                delay = self._delay(attempt, fault.retry_after)
                log.warning(
                    "rpc %s: %s on attempt %d of %d, retrying in %.3f s",
                    label,
                    fault,
                    attempt,
                    self._max_attempts,
                    delay,
                )
                self.retries += 1
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._backoff_max_s)
        # Full jitter (uniform in [0, cap]): clients that failed together do not retry together.
        return random.uniform(0.0, min(self._backoff_max_s, self._backoff_base_s * 2 ** min(attempt - 1, 60)))

    def _post(self, content: bytes) -> Any:
        """One attempt: the decoded JSON body, a `_Fault`, or the node's `RpcError`."""
        try:
            response = self._client.post(self._url, content=content)
        except httpx.TimeoutException as exc:
            raise _Fault("timeout", type(exc).__name__) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Fault("connection error", f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429:
            raise _Fault("HTTP 429", retry_after=_retry_after_s(response.headers.get("Retry-After")))
        if status >= 500:
            raise _Fault(f"HTTP {status}")
        try:
            body = json.loads(response.content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            if response.is_success:
                raise _Fault("invalid JSON", f"HTTP {status}, {len(response.content)} bytes") from exc
            body = None
        if not response.is_success:
            # Some nodes answer JSON-RPC errors with a 4xx status; anything else (401, 403, 404...) is
            # a configuration fault that retrying will not cure.
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                raise RpcError.from_response(body["error"])
            raise _Fault(f"HTTP {status}", "not retried", final=True)
        return body

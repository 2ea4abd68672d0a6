"""Limits every route shares: body size (413), request bursts (429) and page size.

Bodies are capped by a pure ASGI middleware that counts bytes as they arrive, so an oversized
`Content-Length` or stream is refused before a route parses anything. Bursts are a token bucket per
caller (the credential presented, else the client address): `rate_per_s` sustained, `burst` at
once. Both answer with RFC 9457 problem documents like every other error.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from peercare.api.problems import PROBLEM_JSON, TITLES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: JSON bodies of the API proper; webhook bodies have their own, larger cap (`intake.MAX_BODY_BYTES`).
MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 200
DEFAULT_PAGE = 50


async def send_problem(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail})
    raw_headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body.encode()})


class BodyLimit:
    """Refuse request bodies over `max_bytes` (paths under `exempt` are capped by their route)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        detail = f"the request body is over {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await send_problem(send, 413, detail)
                return
        # Read the body here (it is small by definition) so that a route never sees a partial one:
        # an error raised inside a route's body parsing would turn into a 400, not a 413.
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await send_problem(send, 413, detail)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # http.disconnect, when it comes

        await self.app(scope, replay, send)


@dataclass
class RateLimiter:
    """Token buckets per caller key; `allow` answers how long to wait (0: go ahead)."""

    rate_per_s: float = 50.0
    burst: int = 100
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # forget idle callers (their buckets are full again)
                    refill_s = self.burst / self.rate_per_s
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill_s}
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s


class RateLimit:
    """ASGI middleware answering 429 with `Retry-After` when a caller's bucket is empty."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        wait = self.limiter.allow(caller_key(scope))
        if wait > 0:
            retry = max(1, round(wait + 0.5))
            await send_problem(
                send,
                429,
                f"too many requests: at most {self.limiter.burst} at once, then "
                f"{self.limiter.rate_per_s:g} per second; retry in {retry} s",
                {"retry-after": str(retry)},
            )
            return
        await self.app(scope, receive, send)


def caller_key(scope: Scope) -> str:
    """Who is calling: a digest of the credential presented, else the client address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "auth:" + hashlib.sha256(value).hexdigest()[:32]
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"

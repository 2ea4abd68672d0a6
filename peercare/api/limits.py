"""Limits every route shares: body size (413), request bursts (429) and page size.

Bodies are capped by a pure ASGI middleware that counts bytes as they arrive, so an oversized
`Content-Length` or stream is refused before a route parses anything. Bursts are a token bucket per
caller: `rate_per_s` sustained, `burst` at once. The caller is the principal a valid credential
proves (an API key's id, a signed-in advocate's address: `Principals`), else the client address,
so a made-up `Authorization` header buys no bucket of its own; an unknown credential is looked up
only while its client address has requests left. Routes with limits of their own (webhook sources,
relayed answers) raise `TooManyRequests`. Every refusal is an RFC 9457 problem document.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from peercare.api.problems import PROBLEM_JSON, TITLES, Problem, problem_response

log = logging.getLogger("peercare.api.limits")

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
        """Take a token from `key`'s bucket: 0 if there was one, else the seconds until there is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # forget idle callers (their buckets are full again)
                    refill_s = self.burst / self.rate_per_s
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill_s}
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def waiting(self, key: str, now: float | None = None) -> float:
        """Like `allow`, without taking the token: 0 if `key` may go ahead now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate_per_s

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate_per_s)


def retry_after(wait_s: float) -> int:
    """Whole seconds for `Retry-After`, never 0 (a client told 0 would retry at once)."""
    return max(1, math.ceil(wait_s))


class TooManyRequests(Problem):
    """A 429 problem with `Retry-After`, raised by routes that keep limits of their own."""

    def __init__(self, detail: str, wait_s: float, **extra: Any) -> None:
        super().__init__(429, detail, **extra)
        self.retry_after = retry_after(wait_s)


def install(app: FastAPI) -> None:
    """Answer `TooManyRequests` as a problem document with its `Retry-After` header."""

    @app.exception_handler(TooManyRequests)
    async def _too_many(request: Request, exc: TooManyRequests) -> JSONResponse:
        response = problem_response(429, exc.detail, instance=request.url.path, errors=exc.errors, **exc.extra)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


@dataclass
class WebhookLimits:
    """The webhook route's limits. An authentic delivery counts against its (brand, source)'s own
    bucket (`sources`: generous, a ticketing system bursts), so one brand's flood never slows
    another's; a refused one (not configured, not authentic, too large) counts against its client
    address in the API's bucket (`addresses`), which is checked before the body is read: a forger
    can neither drain a brand's bucket nor make the route hash its bodies without end."""

    sources: RateLimiter
    addresses: RateLimiter

    def check_address(self, scope: Scope) -> None:
        wait = self.addresses.waiting(address_key(scope))
        if wait > 0:
            raise TooManyRequests(
                f"too many refused webhook deliveries from this address: at most {self.addresses.burst} at once, "
                f"then {self.addresses.rate_per_s:g} per second; retry in {retry_after(wait)} s",
                wait,
            )

    def charge_address(self, scope: Scope) -> None:
        self.addresses.allow(address_key(scope))

    def charge_source(self, brand_id: int, source: str) -> None:
        wait = self.sources.allow(f"webhook:{brand_id}:{source}")
        if wait > 0:
            raise TooManyRequests(
                f"too many deliveries to brand {brand_id}'s {source} webhook: at most {self.sources.burst} at once, "
                f"then {self.sources.rate_per_s:g} per second; retry in {retry_after(wait)} s (nothing was recorded)",
                wait,
            )


#: The bucket key of the principal a bearer token proves ("key:<id>", "advocate:<address>"), or
#: None when it proves nothing. It reads the database, so it runs in a worker thread.
Identify = Callable[[str], str | None]
MAX_TOKEN_CHARS = 200  # longer than any credential this API issues: not looked up


class Principals:
    """Bearer tokens that proved a principal lately, by their SHA-256, and its bucket key.

    A token is looked up again after `ttl_s`: a key revoked or a session ended meanwhile keeps its
    bucket that long, which only decides whose requests are counted together (every route still
    checks the credential itself). Tokens that proved nothing are not remembered, so invented ones
    cannot crowd out real ones; they count against their client address."""

    def __init__(self, identify: Identify, ttl_s: float = 30.0, max_entries: int = 10_000) -> None:
        self.identify = identify
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.lookups = 0  # database look-ups so far
        self._seen: dict[str, tuple[str, float]] = {}  # sha256 -> (bucket key, looked up at)

    def recall(self, token: str, now: float | None = None) -> tuple[str | None, bool]:
        """(key, fresh): the principal `token` proved when last looked up (None: it never did) and
        whether that was within `ttl_s`."""
        now = time.monotonic() if now is None else now
        found = self._seen.get(_digest(token))
        if found is None:
            return None, False
        return found[0], now - found[1] < self.ttl_s

    async def resolve(self, token: str) -> str | None:
        """The bucket key `token` proves, read from the database in a worker thread."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        self.lookups += 1
        try:
            key = await anyio.to_thread.run_sync(self.identify, token)
        except Exception:  # the database is unreachable: count it against its address; routes say why
            log.warning("could not look up a bearer token for the rate limit", exc_info=True)
            return None
        digest = _digest(token)
        if key is None:
            self._seen.pop(digest, None)
            return None
        now = time.monotonic()
        if len(self._seen) >= self.max_entries:  # forget the stale, else the older half
            self._seen = {d: v for d, v in self._seen.items() if now - v[1] < self.ttl_s}
            if len(self._seen) >= self.max_entries:
                self._seen = dict(list(self._seen.items())[self.max_entries // 2 :])
        self._seen[digest] = (key, now)
        return key


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class RateLimit:
    """ASGI middleware answering 429 with `Retry-After` when a caller's bucket is empty. The
    caller is the principal a valid bearer token proves (`principals`), else the client address."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        exempt: tuple[str, ...] = (),
        principals: Principals | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt = exempt
        self.principals = principals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        address = address_key(scope)
        key = address
        token = bearer_token(scope)
        if token is not None and self.principals is not None:
            principal, fresh = self.principals.recall(token)
            if not fresh:
                # A token that never proved anything is looked up only while its address has
                # requests left: a client inventing tokens costs no database read once it is spent.
                wait = 0.0 if principal else self.limiter.waiting(address)
                if wait > 0:
                    await self._refuse(send, wait)
                    return
                principal = await self.principals.resolve(token)
            key = principal or address
        wait = self.limiter.allow(key)
        if wait > 0:
            await self._refuse(send, wait)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, wait: float) -> None:
        retry = retry_after(wait)
        await send_problem(
            send,
            429,
            f"too many requests: at most {self.limiter.burst} at once, then "
            f"{self.limiter.rate_per_s:g} per second; retry in {retry} s",
            {"retry-after": str(retry)},
        )


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None without one, or another scheme)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


def address_key(scope: Scope) -> str:
    """The bucket of the client's address (what a caller without a valid credential counts against)."""
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"

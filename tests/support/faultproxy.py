"""A loopback HTTP/1.1 proxy in front of a JSON-RPC node that injects transport faults, for tests.

    proxy = FaultProxy("http://127.0.0.1:8680", 8681)
    proxy.start()
    proxy.inject("http503", "drop")          # the next two requests fail, then requests pass
    proxy.set_random(0.3, FAULTS, seed=7)    # or: each request faulted with probability 0.3
    ...
    proxy.stop()                             # closes the socket, every connection, joins every thread

Fault kinds:
- "timeout": hold the connection without answering for `hold_s` seconds (longer than the client's
  timeout), then close it; the request is not forwarded.
- "http429": answer 429 with `Retry-After: <retry_after>`, not forwarded.
- "http503": answer 503 with a plain-text body, not forwarded.
- "drop": close the connection without forwarding and without a response.
- "drop_after_forward": forward, then close without returning the response: the request took
  effect, but the client never learns it.
- "bad_json": answer 200 with a body that is not JSON, not forwarded.

And one that reads the requests: `proxy.swallow_broadcasts(1)` makes the proxy answer the next new
`eth_sendRawTransaction` with its transaction hash and never forward it, and every later send of
the same bytes with "already imported" (a node that accepted a transaction and lost it); the other
calls of the request still reach the node.

Keep-alive is supported (httpx reuses connections): a clean pass answers and keeps the connection.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import random
import socket
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit

from eth_utils.crypto import keccak

FAULTS = ("timeout", "http429", "http503", "drop", "drop_after_forward", "bad_json")


class _Server(ThreadingMixIn, HTTPServer):
    # Handler threads are not daemons and server_close() joins them: stop() leaks no thread.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for a delayed ACK
    server: _Server
    timeout = 30  # an idle keep-alive connection is closed after this (stop() closes them sooner)

    def setup(self) -> None:
        super().setup()
        self.server.proxy._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fault = proxy._next_fault()
        if fault is None and proxy._swallows(body):
            self._answer(200, proxy._swallow(body, self.headers.get("Content-Type")), "application/json")
        elif fault is None:
            status, content_type, answer = proxy._forward(body, self.headers.get("Content-Type"))
            self._answer(status, answer, content_type)
        elif fault == "timeout":
            proxy._stopping.wait(proxy.hold_s)
            self.close_connection = True
        elif fault == "http429":
            self._answer(429, b"Too Many Requests", "text/plain", {"Retry-After": proxy.retry_after})
        elif fault == "http503":
            self._answer(503, b"Service Unavailable", "text/plain")
        elif fault == "bad_json":
            self._answer(200, b"<html>Bad Gateway</html>", "application/json")
        elif fault == "drop":
            self.close_connection = True
        elif fault == "drop_after_forward":
            proxy._forward(body, self.headers.get("Content-Type"))
            self.close_connection = True
        else:  # pragma: no cover - inject() and set_random() check the kinds
            raise AssertionError(fault)

    def _answer(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class FaultProxy:
    """Forwards POST bodies to `upstream` byte for byte, with the faults asked for (see the module docstring)."""

    def __init__(self, upstream: str, port: int, *, hold_s: float = 3.0, retry_after: str = "1") -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"upstream must be an http:// URL: {upstream}")
        self._upstream_host = parts.hostname
        self._upstream_port = parts.port or 80
        self._upstream_path = parts.path or "/"
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.hold_s = hold_s
        self.retry_after = retry_after
        self.counts: dict[str, int] = dict.fromkeys((*FAULTS, "forwarded"), 0)
        self._lock = threading.Lock()
        self._queue: collections.deque[str] = collections.deque()
        self._random_rate = 0.0
        self._random_kinds: tuple[str, ...] = ()
        self._rng = random.Random(0)
        self._to_swallow = 0
        self.swallowed: set[str] = set()  # raw transactions (0x hex) answered but never forwarded
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the proxy is already running")
        self._stopping.clear()
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close every open connection, release held ones, join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)
        server.server_close()  # closes the listening socket and joins the handler threads
        self._server = self._thread = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def inject(self, *faults: str) -> None:
        """The next requests get these faults, in order; then requests pass (or follow set_random)."""
        _check_kinds(faults)
        with self._lock:
            self._queue.extend(faults)

    def set_random(self, rate: float, kinds: Sequence[str], seed: int) -> None:
        """Fault each request (after the injected queue) with probability `rate`, of a kind drawn from
        `kinds`; for requests that arrive one at a time the sequence is fixed by `seed`."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1]: {rate}")
        if rate > 0 and not kinds:
            raise ValueError("kinds must not be empty")
        _check_kinds(kinds)
        with self._lock:
            self._random_rate = rate
            self._random_kinds = tuple(kinds)
            self._rng = random.Random(seed)

    def swallow_broadcasts(self, count: int) -> None:
        """Swallow the next `count` new raw transactions (see the module docstring)."""
        with self._lock:
            self._to_swallow += count

    def _swallows(self, body: bytes) -> bool:
        with self._lock:
            if not self._to_swallow and not self.swallowed:
                return False
        return b"eth_sendRawTransaction" in body

    def _swallow(self, body: bytes, content_type: str | None) -> bytes:
        """Answer the request's broadcasts ourselves (a hash, or "already imported" for bytes swallowed
        before) and forward its other calls; the answers keep the request's order and ids."""
        request = json.loads(body)
        calls = request if isinstance(request, list) else [request]
        answers: dict[int, Any] = {}
        forward = []
        for index, call in enumerate(calls):
            raw = call["params"][0] if call.get("method") == "eth_sendRawTransaction" else None
            with self._lock:
                if raw is not None and raw in self.swallowed:
                    answers[index] = {"error": {"code": -32003, "message": "transaction already imported"}}
                elif raw is not None and self._to_swallow:
                    self._to_swallow -= 1
                    self.swallowed.add(raw)
                    answers[index] = {"result": "0x" + keccak(bytes.fromhex(raw[2:])).hex()}
            if index not in answers:
                forward.append(index)
        if forward:
            _, _, answer = self._forward(json.dumps([calls[i] for i in forward]).encode(), content_type)
            by_id = {reply.get("id"): reply for reply in json.loads(answer)}
            answers.update({i: by_id[calls[i].get("id")] for i in forward})
        replies = [{"jsonrpc": "2.0", "id": call.get("id"), **_outcome(answers[i])} for i, call in enumerate(calls)]
        return json.dumps(replies if isinstance(request, list) else replies[0]).encode()

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._queue:
                fault: str | None = self._queue.popleft()
            elif self._random_rate > 0 and self._rng.random() < self._random_rate:
                fault = self._rng.choice(self._random_kinds)
            else:
                fault = None
            if fault is not None:
                self.counts[fault] += 1
            return fault

    def _forward(self, body: bytes, content_type: str | None) -> tuple[int, str, bytes]:
        upstream = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=30)
        try:
            upstream.request(
                "POST", self._upstream_path, body=body, headers={"Content-Type": content_type or "application/json"}
            )
            response = upstream.getresponse()
            answer = response.read()
            status, returned_type = response.status, response.getheader("Content-Type", "application/json")
        except OSError as exc:
            return 502, "text/plain", f"upstream unreachable: {exc}".encode()
        finally:
            upstream.close()
        with self._lock:
            self.counts["forwarded"] += 1
        return status, returned_type, answer

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
        if self._stopping.is_set():  # accepted while stop() was closing the others
            _shut(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


def _outcome(reply: dict[str, Any]) -> dict[str, Any]:
    return {"error": reply["error"]} if "error" in reply else {"result": reply.get("result")}


def _shut(connection: socket.socket) -> None:
    """Wake the handler thread blocked on this connection: its next read sees the end."""
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


def _check_kinds(kinds: Sequence[str]) -> None:
    unknown = set(kinds) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULTS}")

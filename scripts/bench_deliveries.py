"""Outbound deliveries per second, and requests per delivery, to each ticketing system.

    .venv/bin/python scripts/bench_deliveries.py [--deliveries N]

Queues N routing notes (offers) for one brand in a fresh SQLite database and has one
`DeliverySender` (the oracle's worker) send them, one system at a time: the Zendesk and Freshdesk
stand-ins (`tests/support/ticketing_standins.py`, loopback, written from the vendors' API
references) and a generic receiver (loopback, answers 204). Measures deliveries per second (wall
clock, from the first step to the last delivery recorded) and requests per delivery (counted by the
server: deterministic). With `--busy-writer`, another thread keeps committing write transactions
(500 rows each) to the same database while the sender works, as the processor, signer and indexer
do in the running oracle: the sender's commits then wait for the write lock. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from peercare.db.database import Database, sqlite_url  # noqa: E402
from peercare.db.tables.deliveries import Delivery, DeliveryStatus  # noqa: E402
from peercare.oracle.brands import configure_brand  # noqa: E402
from peercare.oracle.deliveries import queue  # noqa: E402
from peercare.oracle.deliveries.sender import DeliverySender  # noqa: E402
from tests.support.delivery_load import note_payload  # noqa: E402
from tests.support.ticketing_standins import FreshdeskStandin, ZendeskStandin  # noqa: E402

TICKETS = 50
PAYLOAD = note_payload("0x" + "ab" * 32)


class Receiver(ThreadingHTTPServer):
    request_queue_size = 128  # as a real server's (socketserver's 5 drops concurrent connections)

    def __init__(self) -> None:
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def _busy_writer(database: Database, stop: threading.Event) -> None:
    """Write transactions of 500 rows each, back to back, until `stop`. Each transaction also
    deletes the previous one's rows: the load is the write lock, not the file's size (a sender that
    stalled once left this writer filling the disk with 24 GB)."""
    with database.transaction() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS bench_busy (id INTEGER PRIMARY KEY, note TEXT)"))
    while not stop.is_set():
        with database.transaction() as session:
            session.execute(text("DELETE FROM bench_busy"))
            session.execute(text("INSERT INTO bench_busy (note) VALUES (:note)"), [{"note": "x" * 200}] * 500)


def run(
    source: str, base_url: str, username: str | None, secret: str, n: int, folder: Path, busy: bool
) -> dict[str, float]:
    database = Database(sqlite_url(folder / f"{source}.sqlite3"))
    database.migrate()
    now_ms = int(time.time() * 1000)
    with database.transaction() as session:
        configure_brand(session, 1, "Bench")
        queue.set_channel(session, 1, source, base_url=base_url, secret=secret, username=username, now_ms=now_ms)
        for i in range(n):
            queue.enqueue(
                session,
                key=f"offer:{i}:0",
                brand_id=1,
                source=source,
                ticket_id=str(1 + i % TICKETS),
                kind="offer",
                payload=PAYLOAD,
                now_ms=now_ms,
            )
    sender = DeliverySender(database, batch=100)
    stop = threading.Event()
    writer = threading.Thread(target=_busy_writer, args=(database, stop), daemon=True)
    if busy:
        writer.start()
    started = time.perf_counter()
    try:
        while sender.step():
            pass
        elapsed = time.perf_counter() - started
    finally:  # a sender that fails must not leave the writer writing
        stop.set()
        if busy:
            writer.join()
    with database.read() as session:
        delivered = session.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.DELIVERED))
    sender.close()
    database.dispose()
    assert delivered == n, f"{source}: only {delivered} of {n} delivered"
    return {"deliveries_per_s": round(n / elapsed, 1), "seconds": round(elapsed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--busy-writer", action="store_true", help="another thread keeps writing meanwhile")
    args = parser.parse_args()
    n, busy = args.deliveries, args.busy_writer
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with ZendeskStandin(email="bot@bench.example", api_token="bench-token") as zendesk:
            for ticket in range(1, TICKETS + 1):
                zendesk.add_ticket(ticket, subject=f"T{ticket}")
            results["zendesk"] = run("zendesk", zendesk.base_url, "bot@bench.example", "bench-token", n, folder, busy)
            results["zendesk"]["requests_per_delivery"] = round(len(zendesk.requests) / n, 2)
        with FreshdeskStandin(api_key="bench-key") as freshdesk:
            for ticket in range(1, TICKETS + 1):
                freshdesk.add_ticket(ticket, subject=f"T{ticket}")
            results["freshdesk"] = run("freshdesk", freshdesk.base_url, None, "bench-key", n, folder, busy)
            results["freshdesk"]["requests_per_delivery"] = round(len(freshdesk.requests) / n, 2)
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{receiver.server_address[1]}/peercare"
        results["generic"] = run("generic", url, None, "bench-secret-1", n, folder, busy)
        results["generic"]["requests_per_delivery"] = round(receiver.requests / n, 2)
        receiver.shutdown()
    for source, figures in results.items():
        rate, each = figures["deliveries_per_s"], figures["requests_per_delivery"]
        print(f"{source:10} {rate:8.1f} deliveries/s  {each} requests each")
    machine = {"machine": platform.machine(), "python": platform.python_version()}
    print(json.dumps({"deliveries": n, "busy_writer": busy, **machine, **results}))


if __name__ == "__main__":
    main()

"""The delivery sender alone, as a process of its own, until it is killed: what the delivery crash
test (`tests/services/oracle/test_delivery_crashes.py`) SIGKILLs at random moments.

    python -m tests.support.delivery_worker sqlite:////tmp/x/oracle.sqlite3
"""

from __future__ import annotations

import sys
import time

from peercare.db.database import Database
from peercare.oracle.deliveries.sender import DeliverySender

IDLE_S = 0.02  # between steps that found nothing due (the runtime's Worker idles the same way)
# Small batches (two side by side), so that the kills' random moments fall between batches as
# often as within one: a batch's deliveries are recorded delivered together.
BATCH = 2


def main(database_url: str) -> None:
    sender = DeliverySender(Database(database_url), timeout_s=2.0, batch=BATCH, concurrency=BATCH)
    print("sending", flush=True)
    while True:
        if not sender.step():
            time.sleep(IDLE_S)


if __name__ == "__main__":
    main(sys.argv[1])

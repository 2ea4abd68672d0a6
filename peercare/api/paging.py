"""Paged lists: the `limit` and `cursor` query parameters every list route takes, and the one
parser of a cursor (`after_cursor`). A page (`schemas.common.Page`) ends with `next_cursor`, the
id of its last item; the next page starts after it.

A cursor that is not one this API could have handed out is refused with a 422 problem document,
never clamped or guessed at: the query parameter's pattern refuses anything but 1 to 18 decimal
digits before a route runs, and `after_cursor` refuses an id past the database's integers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from peercare.api.limits import DEFAULT_PAGE, MAX_PAGE
from peercare.api.problems import Problem

#: Row ids (and epochs) are SQL BIGINT: a larger cursor was never handed out.
MAX_ROW_ID = 2**63 - 1

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per page (at most {MAX_PAGE})")]
PageCursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="From a previous page")]
DEFAULT_LIMIT = DEFAULT_PAGE


def after_cursor(cursor: str | None) -> int:
    """The id a page starts after: 0 for the first page (no cursor)."""
    after = 0 if cursor is None else int(cursor)
    if after > MAX_ROW_ID:
        raise Problem(422, "cursor: not a cursor this API returned (pass a page's next_cursor back)")
    return after

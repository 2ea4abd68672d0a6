"""The one error of the demo: it cannot go on, and its message says why and what to do (the CLI
prints it and exits)."""

from __future__ import annotations


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""

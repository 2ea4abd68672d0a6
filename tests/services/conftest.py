"""Runs the service suites two at a time (`make test-services`: `pytest -n 2 --dist loadgroup`).

Each suite (a folder, or a top-level test module) starts its own servers on its own fixed ports
for the session: every test of a suite goes to the same worker, so a suite's servers start once
and two suites never contend for a port.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SERVICES = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(SERVICES).parts
        suite = parts[0] if len(parts) > 1 else item.path.stem
        item.add_marker(pytest.mark.xdist_group(suite))

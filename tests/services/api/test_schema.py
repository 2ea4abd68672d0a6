"""schemathesis against the live schema: the API served by uvicorn on a real port, every
operation called with generated valid and invalid input, as every role. No response may be a 5xx,
and every response must match the schema (status code, content type, body); invalid input must be
refused.

Half of the valid cases get real identifiers (brand 1's id, an advocate with a session, a real
answer, question and epoch) so that they reach past authorisation into the routes' own logic.
Writes that change shared configuration (a brand's settings, its webhook secrets) aim at brand
900, which exists (in the oracle's configuration only) for this test.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy import select

from peercare.api.app import create_app
from peercare.api.context import ApiContext
from peercare.api.limits import RateLimiter
from peercare.api.security import create_api_key
from peercare.db.tables import projections as ix
from peercare.db.tables.api import KeyRole
from tests.support.oracle_process import serve_cardano_brand
from tests.support.world import World

PORT = int(os.environ.get("PEERCARE_TEST_API_PORT", "8745"))
SCRATCH_BRAND = 900  # configured in the oracle only: never a brand id the chain hands out in these tests
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class LiveApi:
    """The world's API served by uvicorn on 127.0.0.1:PORT in a thread, stopped at the end."""

    def __init__(self, world: World) -> None:
        self.server = uvicorn.Server(uvicorn.Config(world.oracle.app, host="127.0.0.1", port=PORT, log_level="error"))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{PORT}"

    def __enter__(self) -> LiveApi:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def live(world: World) -> Iterator[tuple[World, dict[str, dict[str, str]], dict[str, str]]]:
    serve_cardano_brand(world.oracle.database, SCRATCH_BRAND)
    with world.oracle.database.transaction() as session:
        scratch_key = create_api_key(session, KeyRole.BRAND, SCRATCH_BRAND, "schemathesis")[1]
    with world.oracle.database.read() as session:
        answer = session.scalars(select(ix.AnswerRow).order_by(ix.AnswerRow.id)).first()
    assert answer is not None
    advocate = answer.advocate
    # A session of its own: generated calls include logging out, which must not end the other tests' sessions.
    session_token = world.sign_in(next(a for a in world.advocates if a.address == advocate))
    roles = {
        "anonymous": {},
        "advocate": world.bearer(session_token),
        "brand": world.bearer(world.brand_keys[1]),
        "scratch-brand": world.bearer(scratch_key),
        "auditor": world.bearer(world.auditor_key),
    }
    real = {
        "brand_id": "1",
        "address": advocate,
        "answer_id": answer.answer_id,
        "question_id": answer.question_id,
        "epoch": "1",
        "source": "zendesk",
    }
    with LiveApi(world):
        yield world, roles, real


@pytest.fixture(scope="session")
def api_schema(live: tuple[World, dict[str, dict[str, str]], dict[str, str]]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"http://127.0.0.1:{PORT}/openapi.json")


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """Every (method, path) of the API (webhooks are tested with their own signed formats), with
    valid input, and with invalid input where it takes any."""
    app = create_app(cast(ApiContext, SimpleNamespace(limiter=RateLimiter())))
    operations = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            if not path.startswith("/api/v1/webhooks/"):
                operations.append((method.upper(), path, GenerationMode.POSITIVE))
                if operation.get("parameters") or operation.get("requestBody"):
                    operations.append((method.upper(), path, GenerationMode.NEGATIVE))
    return operations


@pytest.mark.parametrize(("method", "path", "mode"), _operations(), ids=lambda v: getattr(v, "value", v))
def test_no_operation_fails_or_leaves_its_schema_for_any_input_or_role(
    api_schema: schemathesis.BaseSchema,
    live: tuple[World, dict[str, dict[str, str]], dict[str, str]],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    _, roles, real = live
    operation = api_schema[path][method]
    writes_config = method in ("PATCH", "PUT") or path.endswith("/secret")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        seed = int(hashlib.sha256(repr((case.path_parameters, case.query, case.body)).encode()).hexdigest(), 16)
        if mode == GenerationMode.POSITIVE and seed % 2:
            for name in list(case.path_parameters or {}):
                if name in real:
                    scratch = name == "brand_id" and writes_config
                    case.path_parameters[name] = str(SCRATCH_BRAND) if scratch else real[name]
        # Invalid headers (a missing Authorization) are the case itself: no role's credentials added.
        invalid_headers = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
        for role, headers in roles.items():
            if (role == "brand" and writes_config) or (invalid_headers and headers):
                continue  # brand 1's own configuration is the other tests'
            case.call_and_validate(base_url=f"http://127.0.0.1:{PORT}", headers=headers, checks=CHECKS)

    run()


def test_the_live_schema_and_docs_are_served(live: tuple[World, dict[str, dict[str, str]], dict[str, str]]) -> None:
    schema_doc = httpx.get(f"http://127.0.0.1:{PORT}/openapi.json").json()
    assert schema_doc["info"]["title"] == "PeerCare API"
    assert "ProblemDocument" in schema_doc["components"]["schemas"]
    docs = httpx.get(f"http://127.0.0.1:{PORT}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()

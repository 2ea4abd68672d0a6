"""The HTTP API: one FastAPI application for advocates, brands and auditors (and, in the oracle's
process, the ticketing webhooks), with its schema at `/openapi.json` and docs at `/docs`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from peercare.api import limits, metrics, problems, relay
from peercare.api.context import ApiContext
from peercare.api.intake import Intake, webhook_router
from peercare.api.limits import BodyLimit, Principals, RateLimit, RateLimiter, WebhookLimits
from peercare.api.metrics import Metrics
from peercare.api.routes import advocates, auditors, auth, brands, health, offers, routing_proofs, withdrawals
from peercare.api.security import rate_key
from peercare.web import router as web_router

WEBHOOKS = "/api/v1/webhooks/"  # capped and rate limited by the intake itself (per brand and source)
DESCRIPTION = """\
Advocates sign in with their wallet (Sign-In with Ethereum) and see their reputation, earnings,
answers and ratings; brands use API keys scoped to their brand; auditors use read-only keys.
Send credentials as `Authorization: Bearer <token>`. Every error is an RFC 9457 problem document.
"""


def create_app(context: ApiContext, intake: Intake | None = None) -> FastAPI:
    app = FastAPI(title="PeerCare API", version="1", description=DESCRIPTION, responses=problems.ERROR_RESPONSES)
    app.state.context = context
    observed = app.state.metrics = Metrics(context)  # GET /metrics (not in the schema); workers report to it too
    problems.install(app)
    limits.install(app)
    for router in (
        health.router,
        auth.router,
        advocates.router,
        withdrawals.router,
        offers.router,
        brands.router,
        auditors.router,
        relay.router,
        routing_proofs.router,
    ):
        app.include_router(router)
    app.include_router(web_router)  # the advocate's and the auditor's pages (not in the schema)
    app.include_router(metrics.router)
    if intake is not None:
        settings = context.settings
        sources = RateLimiter(settings.webhook_rate_per_s, settings.webhook_burst)
        app.include_router(webhook_router(intake, observed, WebhookLimits(sources, context.limiter)))
    # Outermost first: bursts are refused before a body is read, then bodies are capped.
    app.add_middleware(BodyLimit, exempt=(WEBHOOKS,))
    principals = Principals(lambda token: rate_key(context.database, token))  # buckets by who is calling
    app.add_middleware(
        RateLimit, limiter=context.limiter, exempt=(WEBHOOKS, "/api/v1/health", "/metrics"), principals=principals
    )
    _declare_problem_schema(app)
    return app


def _declare_problem_schema(app: FastAPI) -> None:
    """Add `ProblemDocument` to the schema's components, and make every error response that a
    route describes in its own words refer to it (a route's `responses` replace the app's)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["ProblemDocument"] = problems.ProblemDocument.model_json_schema()
            problem = problems.ERROR_RESPONSES[400]["content"]
            for operations in schema["paths"].values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        if status[0] in "45" and "content" not in response:
                            response["content"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

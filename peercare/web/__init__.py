"""The web views: one page for an advocate (reputation per topic, then, signed in with the wallet,
earnings and recent answers) and one for an auditor (verification status per epoch, one answer's
proof). Static HTML, CSS and JavaScript modules shipped in this package (no build step, nothing
fetched from elsewhere); the pages call the HTTP API at `/api/v1` from the same origin.

Mount with `app.include_router(router)`; the routes stay out of the API's OpenAPI schema.
"""

from peercare.web.routes import router

__all__ = ["router"]

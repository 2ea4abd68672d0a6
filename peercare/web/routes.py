"""Routes serving the two pages and their assets, from the files in `static/`, read once.

Every response carries a strict Content-Security-Policy: scripts, styles and requests go to this
origin only, and no inline script runs, so data the pages display can never execute.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

#: Assets by the name the pages use, with their media types.
_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript"}
ASSETS = ("web.css", "common.js", "keccak.js", "advocate.js", "offers.js", "auditor.js")
PAGES = ("advocate.html", "auditor.html")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the advocate's address is in the path
    "Cache-Control": "no-cache",  # revalidate: a new release's pages and scripts show at once
}

router = APIRouter(include_in_schema=False, tags=["web"])


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str

    def response(self) -> Response:
        return Response(self.body, media_type=self.media_type, headers=SECURITY_HEADERS)


def _load(name: str) -> StaticFile:
    resource = files("peercare.web").joinpath("static", name)
    return StaticFile(resource.read_bytes(), _MEDIA_TYPES[name[name.rindex(".") :]])


_FILES = {name: _load(name) for name in (*ASSETS, *PAGES)}


@router.get("/advocate")
def advocate_page() -> Response:
    """The advocate view; the address comes from the wallet, the path, or the lookup form."""
    return _FILES["advocate.html"].response()


@router.get("/advocate/{address}")
def advocate_page_for(address: str) -> Response:  # the page checks the address and says if it is not one
    return _FILES["advocate.html"].response()


@router.get("/auditor")
def auditor_page() -> Response:
    return _FILES["auditor.html"].response()


@router.get("/web/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, f"no web asset {name!r}")  # the app answers it as a problem document
    return _FILES[name].response()

"""The pages and assets as HTTP resources: served with a strict content security policy, only the
files the package ships, and kept out of the API's schema."""

from __future__ import annotations

import pytest

from peercare.web.routes import ASSETS
from tests.support.world import World


@pytest.mark.parametrize("path", ["/advocate", "/advocate/0x0000000000000000000000000000000000000001", "/auditor"])
def test_pages_are_html_under_a_same_origin_only_policy(world: World, path: str) -> None:
    response = world.client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script" in response.text and "http://" not in response.text and "https://" not in response.text


@pytest.mark.parametrize("name", ASSETS)
def test_every_asset_is_served_with_its_media_type_and_fetches_nothing_from_elsewhere(world: World, name: str) -> None:
    response = world.client.get(f"/web/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css" if name.endswith(".css") else "text/javascript")
    assert "http://" not in response.text and "https://" not in response.text


@pytest.mark.parametrize("name", ["advocate.html", "../routes.py", "nothing.js"])
def test_only_the_shipped_assets_are_served(world: World, name: str) -> None:
    response = world.client.get(f"/web/{name}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_pages_stay_out_of_the_api_schema(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]

    assert not [path for path in paths if not path.startswith("/api/v1/")]

"""GET /api/v1/health reports the chain, the content store, the database and the indexer's lag."""

from __future__ import annotations

from world import World


def test_health_reports_every_dependency_reachable_and_the_indexer_caught_up(world: World) -> None:
    world.drain()
    response = world.client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["chain"]["ok"] and body["content_store"]["ok"] and body["database"]["ok"]
    assert body["database"]["detail"] == "sqlite"
    assert body["indexed_block"] is not None and 0 <= body["indexer_lag_blocks"] <= 1
    assert body["head_block"] - body["indexed_block"] == body["indexer_lag_blocks"]

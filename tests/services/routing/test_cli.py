"""End to end: `peercare routing eval` on the cardano-se dump shipped with the tests."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from peercare.cli.routing import routing

CARDANO = Path(__file__).resolve().parents[2] / "data" / "stackexchange" / "cardano-se"
ROUTERS = ("router", "random", "most_active", "tag_frequency", "tag_reputation_decay")


def test_eval_prints_one_json_object_last_with_every_router_and_the_split() -> None:
    result = CliRunner().invoke(routing, ["eval", "--dump", str(CARDANO), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["cut"] == "2021-10-25T01:11:22.390"
    assert (report["n_test"], report["n_cold"], report["n_self_answered"]) == (64, 6, 4)
    assert report["pool_size_mean"] == 310.3125
    for name in ROUTERS:
        block = report[name]
        assert {"mrr", "hit@1", "hit@5", "hit@10", "warm_mrr", "mrr_ci95", "warm_mrr_ci95"} <= block.keys()
        lo, hi = block["mrr_ci95"]
        assert lo <= block["mrr"] <= hi
        assert block["warm_mrr"] >= block["mrr"]
    # the reference figures of ROUTING_EVAL.md (rolling, train_frac 0.8)
    assert report["random"]["mrr"] == 0.0184
    assert report["most_active"]["mrr"] == 0.2374
    assert report["tag_frequency"]["mrr"] == 0.2682
    assert abs(report["tag_reputation_decay"]["mrr"] - 0.289) < 0.02
    assert report["router"]["mrr"] > report["tag_reputation_decay"]["mrr"]
    assert "router" in result.stderr
    progress = [line.strip() for line in result.stderr.splitlines() if "test questions" in line and "routed" in line]
    assert progress[-1] == "routed 64/64 test questions"
    assert len(progress) <= 21


def test_static_mode_and_an_explicit_cut_are_accepted() -> None:
    result = CliRunner().invoke(
        routing, ["eval", "--dump", str(CARDANO), "--cut", "2021-11-20T00:00:00", "--static", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["mode"] == "static"
    assert report["cut"] == "2021-11-20T00:00:00.000"
    assert 0 < report["n_test"] < 64


def test_a_folder_without_posts_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(routing, ["eval", "--dump", str(tmp_path), "--json"])
    assert result.exit_code == 1
    assert "no Posts.xml" in result.stderr

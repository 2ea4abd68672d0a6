"""`peercare up` (what `make run` starts): Ctrl-C stops every process it started, and starting
again resumes with every question, answer, balance and reputation intact, the contracts not
deployed again. Its own data folder and ports (8793 and 8794), apart from the demo's."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from peercare.cli import main
from peercare.cli.demo import demo
from tests.support.demo_peercare import CHAIN_PORT, peercare_env, start_up, stop_up

PORT = CHAIN_PORT + 2


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _what_users_see(api: str, brand_key: str, brand_id: int) -> dict[str, Any]:
    """The brand's pool, questions and whole history, and every answerer's reputation."""
    headers = {"Authorization": f"Bearer {brand_key}"}
    with httpx.Client(base_url=api, timeout=10) as client:
        pool = client.get(f"/api/v1/brands/{brand_id}/pool", headers=headers).json()
        questions = client.get(f"/api/v1/brands/{brand_id}/questions", params={"limit": 200}, headers=headers).json()
        history = client.get(f"/api/v1/brands/{brand_id}/export", headers=headers).json()
        advocates = sorted({answer["advocate"] for answer in history["answers"]})
        reputation = {a: client.get(f"/api/v1/advocates/{a}/reputation").json() for a in advocates}
    del pool["indexed_block"], pool["chain_block"], history["indexed_block"]  # the chain moves on
    return {"pool": pool, "questions": questions, "reputation": reputation, "history": history}


def _routed(api: str, brand_key: str, brand_id: int) -> dict[str, Any]:
    """Users' view once the router has routed every question (it does so once an epoch exists)."""
    deadline = time.monotonic() + 30
    while True:
        seen = _what_users_see(api, brand_key, brand_id)
        if all(q["route"] is not None for q in seen["questions"]["items"]) or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def test_ctrl_c_stops_everything_and_a_restart_resumes_with_everything_intact(tmp_path: Path) -> None:
    env = peercare_env(tmp_path / "data", chain_port=PORT)
    api = f"http://127.0.0.1:{PORT + 1}"
    log = tmp_path / "up.log"
    process = start_up(env, log)
    try:
        result = CliRunner().invoke(demo, ["--limit", "6", "--json"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        brand_id = int(json.loads(result.stdout.splitlines()[-1])["brand_id"])
        key = CliRunner().invoke(main, ["api", "key", "create", "--brand", str(brand_id)], env=env)
        assert key.exit_code == 0, key.output
        brand_key = key.output.split(": ", 1)[1].split()[0]
        before = _routed(api, brand_key, brand_id)
        assert before["questions"]["items"] and before["reputation"]
        assert any(r["scores"] for r in before["reputation"].values())
    finally:
        assert stop_up(process) == 0, log.read_text()[-3000:]
    assert not _listening(PORT) and not _listening(PORT + 1), "a process of peercare up outlived Ctrl-C"

    process = start_up(env, log)
    try:
        assert "contracts already deployed" in log.read_text().split("running; Ctrl-C")[-2]
        assert _what_users_see(api, brand_key, brand_id) == before
    finally:
        assert stop_up(process) == 0

"""`peercare demo` refuses clearly what it cannot replay or reach, before touching anything."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from peercare.cli.demo import demo
from tests.support.demo_peercare import CHAIN_PORT, peercare_env

NOTHING_LISTENS = CHAIN_PORT + 2  # one of this suite's ports that nothing uses


def test_dump_folder_without_posts_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "Votes.xml").write_text("<votes></votes>")
    result = CliRunner().invoke(demo, ["--dump", str(tmp_path)], env=peercare_env(tmp_path / "data"))
    assert result.exit_code == 1
    assert f"{tmp_path}: no Posts.xml" in result.output
    assert "Stack Exchange dump folder holding Posts.xml" in result.output
    assert not (tmp_path / "data").exists()  # refused before reaching for PeerCare


def test_missing_dump_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(demo, ["--dump", str(tmp_path / "nowhere")], env=peercare_env(tmp_path))
    assert result.exit_code == 1
    assert "no Posts.xml" in result.output


def test_without_a_running_peercare_it_says_to_start_one(tmp_path: Path) -> None:
    env = {**peercare_env(tmp_path / "data"), "PEERCARE_API_PORT": str(NOTHING_LISTENS)}
    result = CliRunner().invoke(demo, ["--limit", "1"], env=env)
    assert result.exit_code == 1
    assert f"no PeerCare API answers at http://127.0.0.1:{NOTHING_LISTENS}" in result.output
    assert "peercare up" in result.output

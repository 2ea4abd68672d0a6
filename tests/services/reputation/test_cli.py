"""`peercare reputation verify|prove` (peercare/cli/reputation.py), through click's runner."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from peercare.cli.reputation import reputation
from peercare.core.ledger_ids import REPUTATION_LEAF_ENCODING, reputation_topic
from peercare.core.merkle import verify
from peercare.reputation.epoch import build_epoch
from peercare.reputation.history import Expert, History
from peercare.reputation.scope import BrandScope, Scope, trusted
from tests.support.reputation_helpers import CUT, TOPIC, accepted, addr, peer

E, A = addr(0), addr(1)
EPOCH = build_epoch(History.of(CUT, [accepted(A, 1)], [peer(E, A)], experts=[Expert(E, TOPIC)]), 3)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.json"
    path.write_bytes(EPOCH.manifest_bytes())
    return path


def test_verify_prints_the_root(manifest: Path) -> None:
    result = CliRunner().invoke(reputation, ["verify", str(manifest), "--root", "0x" + EPOCH.root.hex()])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "epoch": 3,
        "cut": CUT,
        "leaves": len(EPOCH.scores),
        "root": "0x" + EPOCH.root.hex(),
    }


def test_verify_refuses_another_root(manifest: Path) -> None:
    result = CliRunner().invoke(reputation, ["verify", str(manifest), "--root", "0x" + "00" * 32])
    assert result.exit_code != 0 and "not the published" in result.output


def test_verify_refuses_a_tampered_manifest(tmp_path: Path) -> None:
    data = EPOCH.manifest()
    data["tree"]["values"][0]["value"][2] = "1"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(reputation, ["verify", str(path)])
    assert result.exit_code != 0 and "invalid manifest" in result.output


@pytest.mark.parametrize("topic", ["billing", "0x" + TOPIC.hex()])
def test_prove_prints_a_proof_that_verifies(manifest: Path, topic: str) -> None:
    result = CliRunner().invoke(reputation, ["prove", str(manifest), A.upper().replace("0X", "0x"), topic])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert int(out["score"]) == EPOCH.score(A, TOPIC)
    proof = [bytes.fromhex(node[2:]) for node in out["proof"]]
    assert verify(EPOCH.root, REPUTATION_LEAF_ENCODING, (A, TOPIC, int(out["score"])), proof)


def test_prove_refuses_an_unknown_advocate(manifest: Path) -> None:
    result = CliRunner().invoke(reputation, ["prove", str(manifest), addr(42), "billing"])
    assert result.exit_code != 0 and "no score" in result.output


def _two_brands_epoch(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """An epoch counting brands 1 and 2, both with a topic labelled "billing" (two reputation topics)."""
    one, two = reputation_topic(1, TOPIC), reputation_topic(2, TOPIC)
    scope = Scope.of([BrandScope.of(1, ["billing"], [E]), BrandScope.of(2, ["billing"], [])])
    history = History.of(
        CUT, [replace(accepted(A, 1, topic=one), brand=1), replace(accepted(A, 2, topic=two), brand=2)]
    )
    epoch = build_epoch(trusted(history, scope), 4, scope=scope)
    path = tmp_path / "two.json"
    path.write_bytes(epoch.manifest_bytes())
    return path, one, two


def test_prove_names_a_label_by_its_brand(tmp_path: Path) -> None:
    path, one, two = _two_brands_epoch(tmp_path)
    for brand, topic in (("1", one), ("2", two)):
        result = CliRunner().invoke(reputation, ["prove", str(path), A, "billing", "--brand", brand])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["topic"] == "0x" + topic.hex()


def test_prove_asks_for_the_brand_when_several_name_the_label(tmp_path: Path) -> None:
    path, _, _ = _two_brands_epoch(tmp_path)
    result = CliRunner().invoke(reputation, ["prove", str(path), A, "billing"])
    assert result.exit_code == 2
    assert "give --brand (brands of the manifest naming 'billing': 1, 2)" in result.output

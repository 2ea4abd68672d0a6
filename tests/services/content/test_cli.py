"""`peercare cid FILE`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from peercare.cli.content import cid


def test_prints_the_identifier_of_a_files_bytes(tmp_path: Path) -> None:
    file = tmp_path / "hello.txt"
    file.write_bytes(b"hello world")
    result = CliRunner().invoke(cid, [str(file)])
    assert result.exit_code == 0, result.output
    assert result.output == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e\n"


def test_prints_the_bytes32_digest_on_request() -> None:
    result = CliRunner().invoke(cid, ["--digest", "-"], input=b"hello world")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "0xb94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"


def test_refuses_a_file_over_one_block(tmp_path: Path) -> None:
    file = tmp_path / "big.bin"
    file.write_bytes(b"\0" * 300_000)
    result = CliRunner().invoke(cid, [str(file)])
    assert result.exit_code == 1
    assert "300000 bytes; the limit is 262144" in result.output

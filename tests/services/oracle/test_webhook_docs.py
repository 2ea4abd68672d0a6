"""The signing recipes in docs/webhooks.md produce requests that PeerCare accepts, run as written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from peercare.oracle.events import TicketCreated, TicketSolved
from peercare.oracle.webhooks import verify_and_parse
from tests.support.webhook_support import BRAND, GENERIC, ZENDESK, zendesk_event

DOC = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def code_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)
    (block,) = [block for block in blocks if containing in block]
    return str(block)


def shell(script: str, cwd: Path, **env: str) -> str:
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_python_snippet_signs_a_request_peercare_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {}
    exec(code_block("python", "def peercare_headers"), namespace)  # the documentation, run as written
    body: bytes = namespace["body"]
    headers = namespace["peercare_headers"](GENERIC.secret, BRAND, body, 1795338000)

    event = verify_and_parse("generic", GENERIC, headers, body, now=1795338000, brand_id=BRAND)

    assert isinstance(event, TicketSolved)
    assert (event.event_key, event.solved_by_comment_id) == ("evt_1042", "C-7")
    assert "X-PeerCare-Signature" in capsys.readouterr().out


@needs_openssl
def test_openssl_one_liner_signs_a_generic_request_peercare_accepts(tmp_path: Path) -> None:
    (first_line,) = [line for line in code_block("sh", "X-PeerCare-Signature").splitlines() if line.startswith("TS=")]
    body = json.dumps(
        {"type": "ticket_solved", "id": "evt_9", "occurred_at": "2026-11-22T09:00:00Z", "ticket_id": "T", "data": {}}
    )
    (tmp_path / "body.json").write_text(body)

    script = first_line + '; echo "$TS $SIG"'
    timestamp, signature = shell(script, tmp_path, SECRET=GENERIC.secret, BRAND_ID=str(BRAND)).split()
    headers = {"X-PeerCare-Timestamp": timestamp, "X-PeerCare-Signature": f"v2={signature}"}

    event = verify_and_parse("generic", GENERIC, headers, body.encode(), now=int(timestamp), brand_id=BRAND)
    assert event.event_key == "evt_9"


@needs_openssl
def test_openssl_check_of_a_zendesk_signature_agrees_with_peercare(tmp_path: Path) -> None:
    command = code_block("sh", "-binary | base64").strip()
    body = json.dumps(zendesk_event("created", {})).encode()
    (tmp_path / "body.json").write_bytes(body)
    timestamp = "2026-11-22T09:00:00Z"

    signature = shell(command, tmp_path, TIMESTAMP=timestamp, SECRET=ZENDESK.secret)
    headers = {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": timestamp}

    assert isinstance(verify_and_parse("zendesk", ZENDESK, headers, body, now=1795338000), TicketCreated)

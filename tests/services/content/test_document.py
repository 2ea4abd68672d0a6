"""The conversation document: canonical bytes, one identifier per conversation, strict parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from peercare.content.document import SCHEMA_V1, Conversation, DocumentError, Message, parse


def conversation(**changes: object) -> Conversation:
    fields: dict[str, object] = {
        "brand": 7,
        "source": "zendesk",
        "ticket_id": "T-1001",
        "language": "fr-CA",
        "topics": ("sim", "billing"),
        "messages": (
            Message(role="customer", author="c-1", time=datetime(2025, 3, 1, 9, 30, tzinfo=UTC), body="Ça marche?"),
            Message(
                role="advocate",
                author="0x" + "ab" * 20,
                time=datetime(2025, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1))),
                body="Oui: redémarrez 🙂",
            ),
        ),
    }
    fields.update(changes)
    return Conversation.model_validate(fields)


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    data = conversation().canonical_bytes()
    obj = json.loads(data)
    assert data == json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "Ça marche?".encode() in data  # raw UTF-8, not \u escapes
    assert obj["schema"] == SCHEMA_V1


def test_times_are_normalised_to_utc() -> None:
    obj = json.loads(conversation().canonical_bytes())
    assert [m["time"] for m in obj["messages"]] == ["2025-03-01T09:30:00Z", "2025-03-01T10:00:00Z"]


def test_same_conversation_gives_same_identifier_whatever_the_input_order() -> None:
    a = conversation(topics=("billing", "sim"))
    b = conversation(topics=("sim", "billing", "sim"))
    assert a.canonical_bytes() == b.canonical_bytes()
    assert a.cid() == b.cid()


def test_any_change_changes_the_identifier() -> None:
    assert conversation().cid() != conversation(ticket_id="T-1002").cid()


def test_parse_round_trips() -> None:
    doc = conversation()
    assert parse(doc.canonical_bytes()) == doc


def test_parse_refuses_non_canonical_bytes() -> None:
    pretty = json.dumps(json.loads(conversation().canonical_bytes()), indent=2).encode()
    with pytest.raises(DocumentError, match="canonical"):
        parse(pretty)


def test_parse_refuses_unknown_schema_version() -> None:
    obj = json.loads(conversation().canonical_bytes())
    obj["schema"] = "peercare.conversation/2"
    with pytest.raises(DocumentError, match="unknown document schema"):
        parse(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())


def test_naive_times_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Message(role="customer", author="c", time=datetime(2025, 1, 1), body="x")
    with pytest.raises(ValueError, match="Extra inputs"):
        conversation(priority="high")


def test_a_conversation_has_messages() -> None:
    with pytest.raises(ValueError):
        conversation(messages=())

"""Tests of the Zendesk and Freshdesk stand-ins themselves (`tests/support/ticketing_standins.py`).

Why: the tests of PeerCare's outbound deliveries are only as good as the servers they deliver to. These
tests pin each stand-in to the behaviour taken from the vendor's reference: credentials refused, unknown
tickets, malformed bodies, the changes applied and the answers' shapes, every kind of fault, and the
request log the delivery tests count on. Every wait is on the stand-in's condition, none is a sleep.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.ticketing_standins import (
    AppliedButLost,
    FreshdeskStandin,
    Hang,
    RateLimited,
    ServerError,
    ZendeskStandin,
)

EMAIL = "peercare@brand.example"
TOKEN = "zd-token-1"
API_KEY = "fd-key-1"
AGENT = 7
TICKET = 42
UNKNOWN = 4040


@pytest.fixture
def zendesk() -> Iterator[ZendeskStandin]:
    with ZendeskStandin(email=EMAIL, api_token=TOKEN) as standin:
        standin.add_agent(AGENT)
        standin.add_ticket(TICKET, subject="Printer on fire", requester_id=500)
        yield standin


@pytest.fixture
def zd(zendesk: ZendeskStandin) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=zendesk.base_url, auth=(f"{EMAIL}/token", TOKEN), timeout=5) as client:
        yield client


@pytest.fixture
def freshdesk() -> Iterator[FreshdeskStandin]:
    with FreshdeskStandin(api_key=API_KEY) as standin:
        standin.add_agent(AGENT)
        standin.add_ticket(TICKET, subject="Printer on fire", requester_id=500)
        yield standin


@pytest.fixture
def fd(freshdesk: FreshdeskStandin) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=freshdesk.base_url, auth=(API_KEY, "X"), timeout=5) as client:
        yield client


def _note(body: str = "Routed to advocate 7", public: bool = False) -> dict[str, object]:
    return {"ticket": {"comment": {"body": body, "public": public}}}


# --------------------------------------------------------------------------------------------------
# Both: the server itself


def test_the_server_listens_on_loopback_only_and_its_socket_is_closed_on_exit() -> None:
    with ZendeskStandin(email=EMAIL, api_token=TOKEN) as standin:
        port = standin.port
        assert standin.base_url == f"http://127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_a_port_is_only_known_once_the_stand_in_is_started() -> None:
    standin = FreshdeskStandin(api_key=API_KEY)
    with pytest.raises(RuntimeError):
        _ = standin.port


def test_wait_for_wakes_when_a_request_arrives_not_at_its_timeout(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.inject(Hang(seconds=0.2, apply=True))  # the request lands after the wait has begun
    client = threading.Thread(target=zd.get, args=(f"/api/v2/tickets/{TICKET}.json",))
    client.start()
    started = time.monotonic()
    zendesk.wait_for(lambda: len(zendesk.requests) == 1, timeout=20)
    assert time.monotonic() - started < 10
    client.join()


def test_wait_for_raises_when_the_condition_never_holds(zendesk: ZendeskStandin) -> None:
    with pytest.raises(TimeoutError):
        zendesk.wait_for(lambda: len(zendesk.requests) > 0, timeout=0.05)


def test_a_server_error_fault_only_takes_the_documented_5xx_codes() -> None:
    assert ServerError(status=502).status == 502
    with pytest.raises(ValueError):
        ServerError(status=504)


def test_seeding_a_ticket_twice_is_refused(zendesk: ZendeskStandin, freshdesk: FreshdeskStandin) -> None:
    with pytest.raises(ValueError):
        zendesk.add_ticket(TICKET)
    with pytest.raises(ValueError):
        freshdesk.add_ticket(TICKET)


# --------------------------------------------------------------------------------------------------
# Zendesk: authentication


@pytest.mark.parametrize(
    "auth",
    [None, (f"{EMAIL}/token", "wrong"), (EMAIL, TOKEN), ("other@brand.example/token", TOKEN)],
    ids=["none", "wrong-token", "password-style-user", "other-user"],
)
def test_zendesk_refuses_requests_without_the_api_token_credentials(
    zendesk: ZendeskStandin, auth: tuple[str, str] | None
) -> None:
    response = httpx.put(f"{zendesk.base_url}/api/v2/tickets/{TICKET}.json", json=_note(), auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}
    assert zendesk.comments(TICKET) == []
    [recorded] = zendesk.requests
    assert (recorded.status, recorded.applied) == (401, False)


def test_zendesk_a_refused_request_does_not_consume_a_fault(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.inject(ServerError(status=503))
    assert httpx.get(f"{zendesk.base_url}/api/v2/tickets/{TICKET}.json", timeout=5).status_code == 401
    assert len(zendesk.pending_faults()) == 1
    assert zd.get(f"/api/v2/tickets/{TICKET}.json").status_code == 503


# --------------------------------------------------------------------------------------------------
# Zendesk: unknown tickets and malformed bodies


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v2/tickets/{UNKNOWN}.json"),
        ("PUT", f"/api/v2/tickets/{UNKNOWN}.json"),
        ("GET", f"/api/v2/tickets/{UNKNOWN}/comments.json"),
    ],
)
def test_zendesk_answers_an_unknown_ticket_with_record_not_found(zd: httpx.Client, method: str, path: str) -> None:
    response = zd.request(method, path, json=_note())
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}


def test_zendesk_an_unknown_endpoint_is_404_invalid_endpoint(zd: httpx.Client) -> None:
    response = zd.get("/api/v2/nothing_here.json")
    assert response.status_code == 404
    assert response.json()["error"] == "InvalidEndpoint"


def test_zendesk_a_body_that_is_not_json_is_400_and_changes_nothing(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    response = zd.put(
        f"/api/v2/tickets/{TICKET}.json", content=b'{"ticket": {', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert zendesk.comments(TICKET) == []
    [recorded] = zendesk.requests
    assert recorded.body is None
    assert recorded.raw_body == b'{"ticket": {'


@pytest.mark.parametrize("body", [{}, {"comment": {"body": "x"}}, {"ticket": "x"}, ["ticket"]])
def test_zendesk_a_body_without_the_ticket_object_is_400(
    zendesk: ZendeskStandin, zd: httpx.Client, body: object
) -> None:
    response = zd.put(f"/api/v2/tickets/{TICKET}.json", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "ParameterMissing"
    assert zendesk.comments(TICKET) == []


def test_zendesk_an_assignee_who_is_not_an_agent_is_422_record_invalid_and_nothing_is_applied(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    body = {"ticket": {"assignee_id": 999, "comment": {"body": "note"}, "tags": ["routed"]}}
    response = zd.put(f"/api/v2/tickets/{TICKET}.json", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {"assignee": [{"description": "Assignee: is invalid", "error": "InvalidValue"}]},
    }
    ticket = zendesk.ticket(TICKET)
    assert (ticket.assignee_id, ticket.tags, ticket.comments) == (None, [], [])
    assert zendesk.requests[-1].applied is False


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"status": "done"}, "status"),
        ({"tags": [1, 2]}, "tags"),
        ({"additional_tags": {"a": 1}}, "additional_tags"),
        ({"comment": {"body": "   "}}, "comment"),
        ({"comment": {"body": "x", "public": "no"}}, "comment"),
        ({"comment": "just text"}, "comment"),
        ({"assignee_id": "7"}, "assignee"),
    ],
)
def test_zendesk_invalid_fields_are_422_with_the_field_in_details(
    zendesk: ZendeskStandin, zd: httpx.Client, changes: dict[str, object], detail: str
) -> None:
    response = zd.put(f"/api/v2/tickets/{TICKET}.json", json={"ticket": changes})
    assert response.status_code == 422
    assert response.json()["error"] == "RecordInvalid"
    assert list(response.json()["details"]) == [detail]
    assert zendesk.ticket(TICKET).status == "open"


def test_zendesk_a_closed_ticket_cannot_be_updated(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.add_ticket(43, status="closed")
    response = zd.put("/api/v2/tickets/43.json", json=_note())
    assert response.status_code == 422
    assert response.json()["details"] == {"status": [{"description": "Status closed prevents ticket update"}]}
    assert zendesk.comments(43) == []


def test_zendesk_a_property_the_stand_in_does_not_model_is_refused_with_501(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    response = zd.put(f"/api/v2/tickets/{TICKET}.json", json={"ticket": {"priority": "urgent", "status": "pending"}})
    assert response.status_code == 501
    assert response.json()["unsupported"] == ["priority"]
    assert zendesk.ticket(TICKET).status == "open"


# --------------------------------------------------------------------------------------------------
# Zendesk: updates applied


def test_zendesk_an_update_applies_comment_tags_assignee_and_status_and_answers_ticket_and_audit(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    body = {
        "ticket": {
            "comment": {"body": "Routed to advocate 7", "public": False, "author_id": AGENT},
            "tags": ["peercare", "routed"],
            "assignee_id": AGENT,
            "status": "pending",
        }
    }
    response = zd.put(f"/api/v2/tickets/{TICKET}.json", json=body)

    assert response.status_code == 200
    answered = response.json()
    assert answered["ticket"]["id"] == TICKET
    assert answered["ticket"]["tags"] == ["peercare", "routed"]
    assert answered["ticket"]["assignee_id"] == AGENT
    assert answered["ticket"]["status"] == "pending"
    assert answered["ticket"]["updated_at"].endswith("Z")
    assert answered["audit"]["ticket_id"] == TICKET
    comment_events = [e for e in answered["audit"]["events"] if e["type"] == "Comment"]
    assert [(e["body"], e["public"], e["author_id"]) for e in comment_events] == [
        ("Routed to advocate 7", False, AGENT)
    ]
    changed = {e["field_name"] for e in answered["audit"]["events"] if e["type"] == "Change"}
    assert changed == {"tags", "assignee_id", "status"}

    ticket = zendesk.ticket(TICKET)
    assert (ticket.tags, ticket.assignee_id, ticket.status) == (["peercare", "routed"], AGENT, "pending")
    [comment] = ticket.comments
    assert (comment.body, comment.public, comment.author_id) == ("Routed to advocate 7", False, AGENT)
    [recorded] = zendesk.requests
    assert (recorded.method, recorded.path, recorded.status, recorded.fault, recorded.applied) == (
        "PUT",
        f"/api/v2/tickets/{TICKET}.json",
        200,
        None,
        True,
    )
    assert recorded.body == body
    assert recorded.headers["content-type"] == "application/json"


def test_zendesk_a_comment_is_public_unless_it_says_otherwise_and_authored_by_the_api_user(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    zd.put(f"/api/v2/tickets/{TICKET}.json", json={"ticket": {"comment": {"body": "Hello"}}})
    zd.put(
        f"/api/v2/tickets/{TICKET}.json",
        json={"ticket": {"comment": {"html_body": "<p>Internal</p>", "public": False}}},
    )
    assert [(c.body, c.public, c.author_id) for c in zendesk.comments(TICKET)] == [
        ("Hello", True, 1),
        ("Internal", False, 1),
    ]


def test_zendesk_tags_replace_while_additional_and_remove_tags_add_and_remove_as_a_set(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    path = f"/api/v2/tickets/{TICKET}.json"
    zd.put(path, json={"ticket": {"tags": ["a", "b"]}})
    zd.put(path, json={"ticket": {"additional_tags": ["b", "c", "c"]}})
    assert zendesk.ticket(TICKET).tags == ["a", "b", "c"]
    zd.put(path, json={"ticket": {"remove_tags": ["a", "zzz"]}})
    assert zendesk.ticket(TICKET).tags == ["b", "c"]
    zd.put(path, json={"ticket": {"tags": ["d"]}})
    assert zendesk.ticket(TICKET).tags == ["d"]


def test_zendesk_an_assignee_can_be_removed_with_null(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.add_ticket(44, assignee_id=AGENT)
    assert zd.put("/api/v2/tickets/44.json", json={"ticket": {"assignee_id": None}}).status_code == 200
    assert zendesk.ticket(44).assignee_id is None


def test_zendesk_shows_a_ticket_in_the_ticket_envelope(zd: httpx.Client) -> None:
    response = zd.get(f"/api/v2/tickets/{TICKET}.json")
    assert response.status_code == 200
    ticket = response.json()["ticket"]
    assert (ticket["id"], ticket["subject"], ticket["requester_id"], ticket["status"]) == (
        TICKET,
        "Printer on fire",
        500,
        "open",
    )


def test_zendesk_lists_comments_oldest_first_on_one_page(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.add_ticket(45, description="My printer is on fire", requester_id=500)
    for body in ("first", "second"):
        zd.put("/api/v2/tickets/45.json", json={"ticket": {"comment": {"body": body}}})
    response = zd.get("/api/v2/tickets/45/comments.json")
    assert response.status_code == 200
    listed = response.json()
    assert [c["body"] for c in listed["comments"]] == ["My printer is on fire", "first", "second"]
    assert listed["comments"][0]["author_id"] == 500
    assert (listed["next_page"], listed["count"]) == (None, 3)
    ids = [c["id"] for c in listed["comments"]]
    assert ids == sorted(ids)


# --------------------------------------------------------------------------------------------------
# Zendesk: faults


def test_zendesk_a_rate_limited_request_is_429_with_retry_after_and_nothing_applied(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    zendesk.inject(RateLimited(retry_after_s=93))
    response = zd.put(f"/api/v2/tickets/{TICKET}.json", json=_note())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "93"
    assert "Rate limit" in response.text
    assert zendesk.comments(TICKET) == []
    [recorded] = zendesk.requests
    assert (recorded.outcome, recorded.status, recorded.applied) == ("RateLimited", 429, False)
    assert zd.put(f"/api/v2/tickets/{TICKET}.json", json=_note()).status_code == 200  # the fault was used once


@pytest.mark.parametrize("status", [500, 502, 503])
def test_zendesk_a_server_error_applies_nothing(zendesk: ZendeskStandin, zd: httpx.Client, status: int) -> None:
    zendesk.inject(ServerError(status=status))
    assert zd.put(f"/api/v2/tickets/{TICKET}.json", json=_note()).status_code == status
    assert zendesk.comments(TICKET) == []
    assert zendesk.requests[-1].outcome == "ServerError"


def test_a_note_applied_but_its_response_lost_is_still_recorded_once(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.inject(AppliedButLost())
    with pytest.raises(httpx.RemoteProtocolError):
        zd.put(f"/api/v2/tickets/{TICKET}.json", json=_note("Routed once"))
    assert [c.body for c in zendesk.comments(TICKET)] == ["Routed once"]
    [recorded] = zendesk.requests
    assert (recorded.fault, recorded.status, recorded.applied) == ("AppliedButLost", None, True)


def test_zendesk_a_hang_without_apply_times_the_client_out_and_applies_nothing(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    zendesk.inject(Hang(seconds=0.4))
    with pytest.raises(httpx.ReadTimeout):
        zd.put(f"/api/v2/tickets/{TICKET}.json", json=_note(), timeout=0.1)
    zendesk.wait_for(lambda: len(zendesk.requests) == 1, timeout=5)
    [recorded] = zendesk.requests
    assert (recorded.fault, recorded.status, recorded.applied) == ("Hang", None, False)
    assert zendesk.comments(TICKET) == []


def test_zendesk_a_hang_with_apply_times_the_client_out_but_applies_the_change(
    zendesk: ZendeskStandin, zd: httpx.Client
) -> None:
    zendesk.inject(Hang(seconds=0.4, apply=True))
    with pytest.raises(httpx.ReadTimeout):
        zd.put(f"/api/v2/tickets/{TICKET}.json", json=_note("Late"), timeout=0.1)
    zendesk.wait_for(lambda: len(zendesk.comments(TICKET)) == 1, timeout=5)
    assert [c.body for c in zendesk.comments(TICKET)] == ["Late"]
    zendesk.wait_for(lambda: len(zendesk.requests) == 1, timeout=5)
    assert (zendesk.requests[0].fault, zendesk.requests[0].status, zendesk.requests[0].applied) == ("Hang", 200, True)


def test_a_hang_answers_normally_to_a_patient_client_when_applied(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    zendesk.inject(Hang(seconds=0.1, apply=True))
    assert zd.get(f"/api/v2/tickets/{TICKET}.json", timeout=5).status_code == 200


def test_faults_are_taken_in_order_by_the_requests_they_match(zendesk: ZendeskStandin, zd: httpx.Client) -> None:
    path = f"/api/v2/tickets/{TICKET}.json"
    zendesk.inject(
        ServerError(status=502, method="PUT"),
        RateLimited(retry_after_s=1, path_prefix=f"/api/v2/tickets/{TICKET}/comments"),
        ServerError(status=503, method="PUT"),
    )
    assert zd.get(path).status_code == 200  # matches none: passes, takes nothing
    assert zd.put(path, json=_note()).status_code == 502
    assert zd.get(f"/api/v2/tickets/{TICKET}/comments.json").status_code == 429
    assert zd.put(path, json=_note()).status_code == 503
    assert zendesk.pending_faults() == []
    assert zd.put(path, json=_note()).status_code == 200
    assert [r.outcome for r in zendesk.requests] == [200, "ServerError", "RateLimited", "ServerError", 200]
    assert len(zendesk.comments(TICKET)) == 1


# --------------------------------------------------------------------------------------------------
# Freshdesk: authentication, unknown tickets, malformed bodies


@pytest.mark.parametrize("auth", [None, ("wrong-key", "X")], ids=["none", "wrong-key"])
def test_freshdesk_refuses_requests_without_the_api_key(
    freshdesk: FreshdeskStandin, auth: tuple[str, str] | None
) -> None:
    response = httpx.post(
        f"{freshdesk.base_url}/api/v2/tickets/{TICKET}/notes", json={"body": "x"}, auth=auth, timeout=5
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "You have to be logged in to perform this action.",
    }
    assert freshdesk.conversations(TICKET) == []


def test_freshdesk_takes_the_api_key_with_any_dummy_password(freshdesk: FreshdeskStandin) -> None:
    response = httpx.get(f"{freshdesk.base_url}/api/v2/tickets/{TICKET}", auth=(API_KEY, "anything"), timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v2/tickets/{UNKNOWN}"),
        ("PUT", f"/api/v2/tickets/{UNKNOWN}"),
        ("POST", f"/api/v2/tickets/{UNKNOWN}/notes"),
        ("POST", f"/api/v2/tickets/{UNKNOWN}/reply"),
        ("GET", f"/api/v2/tickets/{UNKNOWN}/conversations"),
    ],
)
def test_freshdesk_answers_an_unknown_ticket_with_an_empty_404(fd: httpx.Client, method: str, path: str) -> None:
    response = fd.request(method, path, json={"body": "x"} if method == "POST" else {"status": 3})
    assert response.status_code == 404
    assert response.content == b""


def test_freshdesk_a_body_that_is_not_json_is_400_invalid_json(freshdesk: FreshdeskStandin, fd: httpx.Client) -> None:
    response = fd.post(
        f"/api/v2/tickets/{TICKET}/notes", content=b"body=x", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert freshdesk.conversations(TICKET) == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"responder_id": 999, "tags": ["kept"]}, {"field": "responder_id", "code": "invalid_value"}),
        ({"responder_id": "7", "tags": ["kept"]}, {"field": "responder_id", "code": "datatype_mismatch"}),
        ({"status": 9, "tags": ["kept"]}, {"field": "status", "code": "invalid_value"}),
        ({"status": "open", "responder_id": AGENT}, {"field": "status", "code": "datatype_mismatch"}),
        ({"tags": "routed", "status": 3}, {"field": "tags", "code": "datatype_mismatch"}),
    ],
)
def test_freshdesk_an_invalid_update_is_400_validation_failed_and_nothing_is_applied(
    freshdesk: FreshdeskStandin, fd: httpx.Client, changes: dict[str, object], error: dict[str, str]
) -> None:
    response = fd.put(f"/api/v2/tickets/{TICKET}", json=changes)
    assert response.status_code == 400
    answered = response.json()
    assert answered["description"] == "Validation failed"
    [reported] = answered["errors"]
    assert {k: reported[k] for k in ("field", "code")} == error
    assert reported["message"]
    ticket = freshdesk.ticket(TICKET)
    assert (ticket.responder_id, ticket.status, ticket.tags) == (None, 2, [])


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "missing_field"), ({"body": 5}, "datatype_mismatch"), ({"body": "x", "private": "yes"}, "datatype_mismatch")],
)
def test_freshdesk_an_invalid_note_is_400_validation_failed(
    freshdesk: FreshdeskStandin, fd: httpx.Client, body: dict[str, object], code: str
) -> None:
    response = fd.post(f"/api/v2/tickets/{TICKET}/notes", json=body)
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == [code]
    assert freshdesk.conversations(TICKET) == []


def test_freshdesk_a_field_the_stand_in_does_not_model_is_refused_with_501(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    response = fd.put(f"/api/v2/tickets/{TICKET}", json={"priority": 4, "status": 3})
    assert response.status_code == 501
    assert response.json()["unsupported"] == ["priority"]
    assert freshdesk.ticket(TICKET).status == 2


# --------------------------------------------------------------------------------------------------
# Freshdesk: changes applied


def test_freshdesk_an_update_sets_responder_tags_and_status_and_answers_the_bare_ticket(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    response = fd.put(f"/api/v2/tickets/{TICKET}", json={"responder_id": AGENT, "tags": ["peercare"], "status": 3})
    assert response.status_code == 200
    answered = response.json()
    assert (answered["id"], answered["responder_id"], answered["tags"], answered["status"]) == (
        TICKET,
        AGENT,
        ["peercare"],
        3,
    )
    fd.put(f"/api/v2/tickets/{TICKET}", json={"tags": ["routed"]})
    ticket = freshdesk.ticket(TICKET)
    assert (ticket.responder_id, ticket.tags, ticket.status) == (AGENT, ["routed"], 3)
    assert [r.applied for r in freshdesk.requests] == [True, True]


def test_freshdesk_a_note_is_201_private_by_default_and_a_public_note_stays_public(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    first = fd.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "<div>Routed to advocate 7</div>"})
    second = fd.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "Visible", "private": False, "user_id": AGENT})
    assert (first.status_code, second.status_code) == (201, 201)
    note = first.json()
    assert (note["body"], note["body_text"], note["private"], note["user_id"], note["ticket_id"]) == (
        "<div>Routed to advocate 7</div>",
        "Routed to advocate 7",
        True,
        1,
        TICKET,
    )
    assert isinstance(note["id"], int)
    assert note["created_at"].endswith("Z")
    assert [(c.kind, c.private, c.user_id) for c in freshdesk.conversations(TICKET)] == [
        ("note", True, 1),
        ("note", False, AGENT),
    ]


def test_freshdesk_a_reply_is_201_and_public(freshdesk: FreshdeskStandin, fd: httpx.Client) -> None:
    response = fd.post(f"/api/v2/tickets/{TICKET}/reply", json={"body": "<p>We are on it</p>"})
    assert response.status_code == 201
    assert response.json()["body_text"] == "We are on it"
    [reply] = freshdesk.conversations(TICKET)
    assert (reply.kind, reply.private) == ("reply", False)


def test_freshdesk_lists_conversations_oldest_first_as_a_bare_array(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    fd.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "note"})
    fd.post(f"/api/v2/tickets/{TICKET}/reply", json={"body": "reply"})
    response = fd.get(f"/api/v2/tickets/{TICKET}/conversations")
    assert response.status_code == 200
    listed = response.json()
    assert [(c["body"], c["private"], c["source"]) for c in listed] == [("note", True, 2), ("reply", False, 0)]


def test_freshdesk_views_a_ticket_as_a_bare_object(fd: httpx.Client) -> None:
    response = fd.get(f"/api/v2/tickets/{TICKET}")
    assert response.status_code == 200
    ticket = response.json()
    assert (ticket["id"], ticket["subject"], ticket["status"], ticket["responder_id"]) == (
        TICKET,
        "Printer on fire",
        2,
        None,
    )


# --------------------------------------------------------------------------------------------------
# Freshdesk: faults


def test_freshdesk_a_rate_limited_note_is_429_with_retry_after_and_not_applied(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    freshdesk.inject(RateLimited(retry_after_s=30, method="POST"))
    response = fd.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "x"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert freshdesk.conversations(TICKET) == []
    assert freshdesk.requests[-1].outcome == "RateLimited"


def test_freshdesk_a_server_error_applies_nothing(freshdesk: FreshdeskStandin, fd: httpx.Client) -> None:
    freshdesk.inject(ServerError())
    assert fd.put(f"/api/v2/tickets/{TICKET}", json={"status": 4}).status_code == 500
    assert freshdesk.ticket(TICKET).status == 2


def test_freshdesk_a_note_applied_but_its_response_lost_is_recorded_once(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    freshdesk.inject(AppliedButLost(path_prefix=f"/api/v2/tickets/{TICKET}/notes"))
    with pytest.raises(httpx.RemoteProtocolError):
        fd.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "Routed once"})
    assert [c.body for c in freshdesk.conversations(TICKET)] == ["Routed once"]
    assert [(r.fault, r.applied) for r in freshdesk.requests] == [("AppliedButLost", True)]


def test_freshdesk_a_lost_response_to_an_invalid_note_applied_nothing(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    freshdesk.inject(AppliedButLost())
    with pytest.raises(httpx.RemoteProtocolError):
        fd.post(f"/api/v2/tickets/{TICKET}/notes", json={})
    assert freshdesk.conversations(TICKET) == []
    assert freshdesk.requests[0].applied is False


def test_freshdesk_a_hang_with_apply_adds_the_note_after_the_client_gave_up(
    freshdesk: FreshdeskStandin, fd: httpx.Client
) -> None:
    freshdesk.inject(Hang(seconds=0.4, apply=True))
    with pytest.raises(httpx.ReadTimeout):
        fd.post(f"/api/v2/tickets/{TICKET}/notes", json={"body": "Late"}, timeout=0.1)
    freshdesk.wait_for(lambda: len(freshdesk.requests) == 1, timeout=5)
    assert [c.body for c in freshdesk.conversations(TICKET)] == ["Late"]
    assert (freshdesk.requests[0].fault, freshdesk.requests[0].status) == ("Hang", 201)


def test_closing_the_stand_in_ends_a_hang_at_once() -> None:
    with FreshdeskStandin(api_key=API_KEY) as standin:
        standin.add_ticket(TICKET)
        standin.inject(Hang(seconds=60))
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{standin.base_url}/api/v2/tickets/{TICKET}", auth=(API_KEY, "X"), timeout=0.1)
        closing = time.monotonic()
    assert time.monotonic() - closing < 5  # the 60 s hang did not hold the close
    assert [(r.fault, r.applied) for r in standin.requests] == [("Hang", False)]

"""A Stack Exchange dump as the webhook deliveries a brand's ticketing system would send.

Pure: no I/O beyond reading the dump. Each question becomes a ticket, replayed in the order the
questions were asked; within a ticket, events follow the site's own chronology:

- the question -> `ticket_created` (subject, body, tags, requester `se-user-<id>`);
- each answer -> `comment_added` by its author, an advocate with their own wallet (`advocate_account`).
  Answers given while the question is open (before its acceptance, or on a question never
  accepted) carry the advocate's EIP-712 signature, so the oracle relays them with
  `submitAnswerWithSig`; answers given after the acceptance go unsigned and are anchored in a
  Merkle batch, because the ledger records a direct answer only on an open question. A reply by
  the asker is delivered like any comment and is not an answer (the oracle ignores it);
- the accepted answer -> `ticket_solved` naming that comment (not for an asker's own answer, which
  earns nothing);
- up and down votes on answers -> `satisfaction_rated` for that comment, 5 stars for an upvote and
  1 for a downvote, each vote its own rater (the dumps do not say who voted).

Dumps give acceptance and vote dates by day only: those events are placed at the end of their day,
after that day's answers. Advocates' nonces count each advocate's signed answers in replay order
over the whole dump, so a run limited to the first N questions signs exactly what a full run would.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from peercare.oracle.webhooks.generic_client import generic_body
from peercare.routing.dump import VOTE_ACCEPTED, VOTE_DOWN, VOTE_UP, Dump, Post

#: Seed of the advocates' demo keys. Anyone can derive them: they only ever hold demo earnings
#: on a local chain, never real funds.
DEMO_SEED = "peercare-demo-v1"
SOURCE = "generic"
DEFAULT_TOPIC = "general"
TOPIC_COUNT = 8
TOKEN = 10**18
DEFAULT_BOUNTY = 10 * TOKEN  # a ticket with none of the brand's topic tags
TOPIC_BOUNTY = 25 * TOKEN  # a ticket tagged with one of the brand's topics
UPVOTE_RATING, DOWNVOTE_RATING = 5, 1
MAX_TOPIC_BYTES = 31  # the oracle's limit on a topic label
_KINDS = ("ticket_created", "comment_added", "ticket_solved", "satisfaction_rated")


@functools.lru_cache(maxsize=65_536)
def advocate_account(site: str, user_id: int) -> LocalAccount:
    """The demo wallet of Stack Exchange user `user_id` of `site`: keccak256 of the demo seed, the
    site and the user id. Deterministic so that a second run signs as the same advocates."""
    account: LocalAccount = Account.from_key(keccak(f"{DEMO_SEED}:{site}:{user_id}".encode()))
    return account


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """A dump time (UTC, written without a zone) as an aware datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalised_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """Tags as the oracle keeps them: lowercased, unique, sorted."""
    return tuple(sorted({tag.lower() for tag in tags}))


def topic_of(tags: tuple[str, ...], topics: tuple[str, ...] | list[str], default_topic: str) -> str:
    """The ticket's topic as the oracle's processor picks it: its first (sorted) tag that is a topic."""
    return next((tag for tag in normalised_tags(tags) if tag in topics), default_topic)


@dataclass(frozen=True)
class Delivery:
    """One generic webhook event. `signer` (a user id) marks an answer the advocate signs, with `nonce`."""

    kind: str
    event_id: str
    ticket_id: str
    occurred_at: datetime
    data: dict[str, Any]
    signer: int | None = None
    nonce: int | None = None

    def body(self, **extra: Any) -> bytes:
        return generic_body(self.kind, self.event_id, self.ticket_id, iso(self.occurred_at), **self.data, **extra)


@dataclass(frozen=True)
class Ticket:
    post_id: int
    ticket_id: str
    tags: tuple[str, ...]  # normalised
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class Counts:
    """What a plan delivers, by kind."""

    questions: int = 0
    answers: int = 0  # advocates' answers (signed + batched)
    signed: int = 0  # relayed with the advocate's signature
    batched: int = 0  # anchored in a Merkle batch
    asker_replies: int = 0  # answers by the asker: comments, not answers
    acceptances: int = 0
    ratings: int = 0
    upvotes: int = 0
    downvotes: int = 0
    deliveries: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Plan:
    site: str
    topics: tuple[str, ...]  # the brand's topics: the dump's most frequent tags
    tickets: tuple[Ticket, ...]
    advocates: dict[str, int] = field(default_factory=dict)  # wallet -> user id, every answerer of the dump
    skipped_answers: int = 0  # by deleted users (no owner): nobody to pay

    def deliveries(self) -> Iterator[Delivery]:
        for ticket in self.tickets:
            yield from ticket.deliveries

    @functools.cached_property
    def tags_by_ticket(self) -> dict[str, tuple[str, ...]]:
        return {ticket.ticket_id: ticket.tags for ticket in self.tickets}

    def predecessors(self) -> list[tuple[int, ...]]:
        """For each delivery (by position in `deliveries()`), those that the oracle must have stored
        before it: the previous event of its ticket (a ticket's events are handled in order), and
        for a signed answer the advocate's previous signed answer (relays must reach the ledger in
        nonce order). Deliveries with no path between them may be sent concurrently."""
        result: list[tuple[int, ...]] = []
        last_of_ticket: dict[str, int] = {}
        last_signed_by: dict[int, int] = {}
        for n, delivery in enumerate(self.deliveries()):
            before = [last_of_ticket[delivery.ticket_id]] if delivery.ticket_id in last_of_ticket else []
            if delivery.signer is not None:
                if delivery.signer in last_signed_by:
                    before.append(last_signed_by[delivery.signer])
                last_signed_by[delivery.signer] = n
            last_of_ticket[delivery.ticket_id] = n
            result.append(tuple(sorted(set(before))))
        return result

    def bounty_of(self, ticket: Ticket) -> int:
        return TOPIC_BOUNTY if any(tag in self.topics for tag in ticket.tags) else DEFAULT_BOUNTY

    def counts(self) -> Counts:
        kinds: Counter[str] = Counter()
        for delivery in self.deliveries():
            kinds[delivery.kind] += 1
            if delivery.kind == "comment_added":
                if "author_wallet" not in delivery.data:
                    kinds["asker"] += 1
                elif delivery.signer is not None:
                    kinds["signed"] += 1
                else:
                    kinds["batched"] += 1
            elif delivery.kind == "satisfaction_rated":
                kinds["up" if delivery.data["rating"] == UPVOTE_RATING else "down"] += 1
        return Counts(
            questions=kinds["ticket_created"],
            answers=kinds["signed"] + kinds["batched"],
            signed=kinds["signed"],
            batched=kinds["batched"],
            asker_replies=kinds["asker"],
            acceptances=kinds["ticket_solved"],
            ratings=kinds["satisfaction_rated"],
            upvotes=kinds["up"],
            downvotes=kinds["down"],
            deliveries=sum(kinds[k] for k in _KINDS),
        )


def top_tags(dump: Dump, count: int = TOPIC_COUNT) -> tuple[str, ...]:
    """The `count` tags on most questions (ties by name), each short enough to be a topic."""
    frequency = Counter(tag for q in dump.questions.values() for tag in normalised_tags(q.tags))
    ranked = sorted(
        (tag for tag in frequency if len(tag.encode()) <= MAX_TOPIC_BYTES), key=lambda t: (-frequency[t], t)
    )
    return tuple(sorted(ranked[:count]))


def build_plan(dump: Dump, site: str, *, limit: int | None = None, topic_count: int = TOPIC_COUNT) -> Plan:
    """The deliveries of the first `limit` questions (all by default), oldest first."""
    answers_of: dict[int, list[Post]] = defaultdict(list)
    for answer in dump.answers.values():
        if answer.parent_id in dump.questions:
            answers_of[answer.parent_id].append(answer)
    votes_of: dict[int, list[tuple[int, date]]] = defaultdict(list)  # post -> (vote type, day), file order
    for vote in dump.votes or ():
        votes_of[vote.post_id].append((vote.vote_type, vote.day))
    topics = top_tags(dump, topic_count)
    nonces: Counter[int] = Counter()
    tickets: list[Ticket] = []
    skipped = 0
    for question in sorted(dump.questions.values(), key=lambda q: (q.created, q.id)):
        answers = sorted(answers_of.get(question.id, ()), key=lambda a: (a.created, a.id))
        skipped += sum(1 for a in answers if a.owner is None)
        ticket = _ticket(site, question, [a for a in answers if a.owner is not None], votes_of)
        signed = []
        for delivery in ticket.deliveries:
            user = delivery.signer
            if user is not None:
                delivery = replace(delivery, nonce=nonces[user])
                nonces[user] += 1
            signed.append(delivery)
        tickets.append(Ticket(ticket.post_id, ticket.ticket_id, ticket.tags, tuple(signed)))
    owners = {a.owner for a in dump.answers.values() if a.owner is not None}
    advocates = {str(advocate_account(site, owner).address): owner for owner in owners}
    chosen = tuple(tickets if limit is None else tickets[:limit])
    return Plan(site, topics, chosen, advocates, skipped)


def _ticket(site: str, question: Post, answers: list[Post], votes_of: dict[int, list[tuple[int, date]]]) -> Ticket:
    ticket_id = str(question.id)
    asker = question.owner
    requester = f"se-user-{asker}" if asker is not None else f"se-anonymous-{question.id}"
    tags = normalised_tags(question.tags)
    events: list[tuple[datetime, int, Delivery]] = [
        (
            utc(question.created),
            0,
            Delivery(
                "ticket_created",
                f"{site}/q/{question.id}",
                ticket_id,
                utc(question.created),
                {"subject": question.title, "body": question.body, "tags": list(tags), "requester_id": requester},
            ),
        )
    ]
    accepted = next((a for a in answers if a.id == question.accepted_answer_id and a.owner != asker), None)
    accepted_at: datetime | None = None
    if accepted is not None:
        days = [day for kind, day in votes_of.get(accepted.id, ()) if kind == VOTE_ACCEPTED]
        accepted_at = max(end_of_day(days[0] if days else accepted.created.date()), utc(accepted.created))
        events.append(
            (
                accepted_at,
                2,
                Delivery(
                    "ticket_solved",
                    f"{site}/accept/{question.id}",
                    ticket_id,
                    accepted_at,
                    {"solved_by_comment_id": str(accepted.id)},
                ),
            )
        )
    for answer in answers:
        assert answer.owner is not None
        created = utc(answer.created)
        data: dict[str, Any] = {
            "comment_id": str(answer.id),
            "author_id": f"se-user-{answer.owner}",
            "body": answer.body,
            "public": True,
        }
        signer = None
        if answer.owner != asker:
            data["author_wallet"] = advocate_account(site, answer.owner).address
            if accepted_at is None or created < accepted_at:
                signer = answer.owner
        comment = Delivery("comment_added", f"{site}/a/{answer.id}", ticket_id, created, data, signer)
        events.append((created, 1, comment))
        if answer.owner == asker:
            continue  # votes on the asker's own answer rate nobody the ledger knows
        for k, (kind, day) in enumerate(votes_of.get(answer.id, ())):
            if kind not in (VOTE_UP, VOTE_DOWN):
                continue
            at = max(end_of_day(day), created)
            rating = UPVOTE_RATING if kind == VOTE_UP else DOWNVOTE_RATING
            events.append(
                (
                    at,
                    3,
                    Delivery(
                        "satisfaction_rated",
                        f"{site}/vote/{answer.id}/{k}",
                        ticket_id,
                        at,
                        {"rating": rating, "rater_id": f"se-voter-{answer.id}-{k}", "comment_id": str(answer.id)},
                    ),
                )
            )
    events.sort(key=lambda item: (item[0], item[1]))  # stable: file order within a kind and time
    return Ticket(question.id, ticket_id, tags, tuple(delivery for _, _, delivery in events))


_ATTRIBUTION = re.compile(r"^\s*[-*]\s*(source|licen[cs]e|attribution)\b", re.IGNORECASE)


def attribution(folder: Path) -> list[str]:
    """The source, licence and attribution lines of the dump's README.md (the bullets naming them,
    with their continuation lines), or a reminder of the Stack Exchange licence when there is none."""
    readme = folder / "README.md"
    if not readme.is_file():
        return [
            "Stack Exchange content is licensed CC BY-SA (see each post's ContentLicense): "
            "attribute its authors when you share anything derived from it."
        ]
    lines: list[str] = []
    keep = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s*[-*]\s", line) or not line.strip():
            keep = bool(_ATTRIBUTION.match(line))
            if keep:
                lines.append(re.sub(r"^\s*[-*]\s*", "", line).strip())
        elif keep and lines:
            lines[-1] += " " + line.strip()
    return lines or [f"see {readme} for the licence and attribution of this dump"]

"""What routing reads: the question being routed, past answers as public at routing time, and the
words of a question (title words and tags) that topic similarity is computed on."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

#: Who asks and answers: a user id in the Stack Exchange dumps, an address (0x-hex) in PeerCare.
User = int | str


@dataclass(frozen=True, slots=True)
class Question:
    """The question being routed: everything about it that is known when it is asked."""

    question_id: int
    asker: User | None
    created: datetime
    tags: tuple[str, ...]
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Answered:
    """One past answer as public at routing time: who, when, on what, and its signals so far."""

    answer_id: int
    answerer: User
    created: datetime
    question_id: int
    asker: User | None
    tags: tuple[str, ...]
    title: str
    accepted: bool
    up: int
    down: int


_STOPWORD_TEXT = """a about an and any are as at be by can could do does for from get has have how i if in is it
its my no not of on or should so than that the their there this to use using was we what when where which while who
why will with would you your"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#.\-]*[a-z0-9+#]|[a-z0-9]")
_HTML_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=65_536)
def tokenize(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens of a title or HTML body, without stopwords and one-letter words."""
    plain = html.unescape(_HTML_TAG.sub(" ", text)).lower()
    return tuple(t for t in _TOKEN.findall(plain) if len(t) > 1 and t not in _STOPWORDS)


def terms(title: str, tags: Iterable[str]) -> Counter[str]:
    """Term counts of a question: its title words and its tags (as `tag:` terms, apart from words)."""
    counts = Counter(tokenize(title))
    counts.update(f"tag:{tag}" for tag in tags)
    return counts

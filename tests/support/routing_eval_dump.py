"""Hand-made Stack Exchange dumps for the routing tests: questions, answers and votes as rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr


@dataclass(frozen=True)
class Q:
    id: int
    created: str
    owner: int | None
    tags: Sequence[str] = ("alpha",)
    accepted: int | None = None
    title: str = "a question"


@dataclass(frozen=True)
class A:
    id: int
    parent: int
    created: str
    owner: int | None


@dataclass(frozen=True)
class V:
    post: int
    kind: int
    day: str


def _attrs(**values: object) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in values.items() if v is not None)


def write_dump(folder: Path, posts: Sequence[Q | A], votes: Sequence[V] | None = None) -> Path:
    rows = []
    for post in posts:
        if isinstance(post, Q):
            tags = "".join(f"<{t}>" for t in post.tags)
            rows.append(
                "  <row "
                + _attrs(
                    Id=post.id,
                    PostTypeId=1,
                    AcceptedAnswerId=post.accepted,
                    CreationDate=post.created,
                    Score=99,
                    OwnerUserId=post.owner,
                    Title=post.title,
                    Body="<p>body</p>",
                    Tags=tags,
                )
                + " />"
            )
        else:
            rows.append(
                "  <row "
                + _attrs(
                    Id=post.id, PostTypeId=2, ParentId=post.parent, CreationDate=post.created, OwnerUserId=post.owner
                )
                + " />"
            )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Posts.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n' + "\n".join(rows) + "\n</posts>\n", encoding="utf-8"
    )
    if votes is not None:
        vote_rows = [
            "  <row " + _attrs(Id=i + 1, PostId=v.post, VoteTypeId=v.kind, CreationDate=f"{v.day}T00:00:00.000") + " />"
            for i, v in enumerate(votes)
        ]
        (folder / "Votes.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?>\n<votes>\n' + "\n".join(vote_rows) + "\n</votes>\n",
            encoding="utf-8",
        )
    return folder

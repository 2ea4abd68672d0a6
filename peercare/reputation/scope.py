"""Whose events an epoch trusts: the brands it counts, their topics and experts, and the rule.

The ledger is public and multi-tenant: anyone can post, answer, accept and rate through a brand
they run, and a `raterId` is whatever the rating brand's oracle wrote. So an epoch does not count
"the ledger"; it counts a `Scope`, which its manifest names (and the manifest's digest is on chain,
in `ReputationRootPublished`): a list of brands, each with the topics it vouches for and its
verified experts. `trusted(history, scope)` keeps only what those brands can vouch for:

- an event counts only if its question's brand is in the scope, and in one of the topics the scope
  names for that brand (topics are namespaced by brand: `ledger_ids.reputation_topic`);
- an acceptance counts only if it paid a bounty: an unfunded acceptance costs its brand nothing,
  so it cannot mint reputation;
- a customer's rating counts (the brand's oracle relayed it from a real ticket);
- a `BrandExpert` rating counts only if the rater is one of the rating brand's experts, so no brand
  can rate as another brand's expert (a seed of trust there);
- a `PeerAdvocate` rating counts only if the rater already had an answer accepted (with a bounty)
  by the rating brand when it rated: a peer is someone the brand has paid for an answer;
- a payout counts only for a counted brand's question (payouts split swarm credit).

The seeds of trust are the scope's experts, each in every topic its brand names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import reputation_topic, short_string
from peercare.reputation.history import Expert, History, account_key, rater_account


class ScopeError(ValueError):
    """A scope that cannot be built or read (a manifest's `brands` malformed)."""


@dataclass(frozen=True)
class BrandScope:
    """One counted brand: its ledger id, the topic labels it vouches for and its experts."""

    brand: int
    topics: tuple[str, ...]  # labels, as the ledger's QuestionPosted carries them (short strings)
    experts: tuple[str, ...]  # account keys (lowercase hex)

    @classmethod
    def of(cls, brand: int, topics: Iterable[str], experts: Iterable[str]) -> BrandScope:
        if not 0 < brand < 2**64:
            raise ScopeError(f"brand id {brand} is not a positive uint64")
        labels = tuple(sorted(set(topics)))
        for label in labels:
            if not label or len(label.encode()) > 31:
                raise ScopeError(f"brand {brand}'s topic {label!r} is not a 1- to 31-byte label")
        return cls(brand, labels, tuple(sorted({account_key(e) for e in experts})))

    def topic_keys(self) -> dict[bytes, str]:
        """reputation topic -> label, for this brand's topics."""
        return {reputation_topic(self.brand, short_string(label)): label for label in self.topics}


@dataclass(frozen=True)
class Scope:
    """The brands an epoch counts, in brand order; at most one entry per brand."""

    brands: tuple[BrandScope, ...]

    @classmethod
    def of(cls, brands: Iterable[BrandScope]) -> Scope:
        ordered = tuple(sorted(brands, key=lambda b: b.brand))
        ids = [b.brand for b in ordered]
        if len(set(ids)) != len(ids):
            raise ScopeError("a brand is listed twice in the scope")
        return cls(ordered)

    def brand(self, brand_id: int) -> BrandScope | None:
        return next((b for b in self.brands if b.brand == brand_id), None)

    def topic_names(self) -> dict[bytes, tuple[int, str]]:
        """reputation topic -> (brand, label), for every counted topic."""
        return {key: (b.brand, label) for b in self.brands for key, label in b.topic_keys().items()}

    def seeds(self) -> tuple[Expert, ...]:
        """Every expert of every counted brand, as a seed in each of that brand's topics."""
        found = {Expert(expert, key) for b in self.brands for key in b.topic_keys() for expert in b.experts}
        return tuple(sorted(found, key=lambda e: (e.account, e.topic)))

    def as_json(self) -> list[dict[str, Any]]:
        return [{"brand": b.brand, "topics": list(b.topics), "experts": list(b.experts)} for b in self.brands]

    @classmethod
    def from_json(cls, data: Any) -> Scope:
        if not isinstance(data, list):
            raise ScopeError("the manifest does not name the brands it counts")
        try:
            return cls.of(BrandScope.of(int(item["brand"]), item["topics"], item["experts"]) for item in data)
        except (KeyError, TypeError, ValueError) as err:  # ScopeError is a ValueError
            raise ScopeError(f"malformed brands in the manifest: {err}") from err


def topic_names_in(manifest: Mapping[str, Any]) -> dict[bytes, tuple[int, str]]:
    """reputation topic -> (brand, label) as an epoch manifest's `brands` names them; empty for a
    manifest that names none (format v1) or names them malformed (its tree may still be sound)."""
    try:
        return Scope.from_json(manifest.get("brands")).topic_names()
    except ScopeError:
        return {}


def trusted(history: History, scope: Scope) -> History:
    """The part of `history` that `scope`'s brands vouch for (see the module docstring), with the
    scope's seeds as its experts."""
    topics: Mapping[bytes, tuple[int, str]] = scope.topic_names()
    experts = {b.brand: frozenset(b.experts) for b in scope.brands}

    def counted(brand: int, topic: bytes) -> bool:
        named = topics.get(topic)
        return named is not None and named[0] == brand

    acceptances = tuple(a for a in history.acceptances if a.bounty > 0 and counted(a.brand, a.topic))
    # When each account first became a brand's paid advocate: from then on it rates as a peer there.
    advocate_since: dict[tuple[int, str], int] = {}
    for a in acceptances:
        key = (a.brand, account_key(a.advocate))
        advocate_since[key] = min(a.time, advocate_since.get(key, a.time))

    def vouched(rating_brand: int, kind: RaterKind, rater_id: bytes, time: int) -> bool:
        if kind == RaterKind.CUSTOMER:
            return True
        rater = rater_account(rater_id)
        if rater is None:
            return False
        if kind == RaterKind.BRAND_EXPERT:
            return rater in experts[rating_brand]
        since = advocate_since.get((rating_brand, rater))
        return since is not None and since <= time

    ratings = tuple(
        r for r in history.ratings if counted(r.brand, r.topic) and vouched(r.brand, r.rater_kind, r.rater_id, r.time)
    )
    payouts = tuple(p for p in history.payouts if p.brand in experts)
    return History(history.cut, acceptances, ratings, payouts, scope.seeds())

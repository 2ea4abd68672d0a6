"""Whom an acceptance pays: the accepted answer's advocate alone, or the swarm the question was
committed to.

A question decided as a swarm carries credit shares in its committed decision (`route_rounds`;
each member's share is on its `offers` row). When the accepted answer was written by a member of
such a swarm, the acceptance pays that round's shares (`acceptAnswerWithSwarm`): the swarm was
offered the question together and is paid as it was told. An answer written by anyone outside
every swarm of the question is paid to its author alone (`acceptAnswer`): the swarm did not solve
it, and paying people for a question someone else answered would reward being offered, not
answering. If the author is in several swarm rounds of the question, the latest one counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peercare.db.tables.routing import Offer

Share = tuple[str, int]  # (account, basis points), as `IPeerCareLedger.Share`


def committed_shares(session: Session, question_id: str, advocate: str) -> Sequence[Share]:
    """The shares of the latest round of `question_id` whose swarm includes `advocate`, largest
    first; empty when the advocate was in no swarm of the question."""
    member_round = session.scalar(
        select(func.max(Offer.round)).where(
            Offer.question_id == question_id,
            func.lower(Offer.advocate) == advocate.lower(),
            Offer.share_bps > 0,
        )
    )
    if member_round is None:
        return ()
    rows = session.execute(
        select(Offer.advocate, Offer.share_bps)
        .where(Offer.question_id == question_id, Offer.round == member_round, Offer.share_bps > 0)
        .order_by(Offer.share_bps.desc(), Offer.advocate)
    ).all()
    return tuple((account, bps) for account, bps in rows)

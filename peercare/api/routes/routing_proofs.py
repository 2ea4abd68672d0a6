"""Public proofs that routing offered a question to someone (`peercare.routing.anchors`): the leaf
"advocate A was offered question Q at round R", its Merkle path, and the anchored root, checked
here before it is served. Public: the batch manifests are public already, and an advocate shows
the proof to whoever they like."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from peercare.api.problems import Problem
from peercare.api.schemas.routing import OfferProofOut
from peercare.api.security import Context
from peercare.content.errors import ContentError
from peercare.core.ledger_ids import ROUTING_LEAF_ENCODING
from peercare.db.tables import projections as ix
from peercare.db.tables.routing import RouteRound, RoutingBatch
from peercare.oracle.manifest import ManifestError
from peercare.routing.anchors import offer_proof

router = APIRouter(prefix="/api/v1", tags=["routing"])

QuestionPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The question id")]
RoundPath = Annotated[int, Path(ge=0, le=2**32 - 1, description="The round (0 first)")]
PersonPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="Who was offered it (the zero address: the round itself)")
]


@router.get(
    "/routing/questions/{question_id}/rounds/{round}/offers/{advocate}/proof",
    summary="Proof, against a root anchored on chain, that a round of routing offered a question to someone",
    responses={404: {"description": "no anchored batch proves it (yet)"}, 503: {"description": "content unreachable"}},
)
def routing_offer_proof(
    question_id: QuestionPath, round: RoundPath, advocate: PersonPath, context: Context
) -> OfferProofOut:
    question_id = question_id.lower()
    with context.database.read() as session:
        brand = session.scalar(
            select(ix.QuestionPosted.brand_id).where(ix.QuestionPosted.question_id == question_id).limit(1)
        )
        if brand is None:
            raise Problem(404, f"question {question_id} is not on chain")
        # The operator's own record says which batch holds the round (one manifest to read, not every
        # batch's: the route is public); only a root the chain anchored under the brand counts.
        hinted = session.scalar(
            select(RoutingBatch.root)
            .join(RouteRound, RouteRound.batch_id == RoutingBatch.id)
            .where(RouteRound.question_id == question_id, RouteRound.round == round)
        )
        anchored = (
            session.execute(
                select(ix.RoutingBatchAnchoredRow)
                .where(ix.RoutingBatchAnchoredRow.brand_id == brand, ix.RoutingBatchAnchoredRow.root == hinted)
                .order_by(ix.RoutingBatchAnchoredRow.id)
                .limit(1)
            )
            .scalars()
            .all()
        )
    if not anchored:
        raise Problem(404, f"round {round} of {question_id} is not anchored on chain (yet)")
    try:
        found = offer_proof(
            context.public_store,
            [(r.brand_id, r.root, r.manifest_digest) for r in anchored],
            question_id,
            round,
            advocate,
        )
    except ManifestError as err:
        raise Problem(503, f"a routing manifest anchored on chain is unreadable: {err}") from None
    except ContentError as err:
        raise Problem(503, f"the content store cannot serve a routing manifest: {err}") from None
    if found is None or not found.verifies():
        raise Problem(
            404, f"no anchored routing batch proves that {advocate} was offered {question_id} at round {round}"
        )
    row = next(r for r in anchored if r.root == found.root)
    return OfferProofOut(
        brand_id=found.brand_id,
        question_id=found.question_id,
        round=found.round,
        advocate=found.advocate,
        commitment=found.commitment,
        leaf_encoding=list(ROUTING_LEAF_ENCODING),
        root=found.root,
        proof=found.proof,
        block_number=row.block_number,
        tx_hash=row.tx_hash,
        manifest_cid=found.manifest_cid,
        decision=dict(found.decision),
    )

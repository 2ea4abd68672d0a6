"""Answering as the demo's advocates: each signed answer's document drafted in the content store
(as the API's draft route does), exactly as the oracle's processor will rebuild it from the
delivered event, then its digest signed with the advocate's key (EIP-712)."""

from __future__ import annotations

import time
from typing import Any

from peercare.content.cid import digest_from_cid
from peercare.content.document import Conversation
from peercare.core.ledger_ids import question_id, short_string
from peercare.core.typed_data import answer_typed_data, sign_answer
from peercare.demo.connection import Connection
from peercare.demo.plan import DEFAULT_TOPIC, SOURCE, Delivery, Plan, advocate_account, topic_of
from peercare.oracle.processor import answer_conversation

SIGNATURE_VALIDITY_S = 86_400


def answer_document(plan: Plan, brand_id: int, delivery: Delivery) -> Conversation:
    """The stored document of a signed answer, exactly as the oracle's processor will build it from
    the delivered event: its digest is what the advocate signs."""
    assert delivery.signer is not None
    tags = plan.tags_by_ticket[delivery.ticket_id]
    return answer_conversation(
        brand_id,
        SOURCE,
        delivery.ticket_id,
        topic_of(tags, plan.topics, DEFAULT_TOPIC),
        "advocate",
        advocate_account(plan.site, delivery.signer).address,
        delivery.occurred_at,
        str(delivery.data["body"]),
    )


class AnswerSigner:
    """Advocates drafting and signing their answers: the answer document stored in the content
    store first (as the API's draft route does), then its digest signed with EIP-712."""

    def __init__(self, conn: Connection, plan: Plan, brand_id: int) -> None:
        self.conn, self.plan, self.brand_id = conn, plan, brand_id
        self.ledger = conn.deployment.contracts["PeerCareLedger"].address

    def signature(self, delivery: Delivery) -> dict[str, Any]:
        assert delivery.signer is not None and delivery.nonce is not None
        account = advocate_account(self.plan.site, delivery.signer)
        digest = digest_from_cid(self.conn.vault.put(answer_document(self.plan, self.brand_id, delivery)))
        deadline = int(time.time()) + SIGNATURE_VALIDITY_S
        typed = answer_typed_data(
            chain_id=self.conn.deployment.chain_id,
            ledger=self.ledger,
            question_id=question_id(self.brand_id, short_string(SOURCE), delivery.ticket_id),
            content_digest=digest,
            nonce=delivery.nonce,
            deadline=deadline,
        )
        signature = "0x" + sign_answer(account.key, typed).hex()
        return {"nonce": delivery.nonce, "deadline": deadline, "signature": signature}

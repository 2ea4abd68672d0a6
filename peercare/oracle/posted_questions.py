"""The questions the ledger holds, read from the chain and the content store alone: posted one by
one (`QuestionPosted`) or in batches (`QuestionBatchPosted`, whose manifest lists them). For whoever
checks without the index (`peercare routing prove-offer`, the tests): the ledger stores no slot for
a batched question, so its brand and bounty are in its batch's manifest."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import ContractCustomError

from peercare.content.cid import cid_from_digest
from peercare.content.store import Store
from peercare.oracle.manifest import QuestionManifest

ACCEPTED = 2  # `QuestionStatus.Accepted` in the ledger's `question(id)`


@dataclass(frozen=True)
class PostedQuestion:
    brand_id: int
    bounty: int
    batch_root: bytes | None = None  # None: posted on its own
    index: int = 0


def questions_on_chain(
    ledger: Contract, store: Store, from_block: int = 0, brand_id: int | None = None
) -> dict[bytes, list[PostedQuestion]]:
    """Every posting of each question id (a question posted twice has two). A batch whose manifest
    cannot be read, or does not match its posting, lists no question (as the index has it)."""
    filters = {} if brand_id is None else {"brandId": brand_id}
    found: dict[bytes, list[PostedQuestion]] = defaultdict(list)
    for log in ledger.events.QuestionPosted.get_logs(from_block=from_block, argument_filters=filters):
        args = log["args"]
        found[bytes(args["questionId"])].append(PostedQuestion(args["brandId"], args["bounty"]))
    for log in ledger.events.QuestionBatchPosted.get_logs(from_block=from_block, argument_filters=filters):
        args = log["args"]
        try:
            manifest = QuestionManifest.from_bytes(store.get(cid_from_digest(bytes(args["manifestDigest"]))))
        except Exception:  # not stored, or not a manifest: no question of it can be shown posted
            continue
        matches = manifest.tree().root == bytes(args["batchRoot"]) and len(manifest.leaves) == args["size"]
        if not matches or manifest.brand_id != args["brandId"] or manifest.total_bounty != args["totalBounty"]:
            continue
        for index, leaf in enumerate(manifest.leaves):
            posting = PostedQuestion(args["brandId"], leaf.bounty, bytes(args["batchRoot"]), index)
            found[leaf.question_id].append(posting)
    return dict(found)


def is_accepted(ledger: Contract, question_id: bytes, posted: PostedQuestion) -> bool:
    """Whether the ledger accepted an answer to the question: its stored status (posted on its
    own, or opened), else its settled bit in its batch."""
    try:
        _brand, _deadline, status, _bounty = ledger.functions.question(question_id).call()
    except ContractCustomError:  # `UnknownQuestion`
        status = 0
    if status != 0 or posted.batch_root is None:
        return bool(status == ACCEPTED)
    settled = ledger.functions.isBatchedQuestionSettled(posted.brand_id, posted.batch_root, posted.index).call()
    return bool(settled)


def question_as_ledger_holds_it(ledger: Contract, store: Store, question_id: bytes) -> tuple[int, int, int, int]:
    """(brand, deadline, status, bounty) as the ledger's `question(id)` returns them for a question
    posted on its own or opened, and as its batch says for one that was not: accepted when its
    settled bit is set, expired once its batch is released, else open (status 0: never posted)."""
    try:
        stored = tuple(ledger.functions.question(question_id).call())
    except ContractCustomError:  # `UnknownQuestion`: nothing stored (a batched question never opened)
        stored = (0, 0, 0, 0)
    if stored[2] != 0:
        return stored
    postings = questions_on_chain(ledger, store).get(question_id, [])
    if not postings:
        return stored
    posted = postings[0]
    assert posted.batch_root is not None
    _escrowed, deadline, _size, released = ledger.functions.questionBatch(posted.brand_id, posted.batch_root).call()
    status = ACCEPTED if is_accepted(ledger, question_id, posted) else 3 if released else 1
    return (posted.brand_id, deadline, status, posted.bounty)

"""Answer batches: the ledger verifies Merkle proofs built by the services (peercare/core/merkle.py, the
StandardMerkleTree format) for batches of 1 to 1,000 answers, counts a proven answer like a direct
one for rating and acceptance, and refuses forged proofs and batches of another brand; a brand's
batches are its own (keyed by brand and root), so no other brand can occupy its root.

The trees (up to 1,000 leaves, answering several real questions) are built and anchored once per
module; each test starts from that state.
"""

import brownie
import pytest
from conftest import DAY, TOPIC, ZENDESK, answer_id, digest, question_id
from errors import custom_error, hexstr
from eth_utils import keccak, to_checksum_address

from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree

SIZES = [1, 10, 100, 1000]
QUESTIONS = 7
BOUNTY = 100 * 10**18
CUSTOMER = 0  # RaterKind.Customer


def _leaves(qids, advocate, size, batch):
    """`size` answers spread over the questions; every fourth one by the `advocate` account."""
    return [
        (
            qids[i % len(qids)],
            advocate.address if i % 4 == 0 else to_checksum_address(keccak(text=f"advocate {i % 29}")[-20:]),
            digest(f"{batch} answer {i}"),
        )
        for i in range(size)
    ]


class Batch:
    def __init__(self, tree):
        self.tree = tree
        self.root = tree.root

    def ref(self, index, proof_of=None):
        """The AnswerRef of leaf `index`, proven by the proof of leaf `proof_of` (default: its own)."""
        qid, advocate, content = self.tree.values[index]
        proof = self.tree.proof(index if proof_of is None else proof_of)
        return (qid, advocate, content, self.root, proof)

    def answer_id(self, index):
        return answer_id(*self.tree.values[index])


def _sample(size):
    return sorted({0, 1, size // 2, size - 2, size - 1} & set(range(size)))


@pytest.fixture(scope="module")
def qids(ledger, brand_id, oracle):
    """QUESTIONS open questions of brand 1."""
    deadline = brownie.chain.time() + 30 * DAY
    posted = []
    for k in range(QUESTIONS):
        ticket = f"B-{k}"
        tx = ledger.postQuestion(brand_id, ZENDESK, ticket, TOPIC, BOUNTY, deadline, digest(ticket), {"from": oracle})
        assert tx.return_value == hexstr(question_id(brand_id, ZENDESK, ticket))
        posted.append(question_id(brand_id, ZENDESK, ticket))
    return posted


@pytest.fixture(scope="module")
def batches(ledger, brand_id, oracle, advocate, qids):
    """size -> (batch, another batch of the same size), both anchored by brand 1's oracle."""
    anchored = {}
    for size in SIZES:
        pair = tuple(
            Batch(StandardMerkleTree.of(_leaves(qids, advocate, size, f"{name}-{size}"), ANSWER_LEAF_ENCODING))
            for name in ("A", "B")
        )
        for batch in pair:
            ledger.anchorAnswerBatch(brand_id, batch.root, size, keccak(batch.root), {"from": oracle})
        anchored[size] = pair
    return anchored


@pytest.fixture(scope="module")
def foreign(ledger, admin, token, brand_admin, accounts, advocate, qids):
    """A batch of answers to brand 1's questions, anchored by the oracle of brand 2."""
    oracle2 = accounts[7]
    brand2 = ledger.registerBrand(brand_admin, token, [oracle2], {"from": admin}).return_value
    batch = Batch(StandardMerkleTree.of(_leaves(qids, advocate, 10, "foreign"), ANSWER_LEAF_ENCODING))
    ledger.anchorAnswerBatch(brand2, batch.root, 10, keccak(batch.root), {"from": oracle2})
    return brand2, batch


# ---------------------------------------------------------------- proofs the contract accepts


@pytest.mark.parametrize("size", SIZES)
def test_contract_verifies_project_built_proofs(ledger, brand_id, batches, size):
    batch, _ = batches[size]
    assert [int(field) for field in ledger.answerBatch(brand_id, batch.root)[:2]] == [brand_id, size]
    for index in _sample(size):
        assert ledger.isAnswerRecorded(batch.ref(index)), f"leaf {index} of {size}"
    # A complete binary tree: the deepest leaves are ceil(log2(size)) levels down.
    assert max(len(batch.tree.proof(i)) for i in range(size)) == (size - 1).bit_length()


def test_batch_answers_reference_many_real_questions(ledger, batches, qids):
    batch, _ = batches[1000]
    assert {value[0] for value in batch.tree.values} == set(qids)
    for qid in qids:
        assert ledger.question(qid)[2] == 1  # Open


def test_accept_with_batch_proof_pays_the_advocate(ledger, token, brand_id, oracle, advocate, batches):
    batch, _ = batches[1000]
    index = 996  # by `advocate`, deep in the tree
    qid, author, content, root, proof = batch.ref(index)
    assert author == advocate.address
    escrowed = ledger.pool(brand_id)[1]

    tx = ledger.acceptAnswer((qid, author, content, root, proof), {"from": oracle})

    assert tx.events["AnswerAccepted"] == {
        "questionId": hexstr(qid),
        "answerId": hexstr(batch.answer_id(index)),
        "advocate": advocate,
        "bounty": BOUNTY,
    }
    assert tx.events["RewardCredited"]["amount"] == BOUNTY
    assert ledger.earnings(advocate, token) == BOUNTY
    assert ledger.question(qid)[2] == 2  # Accepted
    assert ledger.pool(brand_id)[1] == escrowed - BOUNTY


def test_rate_with_batch_proof_records_the_rating(ledger, oracle, batches):
    batch, _ = batches[100]
    rater = keccak(text="customer 42")
    ref = batch.ref(99)

    tx = ledger.rateAnswer(ref, 5, CUSTOMER, rater, {"from": oracle})

    aid = batch.answer_id(99)
    assert tx.events["AnswerRated"] == {
        "answerId": hexstr(aid),
        "questionId": hexstr(ref[0]),
        "advocate": ref[1],
        "rating": 5,
        "raterKind": CUSTOMER,
        "raterId": hexstr(rater),
    }
    assert ledger.isRated(aid, CUSTOMER, rater)
    with brownie.reverts(custom_error(ledger, "AlreadyRated", aid, CUSTOMER, rater)):
        ledger.rateAnswer(ref, 4, CUSTOMER, rater, {"from": oracle})


# ---------------------------------------------------------------- forgeries


def _tampered(batch, index):
    qid, advocate, content, root, proof = batch.ref(index)
    return (qid, advocate, bytes([content[0] ^ 1]) + content[1:], root, proof)


FORGERIES = {
    # (the forged AnswerRef, the id of the answer it claims)
    "tampered leaf": lambda a, b, i: _tampered(a, i),
    "wrong index": lambda a, b, i: a.ref((i + 1) % len(a.tree.values), proof_of=i),
    "proof of another batch": lambda a, b, i: (*a.ref(i)[:4], b.tree.proof(i)),
    "leaf of another batch": lambda a, b, i: (*b.ref(i)[:3], a.root, b.tree.proof(i)),
}
FORGERY_CASES = [
    pytest.param(name, size, id=f"{name}-{size}")
    for size in SIZES
    for name in FORGERIES
    # A one-leaf batch has one leaf and an empty proof: no other index, no foreign proof.
    if size > 1 or name in ("tampered leaf", "leaf of another batch")
]


@pytest.mark.parametrize(("name", "size"), FORGERY_CASES)
def test_forged_proof_is_refused(ledger, oracle, batches, name, size):
    batch, other = batches[size]
    for index in sorted({0, size - 1}):
        forged = FORGERIES[name](batch, other, index)
        aid = answer_id(*forged[:3])
        assert forged[3] == batch.root
        assert not ledger.isAnswerRecorded(forged)
        with brownie.reverts(custom_error(ledger, "InvalidAnswerProof", aid, batch.root)):
            ledger.acceptAnswer(forged, {"from": oracle})
        with brownie.reverts(custom_error(ledger, "InvalidAnswerProof", aid, batch.root)):
            ledger.rateAnswer(forged, 1, CUSTOMER, keccak(text="rater"), {"from": oracle})


def test_the_genuine_leaf_of_another_batch_is_recorded_there(ledger, batches):
    """The forgeries above are refused for the batch, not for the answer: under its own root it counts."""
    _, other = batches[1000]
    assert ledger.isAnswerRecorded(other.ref(0))


# ---------------------------------------------------------------- batches of another brand


def test_batch_of_another_brand_does_not_record_answers(ledger, brand_id, foreign):
    brand2, batch = foreign
    assert [int(field) for field in ledger.answerBatch(brand2, batch.root)[:2]] == [brand2, 10]
    for index in (0, 9):
        assert not ledger.isAnswerRecorded(batch.ref(index))


def test_batch_of_another_brand_cannot_be_accepted_or_rated(ledger, brand_id, oracle, foreign):
    _, batch = foreign
    expected = custom_error(ledger, "UnknownBatch", brand_id, batch.root)
    with brownie.reverts(expected):
        ledger.acceptAnswer(batch.ref(0), {"from": oracle})
    with brownie.reverts(expected):
        ledger.rateAnswer(batch.ref(0), 5, CUSTOMER, keccak(text="rater"), {"from": oracle})


# ---------------------------------------------------------------- a brand's batches are its own


def test_a_foreign_brand_anchoring_the_same_root_first_does_not_block_the_victim(
    ledger, token, admin, brand_id, oracle, advocate, accounts, post_question
):
    """Attack: a stranger's brand copies the victim's root (from the mempool or its public manifest)
    and anchors it first. Batches were keyed by root alone: the victim's anchor reverted with
    `BatchAlreadyAnchored` and its acceptances and ratings with `BatchOfAnotherBrand`, for ever.
    Now the stranger anchors only its own batch; the victim's anchor, acceptance and rating go through."""
    squatter = accounts[8]
    brand2 = ledger.registerBrand(squatter, token, [squatter], {"from": admin}).return_value
    qid = post_question(ticket="V-1", bounty=BOUNTY)
    values = [(qid, advocate.address, digest("victim answer")), (qid, accounts[9].address, digest("another"))]
    tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
    ref = (*values[0], tree.root, tree.proof(0))

    ledger.anchorAnswerBatch(brand2, tree.root, 2, keccak(tree.root), {"from": squatter})  # front-run
    assert not ledger.isAnswerRecorded(ref)  # the squatter's copy records nothing for brand 1

    tx = ledger.anchorAnswerBatch(brand_id, tree.root, 2, keccak(tree.root), {"from": oracle})

    assert tx.events["AnswerBatchAnchored"] == {
        "brandId": brand_id,
        "batchRoot": hexstr(tree.root),
        "size": 2,
        "manifestDigest": hexstr(keccak(tree.root)),
    }
    assert ledger.isAnswerRecorded(ref)
    rated = ledger.rateAnswer(ref, 5, CUSTOMER, keccak(text="customer"), {"from": oracle})
    accepted = ledger.acceptAnswer(ref, {"from": oracle})
    assert rated.events["AnswerRated"]["advocate"] == advocate
    assert accepted.events["AnswerAccepted"]["bounty"] == BOUNTY
    assert ledger.earnings(advocate, token) == BOUNTY


def test_a_foreign_brand_anchoring_later_changes_nothing_for_the_owner(ledger, brand_id, foreign, batches, accounts):
    """The same root under two brands is two batches: each keeps its own size and timestamp."""
    brand2, _ = foreign
    batch, _ = batches[10]
    owned = tuple(ledger.answerBatch(brand_id, batch.root))

    ledger.anchorAnswerBatch(brand2, batch.root, 1, keccak(text="copy"), {"from": accounts[7]})

    assert tuple(ledger.answerBatch(brand_id, batch.root)) == owned
    assert tuple(ledger.answerBatch(brand2, batch.root))[:2] == (brand2, 1)
    assert ledger.isAnswerRecorded(batch.ref(0))

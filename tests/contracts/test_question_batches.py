"""Questions in batches: the brand's oracle posts a Merkle batch of questions that escrows their
total in one slot; an answer to a batched question is accepted by proving the question in its batch
(one settled bit per question); the batch's remaining escrow goes back to the pool after its
deadline; a batched question can be opened into a stored one, for the direct paths.

Every refusal is checked to leave the ledger's state (pool, batch, settled bits, stored question,
earnings) as it was.
"""

from types import SimpleNamespace

import brownie
import pytest
from brownie import web3
from brownie.exceptions import VirtualMachineError
from conftest import DAY, INITIAL_POOL, TOPIC, ZENDESK, answer_id, deadline_in, digest, question_id
from errors import ZERO_ADDRESS, custom_error, direct_answer, hexstr, mine_at, next_block_at
from eth_utils import keccak

from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING, QUESTION_LEAF_ENCODING, question_leaf, short_string
from peercare.core.merkle import StandardMerkleTree, leaf_hash

OPEN, ACCEPTED, EXPIRED = 1, 2, 3
BOUNTY = 100
SIZE = 8


class QuestionBatch:
    """A batch of questions of one brand: the leaves `(questionId, index, topic, bounty,
    contentDigest)` of tickets `{prefix}-{index}`, and their tree."""

    def __init__(self, brand, bounties, prefix="Q", qids=None):
        self.brand = brand
        self.tickets = [f"{prefix}-{i}" for i in range(len(bounties))]
        qids = qids or [question_id(brand, ZENDESK, ticket) for ticket in self.tickets]
        self.values = [
            (qid, i, TOPIC, bounty, digest(f"question {prefix}-{i}"))
            for i, (qid, bounty) in enumerate(zip(qids, bounties, strict=True))
        ]
        self.tree = StandardMerkleTree.of(self.values, QUESTION_LEAF_ENCODING)
        self.root = self.tree.root
        self.total = sum(bounties)

    def qid(self, i):
        return self.values[i][0]

    def ref(self, i, **changes):
        """The QuestionRef of leaf `i`, proven by its own proof, with fields replaced by `changes`."""
        qid, index, topic, bounty, content = self.values[i]
        fields = {
            "brand": self.brand,
            "root": self.root,
            "index": index,
            "qid": qid,
            "topic": topic,
            "bounty": bounty,
            "content": content,
            "proof": self.tree.proof(self.tree.index_of(self.values[i])),
        }
        fields.update(changes)
        return tuple(fields.values())


@pytest.fixture(scope="module")
def brand2(ledger, token, admin, brand_admin, accounts):
    """Brand 2, funded like brand 1, with its own oracle (accounts[7])."""
    oracle2 = accounts[7]
    brand = ledger.registerBrand(brand_admin, token, [oracle2], {"from": admin}).return_value
    token.mint(brand_admin, INITIAL_POOL, {"from": admin})
    token.approve(ledger, INITIAL_POOL, {"from": brand_admin})
    ledger.deposit(brand, INITIAL_POOL, {"from": brand_admin})
    return brand, oracle2


@pytest.fixture
def post_batch(ledger, brand_id, oracle):
    """Post a QuestionBatch (default: SIZE questions of BOUNTY for brand 1) and return it."""

    def post(bounties=(BOUNTY,) * SIZE, total=None, deadline=None, brand=None, sender=None, **kwargs):
        batch = QuestionBatch(brand_id if brand is None else brand, list(bounties), **kwargs)
        ledger.postQuestionBatch(
            batch.brand,
            batch.root,
            len(bounties),
            batch.total if total is None else total,
            deadline_in(7 * DAY) if deadline is None else deadline,
            keccak(batch.root),
            {"from": sender or oracle},
        )
        batch.deadline = ledger.questionBatch(batch.brand, batch.root)[1]
        return batch

    return post


@pytest.fixture
def batch(post_batch):
    return post_batch()


def direct_answer_to(ledger, qid, advocate, label="answer"):
    """Record `advocate`'s answer to the stored question `qid` and return its AnswerRef."""
    ledger.submitAnswer(qid, digest(label), {"from": advocate})
    return direct_answer(qid, advocate, digest(label))


def anchored_answers(ledger, brand, oracle, values):
    """Anchor a batch of answers `(questionId, advocate, contentDigest)` and return each one's AnswerRef."""
    tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
    ledger.anchorAnswerBatch(brand, tree.root, len(values), keccak(tree.root), {"from": oracle})
    return [(*value, tree.root, tree.proof(i)) for i, value in enumerate(tree.values)]


def answer_of(ledger, brand, oracle, qid, advocate, label="answer"):
    """An answer to `qid` by `advocate`, proven in a fresh answer batch of `brand`."""
    return anchored_answers(ledger, brand, oracle, [(qid, advocate.address, digest(label))])[0]


def state(ledger, token, batch, accounts, indices=range(SIZE)):
    """Everything a refusal must leave as it was."""
    brand_pool = tuple(ledger.pool(batch.brand))
    stored = tuple(ledger.questionBatch(batch.brand, batch.root))
    bits = tuple(ledger.isBatchedQuestionSettled(batch.brand, batch.root, i) for i in indices)
    questions = tuple(ledger.question(batch.qid(i)) if _stored(ledger, batch.qid(i)) else None for i in indices)
    owed = tuple(ledger.earnings(account, token) for account in accounts)
    return brand_pool, stored, bits, questions, owed, token.balanceOf(ledger)


def _stored(ledger, qid):
    try:
        ledger.question(qid)
    except VirtualMachineError:
        return False
    return True


def storage_writes(tx):
    """The ledger's storage slots the transaction changed, from the node's state diff."""
    trace = web3.provider.make_request(
        "debug_traceTransaction", [tx.txid, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}]
    )
    assert "error" not in trace, trace
    address = tx.receiver.lower()
    return {slot for side in ("pre", "post") for slot in trace["result"][side].get(address, {}).get("storage", {})}


def credits(tx):
    if "RewardCredited" not in tx.events:
        return []
    return [(event["account"], event["amount"]) for event in tx.events["RewardCredited"]]


# ---------------------------------------------------------------- posting


def test_posting_moves_the_total_to_escrow_and_stores_one_slot(ledger, brand_id, oracle):
    batch = QuestionBatch(brand_id, [100, 250, 0, 50])
    deadline = deadline_in(7 * DAY)

    tx = ledger.postQuestionBatch(brand_id, batch.root, 4, 400, deadline, digest("manifest"), {"from": oracle})

    assert tx.events["QuestionBatchPosted"] == {
        "brandId": brand_id,
        "batchRoot": hexstr(batch.root),
        "size": 4,
        "totalBounty": 400,
        "deadline": deadline,
        "manifestDigest": hexstr(digest("manifest")),
    }
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 400, 400)
    assert tuple(ledger.questionBatch(brand_id, batch.root)) == (400, deadline, 4, False)
    # Two slots written: the pool and the batch, whatever the batch's size.
    assert len(storage_writes(tx)) == 2
    big = QuestionBatch(brand_id, [1] * 1000, prefix="big")
    tx = ledger.postQuestionBatch(brand_id, big.root, 1000, 1000, deadline, digest("big"), {"from": oracle})
    assert len(storage_writes(tx)) == 2
    assert not any(ledger.isBatchedQuestionSettled(brand_id, batch.root, i) for i in range(4))


def test_posting_can_escrow_the_whole_pool(ledger, brand_id, post_batch):
    batch = post_batch(bounties=[INITIAL_POOL // 2, INITIAL_POOL // 2])

    assert tuple(ledger.pool(brand_id)) == (0, INITIAL_POOL)
    assert ledger.questionBatch(brand_id, batch.root)[0] == INITIAL_POOL


def test_only_the_brands_oracle_posts_a_batch(ledger, token, brand_id, brand_admin, advocate, stranger, brand2):
    batch = QuestionBatch(brand_id, [BOUNTY] * SIZE)
    _, oracle2 = brand2

    for account in (brand_admin, advocate, stranger, oracle2):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            ledger.postQuestionBatch(
                brand_id, batch.root, SIZE, batch.total, deadline_in(DAY), digest("manifest"), {"from": account}
            )
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL, 0)
    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id, batch.root)):
        ledger.questionBatch(brand_id, batch.root)


def test_posting_refusals_change_nothing(ledger, brand_id, oracle, pauser, post_batch):
    posted = post_batch()
    before = tuple(ledger.pool(brand_id))
    fresh = QuestionBatch(brand_id, [BOUNTY] * SIZE, prefix="F")

    def refused(error, root=fresh.root, size=SIZE, total=fresh.total, deadline=None):
        deadline = deadline_in(DAY) if deadline is None else deadline
        with brownie.reverts(error):
            ledger.postQuestionBatch(brand_id, root, size, total, deadline, digest("manifest"), {"from": oracle})

    refused(custom_error(ledger, "EmptyBatch"), root=b"\0" * 32)
    refused(custom_error(ledger, "EmptyBatch"), size=0)
    start = brownie.chain.time() + 10
    for i, deadline in enumerate((start, start - 1, 0)):
        next_block_at(start + i)
        refused(custom_error(ledger, "DeadlineNotInFuture", deadline, start + i), deadline=deadline)
    refused(custom_error(ledger, "QuestionBatchAlreadyPosted", brand_id, posted.root), root=posted.root)
    available = before[0]
    refused(custom_error(ledger, "InsufficientPoolBalance", brand_id, available, available + 1), total=available + 1)
    ledger.pause({"from": pauser})
    refused(custom_error(ledger, "EnforcedPause"))

    assert tuple(ledger.pool(brand_id)) == before
    assert tuple(ledger.questionBatch(brand_id, posted.root)) == (posted.total, posted.deadline, SIZE, False)
    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id, fresh.root)):
        ledger.questionBatch(brand_id, fresh.root)


def test_the_same_root_posted_by_another_brand_is_its_own_batch(ledger, brand_id, batch, brand2):
    brand, oracle2 = brand2

    deadline = deadline_in(DAY)

    ledger.postQuestionBatch(brand, batch.root, 2, 7, deadline, digest("manifest"), {"from": oracle2})

    assert tuple(ledger.questionBatch(brand, batch.root)) == (7, deadline, 2, False)
    assert tuple(ledger.questionBatch(brand_id, batch.root)) == (batch.total, batch.deadline, SIZE, False)
    assert tuple(ledger.pool(brand)) == (INITIAL_POOL - 7, 7)


def test_question_leaf_of_matches_service_package(ledger, batch):
    for i, value in enumerate(batch.values):
        expected = question_leaf(*value)
        assert expected == leaf_hash(QUESTION_LEAF_ENCODING, value) == batch.tree.leaf(i)
        assert ledger.questionLeafOf(*value) == hexstr(expected)
    extreme = (b"\xff" * 32, 2**32 - 1, short_string("x" * 32), 2**128 - 1, b"\x01" * 32)
    assert ledger.questionLeafOf(*extreme) == hexstr(question_leaf(*extreme))


# ---------------------------------------------------------------- acceptance


def test_accepting_a_batched_answer_pays_exactly_like_accept_answer(
    ledger, token, brand_id, oracle, advocate, stranger, batch, post_question
):
    direct_qid = post_question(ticket="D-1", bounty=BOUNTY)
    direct_tx = ledger.acceptAnswer(direct_answer_to(ledger, direct_qid, stranger), {"from": oracle})
    answer = answer_of(ledger, brand_id, oracle, batch.qid(3), advocate)
    pool_before, held = tuple(ledger.pool(brand_id)), token.balanceOf(ledger)

    tx = ledger.acceptBatchedAnswer(batch.ref(3), answer, {"from": oracle})

    assert tx.events["AnswerAccepted"] == {
        "questionId": hexstr(batch.qid(3)),
        "answerId": hexstr(answer_id(batch.qid(3), advocate.address, digest("answer"))),
        "advocate": advocate,
        "bounty": BOUNTY,
    }
    assert tx.events["RewardCredited"] == {
        "account": advocate,
        "token": token,
        "questionId": hexstr(batch.qid(3)),
        "amount": BOUNTY,
    }
    # First the batch's own event, naming the brand and the leaf; then the same events, in the same
    # order and with the same fields, as a direct acceptance.
    assert tx.events[0].name == "BatchedQuestionAccepted"
    assert tx.events["BatchedQuestionAccepted"] == {
        "questionId": hexstr(batch.qid(3)),
        "brandId": brand_id,
        "batchRoot": hexstr(batch.root),
        "index": 3,
    }
    assert [(e.name, list(e.keys())) for e in list(tx.events)[1:]] == [
        (e.name, list(e.keys())) for e in direct_tx.events
    ]
    assert ledger.earnings(advocate, token) == BOUNTY
    assert tuple(ledger.pool(brand_id)) == (pool_before[0], pool_before[1] - BOUNTY)
    assert tuple(ledger.questionBatch(brand_id, batch.root)) == (batch.total - BOUNTY, batch.deadline, SIZE, False)
    assert ledger.isBatchedQuestionSettled(brand_id, batch.root, 3)
    assert [ledger.isBatchedQuestionSettled(brand_id, batch.root, i) for i in range(SIZE)].count(True) == 1
    assert not ledger.isBatchedQuestionOpen(batch.ref(3))
    assert token.balanceOf(ledger) == held


def test_a_direct_answer_cannot_be_accepted_for_a_question_never_opened(ledger, brand_id, oracle, advocate, batch):
    """A direct answer needs a stored question (`submitAnswer`); an unopened batched question has none."""
    with brownie.reverts(custom_error(ledger, "UnknownQuestion", batch.qid(0))):
        ledger.submitAnswer(batch.qid(0), digest("answer"), {"from": advocate})
    aid = answer_id(batch.qid(0), advocate.address, digest("answer"))
    with brownie.reverts(custom_error(ledger, "UnknownAnswer", aid)):
        ledger.acceptBatchedAnswer(
            batch.ref(0), direct_answer(batch.qid(0), advocate, digest("answer")), {"from": oracle}
        )


def test_swarm_split_of_a_batched_question_matches_a_direct_swarm(
    ledger, token, brand_id, oracle, advocate, stranger, brand_admin, post_batch, post_question
):
    batch = post_batch(bounties=[101, 101])
    shares = [(stranger, 3_333), (brand_admin, 3_333), (advocate, 3_334)]
    direct_qid = post_question(ticket="D-1", bounty=101)
    direct_tx = ledger.acceptAnswerWithSwarm(direct_answer_to(ledger, direct_qid, advocate), shares, {"from": oracle})
    answer = answer_of(ledger, brand_id, oracle, batch.qid(1), advocate)

    tx = ledger.acceptBatchedAnswerWithSwarm(batch.ref(1), answer, shares, {"from": oracle})

    # floor(101 * bps / 10000) = 33, 33, 33; the 2 left over go to the accepted answer's advocate.
    assert credits(tx) == credits(direct_tx) == [(stranger, 33), (brand_admin, 33), (advocate, 33), (advocate, 2)]
    assert tx.events[0].name == "BatchedQuestionAccepted"
    assert [(e.name, list(e.keys())) for e in list(tx.events)[1:]] == [
        (e.name, list(e.keys())) for e in direct_tx.events
    ]
    assert tx.events["AnswerAccepted"]["bounty"] == 101
    assert ledger.questionBatch(brand_id, batch.root)[0] == 101
    assert ledger.earnings(advocate, token) == 2 * 35


def test_swarm_shares_are_checked_before_anything_moves(ledger, token, brand_id, oracle, advocate, stranger, batch):
    answer = answer_of(ledger, brand_id, oracle, batch.qid(0), advocate)
    before = state(ledger, token, batch, [advocate, stranger])

    for shares, error in (
        ([], custom_error(ledger, "InvalidShares", 0, 0)),
        ([(advocate, 5_000), (stranger, 4_999)], custom_error(ledger, "InvalidShares", 2, 9_999)),
        ([(stranger, 5_000), (stranger, 5_000)], custom_error(ledger, "DuplicateSwarmMember", stranger)),
        ([(advocate, 5_000), (ZERO_ADDRESS, 5_000)], custom_error(ledger, "ZeroAddress")),
        ([(advocate, 5_000), (ledger, 5_000)], custom_error(ledger, "SwarmMemberIsLedger", ledger)),
    ):
        with brownie.reverts(error):
            ledger.acceptBatchedAnswerWithSwarm(batch.ref(0), answer, shares, {"from": oracle})
    assert state(ledger, token, batch, [advocate, stranger]) == before


def test_a_bounty_larger_than_the_leafs_fails_the_proof(ledger, token, brand_id, oracle, advocate, batch):
    answer = answer_of(ledger, brand_id, oracle, batch.qid(2), advocate)
    before = state(ledger, token, batch, [advocate])
    invalid = custom_error(ledger, "InvalidQuestionProof", batch.qid(2), batch.root)

    for ref in (
        batch.ref(2, bounty=BOUNTY + 1),
        batch.ref(2, bounty=batch.total),
        batch.ref(2, index=3),  # another question's bit
        batch.ref(2, topic=short_string("other")),
        batch.ref(2, content=digest("another question")),
        batch.ref(2, proof=batch.ref(2)[-1][1:]),
    ):
        assert not ledger.isBatchedQuestionOpen(ref)
        with brownie.reverts(invalid):
            ledger.acceptBatchedAnswer(ref, answer, {"from": oracle})
        with brownie.reverts(invalid):
            ledger.acceptBatchedAnswerWithSwarm(ref, answer, [(advocate, 10_000)], {"from": oracle})
        with brownie.reverts(invalid):
            ledger.openBatchedQuestion(ref, ZENDESK, batch.tickets[2], {"from": advocate})
    assert state(ledger, token, batch, [advocate]) == before
    assert ledger.isBatchedQuestionOpen(batch.ref(2))


def test_a_leaf_beyond_the_declared_size_is_refused(ledger, token, brand_id, oracle, advocate):
    """The manifest has 4 leaves but the batch declared 3: the fourth has a valid proof, and no bit."""
    batch = QuestionBatch(brand_id, [BOUNTY] * 4)
    ledger.postQuestionBatch(
        brand_id, batch.root, 3, 4 * BOUNTY, deadline_in(DAY), digest("manifest"), {"from": oracle}
    )
    answer = answer_of(ledger, brand_id, oracle, batch.qid(3), advocate)

    assert not ledger.isBatchedQuestionOpen(batch.ref(3))
    with brownie.reverts(custom_error(ledger, "InvalidQuestionProof", batch.qid(3), batch.root)):
        ledger.acceptBatchedAnswer(batch.ref(3), answer, {"from": oracle})
    with brownie.reverts(custom_error(ledger, "InvalidQuestionProof", batch.qid(3), batch.root)):
        ledger.openBatchedQuestion(batch.ref(3), ZENDESK, batch.tickets[3], {"from": advocate})
    ledger.acceptBatchedAnswer(
        batch.ref(2), answer_of(ledger, brand_id, oracle, batch.qid(2), advocate), {"from": oracle}
    )


def test_a_manifest_summing_above_its_total_cannot_release_more_than_the_total(
    ledger, token, brand_id, oracle, advocate, stranger, post_batch, post_question
):
    """Attack: the oracle's manifest lists leaves worth 300 but the batch escrowed 250. The batch
    pays out 250 at most; the rest of the pool's escrow (another question's) is untouched."""
    other = post_question(ticket="D-1", bounty=BOUNTY)
    batch = post_batch(bounties=[100, 100, 100], total=250)
    answers = [answer_of(ledger, brand_id, oracle, batch.qid(i), advocate, f"answer {i}") for i in range(3)]
    for i in range(2):
        ledger.acceptBatchedAnswer(batch.ref(i), answers[i], {"from": oracle})
    before = state(ledger, token, batch, [advocate], indices=range(3))

    exceeded = custom_error(ledger, "BatchEscrowExceeded", brand_id, batch.root, 50, 100)
    with brownie.reverts(exceeded):
        ledger.acceptBatchedAnswer(batch.ref(2), answers[2], {"from": oracle})
    with brownie.reverts(exceeded):
        ledger.acceptBatchedAnswerWithSwarm(batch.ref(2), answers[2], [(stranger, 10_000)], {"from": oracle})
    with brownie.reverts(exceeded):
        ledger.openBatchedQuestion(batch.ref(2), ZENDESK, batch.tickets[2], {"from": stranger})

    assert state(ledger, token, batch, [advocate], indices=range(3)) == before
    assert ledger.earnings(advocate, token) == 200
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 250 - BOUNTY, 50 + BOUNTY)
    # The other question's escrow is whole: it is accepted in full.
    ledger.acceptAnswer(direct_answer_to(ledger, other, stranger), {"from": oracle})
    assert ledger.earnings(stranger, token) == BOUNTY
    mine_at(batch.deadline + 1)
    assert ledger.releaseQuestionBatch(brand_id, batch.root).events["QuestionBatchReleased"]["refunded"] == 50
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 200 - BOUNTY, 0)


def test_double_acceptance_is_refused(ledger, token, brand_id, oracle, advocate, stranger, batch):
    answers = [answer_of(ledger, brand_id, oracle, batch.qid(5), who, f"by {who}") for who in (advocate, stranger)]
    ledger.acceptBatchedAnswer(batch.ref(5), answers[0], {"from": oracle})
    before = state(ledger, token, batch, [advocate, stranger])

    settled = custom_error(ledger, "BatchedQuestionSettled", batch.qid(5), batch.root, 5)
    for answer in answers:
        with brownie.reverts(settled):
            ledger.acceptBatchedAnswer(batch.ref(5), answer, {"from": oracle})
        with brownie.reverts(settled):
            ledger.acceptBatchedAnswerWithSwarm(batch.ref(5), answer, [(stranger, 10_000)], {"from": oracle})
    with brownie.reverts(settled):
        ledger.openBatchedQuestion(batch.ref(5), ZENDESK, batch.tickets[5], {"from": stranger})
    assert state(ledger, token, batch, [advocate, stranger]) == before
    assert ledger.earnings(advocate, token) == BOUNTY and ledger.earnings(stranger, token) == 0


def test_settled_bits_are_per_question_across_words(ledger, token, brand_id, oracle, advocate, post_batch):
    """Bit `index % 256` of word `index / 256`: questions 255 and 256 sit in two words."""
    batch = post_batch(bounties=[1] * 300)
    for i in (0, 1, 255, 256, 299):
        ledger.acceptBatchedAnswer(
            batch.ref(i), answer_of(ledger, brand_id, oracle, batch.qid(i), advocate), {"from": oracle}
        )

    settled = {i for i in range(300) if ledger.isBatchedQuestionSettled(brand_id, batch.root, i)}
    assert settled == {0, 1, 255, 256, 299}
    assert ledger.isBatchedQuestionOpen(batch.ref(257)) and not ledger.isBatchedQuestionOpen(batch.ref(256))
    assert ledger.questionBatch(brand_id, batch.root)[0] == 295


def test_acceptance_by_anyone_but_the_brands_oracle_is_refused(
    ledger, token, brand_id, oracle, brand_admin, advocate, stranger, batch, brand2
):
    _, oracle2 = brand2
    answer = answer_of(ledger, brand_id, oracle, batch.qid(0), advocate)
    before = state(ledger, token, batch, [advocate])

    for account in (brand_admin, advocate, stranger, oracle2):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": account})
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            ledger.acceptBatchedAnswerWithSwarm(batch.ref(0), answer, [(account, 10_000)], {"from": account})
    assert state(ledger, token, batch, [advocate]) == before


def test_acceptance_of_another_brands_batch_is_refused(ledger, token, brand_id, oracle, advocate, batch, brand2):
    """Brand 2 posts a batch (its own pool escrows it). Brand 1's oracle can neither accept its
    questions under brand 2 (not its oracle) nor claim the root as its own (no such batch of
    brand 1); and brand 2's answer batches do not count for brand 1's questions."""
    brand, oracle2 = brand2
    foreign = QuestionBatch(brand, [BOUNTY] * 4, prefix="F")
    ledger.postQuestionBatch(
        brand, foreign.root, 4, foreign.total, deadline_in(DAY), digest("manifest"), {"from": oracle2}
    )
    answer = answer_of(ledger, brand_id, oracle, foreign.qid(0), advocate)
    pools = tuple(ledger.pool(brand_id)), tuple(ledger.pool(brand))

    with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand, oracle)):
        ledger.acceptBatchedAnswer(foreign.ref(0), answer, {"from": oracle})
    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id, foreign.root)):
        ledger.acceptBatchedAnswer(foreign.ref(0, brand=brand_id), answer, {"from": oracle})
    # Brand 2's own answer batch, for brand 1's question: not found under brand 1.
    foreign_answer = answer_of(ledger, brand, oracle2, batch.qid(0), advocate, "foreign")
    with brownie.reverts(custom_error(ledger, "UnknownBatch", brand_id, foreign_answer[3])):
        ledger.acceptBatchedAnswer(batch.ref(0), foreign_answer, {"from": oracle})
    # Brand 1's answer batch, for brand 2's question, accepted by brand 2's oracle: not found under brand 2.
    with brownie.reverts(custom_error(ledger, "UnknownBatch", brand, answer[3])):
        ledger.acceptBatchedAnswer(foreign.ref(0), answer, {"from": oracle2})

    assert (tuple(ledger.pool(brand_id)), tuple(ledger.pool(brand))) == pools
    assert not ledger.isBatchedQuestionSettled(brand, foreign.root, 0)
    assert ledger.earnings(advocate, token) == 0


def test_an_answer_to_another_question_is_refused(ledger, token, brand_id, oracle, advocate, batch):
    answer = answer_of(ledger, brand_id, oracle, batch.qid(1), advocate)
    before = state(ledger, token, batch, [advocate])

    with brownie.reverts(custom_error(ledger, "AnswerOfAnotherQuestion", batch.qid(0), batch.qid(1))):
        ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": oracle})
    with brownie.reverts(custom_error(ledger, "AnswerOfAnotherQuestion", batch.qid(0), batch.qid(1))):
        ledger.acceptBatchedAnswerWithSwarm(batch.ref(0), answer, [(advocate, 10_000)], {"from": oracle})
    assert state(ledger, token, batch, [advocate]) == before


def test_answers_are_checked_as_for_accept_answer(ledger, token, brand_id, oracle, advocate, stranger, batch):
    qid = batch.qid(0)
    nobody, proven = anchored_answers(
        ledger, brand_id, oracle, [(qid, ZERO_ADDRESS, digest("nobody's")), (qid, advocate.address, digest("answer"))]
    )
    nobody_id = answer_id(qid, ZERO_ADDRESS, digest("nobody's"))
    stranger_id = answer_id(qid, stranger.address, digest("answer"))
    before = state(ledger, token, batch, [advocate])

    for answer, error in (
        (nobody, custom_error(ledger, "ZeroAdvocate", nobody_id)),
        (
            (qid, stranger, digest("answer"), proven[3], proven[4]),
            custom_error(ledger, "InvalidAnswerProof", stranger_id, proven[3]),
        ),
        (
            (*proven[:3], digest("unanchored"), proven[4]),
            custom_error(ledger, "UnknownBatch", brand_id, digest("unanchored")),
        ),
        (direct_answer(qid, stranger, digest("answer")), custom_error(ledger, "UnknownAnswer", stranger_id)),
    ):
        with brownie.reverts(error):
            ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": oracle})
    assert state(ledger, token, batch, [advocate]) == before
    ledger.acceptBatchedAnswer(batch.ref(0), proven, {"from": oracle})


def test_acceptance_of_an_unknown_batch_is_refused(ledger, brand_id, oracle, advocate):
    never = QuestionBatch(brand_id, [BOUNTY] * 2, prefix="N")
    answer = answer_of(ledger, brand_id, oracle, never.qid(0), advocate)

    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id, never.root)):
        ledger.acceptBatchedAnswer(never.ref(0), answer, {"from": oracle})
    assert not ledger.isBatchedQuestionOpen(never.ref(0))


def test_acceptance_after_the_deadline_is_refused(ledger, token, brand_id, oracle, advocate, batch):
    answer = answer_of(ledger, brand_id, oracle, batch.qid(0), advocate)
    assert ledger.isBatchedQuestionOpen(batch.ref(0))
    mine_at(batch.deadline + 1)
    before = state(ledger, token, batch, [advocate])

    assert not ledger.isBatchedQuestionOpen(batch.ref(0))
    passed = custom_error(ledger, "QuestionDeadlinePassed", batch.qid(0), batch.deadline)
    with brownie.reverts(passed):
        ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": oracle})
    with brownie.reverts(passed):
        ledger.acceptBatchedAnswerWithSwarm(batch.ref(0), answer, [(advocate, 10_000)], {"from": oracle})
    assert state(ledger, token, batch, [advocate]) == before


def test_acceptance_while_paused_works(ledger, token, brand_id, oracle, pauser, advocate, batch):
    answer = answer_of(ledger, brand_id, oracle, batch.qid(0), advocate)
    ledger.pause({"from": pauser})

    tx = ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": oracle})

    assert tx.events["AnswerAccepted"]["bounty"] == BOUNTY
    assert ledger.earnings(advocate, token) == BOUNTY
    # What was credited cannot leave until the pause ends.
    with brownie.reverts(custom_error(ledger, "EnforcedPause")):
        ledger.withdrawEarnings(token, advocate, {"from": advocate})


def test_a_zero_bounty_question_is_accepted_and_credits_nothing(ledger, token, brand_id, oracle, advocate, post_batch):
    batch = post_batch(bounties=[0, 5])

    tx = ledger.acceptBatchedAnswer(
        batch.ref(0), answer_of(ledger, brand_id, oracle, batch.qid(0), advocate), {"from": oracle}
    )

    assert tx.events["AnswerAccepted"]["bounty"] == 0
    assert credits(tx) == []
    assert ledger.isBatchedQuestionSettled(brand_id, batch.root, 0)
    assert ledger.questionBatch(brand_id, batch.root)[0] == 5


# ---------------------------------------------------------------- many acceptances in one call


def events_of(*txs):
    """Every event of the transactions, in order, with all its fields."""
    return [(event.name, dict(zip(event.keys(), event.values(), strict=True))) for tx in txs for event in tx.events]


def test_acceptances_in_one_call_pay_and_settle_as_single_acceptances(
    ledger, token, brand_id, oracle, brand_admin, advocate, stranger, accounts, post_batch, brand2
):
    """Five acceptances of two brands and three batches, one of them a swarm, sent one by one and
    then (from the same state) in one `acceptBatchedAnswers`: the same events with the same fields
    in the same order, and the same state after."""
    brand, oracle2 = brand2
    ledger.setBrandOracle(brand, oracle, True, {"from": brand_admin})  # one oracle for both brands
    first, second = post_batch(), post_batch(bounties=[101, 7, 250], prefix="B")
    other = post_batch(bounties=[40, 60], brand=brand, sender=oracle2, prefix="C")
    paid = accounts[8]
    a0, a3, b0, b2 = anchored_answers(
        ledger,
        brand_id,
        oracle,
        [
            (first.qid(0), advocate.address, digest("a0")),
            (first.qid(3), stranger.address, digest("a3")),
            (second.qid(0), paid.address, digest("b0")),
            (second.qid(2), advocate.address, digest("b2")),
        ],
    )
    (c1,) = anchored_answers(ledger, brand, oracle2, [(other.qid(1), stranger.address, digest("c1"))])
    swarm = [(stranger, 3_333), (brand_admin, 3_333), (advocate, 3_334)]
    acceptances = [
        (first.ref(0), a0, []),
        (second.ref(0), b0, swarm),
        (other.ref(1), c1, []),
        (first.ref(3), a3, []),
        (second.ref(2), b2, [(advocate, 10_000)]),
    ]
    payees = [advocate, stranger, brand_admin, paid]

    def everything():
        return tuple(state(ledger, token, q, payees, indices=range(len(q.values))) for q in (first, second, other))

    before = everything()
    singles = [
        ledger.acceptBatchedAnswerWithSwarm(question, answer, shares, {"from": oracle})
        if shares
        else ledger.acceptBatchedAnswer(question, answer, {"from": oracle})
        for question, answer, shares in acceptances
    ]
    after_singles, expected_events = everything(), events_of(*singles)
    assert len(expected_events) == 5 * 2 + 8 and all(fields for _, fields in expected_events)
    brownie.chain.undo(len(singles))
    assert everything() == before

    tx = ledger.acceptBatchedAnswers(acceptances, {"from": oracle})

    assert events_of(tx) == expected_events
    assert everything() == after_singles
    # And what that is: each question settled once, its bounty out of its batch's and pool's
    # escrow and credited in full (the swarm's 101 as 33 + 33 + 33 and the remainder 2).
    assert [e["index"] for e in tx.events["BatchedQuestionAccepted"]] == [0, 0, 1, 3, 2]
    assert credits(tx) == [
        (advocate, 100),
        (stranger, 33),
        (brand_admin, 33),
        (advocate, 33),
        (paid, 2),
        (stranger, 60),
        (stranger, 100),
        (advocate, 250),
    ]
    assert tuple(ledger.pool(brand_id)) == (before[0][0][0], before[0][0][1] - 200 - 101 - 250)
    assert tuple(ledger.pool(brand)) == (before[2][0][0], before[2][0][1] - 60)
    assert ledger.questionBatch(brand_id, second.root)[0] == 7
    assert [ledger.isBatchedQuestionSettled(brand_id, first.root, i) for i in range(SIZE)].count(True) == 2
    assert ledger.earnings(advocate, token) == 100 + 33 + 250


@pytest.fixture
def scene(ledger, brand_id, oracle, advocate, stranger, post_batch, brand2):
    """Brand 1's batch `a` (its question 4 already accepted), a batch `d` due in a day and a batch
    `e` whose leaves (3 x 100) add up to more than its total (250); brand 2's batch `c`. The
    advocate answered every question used below, the stranger `a`'s question 1 too. Two good
    acceptances (`a`'s questions 2, whole, and 5, as a swarm of the stranger alone)."""
    brand, oracle2 = brand2
    a = post_batch()
    d = post_batch(bounties=[BOUNTY], deadline=deadline_in(DAY), prefix="D")
    e = post_batch(bounties=[BOUNTY] * 3, total=250, prefix="E")
    c = post_batch(brand=brand, sender=oracle2, bounties=[BOUNTY], prefix="C")
    answered = [(a, 1), (a, 2), (a, 4), (a, 5), (d, 0), (e, 0), (e, 1), (e, 2)]
    values = [(q.qid(i), advocate.address, digest(f"answer {q.tickets[i]}")) for q, i in answered]
    *refs, by_stranger = anchored_answers(
        ledger, brand_id, oracle, [*values, (a.qid(1), stranger.address, digest("the stranger's"))]
    )
    (c0,) = anchored_answers(ledger, brand, oracle2, [(c.qid(0), advocate.address, digest("answer C-0"))])
    answers = {value[0]: ref for value, ref in zip(values, refs, strict=True)} | {c.qid(0): c0}
    ledger.acceptBatchedAnswer(a.ref(4), answers[a.qid(4)], {"from": oracle})
    s = SimpleNamespace(ledger=ledger, brand_id=brand_id, oracle=oracle, advocate=advocate, stranger=stranger)
    s.a, s.c, s.d, s.e, s.batches = a, c, d, e, (a, c, d, e)
    s.answers, s.by_stranger = answers, by_stranger
    s.good = [(a.ref(2), answers[a.qid(2)], []), (a.ref(5), answers[a.qid(5)], [(stranger, 10_000)])]
    return s


def _whole(s, batch, i, **changes):
    """The acceptance of the advocate's answer to question `i` of `batch`, whole."""
    return (batch.ref(i, **changes), s.answers[batch.qid(i)], [])


def _swarm(s, batch, i, shares):
    return (batch.ref(i), s.answers[batch.qid(i)], shares)


def _another_brands_oracle(s):
    return [s.good[0], _whole(s, s.c, 0), s.good[1]], ("NotBrandOracle", s.c.brand, s.oracle)


def _settled_before(s):
    return [*s.good, _whole(s, s.a, 4)], ("BatchedQuestionSettled", s.a.qid(4), s.a.root, 4)


def _one_question_with_two_answers(s):
    twice = [_whole(s, s.a, 1), (s.a.ref(1), s.by_stranger, [])]
    return [s.good[0], *twice, s.good[1]], ("BatchedQuestionSettled", s.a.qid(1), s.a.root, 1)


def _the_same_acceptance_twice(s):
    return [*s.good, s.good[0]], ("BatchedQuestionSettled", s.a.qid(2), s.a.root, 2)


def _a_question_proof_invalid(s):
    bad = _whole(s, s.a, 1, bounty=BOUNTY + 1)
    return [s.good[0], bad, s.good[1]], ("InvalidQuestionProof", s.a.qid(1), s.a.root)


def _an_answer_proof_invalid(s):
    qid, _, content, root, proof = s.answers[s.a.qid(1)]
    forged = (s.a.ref(1), (qid, s.stranger.address, content, root, proof), [])
    return [s.good[0], forged, s.good[1]], ("InvalidAnswerProof", answer_id(qid, s.stranger.address, content), root)


def _an_answer_to_another_question(s):
    bad = (s.a.ref(1), s.answers[s.a.qid(2)], [])
    return [s.good[0], bad, s.good[1]], ("AnswerOfAnotherQuestion", s.a.qid(1), s.a.qid(2))


def _the_deadline_passed(s):
    mine_at(s.d.deadline + 1)
    return [s.good[0], _whole(s, s.d, 0), s.good[1]], ("QuestionDeadlinePassed", s.d.qid(0), s.d.deadline)


def _the_batch_escrow_exceeded_within_the_call(s):
    three = [_whole(s, s.e, i) for i in range(3)]
    return [s.good[0], *three, s.good[1]], ("BatchEscrowExceeded", s.brand_id, s.e.root, 50, BOUNTY)


def _a_swarm_member_twice(s):
    bad = _swarm(s, s.a, 1, [(s.stranger, 5_000), (s.stranger, 5_000)])
    return [s.good[0], bad, s.good[1]], ("DuplicateSwarmMember", s.stranger)


def _swarm_shares_short(s):
    bad = _swarm(s, s.a, 1, [(s.advocate, 5_000), (s.stranger, 4_999)])
    return [s.good[0], bad, s.good[1]], ("InvalidShares", 2, 9_999)


def _the_ledger_in_a_swarm(s):
    bad = _swarm(s, s.a, 1, [(s.advocate, 5_000), (s.ledger, 5_000)])
    return [s.good[0], bad, s.good[1]], ("SwarmMemberIsLedger", s.ledger)


@pytest.mark.parametrize(
    "refused",
    [
        _another_brands_oracle,
        _settled_before,
        _one_question_with_two_answers,
        _the_same_acceptance_twice,
        _a_question_proof_invalid,
        _an_answer_proof_invalid,
        _an_answer_to_another_question,
        _the_deadline_passed,
        _the_batch_escrow_exceeded_within_the_call,
        _a_swarm_member_twice,
        _swarm_shares_short,
        _the_ledger_in_a_swarm,
    ],
    ids=lambda case: case.__name__.strip("_"),
)
def test_one_refused_acceptance_in_one_call_refuses_the_whole_call(
    ledger, token, oracle, advocate, stranger, scene, refused
):
    """A bad acceptance among good ones: the call reverts with that acceptance's own error, as its
    single call would, and nothing changes, not even what the good ones before it did."""
    acceptances, (name, *args) = refused(scene)
    payees = [advocate, stranger]

    def everything():
        return tuple(state(ledger, token, q, payees, indices=range(len(q.values))) for q in scene.batches)

    before = everything()

    with brownie.reverts(custom_error(ledger, name, *args)):
        ledger.acceptBatchedAnswers(acceptances, {"from": oracle})
    assert everything() == before
    # The good ones alone go through.
    owed = ledger.earnings(advocate, token), ledger.earnings(stranger, token)
    ledger.acceptBatchedAnswers(scene.good, {"from": oracle})
    assert (ledger.earnings(advocate, token), ledger.earnings(stranger, token)) == (owed[0] + BOUNTY, owed[1] + BOUNTY)


def test_accepting_nothing_in_one_call_is_refused(ledger, token, oracle, advocate, batch):
    before = state(ledger, token, batch, [advocate])

    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.acceptBatchedAnswers([], {"from": oracle})
    assert state(ledger, token, batch, [advocate]) == before


def test_acceptances_in_one_call_work_while_paused(ledger, token, brand_id, oracle, pauser, advocate, batch):
    answers = anchored_answers(
        ledger, brand_id, oracle, [(batch.qid(i), advocate.address, digest(f"answer {i}")) for i in range(3)]
    )
    ledger.pause({"from": pauser})

    tx = ledger.acceptBatchedAnswers([(batch.ref(i), answers[i], []) for i in range(3)], {"from": oracle})

    assert [e["bounty"] for e in tx.events["AnswerAccepted"]] == [BOUNTY] * 3
    assert ledger.earnings(advocate, token) == 3 * BOUNTY
    assert ledger.questionBatch(brand_id, batch.root)[0] == batch.total - 3 * BOUNTY


# ---------------------------------------------------------------- release


def test_release_after_the_deadline_refunds_exactly_the_unsettled_remainder_once_by_anyone(
    ledger, token, brand_id, oracle, advocate, stranger, post_batch
):
    batch = post_batch(bounties=[100, 200, 300, 400])
    held = token.balanceOf(ledger)
    ledger.acceptBatchedAnswer(
        batch.ref(1), answer_of(ledger, brand_id, oracle, batch.qid(1), advocate), {"from": oracle}
    )
    ledger.openBatchedQuestion(batch.ref(2), ZENDESK, batch.tickets[2], {"from": stranger})
    mine_at(batch.deadline + 1)

    tx = ledger.releaseQuestionBatch(brand_id, batch.root, {"from": stranger})

    # Questions 0 and 3 were never settled; 1 was paid and 2 escrows its own bounty.
    assert tx.events["QuestionBatchReleased"] == {"brandId": brand_id, "batchRoot": hexstr(batch.root), "refunded": 500}
    assert tuple(ledger.questionBatch(brand_id, batch.root)) == (0, batch.deadline, 4, True)
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 200 - 300, 300)
    with brownie.reverts(custom_error(ledger, "QuestionBatchAlreadyReleased", brand_id, batch.root)):
        ledger.releaseQuestionBatch(brand_id, batch.root, {"from": oracle})
    # The opened question expires on its own.
    assert ledger.expireQuestion(batch.qid(2), {"from": stranger}).events["QuestionExpired"]["refunded"] == 300
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 200, 0)
    assert token.balanceOf(ledger) == held


def test_release_before_the_deadline_is_refused(ledger, token, brand_id, stranger, batch):
    before = state(ledger, token, batch, [stranger])
    next_block_at(batch.deadline)  # at the deadline: not past it yet

    with brownie.reverts(custom_error(ledger, "QuestionBatchNotExpired", brand_id, batch.root, batch.deadline)):
        ledger.releaseQuestionBatch(brand_id, batch.root, {"from": stranger})
    assert state(ledger, token, batch, [stranger]) == before


def test_release_refusals_change_nothing(ledger, token, brand_id, pauser, stranger, batch):
    never = QuestionBatch(brand_id, [1], prefix="N")
    mine_at(batch.deadline + 1)
    before = state(ledger, token, batch, [stranger])

    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id, never.root)):
        ledger.releaseQuestionBatch(brand_id, never.root, {"from": stranger})
    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id + 1, batch.root)):
        ledger.releaseQuestionBatch(brand_id + 1, batch.root, {"from": stranger})
    ledger.pause({"from": pauser})
    with brownie.reverts(custom_error(ledger, "EnforcedPause")):
        ledger.releaseQuestionBatch(brand_id, batch.root, {"from": stranger})
    assert state(ledger, token, batch, [stranger]) == before


def test_after_release_nothing_of_the_batch_can_be_accepted_or_opened(
    ledger, token, brand_id, oracle, advocate, stranger, batch
):
    answer = answer_of(ledger, brand_id, oracle, batch.qid(0), advocate)
    mine_at(batch.deadline + 1)
    ledger.releaseQuestionBatch(brand_id, batch.root, {"from": stranger})
    before = state(ledger, token, batch, [advocate])

    assert not ledger.isBatchedQuestionOpen(batch.ref(0))
    passed = custom_error(ledger, "QuestionDeadlinePassed", batch.qid(0), batch.deadline)
    with brownie.reverts(passed):
        ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": oracle})
    with brownie.reverts(passed):
        ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})
    assert state(ledger, token, batch, [advocate]) == before


# ---------------------------------------------------------------- opening


def test_opening_stores_the_question_as_post_question_would(ledger, token, brand_id, stranger, batch):
    pool_before = tuple(ledger.pool(brand_id))

    tx = ledger.openBatchedQuestion(batch.ref(4), ZENDESK, batch.tickets[4], {"from": stranger})

    assert tx.events["BatchedQuestionOpened"] == {
        "questionId": hexstr(batch.qid(4)),
        "brandId": brand_id,
        "batchRoot": hexstr(batch.root),
        "index": 4,
    }
    assert tuple(ledger.question(batch.qid(4))) == (brand_id, batch.deadline, OPEN, BOUNTY)
    # The bounty moved from the batch's escrow to the question's: the pool is unchanged.
    assert tuple(ledger.pool(brand_id)) == pool_before
    assert ledger.questionBatch(brand_id, batch.root)[0] == batch.total - BOUNTY
    assert ledger.isBatchedQuestionSettled(brand_id, batch.root, 4)
    assert not ledger.isBatchedQuestionOpen(batch.ref(4))


def test_an_opened_question_takes_direct_answers_ratings_and_acceptance(
    ledger, token, brand_id, oracle, advocate, stranger, accounts, batch
):
    from peercare.core.typed_data import answer_typed_data, sign_answer

    qid = batch.qid(0)
    ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})
    answer = direct_answer_to(ledger, qid, advocate)
    signer = accounts.add(keccak(text="PeerCare batched-question signer"))
    deadline = deadline_in(DAY)
    typed = answer_typed_data(
        chain_id=brownie.chain.id,
        ledger=ledger.address,
        question_id=qid,
        content_digest=digest("signed"),
        nonce=0,
        deadline=deadline,
    )
    ledger.submitAnswerWithSig(
        (qid, digest("signed"), signer.address, 0, deadline), sign_answer(signer.private_key, typed), {"from": stranger}
    )
    assert ledger.isAnswerRecorded(direct_answer(qid, signer, digest("signed")))
    ledger.rateAnswer(answer, 5, 0, digest("customer"), {"from": oracle})
    assert ledger.isRated(answer_id(qid, advocate.address, digest("answer")), 0, digest("customer"))
    escrowed = ledger.pool(brand_id)[1]

    tx = ledger.acceptAnswer(answer, {"from": oracle})

    assert tx.events["AnswerAccepted"]["bounty"] == BOUNTY
    assert ledger.earnings(advocate, token) == BOUNTY
    assert ledger.question(qid)[2] == ACCEPTED
    assert ledger.pool(brand_id)[1] == escrowed - BOUNTY
    # The batch's own escrow is what the other questions still hold.
    assert ledger.questionBatch(brand_id, batch.root)[0] == batch.total - BOUNTY


def test_an_opened_question_is_accepted_with_a_swarm(ledger, token, brand_id, oracle, advocate, stranger, batch):
    qid = batch.qid(0)
    ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})

    tx = ledger.acceptAnswerWithSwarm(
        direct_answer_to(ledger, qid, advocate), [(stranger, 5_000), (advocate, 5_000)], {"from": oracle}
    )

    assert credits(tx) == [(stranger, 50), (advocate, 50)]


def test_an_opened_question_expires_on_its_own(ledger, token, brand_id, stranger, batch):
    ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})
    with brownie.reverts(custom_error(ledger, "QuestionNotExpired", batch.qid(0), batch.deadline)):
        ledger.expireQuestion(batch.qid(0), {"from": stranger})
    mine_at(batch.deadline + 1)

    tx = ledger.expireQuestion(batch.qid(0), {"from": stranger})

    assert tx.events["QuestionExpired"]["refunded"] == BOUNTY
    assert ledger.question(batch.qid(0))[2] == EXPIRED
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - batch.total + BOUNTY, batch.total - BOUNTY)
    ledger.releaseQuestionBatch(brand_id, batch.root, {"from": stranger})
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL, 0)


def test_opening_twice_is_refused(ledger, token, brand_id, oracle, advocate, stranger, batch):
    ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})
    before = state(ledger, token, batch, [advocate])

    with brownie.reverts(custom_error(ledger, "QuestionAlreadyPosted", batch.qid(0))):
        ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": oracle})
    # Nor can it be accepted in its batch any more: it is settled there, and accepted as stored.
    answer = answer_of(ledger, brand_id, oracle, batch.qid(0), advocate)
    with brownie.reverts(custom_error(ledger, "BatchedQuestionSettled", batch.qid(0), batch.root, 0)):
        ledger.acceptBatchedAnswer(batch.ref(0), answer, {"from": oracle})
    assert state(ledger, token, batch, [advocate]) == before


def test_opening_a_question_posted_directly_is_refused(ledger, token, brand_id, stranger, post_question, post_batch):
    """The oracle posted ticket Q-0 on its own and again in a batch: the stored question stays."""
    post_question(ticket="Q-0", bounty=7)
    batch = post_batch()
    before = state(ledger, token, batch, [stranger])

    with brownie.reverts(custom_error(ledger, "QuestionAlreadyPosted", batch.qid(0))):
        ledger.openBatchedQuestion(batch.ref(0), ZENDESK, "Q-0", {"from": stranger})
    assert state(ledger, token, batch, [stranger]) == before
    assert tuple(ledger.question(batch.qid(0)))[3] == 7


def test_opening_refusals_change_nothing(ledger, token, brand_id, stranger, batch):
    never = QuestionBatch(brand_id, [BOUNTY], prefix="N")
    before = state(ledger, token, batch, [stranger])

    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id, never.root)):
        ledger.openBatchedQuestion(never.ref(0), ZENDESK, never.tickets[0], {"from": stranger})
    wrong_ticket = question_id(brand_id, ZENDESK, "Q-1")
    with brownie.reverts(custom_error(ledger, "QuestionIdMismatch", batch.qid(0), wrong_ticket)):
        ledger.openBatchedQuestion(batch.ref(0), ZENDESK, "Q-1", {"from": stranger})
    mine_at(batch.deadline + 1)
    with brownie.reverts(custom_error(ledger, "QuestionDeadlinePassed", batch.qid(0), batch.deadline)):
        ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})
    assert state(ledger, token, batch, [stranger]) == before


def test_opening_works_while_paused(ledger, brand_id, pauser, stranger, batch):
    """Opening moves no token (the bounty stays in the pool's escrow) and lets advocates answer."""
    ledger.pause({"from": pauser})

    ledger.openBatchedQuestion(batch.ref(0), ZENDESK, batch.tickets[0], {"from": stranger})

    assert ledger.question(batch.qid(0))[2] == OPEN


def test_a_batch_cannot_open_another_brands_ticket(ledger, brand_id, oracle, stranger, post_question, brand2):
    """Attack: brand 2's oracle lists brand 1's future ticket id in its own batch and opens it, so
    that brand 1 could never post that ticket (question ids are one namespace). Opening checks the
    ticket hashes with the batch's brand to the question id."""
    brand, oracle2 = brand2
    victim = question_id(brand_id, ZENDESK, "T-9")
    foreign = QuestionBatch(brand, [BOUNTY], prefix="F", qids=[victim])
    ledger.postQuestionBatch(brand, foreign.root, 1, BOUNTY, deadline_in(DAY), digest("manifest"), {"from": oracle2})

    for source, ticket in ((ZENDESK, "T-9"), (ZENDESK, "F-0")):
        mismatch = custom_error(ledger, "QuestionIdMismatch", victim, question_id(brand, source, ticket))
        with brownie.reverts(mismatch):
            ledger.openBatchedQuestion(foreign.ref(0), source, ticket, {"from": stranger})

    assert post_question(ticket="T-9") == hexstr(victim)
    assert ledger.question(victim)[0] == brand_id


# ---------------------------------------------------------------- views


def test_is_batched_question_open_follows_its_lifecycle(ledger, brand_id, oracle, advocate, stranger, batch):
    assert all(ledger.isBatchedQuestionOpen(batch.ref(i)) for i in range(SIZE))
    assert not ledger.isBatchedQuestionOpen(batch.ref(0, brand=brand_id + 1))
    assert not ledger.isBatchedQuestionOpen(batch.ref(0, index=SIZE))

    ledger.acceptBatchedAnswer(
        batch.ref(0), answer_of(ledger, brand_id, oracle, batch.qid(0), advocate), {"from": oracle}
    )
    ledger.openBatchedQuestion(batch.ref(1), ZENDESK, batch.tickets[1], {"from": stranger})

    assert [ledger.isBatchedQuestionOpen(batch.ref(i)) for i in range(SIZE)] == [False, False] + [True] * (SIZE - 2)
    mine_at(batch.deadline + 1)
    assert not any(ledger.isBatchedQuestionOpen(batch.ref(i)) for i in range(SIZE))


def test_question_batch_of_an_unknown_batch_reverts(ledger, brand_id, batch):
    with brownie.reverts(custom_error(ledger, "UnknownQuestionBatch", brand_id + 1, batch.root)):
        ledger.questionBatch(brand_id + 1, batch.root)
    assert not ledger.isBatchedQuestionSettled(brand_id + 1, batch.root, 0)


def test_an_answer_to_a_batched_question_is_recorded_for_its_brand_only(
    ledger, brand_id, oracle, advocate, batch, brand2
):
    """`isAnswerRecorded` places an answer by its stored question, which a batched question never
    opened does not have; `isAnswerRecordedFor` takes the brand (from the question's batch)."""
    answer = answer_of(ledger, brand_id, oracle, batch.qid(2), advocate)
    assert not ledger.isAnswerRecorded(answer)
    assert ledger.isAnswerRecordedFor(brand_id, answer)
    assert not ledger.isAnswerRecordedFor(brand2[0], answer)  # not anchored by that brand
    qid, who, content, root, proof = answer
    assert not ledger.isAnswerRecordedFor(brand_id, (qid, who, digest("another answer"), root, proof))
    assert not ledger.isAnswerRecordedFor(brand_id, (qid, who, content, "0x" + "00" * 31 + "01", proof))

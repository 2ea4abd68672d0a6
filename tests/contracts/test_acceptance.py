"""Acceptance: the brand's oracle accepts one recorded answer, which releases the escrowed bounty
as earnings of the advocate, or of a swarm split by basis points."""

import brownie
import pytest
from conftest import DAY, INITIAL_POOL, ZENDESK, answer_id, deadline_in, digest, question_id
from errors import ZERO_ADDRESS, custom_error, direct_answer, hexstr, mine_at

from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree

ACCEPTED, EXPIRED = 2, 3
BOUNTY = 100


@pytest.fixture
def answered(ledger, advocate, post_question):
    """(question id, AnswerRef) of a directly recorded answer to a fresh question of BOUNTY."""
    qid = post_question(bounty=BOUNTY)
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    return qid, direct_answer(qid, advocate, digest("answer"))


def credits(tx):
    """The RewardCredited events of a transaction as (account, amount) pairs, in order."""
    if "RewardCredited" not in tx.events:
        return []
    return [(event["account"], event["amount"]) for event in tx.events["RewardCredited"]]


# ---------------------------------------------------------------- acceptAnswer


def test_accept_releases_escrow_to_advocate(ledger, token, brand_id, oracle, advocate, answered):
    qid, answer = answered

    tx = ledger.acceptAnswer(answer, {"from": oracle})

    aid = answer_id(qid, advocate.address, digest("answer"))
    assert tx.events["AnswerAccepted"] == {
        "questionId": hexstr(qid),
        "answerId": hexstr(aid),
        "advocate": advocate,
        "bounty": BOUNTY,
    }
    assert tx.events["RewardCredited"] == {
        "account": advocate,
        "token": token,
        "questionId": hexstr(qid),
        "amount": BOUNTY,
    }
    assert ledger.earnings(advocate, token) == BOUNTY
    assert ledger.question(qid)[2] == ACCEPTED
    # The bounty left escrow for the advocate's earnings; the pool's free part is untouched.
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - BOUNTY, 0)
    assert token.balanceOf(ledger) == INITIAL_POOL


def test_earnings_add_up_across_questions(ledger, token, oracle, advocate, post_question):
    for ticket, bounty in [("T-1", 100), ("T-2", 250)]:
        qid = post_question(ticket=ticket, bounty=bounty)
        ledger.submitAnswer(qid, digest(ticket), {"from": advocate})
        ledger.acceptAnswer(direct_answer(qid, advocate, digest(ticket)), {"from": oracle})

    assert ledger.earnings(advocate, token) == 350


def test_accepting_zero_bounty_question_credits_nothing(ledger, token, oracle, advocate, post_question):
    qid = post_question(bounty=0)
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})

    tx = ledger.acceptAnswer(direct_answer(qid, advocate, digest("answer")), {"from": oracle})

    assert tx.events["AnswerAccepted"]["bounty"] == 0
    assert credits(tx) == []
    assert ledger.earnings(advocate, token) == 0


def test_accept_by_brand_oracle_only(ledger, brand_id, brand_admin, advocate, answered):
    _, answer = answered

    for account in (brand_admin, advocate):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            ledger.acceptAnswer(answer, {"from": account})
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            ledger.acceptAnswerWithSwarm(answer, [(account, 10_000)], {"from": account})


def test_accept_unrecorded_answer_is_refused(ledger, oracle, advocate, stranger, answered):
    qid, _ = answered

    aid = answer_id(qid, stranger.address, digest("answer"))
    with brownie.reverts(custom_error(ledger, "UnknownAnswer", aid)):
        ledger.acceptAnswer(direct_answer(qid, stranger, digest("answer")), {"from": oracle})


def test_accept_answer_of_unknown_question_is_refused(ledger, brand_id, oracle, advocate):
    unknown = question_id(brand_id, ZENDESK, "never posted")

    with brownie.reverts(custom_error(ledger, "UnknownQuestion", unknown)):
        ledger.acceptAnswer(direct_answer(unknown, advocate, digest("answer")), {"from": oracle})


def test_answer_recorded_for_one_question_cannot_be_accepted_for_another(
    ledger, oracle, advocate, answered, post_question
):
    other = post_question(ticket="T-2")

    aid = answer_id(other, advocate.address, digest("answer"))
    with brownie.reverts(custom_error(ledger, "UnknownAnswer", aid)):
        ledger.acceptAnswer(direct_answer(other, advocate, digest("answer")), {"from": oracle})


def test_second_acceptance_is_refused(ledger, token, oracle, advocate, stranger, answered):
    qid, answer = answered
    ledger.submitAnswer(qid, digest("other answer"), {"from": stranger})
    ledger.acceptAnswer(answer, {"from": oracle})

    not_open = custom_error(ledger, "QuestionNotOpen", qid, ACCEPTED)
    with brownie.reverts(not_open):
        ledger.acceptAnswer(answer, {"from": oracle})
    with brownie.reverts(not_open):
        ledger.acceptAnswer(direct_answer(qid, stranger, digest("other answer")), {"from": oracle})
    with brownie.reverts(not_open):
        ledger.acceptAnswerWithSwarm(answer, [(stranger, 10_000)], {"from": oracle})
    assert ledger.earnings(advocate, token) == BOUNTY
    assert ledger.earnings(stranger, token) == 0


def test_accept_after_deadline_is_refused(ledger, oracle, advocate, post_question):
    deadline = deadline_in(DAY)
    qid = post_question(deadline=deadline)
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    answer = direct_answer(qid, advocate, digest("answer"))
    mine_at(deadline + 1)

    with brownie.reverts(custom_error(ledger, "QuestionDeadlinePassed", qid, deadline)):
        ledger.acceptAnswer(answer, {"from": oracle})
    with brownie.reverts(custom_error(ledger, "QuestionDeadlinePassed", qid, deadline)):
        ledger.acceptAnswerWithSwarm(answer, [(advocate, 10_000)], {"from": oracle})


def test_accept_expired_question_is_refused(ledger, oracle, advocate, post_question):
    deadline = deadline_in(DAY)
    qid = post_question(deadline=deadline)
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    mine_at(deadline + 1)
    ledger.expireQuestion(qid)

    with brownie.reverts(custom_error(ledger, "QuestionNotOpen", qid, EXPIRED)):
        ledger.acceptAnswer(direct_answer(qid, advocate, digest("answer")), {"from": oracle})


def test_accept_answer_anchored_in_a_batch_pays_its_advocate(
    ledger, token, brand_id, oracle, advocate, stranger, post_question
):
    qid = post_question(bounty=BOUNTY)
    values = [(qid, advocate.address, digest("batched")), (qid, stranger.address, digest("other"))]
    tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
    ledger.anchorAnswerBatch(brand_id, tree.root, len(values), digest("manifest"), {"from": oracle})
    answer = (qid, advocate, digest("batched"), tree.root, tree.proof(0))
    assert ledger.isAnswerRecorded(answer)

    tx = ledger.acceptAnswer(answer, {"from": oracle})

    assert tx.events["AnswerAccepted"]["answerId"] == hexstr(answer_id(qid, advocate.address, digest("batched")))
    assert ledger.earnings(advocate, token) == BOUNTY


def test_accept_answer_of_unanchored_batch_is_refused(ledger, brand_id, oracle, advocate, answered):
    qid, _ = answered

    with brownie.reverts(custom_error(ledger, "UnknownBatch", brand_id, digest("root"))):
        ledger.acceptAnswer((qid, advocate, digest("answer"), digest("root"), []), {"from": oracle})


# ---------------------------------------------------------------- acceptAnswerWithSwarm


def test_swarm_splits_bounty_by_bps_with_remainder_to_advocate(
    ledger, token, oracle, advocate, stranger, brand_admin, answered
):
    qid, answer = answered
    shares = [(stranger, 3_333), (brand_admin, 3_333), (advocate, 3_334)]

    tx = ledger.acceptAnswerWithSwarm(answer, shares, {"from": oracle})

    # floor(100 * bps / 10000) = 33 each; the 1 left over goes to the accepted answer's advocate.
    assert credits(tx) == [(stranger, 33), (brand_admin, 33), (advocate, 33), (advocate, 1)]
    assert all(event["questionId"] == hexstr(qid) and event["token"] == token for event in tx.events["RewardCredited"])
    assert tx.events["AnswerAccepted"]["bounty"] == BOUNTY
    assert ledger.earnings(stranger, token) == 33
    assert ledger.earnings(brand_admin, token) == 33
    assert ledger.earnings(advocate, token) == 34


def test_swarm_remainder_goes_to_advocate_outside_the_swarm(
    ledger, token, oracle, advocate, stranger, brand_admin, post_question
):
    qid = post_question(bounty=101)
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})

    tx = ledger.acceptAnswerWithSwarm(
        direct_answer(qid, advocate, digest("answer")), [(stranger, 5_000), (brand_admin, 5_000)], {"from": oracle}
    )

    assert credits(tx) == [(stranger, 50), (brand_admin, 50), (advocate, 1)]


def test_swarm_with_exact_split_credits_no_remainder(
    ledger, token, brand_id, oracle, advocate, stranger, brand_admin, answered
):
    _, answer = answered

    tx = ledger.acceptAnswerWithSwarm(
        answer, [(stranger, 2_500), (advocate, 7_500), (brand_admin, 0)], {"from": oracle}
    )

    # Zero-bps shares and a zero remainder credit nothing.
    assert credits(tx) == [(stranger, 25), (advocate, 75)]
    assert ledger.earnings(stranger, token) + ledger.earnings(advocate, token) == BOUNTY
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - BOUNTY, 0)


def test_swarm_refuses_empty_shares(ledger, oracle, answered):
    _, answer = answered

    with brownie.reverts(custom_error(ledger, "InvalidShares", 0, 0)):
        ledger.acceptAnswerWithSwarm(answer, [], {"from": oracle})


def test_swarm_refuses_shares_not_summing_to_10000(ledger, oracle, advocate, stranger, answered):
    qid, answer = answered

    for bps in [(5_000, 4_999), (5_000, 5_001), (65_535, 65_535), (0, 0)]:
        with brownie.reverts(custom_error(ledger, "InvalidShares", 2, sum(bps))):
            ledger.acceptAnswerWithSwarm(answer, [(advocate, bps[0]), (stranger, bps[1])], {"from": oracle})
    assert ledger.question(qid)[2] == 1  # still open


def test_swarm_refuses_zero_address_share(ledger, oracle, advocate, answered):
    _, answer = answered

    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.acceptAnswerWithSwarm(answer, [(advocate, 5_000), (ZERO_ADDRESS, 5_000)], {"from": oracle})


def test_swarm_refuses_a_member_named_twice(ledger, oracle, advocate, stranger, answered):
    """Attack: a member listed twice; each entry was credited, so a swarm's shares no longer said
    who gets what. Each member is one entry."""
    qid, answer = answered

    for shares in (
        [(stranger, 5_000), (stranger, 5_000)],
        [(advocate, 2_500), (stranger, 5_000), (advocate, 2_500)],
        [(stranger, 10_000), (advocate, 0), (stranger, 0)],
    ):
        duplicated = shares[-1][0]
        with brownie.reverts(custom_error(ledger, "DuplicateSwarmMember", duplicated)):
            ledger.acceptAnswerWithSwarm(answer, shares, {"from": oracle})
    assert ledger.question(qid)[2] == 1  # still open


def test_swarm_refuses_the_ledger_itself(ledger, token, oracle, advocate, answered):
    """Attack: a share credited to the ledger's own address could never be withdrawn (the ledger
    never calls withdrawEarnings): those tokens would be locked for ever."""
    qid, answer = answered

    with brownie.reverts(custom_error(ledger, "SwarmMemberIsLedger", ledger)):
        ledger.acceptAnswerWithSwarm(answer, [(advocate, 5_000), (ledger, 5_000)], {"from": oracle})
    assert ledger.earnings(ledger, token) == 0
    assert ledger.question(qid)[2] == 1


def test_batch_leaf_naming_no_advocate_is_refused(ledger, token, brand_id, oracle, advocate, post_question):
    """Attack: a batch leaf naming the zero address as advocate: accepting it credited the bounty to
    an account nobody controls. The leaf does not count, for acceptance nor for rating."""
    qid = post_question(bounty=BOUNTY)
    values = [(qid, ZERO_ADDRESS, digest("nobody's")), (qid, advocate.address, digest("batched"))]
    tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
    ledger.anchorAnswerBatch(brand_id, tree.root, len(values), digest("manifest"), {"from": oracle})
    nobody = (*values[0], tree.root, tree.proof(0))
    aid = answer_id(qid, ZERO_ADDRESS, digest("nobody's"))

    assert not ledger.isAnswerRecorded(nobody)
    with brownie.reverts(custom_error(ledger, "ZeroAdvocate", aid)):
        ledger.acceptAnswer(nobody, {"from": oracle})
    with brownie.reverts(custom_error(ledger, "ZeroAdvocate", aid)):
        ledger.acceptAnswerWithSwarm(nobody, [(advocate, 10_000)], {"from": oracle})
    with brownie.reverts(custom_error(ledger, "ZeroAdvocate", aid)):
        ledger.rateAnswer(nobody, 5, 0, digest("customer"), {"from": oracle})
    assert ledger.earnings(ZERO_ADDRESS, token) == 0
    # The batch's other leaves still count.
    ledger.acceptAnswer((*values[1], tree.root, tree.proof(1)), {"from": oracle})
    assert ledger.earnings(advocate, token) == BOUNTY

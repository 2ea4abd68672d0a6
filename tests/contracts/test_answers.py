"""Answers: recorded directly by their advocate while the question is open, or anchored by the
brand's oracle as the Merkle root of a batch."""

import brownie
from conftest import DAY, ZENDESK, answer_id, deadline_in, digest, question_id
from errors import ZERO_BYTES32, custom_error, direct_answer, hexstr, mine_at, next_block_at

ACCEPTED, EXPIRED = 2, 3


# ---------------------------------------------------------------- submitAnswer


def test_submit_answer_records_the_answer(ledger, advocate, post_question):
    qid = post_question()

    tx = ledger.submitAnswer(qid, digest("answer"), {"from": advocate})

    assert tx.events["AnswerRecorded"] == {
        "questionId": hexstr(qid),
        "advocate": advocate,
        "contentDigest": hexstr(digest("answer")),
    }
    assert tx.return_value == hexstr(answer_id(qid, advocate.address, digest("answer")))
    assert ledger.isAnswerRecorded(direct_answer(qid, advocate, digest("answer")))


def test_unrecorded_answers_are_not_reported_recorded(ledger, advocate, stranger, brand_id, post_question):
    qid = post_question()
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})

    assert not ledger.isAnswerRecorded(direct_answer(qid, advocate, digest("other answer")))
    assert not ledger.isAnswerRecorded(direct_answer(qid, stranger, digest("answer")))
    assert not ledger.isAnswerRecorded(
        direct_answer(question_id(brand_id, ZENDESK, "nope"), advocate, digest("answer"))
    )


def test_answer_id_of_matches_service_package(ledger, advocate, post_question):
    qid = post_question()

    for question, account, content in [
        (qid, advocate.address, digest("answer")),
        (ZERO_BYTES32, "0x" + "00" * 20, ZERO_BYTES32),
        (b"\xff" * 32, "0x" + "ff" * 20, b"\xff" * 32),
    ]:
        assert ledger.answerIdOf(question, account, content) == hexstr(answer_id(question, account, content))


def test_same_answer_cannot_be_recorded_twice(ledger, advocate, post_question):
    qid = post_question()
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})

    aid = answer_id(qid, advocate.address, digest("answer"))
    with brownie.reverts(custom_error(ledger, "AnswerAlreadyRecorded", aid)):
        ledger.submitAnswer(qid, digest("answer"), {"from": advocate})


def test_several_answers_per_question_are_recorded(ledger, advocate, stranger, post_question):
    qid = post_question()

    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    ledger.submitAnswer(qid, digest("second answer"), {"from": advocate})
    ledger.submitAnswer(qid, digest("answer"), {"from": stranger})

    for account, content in [(advocate, "answer"), (advocate, "second answer"), (stranger, "answer")]:
        assert ledger.isAnswerRecorded(direct_answer(qid, account, digest(content)))


def test_answer_after_deadline_is_refused(ledger, advocate, post_question):
    deadline = deadline_in(DAY)
    qid = post_question(deadline=deadline)
    # Answering at the deadline itself is still on time.
    next_block_at(deadline)
    ledger.submitAnswer(qid, digest("on time"), {"from": advocate})
    mine_at(deadline + 1)

    with brownie.reverts(custom_error(ledger, "QuestionDeadlinePassed", qid, deadline)):
        ledger.submitAnswer(qid, digest("late"), {"from": advocate})


def test_answer_to_accepted_question_is_refused(ledger, oracle, advocate, stranger, post_question):
    qid = post_question()
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    ledger.acceptAnswer(direct_answer(qid, advocate, digest("answer")), {"from": oracle})

    with brownie.reverts(custom_error(ledger, "QuestionNotOpen", qid, ACCEPTED)):
        ledger.submitAnswer(qid, digest("late answer"), {"from": stranger})


def test_answer_to_expired_question_is_refused(ledger, advocate, post_question):
    deadline = deadline_in(DAY)
    qid = post_question(deadline=deadline)
    mine_at(deadline + 1)
    ledger.expireQuestion(qid)

    with brownie.reverts(custom_error(ledger, "QuestionNotOpen", qid, EXPIRED)):
        ledger.submitAnswer(qid, digest("answer"), {"from": advocate})


def test_answer_to_unknown_question_is_refused(ledger, advocate, brand_id):
    unknown = question_id(brand_id, ZENDESK, "never posted")

    with brownie.reverts(custom_error(ledger, "UnknownQuestion", unknown)):
        ledger.submitAnswer(unknown, digest("answer"), {"from": advocate})


# ---------------------------------------------------------------- anchorAnswerBatch


def test_anchor_answer_batch_records_the_batch(ledger, brand_id, oracle):
    tx = ledger.anchorAnswerBatch(brand_id, digest("root"), 3, digest("manifest"), {"from": oracle})

    assert tx.events["AnswerBatchAnchored"] == {
        "brandId": brand_id,
        "batchRoot": hexstr(digest("root")),
        "size": 3,
        "manifestDigest": hexstr(digest("manifest")),
    }
    assert tuple(ledger.answerBatch(brand_id, digest("root"))) == (brand_id, 3, tx.timestamp)


def test_anchor_refuses_empty_batch(ledger, brand_id, oracle):
    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.anchorAnswerBatch(brand_id, ZERO_BYTES32, 1, digest("manifest"), {"from": oracle})
    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.anchorAnswerBatch(brand_id, digest("root"), 0, digest("manifest"), {"from": oracle})


def test_same_batch_root_cannot_be_anchored_twice_by_a_brand(ledger, brand_id, oracle):
    ledger.anchorAnswerBatch(brand_id, digest("root"), 3, digest("manifest"), {"from": oracle})

    with brownie.reverts(custom_error(ledger, "BatchAlreadyAnchored", brand_id, digest("root"))):
        ledger.anchorAnswerBatch(brand_id, digest("root"), 4, digest("other manifest"), {"from": oracle})
    assert tuple(ledger.answerBatch(brand_id, digest("root")))[:2] == (brand_id, 3)


def test_a_root_anchored_by_another_brand_is_another_batch(ledger, admin, token, brand_id, oracle, stranger):
    """A root belongs to each brand that anchors it: the first to anchor it occupies it for no one else."""
    other = ledger.registerBrand(stranger, token, [stranger], {"from": admin}).return_value
    ledger.anchorAnswerBatch(other, digest("root"), 3, digest("copied manifest"), {"from": stranger})

    tx = ledger.anchorAnswerBatch(brand_id, digest("root"), 4, digest("manifest"), {"from": oracle})

    assert tx.events["AnswerBatchAnchored"]["brandId"] == brand_id
    assert tuple(ledger.answerBatch(brand_id, digest("root")))[:2] == (brand_id, 4)
    assert tuple(ledger.answerBatch(other, digest("root")))[:2] == (other, 3)


def test_anchor_by_brand_oracle_only(ledger, brand_id, brand_admin, stranger, advocate):
    for account in (brand_admin, stranger, advocate):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            ledger.anchorAnswerBatch(brand_id, digest("root"), 1, digest("manifest"), {"from": account})


def test_answer_batch_view_refuses_unknown_batch(ledger, brand_id, oracle):
    with brownie.reverts(custom_error(ledger, "UnknownBatch", brand_id, digest("root"))):
        ledger.answerBatch(brand_id, digest("root"))
    ledger.anchorAnswerBatch(brand_id, digest("root"), 1, digest("manifest"), {"from": oracle})
    with brownie.reverts(custom_error(ledger, "UnknownBatch", brand_id + 1, digest("root"))):
        ledger.answerBatch(brand_id + 1, digest("root"))
    with brownie.reverts(custom_error(ledger, "UnknownBatch", brand_id, ZERO_BYTES32)):
        ledger.answerBatch(brand_id, ZERO_BYTES32)

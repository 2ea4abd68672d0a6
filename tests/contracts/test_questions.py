"""Questions: posting a ticket escrows its bounty from the brand's pool; an unanswered question
expires after its deadline and its bounty goes back to the pool."""

import brownie
from brownie import chain
from conftest import DAY, INITIAL_POOL, TOPIC, ZENDESK, deadline_in, digest, question_id
from errors import custom_error, direct_answer, hexstr, mine_at, next_block_at

from peercare.core.ledger_ids import short_string

OPEN, ACCEPTED, EXPIRED = 1, 2, 3


def test_post_question_escrows_bounty_from_pool(ledger, brand_id, oracle):
    deadline = deadline_in(7 * DAY)

    tx = ledger.postQuestion(brand_id, ZENDESK, "T-1", TOPIC, 100, deadline, digest("question"), {"from": oracle})

    qid = question_id(brand_id, ZENDESK, "T-1")
    assert tx.return_value == hexstr(qid)
    assert tx.events["QuestionPosted"] == {
        "questionId": hexstr(qid),
        "brandId": brand_id,
        "topic": hexstr(TOPIC),
        "source": hexstr(ZENDESK),
        "ticketId": "T-1",
        "bounty": 100,
        "deadline": deadline,
        "contentDigest": hexstr(digest("question")),
    }
    assert tuple(ledger.question(qid)) == (brand_id, deadline, OPEN, 100)
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 100, 100)


def test_post_question_can_escrow_the_whole_pool(ledger, brand_id, post_question):
    post_question(bounty=INITIAL_POOL)

    assert tuple(ledger.pool(brand_id)) == (0, INITIAL_POOL)


def test_question_id_of_matches_service_package(ledger, brand_id):
    for brand, source, ticket in [
        (brand_id, ZENDESK, "T-1"),
        (2, short_string("freshdesk"), ""),
        (2**64 - 1, b"\xff" * 32, "ticket \u00e9\u6f22 " + "x" * 80),
    ]:
        assert ledger.questionIdOf(brand, source, ticket) == hexstr(question_id(brand, source, ticket))


def test_same_ticket_cannot_be_posted_twice(ledger, brand_id, oracle, post_question):
    qid = post_question(ticket="T-1")

    with brownie.reverts(custom_error(ledger, "QuestionAlreadyPosted", qid)):
        post_question(ticket="T-1", bounty=1, topic=short_string("other"))


def test_expired_ticket_cannot_be_posted_again(ledger, brand_id, post_question):
    deadline = deadline_in(60)
    qid = post_question(ticket="T-1", deadline=deadline)
    mine_at(deadline + 1)
    ledger.expireQuestion(qid)

    with brownie.reverts(custom_error(ledger, "QuestionAlreadyPosted", qid)):
        post_question(ticket="T-1")


def test_same_ticket_of_another_source_is_another_question(ledger, brand_id, oracle, post_question):
    first = post_question(ticket="T-1")

    tx = ledger.postQuestion(
        brand_id, short_string("freshdesk"), "T-1", TOPIC, 1, deadline_in(DAY), digest("q"), {"from": oracle}
    )

    assert tx.return_value != first
    assert tx.return_value == hexstr(question_id(brand_id, short_string("freshdesk"), "T-1"))


def test_post_question_refuses_deadline_not_in_future(ledger, brand_id, oracle):
    start = chain.time() + 10
    for i, deadline in enumerate((start, start - 1, 0)):
        block_time = start + i
        next_block_at(block_time)
        with brownie.reverts(custom_error(ledger, "DeadlineNotInFuture", deadline, block_time)):
            ledger.postQuestion(brand_id, ZENDESK, "T-1", TOPIC, 1, deadline, digest("q"), {"from": oracle})


def test_post_question_accepts_deadline_one_second_ahead(ledger, brand_id, oracle):
    now = chain.time() + 10
    next_block_at(now)

    ledger.postQuestion(brand_id, ZENDESK, "T-1", TOPIC, 1, now + 1, digest("q"), {"from": oracle})

    assert ledger.question(question_id(brand_id, ZENDESK, "T-1"))[1] == now + 1


def test_post_question_refuses_bounty_above_pool(ledger, brand_id, post_question):
    post_question(ticket="T-1", bounty=INITIAL_POOL - 10)

    with brownie.reverts(custom_error(ledger, "InsufficientPoolBalance", brand_id, 10, 11)):
        post_question(ticket="T-2", bounty=11)


def test_post_question_by_brand_oracle_only(ledger, brand_id, post_question, brand_admin, stranger, admin):
    for account in (brand_admin, stranger, admin):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, account)):
            post_question(sender=account)


def test_post_question_for_unknown_brand_is_refused_as_not_oracle(ledger, brand_id, post_question, oracle):
    with brownie.reverts(custom_error(ledger, "NotBrandOracle", 9, oracle)):
        post_question(brand=9)


def test_question_view_refuses_unknown_question(ledger, brand_id):
    unknown = question_id(brand_id, ZENDESK, "never posted")

    with brownie.reverts(custom_error(ledger, "UnknownQuestion", unknown)):
        ledger.question(unknown)


# ---------------------------------------------------------------- expireQuestion


def test_expire_question_refunds_bounty_to_pool(ledger, brand_id, stranger, post_question):
    deadline = deadline_in(DAY)
    qid = post_question(bounty=100, deadline=deadline)
    mine_at(deadline + 1)

    tx = ledger.expireQuestion(qid, {"from": stranger})  # anyone may expire

    assert tx.events["QuestionExpired"] == {"questionId": hexstr(qid), "brandId": brand_id, "refunded": 100}
    assert tuple(ledger.question(qid)) == (brand_id, deadline, EXPIRED, 100)
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL, 0)


def test_refunded_bounty_can_fund_a_new_question(ledger, brand_id, post_question):
    deadline = deadline_in(60)
    qid = post_question(ticket="T-1", bounty=INITIAL_POOL, deadline=deadline)
    mine_at(deadline + 1)
    ledger.expireQuestion(qid)

    post_question(ticket="T-2", bounty=INITIAL_POOL)

    assert tuple(ledger.pool(brand_id)) == (0, INITIAL_POOL)


def test_expire_question_before_deadline_is_refused(ledger, brand_id, stranger, post_question):
    deadline = deadline_in(DAY)
    qid = post_question(deadline=deadline)

    with brownie.reverts(custom_error(ledger, "QuestionNotExpired", qid, deadline)):
        ledger.expireQuestion(qid, {"from": stranger})
    # The deadline itself still belongs to the question.
    next_block_at(deadline)
    with brownie.reverts(custom_error(ledger, "QuestionNotExpired", qid, deadline)):
        ledger.expireQuestion(qid, {"from": stranger})
    next_block_at(deadline + 1)
    ledger.expireQuestion(qid, {"from": stranger})


def test_expire_question_twice_is_refused(ledger, brand_id, post_question):
    deadline = deadline_in(60)
    qid = post_question(deadline=deadline)
    mine_at(deadline + 1)
    ledger.expireQuestion(qid)

    with brownie.reverts(custom_error(ledger, "QuestionNotOpen", qid, EXPIRED)):
        ledger.expireQuestion(qid)
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL, 0)


def test_expire_accepted_question_is_refused(ledger, brand_id, oracle, advocate, post_question):
    deadline = deadline_in(60)
    qid = post_question(bounty=100, deadline=deadline)
    ledger.submitAnswer(qid, digest("a"), {"from": advocate})
    ledger.acceptAnswer(direct_answer(qid, advocate, digest("a")), {"from": oracle})
    mine_at(deadline + 1)

    with brownie.reverts(custom_error(ledger, "QuestionNotOpen", qid, ACCEPTED)):
        ledger.expireQuestion(qid)
    assert tuple(ledger.pool(brand_id)) == (INITIAL_POOL - 100, 0)


def test_expire_unknown_question_is_refused(ledger, brand_id):
    unknown = question_id(brand_id, ZENDESK, "never posted")

    with brownie.reverts(custom_error(ledger, "UnknownQuestion", unknown)):
        ledger.expireQuestion(unknown)

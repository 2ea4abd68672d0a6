"""Pausing: the PAUSER_ROLE stops every movement of tokens; answers, anchors, ratings and
acceptances keep being recorded so that no advocate's work is lost while funds are frozen (an
acceptance only credits earnings inside the ledger, which cannot be withdrawn until unpaused)."""

import brownie
import pytest
from brownie import accounts
from conftest import DAY, deadline_in, digest
from errors import ZERO_ADDRESS, custom_error, direct_answer, hexstr, mine_at, permit_signature
from eth_utils import keccak

DEFAULT_ADMIN_ROLE = b"\0" * 32
IACCESS_CONTROL_ID, IERC165_ID = "0x7965db0b", "0x01ffc9a7"


@pytest.fixture
def answered(ledger, advocate, post_question):
    """(question id, AnswerRef, deadline) of a directly recorded answer to a fresh question."""
    deadline = deadline_in(DAY)
    qid = post_question(bounty=100, deadline=deadline)
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    return qid, direct_answer(qid, advocate, digest("answer")), deadline


@pytest.fixture
def enforced_pause(ledger):
    return custom_error(ledger, "EnforcedPause")


# ---------------------------------------------------------------- roles


def test_constructor_grants_admin_and_pauser_roles(ledger, admin, pauser):
    assert ledger.PAUSER_ROLE() == hexstr(keccak(text="PAUSER_ROLE"))
    assert ledger.getRoleAdmin(ledger.PAUSER_ROLE()) == hexstr(DEFAULT_ADMIN_ROLE)
    assert ledger.supportsInterface(IACCESS_CONTROL_ID) and ledger.supportsInterface(IERC165_ID)
    assert ledger.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert ledger.hasRole(ledger.PAUSER_ROLE(), pauser)
    assert not ledger.hasRole(ledger.PAUSER_ROLE(), admin)
    assert not ledger.hasRole(DEFAULT_ADMIN_ROLE, pauser)
    assert not ledger.paused()


def test_constructor_refuses_zero_admin_or_pauser(PeerCareLedger, admin, pauser):
    with brownie.reverts(custom_error(PeerCareLedger, "ZeroAddress")):
        PeerCareLedger.deploy(ZERO_ADDRESS, pauser, {"from": admin})
    with brownie.reverts(custom_error(PeerCareLedger, "ZeroAddress")):
        PeerCareLedger.deploy(admin, ZERO_ADDRESS, {"from": admin})


def test_pause_and_unpause_by_pauser(ledger, pauser):
    tx = ledger.pause({"from": pauser})
    assert tx.events["Paused"] == {"account": pauser}
    assert ledger.paused()

    tx = ledger.unpause({"from": pauser})
    assert tx.events["Unpaused"] == {"account": pauser}
    assert not ledger.paused()


def test_pause_by_pauser_role_only(ledger, admin, stranger, pauser):
    for account in (admin, stranger):
        with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", account, ledger.PAUSER_ROLE())):
            ledger.pause({"from": account})
    ledger.pause({"from": pauser})
    for account in (admin, stranger):
        with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", account, ledger.PAUSER_ROLE())):
            ledger.unpause({"from": account})


def test_pauser_role_is_granted_and_revoked_by_admin(ledger, admin, stranger):
    ledger.grantRole(ledger.PAUSER_ROLE(), stranger, {"from": admin})
    ledger.pause({"from": stranger})

    ledger.revokeRole(ledger.PAUSER_ROLE(), stranger, {"from": admin})

    with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", stranger, ledger.PAUSER_ROLE())):
        ledger.unpause({"from": stranger})


def test_pause_twice_and_unpause_unpaused_are_refused(ledger, pauser):
    with brownie.reverts(custom_error(ledger, "ExpectedPause")):
        ledger.unpause({"from": pauser})
    ledger.pause({"from": pauser})
    with brownie.reverts(custom_error(ledger, "EnforcedPause")):
        ledger.pause({"from": pauser})


# ---------------------------------------------------------------- what a pause stops


def test_paused_blocks_deposits(ledger, token, brand_id, admin, pauser, brand_admin, enforced_pause):
    funder = accounts.add()
    token.mint(funder, 10, {"from": admin})
    token.approve(ledger, 10, {"from": funder})
    deadline = deadline_in(DAY)
    v, r, s = permit_signature(token, funder, ledger, 10, deadline)
    ledger.pause({"from": pauser})

    with brownie.reverts(enforced_pause):
        ledger.deposit(brand_id, 10, {"from": funder})
    with brownie.reverts(enforced_pause):
        ledger.depositWithPermit(brand_id, 10, deadline, v, r, s, {"from": funder})


def test_paused_blocks_pool_withdrawals(ledger, brand_id, pauser, brand_admin, enforced_pause):
    ledger.pause({"from": pauser})

    with brownie.reverts(enforced_pause):
        ledger.withdrawFromPool(brand_id, 1, brand_admin, {"from": brand_admin})


def test_paused_blocks_posting_questions(ledger, pauser, post_question, enforced_pause):
    ledger.pause({"from": pauser})

    with brownie.reverts(enforced_pause):
        post_question()


def test_paused_blocks_expiry(ledger, pauser, answered, enforced_pause):
    qid, _, deadline = answered
    mine_at(deadline + 1)
    ledger.pause({"from": pauser})

    with brownie.reverts(enforced_pause):
        ledger.expireQuestion(qid)


def test_paused_blocks_earnings_withdrawals(ledger, token, oracle, pauser, advocate, answered, enforced_pause):
    _, answer, _ = answered
    ledger.acceptAnswer(answer, {"from": oracle})
    ledger.pause({"from": pauser})

    with brownie.reverts(enforced_pause):
        ledger.withdrawEarnings(token, advocate, {"from": advocate})
    assert ledger.earnings(advocate, token) == 100


# ---------------------------------------------------------------- what a pause lets through


def test_paused_still_records_answers_anchors_and_ratings(ledger, brand_id, oracle, pauser, stranger, answered):
    qid, answer, _ = answered
    ledger.pause({"from": pauser})

    answered = ledger.submitAnswer(qid, digest("paused answer"), {"from": stranger})
    anchored = ledger.anchorAnswerBatch(brand_id, digest("root"), 2, digest("m"), {"from": oracle})
    rated = ledger.rateAnswer(answer, 5, 0, digest("customer"), {"from": oracle})

    assert "AnswerRecorded" in answered.events
    assert "AnswerBatchAnchored" in anchored.events
    assert "AnswerRated" in rated.events
    assert ledger.isAnswerRecorded(direct_answer(qid, stranger, digest("paused answer")))


def test_paused_still_accepts_answers_and_credits_earnings_that_stay_in_the_ledger(
    ledger, token, brand_id, oracle, pauser, advocate, stranger, post_question, enforced_pause
):
    first, second = post_question(ticket="P-1", bounty=100), post_question(ticket="P-2", bounty=60)
    for qid in (first, second):
        ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    held = token.balanceOf(ledger)
    ledger.pause({"from": pauser})

    accepted = ledger.acceptAnswer(direct_answer(first, advocate, digest("answer")), {"from": oracle})
    swarmed = ledger.acceptAnswerWithSwarm(
        direct_answer(second, advocate, digest("answer")), [(stranger, 5_000), (advocate, 5_000)], {"from": oracle}
    )

    assert accepted.events["AnswerAccepted"]["bounty"] == 100
    assert swarmed.events["AnswerAccepted"]["bounty"] == 60
    assert (ledger.earnings(advocate, token), ledger.earnings(stranger, token)) == (130, 30)
    assert token.balanceOf(ledger) == held  # nothing left the ledger
    with brownie.reverts(enforced_pause):
        ledger.withdrawEarnings(token, advocate, {"from": advocate})


def test_a_pause_across_the_deadline_costs_no_acceptance(ledger, token, oracle, pauser, advocate, answered):
    """Attack: the pauser (or an incident) pauses before a question's deadline and unpauses after
    it. Acceptance was `whenNotPaused`: the advocate's answer could then only expire. Acceptance now
    runs while paused (it moves no token), so the oracle accepts before the deadline as usual."""
    qid, answer, deadline = answered
    ledger.pause({"from": pauser})

    ledger.acceptAnswer(answer, {"from": oracle})  # during the pause, before the deadline
    mine_at(deadline + 1)
    ledger.unpause({"from": pauser})

    assert ledger.question(qid)[2] == 2  # Accepted, not left to expire
    with brownie.reverts(custom_error(ledger, "QuestionNotOpen", qid, 2)):
        ledger.expireQuestion(qid)
    ledger.withdrawEarnings(token, advocate, {"from": advocate})
    assert token.balanceOf(advocate) == 100


def test_paused_still_manages_brands(ledger, admin, token, brand_id, pauser, brand_admin, stranger):
    ledger.pause({"from": pauser})

    ledger.registerBrand(brand_admin, token, [stranger], {"from": admin})
    ledger.setBrandOracle(brand_id, stranger, True, {"from": brand_admin})

    assert ledger.isBrandOracle(brand_id, stranger)


def test_unpause_resumes_token_movements(ledger, token, oracle, pauser, advocate, answered):
    _, answer, _ = answered
    ledger.pause({"from": pauser})
    ledger.unpause({"from": pauser})

    ledger.acceptAnswer(answer, {"from": oracle})
    ledger.withdrawEarnings(token, advocate, {"from": advocate})

    assert token.balanceOf(advocate) == 100

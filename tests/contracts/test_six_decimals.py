"""A brand whose pool is in a 6-decimal stablecoin (USDC-like): every bounty, swarm share,
withdrawal and refund is paid in exact units, the floors of a swarm split leave their remainder to
the answering advocate, and the ledger holds exactly its pool and the unwithdrawn earnings.
"""

import brownie
import pytest
from brownie import chain
from conftest import DAY, TOPIC, ZENDESK, deadline_in, digest
from errors import custom_error, direct_answer, mine_at
from eth_utils import keccak

from peercare.core.typed_data import sign_withdrawal, withdrawal_typed_data

UNIT = 10**6  # one dollar
POOL = 1_000 * UNIT  # 1,000.000000
BOUNTY = 12_345_678  # 12.345678


@pytest.fixture(scope="module")
def usd(SixDecimalToken, admin):
    return SixDecimalToken.deploy({"from": admin})


@pytest.fixture(scope="module")
def usd_brand(ledger, usd, admin, brand_admin, oracle):
    """A brand whose pool holds POOL units of the 6-decimal token."""
    ledger.setTokenAllowed(usd, True, {"from": admin})
    brand_id = ledger.registerBrand(brand_admin, usd, [oracle], {"from": admin}).return_value
    usd.mint(brand_admin, POOL, {"from": admin})
    usd.approve(ledger, POOL, {"from": brand_admin})
    ledger.deposit(brand_id, POOL, {"from": brand_admin})
    return brand_id


@pytest.fixture(scope="module")
def members(accounts):
    """Swarm members; the first one's key is known, so it can sign a withdrawal (it holds no ETH)."""
    return [accounts.add(keccak(text=f"PeerCare six-decimal member {i}")) for i in range(7)]


@pytest.fixture
def answered(ledger, usd_brand, oracle, advocate):
    """Post a question with `bounty` in the brand's pool; the advocate answers it directly."""

    def post(bounty, ticket="USD-1"):
        qid = ledger.postQuestion(
            usd_brand, ZENDESK, ticket, TOPIC, bounty, deadline_in(7 * DAY), digest(ticket), {"from": oracle}
        ).return_value
        ledger.submitAnswer(qid, digest(f"answer {ticket}"), {"from": advocate})
        return qid, direct_answer(qid, advocate, digest(f"answer {ticket}"))

    return post


def test_the_pool_holds_exact_units(ledger, usd, usd_brand):
    assert usd.decimals() == 6
    assert tuple(ledger.pool(usd_brand)) == (POOL, 0)
    assert usd.balanceOf(ledger) == POOL


def test_plain_acceptance_and_withdrawal_pay_the_exact_bounty(ledger, usd, usd_brand, oracle, advocate, answered):
    _, answer = answered(BOUNTY)
    assert tuple(ledger.pool(usd_brand)) == (POOL - BOUNTY, BOUNTY)

    tx = ledger.acceptAnswer(answer, {"from": oracle})

    assert tx.events["RewardCredited"]["amount"] == BOUNTY
    assert ledger.earnings(advocate, usd) == BOUNTY
    assert tuple(ledger.pool(usd_brand)) == (987_654_322, 0)
    assert ledger.withdrawEarnings(usd, advocate, {"from": advocate}).return_value == BOUNTY
    assert usd.balanceOf(advocate) == 12_345_678
    assert usd.balanceOf(ledger) == 987_654_322


# (bounty, each member's bps, each member's exact credit, the advocate's remainder)
SPLITS = {
    "thirds": (BOUNTY, [3_333, 3_333, 3_334], [4_114_814, 4_114_814, 4_116_049], 1),
    "sevenths": (999_999, [1_428] * 6 + [1_432], [142_799] * 6 + [143_199], 6),
    "one_bps": (BOUNTY, [1, 9_999], [1_234, 12_344_443], 1),
    "dust": (7, [3_333, 3_333, 3_334], [2, 2, 2], 1),
}


@pytest.mark.parametrize("case", SPLITS.values(), ids=SPLITS.keys())
def test_swarm_split_floors_each_share_and_gives_the_remainder_to_the_advocate(
    ledger, usd, usd_brand, oracle, advocate, members, answered, case
):
    bounty, bps, amounts, remainder = case
    assert sum(bps) == 10_000 and sum(amounts) + remainder == bounty
    qid, answer = answered(bounty)
    shares = [(member, b) for member, b in zip(members, bps, strict=False)]

    tx = ledger.acceptAnswerWithSwarm(answer, shares, {"from": oracle})

    credited = [(e["account"], e["amount"]) for e in tx.events["RewardCredited"]]
    assert credited == [(m.address, a) for m, a in zip(members, amounts, strict=False)] + [
        (advocate.address, remainder)
    ]
    assert all(e["token"] == usd and e["questionId"] == "0x" + bytes(qid).hex() for e in tx.events["RewardCredited"])
    for member, amount in zip(members, amounts, strict=False):
        assert ledger.earnings(member, usd) == amount
    assert ledger.earnings(advocate, usd) == remainder
    assert tuple(ledger.pool(usd_brand)) == (POOL - bounty, 0)
    assert usd.balanceOf(ledger) == POOL  # the pool less the bounty, plus the bounty owed as earnings


def test_advocate_in_the_swarm_gets_its_share_and_the_remainder(ledger, usd, oracle, advocate, members, answered):
    _, answer = answered(BOUNTY)
    ledger.acceptAnswerWithSwarm(answer, [(advocate, 1), (members[0], 9_999)], {"from": oracle})
    assert ledger.earnings(advocate, usd) == 1_234 + 1
    assert ledger.earnings(members[0], usd) == 12_344_443


def test_swarm_earnings_are_withdrawn_in_exact_units_plain_and_signed(
    ledger, usd, usd_brand, oracle, advocate, stranger, members, answered
):
    bounty, bps, amounts, remainder = SPLITS["thirds"]
    _, answer = answered(bounty)
    ledger.acceptAnswerWithSwarm(answer, list(zip(members, bps, strict=False)), {"from": oracle})

    # The first member, who has no ETH, signs; a stranger relays and pays.
    signer, deadline = members[0], chain[-1].timestamp + DAY
    typed = withdrawal_typed_data(
        chain_id=chain.id,
        ledger=ledger.address,
        account=signer.address,
        token=usd.address,
        to=signer.address,
        nonce=0,
        deadline=deadline,
    )
    struct = (signer, usd, signer, 0, deadline)
    tx = ledger.withdrawEarningsWithSig(struct, sign_withdrawal(signer.private_key, typed), {"from": stranger})
    assert tx.return_value == amounts[0] == 4_114_814
    assert signer.balance() == 0

    # The others pull themselves, once given some ETH.
    for member, amount in zip(members[1:3], amounts[1:], strict=True):
        stranger.transfer(member, 10**17)
        assert ledger.withdrawEarnings(usd, member, {"from": member}).return_value == amount
    assert ledger.withdrawEarnings(usd, advocate, {"from": advocate}).return_value == remainder

    assert [usd.balanceOf(m) for m in members[:3]] == [4_114_814, 4_114_814, 4_116_049]
    assert usd.balanceOf(advocate) == 1
    assert usd.balanceOf(ledger) == POOL - bounty == 987_654_322
    assert tuple(ledger.pool(usd_brand)) == (987_654_322, 0)
    with brownie.reverts(custom_error(ledger, "NothingToWithdraw", advocate, usd)):
        ledger.withdrawEarnings(usd, advocate, {"from": advocate})


def test_expiry_refunds_the_exact_bounty(ledger, usd, usd_brand, oracle, brand_admin):
    deadline = chain[-1].timestamp + DAY
    qid = ledger.postQuestion(
        usd_brand, ZENDESK, "USD-EXP", TOPIC, BOUNTY, deadline, digest("USD-EXP"), {"from": oracle}
    ).return_value
    assert tuple(ledger.pool(usd_brand)) == (987_654_322, BOUNTY)
    mine_at(deadline + 1)

    tx = ledger.expireQuestion(qid, {"from": brand_admin})

    assert tx.events["QuestionExpired"]["refunded"] == BOUNTY
    assert tuple(ledger.pool(usd_brand)) == (POOL, 0)
    ledger.withdrawFromPool(usd_brand, POOL, brand_admin, {"from": brand_admin})
    assert usd.balanceOf(brand_admin) == POOL
    assert usd.balanceOf(ledger) == 0

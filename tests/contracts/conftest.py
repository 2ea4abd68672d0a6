"""Fixtures for the contract tests (run under Brownie on a throwaway anvil: `make test-contracts`).

Accounts are named by role. Every test runs in its own snapshot (`isolate`), so deployments are
module-scoped and cheap.
"""

import sys
import time
from pathlib import Path

import pytest
from brownie import chain

# The pure helpers of the service package (ids, Merkle trees, typed data) import nothing from
# Brownie and only need eth-abi/eth-utils/eth-account, which Brownie's environment has too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peercare.core.ledger_ids import answer_id, question_id, short_string

INITIAL_POOL = 1_000_000 * 10**18
ZENDESK = short_string("zendesk")
TOPIC = short_string("billing")
DAY = 24 * 3600


@pytest.fixture(autouse=True)
def isolate(fn_isolation):
    pass


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def pauser(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def oracle(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def brand_admin(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def advocate(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def stranger(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def reputation_oracle(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def token(PeerCareToken, admin):
    return PeerCareToken.deploy("PeerCare Reward", "PCR", admin, {"from": admin})


@pytest.fixture(scope="module")
def ledger(PeerCareLedger, token, admin, pauser):
    """The ledger as scripts/deploy.py leaves it: the admin also admits brands."""
    ledger = PeerCareLedger.deploy(admin, pauser, {"from": admin})
    ledger.setTokenAllowed(token, True, {"from": admin})
    ledger.grantRole(ledger.BRAND_REGISTRAR_ROLE(), admin, {"from": admin})
    return ledger


@pytest.fixture(scope="module")
def roots(ReputationRoots, admin, reputation_oracle):
    roots = ReputationRoots.deploy(admin, {"from": admin})
    roots.grantRole(roots.REPUTATION_ORACLE_ROLE(), reputation_oracle, {"from": admin})
    return roots


@pytest.fixture(scope="module")
def brand_id(ledger, token, admin, brand_admin, oracle):
    """Brand 1: registered, its oracle enabled, its pool funded with INITIAL_POOL."""
    tx = ledger.registerBrand(brand_admin, token, [oracle], {"from": admin})
    brand_id = tx.return_value
    token.mint(brand_admin, INITIAL_POOL, {"from": admin})
    token.approve(ledger, INITIAL_POOL, {"from": brand_admin})
    ledger.deposit(brand_id, INITIAL_POOL, {"from": brand_admin})
    return brand_id


def digest(label: str) -> bytes:
    """A stand-in content digest (sha2-256 of a label)."""
    import hashlib

    return hashlib.sha256(label.encode()).digest()


def deadline_in(seconds: int) -> int:
    return chain.time() + seconds


@pytest.fixture
def post_question(ledger, brand_id, oracle):
    """Post a question for brand 1 and return its id."""

    def post(ticket="T-1", bounty=100 * 10**18, deadline=None, brand=None, sender=None, topic=TOPIC):
        deadline = deadline if deadline is not None else deadline_in(7 * DAY)
        brand = brand_id if brand is None else brand
        tx = ledger.postQuestion(
            brand, ZENDESK, ticket, topic, bounty, deadline, digest(f"question {ticket}"), {"from": sender or oracle}
        )
        return tx.return_value

    return post


__all__ = ["DAY", "INITIAL_POOL", "TOPIC", "ZENDESK", "answer_id", "deadline_in", "digest", "question_id", "time"]

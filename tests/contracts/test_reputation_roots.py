"""ReputationRoots: the reputation oracle publishes one Merkle root per epoch, epochs are
numbered 1, 2, 3, ... without a gap, the admin corrects a wrong root in place, and anyone proves an
advocate's score against an epoch's current root."""

import brownie
import pytest
from brownie import accounts
from conftest import TOPIC, digest
from errors import ZERO_ADDRESS, ZERO_BYTES32, custom_error, hexstr
from eth_utils import keccak

from peercare.core.ledger_ids import REPUTATION_LEAF_ENCODING, short_string
from peercare.core.merkle import StandardMerkleTree

DEFAULT_ADMIN_ROLE = b"\0" * 32
SHIPPING = short_string("shipping")


@pytest.fixture
def scores():
    """(advocate, topic, score) leaves of one epoch."""
    return [
        (accounts[4].address, TOPIC, 870),
        (accounts[4].address, SHIPPING, 120),
        (accounts[5].address, TOPIC, 455),
        (accounts[7].address, TOPIC, 0),
        (accounts[8].address, SHIPPING, 2**256 - 1),
    ]


@pytest.fixture
def tree(scores):
    return StandardMerkleTree.of(scores, REPUTATION_LEAF_ENCODING)


def test_constructor_grants_admin_role_only(ReputationRoots, admin, reputation_oracle):
    roots = ReputationRoots.deploy(admin, {"from": admin})

    assert roots.REPUTATION_ORACLE_ROLE() == hexstr(keccak(text="REPUTATION_ORACLE_ROLE"))
    assert roots.getRoleAdmin(roots.REPUTATION_ORACLE_ROLE()) == hexstr(DEFAULT_ADMIN_ROLE)
    assert roots.supportsInterface("0x7965db0b")  # IAccessControl
    assert roots.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert not roots.hasRole(roots.REPUTATION_ORACLE_ROLE(), admin)
    assert roots.latestEpoch() == 0


def test_constructor_refuses_zero_admin(ReputationRoots, admin):
    with brownie.reverts(custom_error(ReputationRoots, "InvalidAdmin")):
        ReputationRoots.deploy(ZERO_ADDRESS, {"from": admin})


# ---------------------------------------------------------------- publishRoot


def test_publish_root_records_epoch_root(roots, reputation_oracle, tree):
    tx = roots.publishRoot(1, tree.root, digest("manifest"), {"from": reputation_oracle})

    assert tx.events["ReputationRootPublished"] == {
        "epoch": 1,
        "root": hexstr(tree.root),
        "manifestDigest": hexstr(digest("manifest")),
    }
    assert roots.latestEpoch() == 1
    assert tuple(roots.rootOf(1)) == (hexstr(tree.root), tx.timestamp, 0)


def test_epochs_cannot_skip_ahead(roots, reputation_oracle):
    roots.publishRoot(1, digest("root 1"), digest("m1"), {"from": reputation_oracle})

    for epoch in (3, 10):
        with brownie.reverts(custom_error(roots, "EpochNotNext", epoch, 2)):
            roots.publishRoot(epoch, digest("root"), digest("m"), {"from": reputation_oracle})
    roots.publishRoot(2, digest("root 2"), digest("m2"), {"from": reputation_oracle})

    assert roots.latestEpoch() == 2


def test_the_last_epoch_number_cannot_end_all_epochs(roots, reputation_oracle):
    """Attack: one publication of epoch 2^64 - 1 left no later epoch to publish, ever."""
    last = 2**64 - 1
    with brownie.reverts(custom_error(roots, "EpochNotNext", last, 1)):
        roots.publishRoot(last, digest("root"), digest("m"), {"from": reputation_oracle})
    roots.publishRoot(1, digest("root 1"), digest("m1"), {"from": reputation_oracle})
    roots.publishRoot(2, digest("root 2"), digest("m2"), {"from": reputation_oracle})

    assert roots.latestEpoch() == 2


def test_publish_root_by_reputation_oracle_only(roots, admin, stranger):
    for account in (admin, stranger):
        with brownie.reverts(
            custom_error(roots, "AccessControlUnauthorizedAccount", account, roots.REPUTATION_ORACLE_ROLE())
        ):
            roots.publishRoot(1, digest("root"), digest("manifest"), {"from": account})


def test_revoked_reputation_oracle_loses_access_at_once(roots, admin, reputation_oracle):
    roots.publishRoot(1, digest("root 1"), digest("m"), {"from": reputation_oracle})

    roots.revokeRole(roots.REPUTATION_ORACLE_ROLE(), reputation_oracle, {"from": admin})

    with brownie.reverts(
        custom_error(roots, "AccessControlUnauthorizedAccount", reputation_oracle, roots.REPUTATION_ORACLE_ROLE())
    ):
        roots.publishRoot(2, digest("root 2"), digest("m"), {"from": reputation_oracle})
    assert roots.latestEpoch() == 1


def test_renounced_reputation_oracle_loses_access(roots, reputation_oracle, stranger):
    role = roots.REPUTATION_ORACLE_ROLE()
    with brownie.reverts(custom_error(roots, "AccessControlBadConfirmation")):
        roots.renounceRole(role, stranger, {"from": reputation_oracle})

    roots.renounceRole(role, reputation_oracle, {"from": reputation_oracle})

    with brownie.reverts(custom_error(roots, "AccessControlUnauthorizedAccount", reputation_oracle, role)):
        roots.publishRoot(1, digest("root"), digest("m"), {"from": reputation_oracle})


def test_epoch_zero_cannot_be_published(roots, reputation_oracle):
    with brownie.reverts(custom_error(roots, "EpochNotNext", 0, 1)):
        roots.publishRoot(0, digest("root"), digest("m"), {"from": reputation_oracle})


def test_equal_or_lower_epoch_is_refused(roots, reputation_oracle):
    for epoch in (1, 2, 3):
        roots.publishRoot(epoch, digest(f"root {epoch}"), digest("m"), {"from": reputation_oracle})

    with brownie.reverts(custom_error(roots, "EpochNotNext", 3, 4)):
        roots.publishRoot(3, digest("another root"), digest("m"), {"from": reputation_oracle})
    with brownie.reverts(custom_error(roots, "EpochNotNext", 2, 4)):
        roots.publishRoot(2, digest("root 2 again"), digest("m"), {"from": reputation_oracle})
    assert roots.rootOf(3)[0] == hexstr(digest("root 3"))


def test_empty_root_is_refused(roots, reputation_oracle):
    with brownie.reverts(custom_error(roots, "EmptyRoot")):
        roots.publishRoot(1, ZERO_BYTES32, digest("m"), {"from": reputation_oracle})
    assert roots.latestEpoch() == 0


# ---------------------------------------------------------------- views


def test_root_of_unpublished_epoch_is_refused(roots):
    assert roots.latestEpoch() == 0
    for epoch in (0, 1, 2**64 - 1):
        with brownie.reverts(custom_error(roots, "UnknownEpoch", epoch)):
            roots.rootOf(epoch)


def test_verify_score_accepts_every_published_score(roots, reputation_oracle, scores, tree):
    roots.publishRoot(1, tree.root, digest("manifest"), {"from": reputation_oracle})

    for index, (advocate, topic, score) in enumerate(scores):
        assert roots.verifyScore(1, advocate, topic, score, tree.proof(index))


def test_verify_score_rejects_a_wrong_score_topic_or_advocate(roots, reputation_oracle, scores, tree):
    roots.publishRoot(1, tree.root, digest("manifest"), {"from": reputation_oracle})
    advocate, topic, score = scores[0]
    proof = tree.proof(0)

    assert not roots.verifyScore(1, advocate, topic, score + 1, proof)
    assert not roots.verifyScore(1, advocate, SHIPPING, score, proof)
    assert not roots.verifyScore(1, scores[2][0], topic, score, proof)
    assert not roots.verifyScore(1, advocate, topic, score, tree.proof(1))


def test_verify_score_against_another_epoch_fails(roots, reputation_oracle, scores, tree):
    roots.publishRoot(1, tree.root, digest("manifest"), {"from": reputation_oracle})
    newer = StandardMerkleTree.of([(scores[0][0], TOPIC, 900), scores[2]], REPUTATION_LEAF_ENCODING)
    roots.publishRoot(2, newer.root, digest("manifest 2"), {"from": reputation_oracle})
    advocate, topic, score = scores[0]

    assert roots.verifyScore(1, advocate, topic, score, tree.proof(0))
    assert not roots.verifyScore(2, advocate, topic, score, tree.proof(0))
    assert roots.verifyScore(2, advocate, topic, 900, newer.proof(0))


def test_verify_score_for_unpublished_epoch_is_refused(roots, scores, tree):
    advocate, topic, score = scores[0]

    with brownie.reverts(custom_error(roots, "UnknownEpoch", 1)):
        roots.verifyScore(1, advocate, topic, score, tree.proof(0))


# ---------------------------------------------------------------- corrections


def test_a_wrong_root_is_corrected_by_the_admin_and_proofs_follow_the_correction(
    roots, admin, reputation_oracle, scores, tree
):
    """A wrong root (a faulty or compromised reputation oracle) made forged scores provable for
    ever. The admin replaces it: the epoch's proofs verify against the corrected root only."""
    forged = StandardMerkleTree.of([(scores[0][0], TOPIC, 10**6), scores[2]], REPUTATION_LEAF_ENCODING)
    published = roots.publishRoot(1, forged.root, digest("forged manifest"), {"from": reputation_oracle})
    assert roots.verifyScore(1, scores[0][0], TOPIC, 10**6, forged.proof(0))

    tx = roots.correctRoot(1, tree.root, digest("corrected manifest"), {"from": admin})

    assert tx.events["RootCorrected"] == {
        "epoch": 1,
        "previousRoot": hexstr(forged.root),
        "root": hexstr(tree.root),
        "manifestDigest": hexstr(digest("corrected manifest")),
    }
    assert tuple(roots.rootOf(1)) == (hexstr(tree.root), published.timestamp, tx.timestamp)
    assert not roots.verifyScore(1, scores[0][0], TOPIC, 10**6, forged.proof(0))
    for index, (advocate, topic, score) in enumerate(scores):
        assert roots.verifyScore(1, advocate, topic, score, tree.proof(index))
    assert roots.latestEpoch() == 1  # a correction is not a new epoch
    roots.publishRoot(2, forged.root, digest("m2"), {"from": reputation_oracle})


def test_correct_root_by_admin_only(roots, admin, reputation_oracle, stranger):
    roots.publishRoot(1, digest("root 1"), digest("m"), {"from": reputation_oracle})

    for account in (reputation_oracle, stranger):
        with brownie.reverts(custom_error(roots, "AccessControlUnauthorizedAccount", account, DEFAULT_ADMIN_ROLE)):
            roots.correctRoot(1, digest("better root"), digest("m"), {"from": account})
    assert roots.rootOf(1)[0] == hexstr(digest("root 1"))


def test_correct_root_refuses_unknown_epoch_empty_or_unchanged_root(roots, admin, reputation_oracle):
    with brownie.reverts(custom_error(roots, "UnknownEpoch", 1)):
        roots.correctRoot(1, digest("root"), digest("m"), {"from": admin})
    roots.publishRoot(1, digest("root 1"), digest("m"), {"from": reputation_oracle})
    with brownie.reverts(custom_error(roots, "EmptyRoot")):
        roots.correctRoot(1, ZERO_BYTES32, digest("m"), {"from": admin})
    with brownie.reverts(custom_error(roots, "RootUnchanged", 1, digest("root 1"))):
        roots.correctRoot(1, digest("root 1"), digest("m"), {"from": admin})
    with brownie.reverts(custom_error(roots, "UnknownEpoch", 2)):
        roots.correctRoot(2, digest("root 2"), digest("m"), {"from": admin})

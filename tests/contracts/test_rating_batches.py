"""Rating batches: a brand's oracle anchors the Merkle root of its ratings; the event is the record
(nothing is stored: one rating per rater and answer is the oracle's rule, checked off chain), and
nobody else can anchor under the brand."""

import brownie
from errors import custom_error, hexstr
from eth_utils import keccak, to_checksum_address

from peercare.core.ledger_ids import RATING_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree, verify


def _tree(n):
    leaves = [
        (
            keccak(text=f"question {i}"),
            to_checksum_address(f"0x{i + 1:040x}"),
            keccak(text=f"answer {i}"),
            1 + i % 5,
            i % 3,
            keccak(text=f"rater {i}"),
        )
        for i in range(n)
    ]
    return StandardMerkleTree.of(leaves, RATING_LEAF_ENCODING)


def test_the_brands_oracle_anchors_a_rating_batch_and_the_event_records_it(ledger, brand_id, oracle):
    tree = _tree(5)
    tx = ledger.anchorRatingBatch(brand_id, tree.root, 5, keccak(text="manifest"), {"from": oracle})

    assert tx.events["RatingBatchAnchored"] == {
        "brandId": brand_id,
        "batchRoot": hexstr(tree.root),
        "size": 5,
        "manifestDigest": hexstr(keccak(text="manifest")),
    }
    assert verify(tree.root, RATING_LEAF_ENCODING, tree.values[3], tree.proof(3))


def test_nobody_but_the_brands_oracle_anchors_ratings(ledger, brand_id, stranger, brand_admin):
    tree = _tree(2)
    for caller in (stranger, brand_admin):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, caller.address)):
            ledger.anchorRatingBatch(brand_id, tree.root, 2, keccak(text="m"), {"from": caller})


def test_an_empty_rating_batch_is_refused(ledger, brand_id, oracle):
    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.anchorRatingBatch(brand_id, b"\0" * 32, 3, keccak(text="m"), {"from": oracle})
    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.anchorRatingBatch(brand_id, _tree(1).root, 0, keccak(text="m"), {"from": oracle})


def test_rating_anchors_flow_while_the_ledger_is_paused(ledger, brand_id, oracle, pauser):
    """Pausing freezes money, not records (like answer batches)."""
    ledger.pause({"from": pauser})
    tx = ledger.anchorRatingBatch(brand_id, _tree(2).root, 2, keccak(text="m"), {"from": oracle})
    assert "RatingBatchAnchored" in tx.events


def test_an_unknown_brand_has_no_oracle_to_anchor_ratings(ledger, oracle):
    with brownie.reverts(custom_error(ledger, "NotBrandOracle", 999, oracle.address)):
        ledger.anchorRatingBatch(999, _tree(1).root, 1, keccak(text="m"), {"from": oracle})

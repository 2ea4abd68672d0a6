"""Routing batches: a brand's oracle anchors the Merkle root of its routing decisions; the event is
the record (nothing is stored), and nobody else can anchor under the brand."""

import brownie
from errors import custom_error, hexstr
from eth_utils import keccak, to_checksum_address

from peercare.core.ledger_ids import ROUTING_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree, verify

ZERO_ADDRESS = "0x" + "00" * 20


def _tree(n):
    commitment = keccak(text="decision")
    leaves = [
        (keccak(text=f"question {i}"), i % 3, to_checksum_address(f"0x{i + 1:040x}"), commitment) for i in range(n)
    ]
    return StandardMerkleTree.of([*leaves, (leaves[0][0], 0, ZERO_ADDRESS, commitment)], ROUTING_LEAF_ENCODING)


def test_the_brands_oracle_anchors_a_routing_batch_and_the_event_records_it(ledger, brand_id, oracle):
    tree = _tree(4)
    tx = ledger.anchorRoutingBatch(brand_id, tree.root, len(tree.values), keccak(text="manifest"), {"from": oracle})

    assert tx.events["RoutingBatchAnchored"] == {
        "brandId": brand_id,
        "batchRoot": hexstr(tree.root),
        "size": 5,
        "manifestDigest": hexstr(keccak(text="manifest")),
    }
    # What a routing proof checks off chain: the leaf's path to the root the event carries.
    assert verify(tree.root, ROUTING_LEAF_ENCODING, tree.values[2], tree.proof(2))


def test_nobody_but_the_brands_oracle_anchors_routing(ledger, brand_id, stranger, brand_admin):
    tree = _tree(2)
    for caller in (stranger, brand_admin):
        with brownie.reverts(custom_error(ledger, "NotBrandOracle", brand_id, caller.address)):
            ledger.anchorRoutingBatch(brand_id, tree.root, 3, keccak(text="m"), {"from": caller})


def test_an_empty_routing_batch_is_refused(ledger, brand_id, oracle):
    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.anchorRoutingBatch(brand_id, b"\0" * 32, 3, keccak(text="m"), {"from": oracle})
    with brownie.reverts(custom_error(ledger, "EmptyBatch")):
        ledger.anchorRoutingBatch(brand_id, _tree(1).root, 0, keccak(text="m"), {"from": oracle})


def test_routing_anchors_flow_while_the_ledger_is_paused(ledger, brand_id, oracle, pauser):
    """Pausing freezes money, not records (like answer batches)."""
    ledger.pause({"from": pauser})
    tx = ledger.anchorRoutingBatch(brand_id, _tree(2).root, 3, keccak(text="m"), {"from": oracle})
    assert "RoutingBatchAnchored" in tx.events


def test_an_unknown_brand_has_no_oracle(ledger, oracle):
    with brownie.reverts(custom_error(ledger, "NotBrandOracle", 999, oracle.address)):
        ledger.anchorRoutingBatch(999, _tree(1).root, 2, keccak(text="m"), {"from": oracle})

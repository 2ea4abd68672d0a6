"""`peercare.chain.views`: the one way the project reads the contracts' views, against a real anvil
with the contracts deployed (127.0.0.1:8665 unless PEERCARE_TEST_VIEWS_CHAIN_PORT says otherwise)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from peercare.chain.rpc import Rpc, RpcUnavailable
from peercare.chain.views import ViewFailed, read_view, read_views
from tests.support.devchain import DevLedger, start_dev_ledger

PORT = int(os.environ.get("PEERCARE_TEST_VIEWS_CHAIN_PORT", "8665"))
NO_SUCH_FUNCTION = "0xdeadbeef"  # a selector the ledger does not have: its fallback reverts


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevLedger]:
    chain, dev = start_dev_ledger(tmp_path_factory.mktemp("chain"), PORT, f"peercare-views-test-{PORT}")
    try:
        yield dev
    finally:
        chain.stop()


@pytest.fixture
def rpc(dev: DevLedger) -> Iterator[Rpc]:
    with Rpc(dev.url) as client:
        yield client


def test_a_view_read_is_decoded_by_its_types(dev: DevLedger, rpc: Rpc) -> None:
    ledger = dev.ledger
    data = ledger.encode_abi("pool", args=[dev.brand_id])
    assert read_view(rpc, ledger.address, data, ["uint128", "uint128"]) == tuple(
        ledger.functions.pool(dev.brand_id).call()
    )


def test_a_read_the_node_refuses_names_the_contract(dev: DevLedger, rpc: Rpc) -> None:
    with pytest.raises(ViewFailed, match=f"could not answer a read of {dev.ledger.address}"):
        read_view(rpc, dev.ledger.address, NO_SUCH_FUNCTION, ["uint256"])


def test_batched_reads_keep_their_order_and_name_the_one_that_failed(dev: DevLedger, rpc: Rpc) -> None:
    ledger, token = dev.ledger, dev.token
    pool = (ledger.address, ledger.encode_abi("pool", args=[dev.brand_id]))
    supply = (token.address, token.encode_abi("totalSupply"))
    assert read_views(rpc, [supply, supply], ["uint256"]) == [(token.functions.totalSupply().call(),)] * 2
    with pytest.raises(ViewFailed) as failed:
        read_views(rpc, [pool, pool, (ledger.address, NO_SUCH_FUNCTION)], ["uint128", "uint128"])
    assert failed.value.position == 2


def test_an_unreachable_node_is_unavailable_not_a_failed_read() -> None:
    with Rpc("http://127.0.0.1:9", max_attempts=1) as unreachable, pytest.raises(RpcUnavailable):
        read_view(unreachable, "0x" + "11" * 20, "0x", ["uint256"])

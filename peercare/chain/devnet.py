"""The local development chain's well-known accounts, and setting up a brand on it.

anvil derives its accounts from a public mnemonic: fine for a throwaway local chain (id 31337), and
never used anywhere else. `peercare demo`, the benchmarks and the tests all set brands up this way.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from peercare.chain.deployment import Deployment

MNEMONIC = "test test test test test test test test test test test junk"  # anvil's public dev mnemonic
DEPLOYER, ORACLE, BRAND_ADMIN = 0, 1, 2  # account indexes by role

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    """anvil's default account `index`."""
    account: LocalAccount = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account


#: Gas headroom over the node's estimate, in percent. An estimate is exact for the block it ran on;
#: the block that mines the call may differ (a write of `block.timestamp` that was a no-op in the
#: estimating second changes a slot in the next one: ReputationRoots.correctRoot ran out of gas so).
GAS_HEADROOM_PERCENT = 25


def transact(w3: Web3, sender: LocalAccount, call: Any) -> Any:
    """Sign and send a contract call from `sender`, wait for it, and insist that it succeeded."""
    estimate = call.estimate_gas({"from": sender.address})
    tx = call.build_transaction(
        {
            "from": sender.address,
            "nonce": w3.eth.get_transaction_count(sender.address),
            "gas": estimate * (100 + GAS_HEADROOM_PERCENT) // 100,
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction), poll_latency=0.05
    )
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {receipt['transactionHash'].hex()} reverted")
    return receipt


def register_funded_brand(
    w3: Web3, deployment: Deployment, *, admin: LocalAccount, oracle: str, funds: int, minter: LocalAccount
) -> int:
    """Register a brand paying in PeerCareToken with `oracle` as its oracle signer, mint `funds` to
    its admin and deposit them in its pool. Returns the brand id."""
    ledger = deployment.contract(w3, "PeerCareLedger")
    token = deployment.contract(w3, "PeerCareToken")
    transact(w3, minter, ledger.functions.registerBrand(admin.address, token.address, [oracle]))
    brand_id = int(ledger.functions.brandCount().call())
    if funds:
        transact(w3, minter, token.functions.mint(admin.address, funds))
        transact(w3, admin, token.functions.approve(ledger.address, funds))
        transact(w3, admin, ledger.functions.deposit(brand_id, funds))
    return brand_id

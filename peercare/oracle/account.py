"""The oracle's signing account, from the settings."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from peercare.config import LOCAL_CHAIN_ID, Settings

# anvil's account #1 (public dev key): the oracle's signer on the local chain only.
ANVIL_ORACLE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


class OracleConfigError(RuntimeError):
    """The oracle cannot start with these settings."""


def oracle_account(settings: Settings, chain_id: int) -> LocalAccount:
    if settings.oracle_key is not None:
        account: LocalAccount = Account.from_key(settings.oracle_key.get_secret_value())
        return account
    if chain_id == LOCAL_CHAIN_ID:
        account = Account.from_key(ANVIL_ORACLE_KEY)
        return account
    raise OracleConfigError(f"set PEERCARE_ORACLE_KEY: chain {chain_id} is not the local chain")

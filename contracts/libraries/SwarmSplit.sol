// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPeerCareLedger} from "../interfaces/IPeerCareLedger.sol";

/// @title Splitting a bounty across a swarm by basis points.
library SwarmSplit {
    uint256 internal constant TOTAL_BPS = 10_000;

    /// @notice Reverts unless the shares are non-empty, sum to exactly 10,000 basis points
    /// (`InvalidShares`) and name distinct members (`DuplicateSwarmMember`), none of them the zero
    /// address (`ZeroAddress`) or `ledger` itself (`SwarmMemberIsLedger`), whose earnings nobody
    /// could withdraw. Quadratic in the swarm's size, paid by the brand oracle that chose it.
    function validate(IPeerCareLedger.Share[] calldata shares, address ledger) internal pure {
        uint256 total = 0;
        uint256 count = shares.length;
        for (uint256 i; i < count; ++i) {
            address account = shares[i].account;
            if (account == address(0)) revert IPeerCareLedger.ZeroAddress();
            if (account == ledger) revert IPeerCareLedger.SwarmMemberIsLedger(account);
            for (uint256 j; j < i; ++j) {
                if (shares[j].account == account) revert IPeerCareLedger.DuplicateSwarmMember(account);
            }
            total += shares[i].bps;
        }
        if (count == 0 || total != TOTAL_BPS) revert IPeerCareLedger.InvalidShares(count, total);
    }

    /// @notice The floor of `bounty * bps / 10,000`; the sum over all shares is at most `bounty`.
    function amountOf(uint128 bounty, uint16 bps) internal pure returns (uint256) {
        return (uint256(bounty) * bps) / TOTAL_BPS;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IReputationRoots} from "./interfaces/IReputationRoots.sol";
import {Leaves} from "./libraries/Leaves.sol";

/// @title ReputationRoots
contract ReputationRoots is IReputationRoots, AccessControl {
    bytes32 public constant REPUTATION_ORACLE_ROLE = keccak256("REPUTATION_ORACLE_ROLE");

    mapping(uint64 epoch => EpochRoot) private _roots;
    uint64 private _latestEpoch;

    constructor(address admin) {
        if (admin == address(0)) revert InvalidAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IReputationRoots
    function publishRoot(uint64 epoch, bytes32 root, bytes32 manifestDigest)
        external
        onlyRole(REPUTATION_ORACLE_ROLE)
    {
        // One step at a time: no epoch number can jump to 2^64 - 1 and end all epochs.
        uint64 expected = _latestEpoch + 1;
        if (epoch != expected) revert EpochNotNext(epoch, expected);
        if (root == bytes32(0)) revert EmptyRoot();
        _latestEpoch = epoch;
        _roots[epoch] = EpochRoot({root: root, publishedAt: uint48(block.timestamp), correctedAt: 0});
        emit ReputationRootPublished(epoch, root, manifestDigest);
    }

    /// @inheritdoc IReputationRoots
    function correctRoot(uint64 epoch, bytes32 root, bytes32 manifestDigest) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (root == bytes32(0)) revert EmptyRoot();
        EpochRoot storage entry = _roots[epoch];
        bytes32 previous = entry.root;
        if (previous == bytes32(0)) revert UnknownEpoch(epoch);
        if (previous == root) revert RootUnchanged(epoch, root);
        entry.root = root;
        entry.correctedAt = uint48(block.timestamp);
        emit RootCorrected(epoch, previous, root, manifestDigest);
    }

    /// @inheritdoc IReputationRoots
    function latestEpoch() external view returns (uint64) {
        return _latestEpoch;
    }

    /// @inheritdoc IReputationRoots
    function rootOf(uint64 epoch) public view returns (EpochRoot memory) {
        EpochRoot memory entry = _roots[epoch];
        // Dismissed (incorrect-equality): a zero root means "never published"; publishRoot
        // refuses zero roots, so no published epoch can be mistaken for a missing one.
        // slither-disable-next-line incorrect-equality,timestamp
        if (entry.root == bytes32(0)) revert UnknownEpoch(epoch);
        return entry;
    }

    /// @inheritdoc IReputationRoots
    function verifyScore(uint64 epoch, address advocate, bytes32 topic, uint256 score, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, rootOf(epoch).root, Leaves.reputationLeaf(advocate, topic, score));
    }
}

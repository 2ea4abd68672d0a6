// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Published reputation roots.
/// @notice Per epoch, the reputation oracle publishes the Merkle root (OpenZeppelin
/// StandardMerkleTree format, leaf types `address, bytes32, uint256`) of every
/// (advocate, topic, score) computed from the public history. Anyone can then prove a score
/// against the chain with `verifyScore`. Epochs are numbered 1, 2, 3, ... with no gap, so the
/// epoch number can never be pushed to its maximum. A wrong root is superseded in place by the
/// admin (`correctRoot`): proofs of that epoch then verify against the corrected root only.
interface IReputationRoots {
    /// @notice A published epoch's root. One slot plus the root.
    struct EpochRoot {
        bytes32 root; // Merkle root of (advocate, topic, score) leaves; the corrected one if corrected
        uint48 publishedAt; // block timestamp of the first publication
        uint48 correctedAt; // block timestamp of the latest correction, 0 if never corrected
    }

    /// @notice The admin given to the constructor was the zero address.
    error InvalidAdmin();
    /// @notice Epochs are published in order: the next one must be exactly `expected`.
    error EpochNotNext(uint64 epoch, uint64 expected);
    /// @notice A root must be non-zero.
    error EmptyRoot();
    /// @notice No root was published for this epoch.
    error UnknownEpoch(uint64 epoch);
    /// @notice A correction must change the root.
    error RootUnchanged(uint64 epoch, bytes32 root);

    /// @notice A reputation root was published; `manifestDigest` addresses the list of its leaves.
    event ReputationRootPublished(uint64 indexed epoch, bytes32 root, bytes32 manifestDigest);
    /// @notice An epoch's root was replaced by a corrected one; `manifestDigest` addresses the
    /// corrected list of leaves. Proofs of the epoch verify against `root` from now on.
    event RootCorrected(uint64 indexed epoch, bytes32 previousRoot, bytes32 root, bytes32 manifestDigest);

    /// @notice Publish the root for `epoch`, which must be `latestEpoch() + 1`. Reputation oracle only.
    function publishRoot(uint64 epoch, bytes32 root, bytes32 manifestDigest) external;

    /// @notice Replace the root of an already published `epoch` by a corrected one. Admin only
    /// (`DEFAULT_ADMIN_ROLE`): a key the reputation oracle does not hold, so a compromised or
    /// faulty oracle cannot rewrite history, and an admin can undo what it published.
    function correctRoot(uint64 epoch, bytes32 root, bytes32 manifestDigest) external;

    /// @notice The latest published epoch (0 before any).
    function latestEpoch() external view returns (uint64);

    /// @notice The root of `epoch` (its corrected root if corrected); reverts with `UnknownEpoch` if none.
    function rootOf(uint64 epoch) external view returns (EpochRoot memory);

    /// @notice Whether `score` is `advocate`'s score in `topic` at `epoch`, given a Merkle proof
    /// against the epoch's current (corrected, if it was) root.
    function verifyScore(uint64 epoch, address advocate, bytes32 topic, uint256 score, bytes32[] calldata proof)
        external
        view
        returns (bool);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Ids and Merkle leaves shared by the contracts and the off-chain services.
/// @notice Leaves follow OpenZeppelin's StandardMerkleTree: keccak256(keccak256(abi.encode(values))),
/// so the reference JavaScript library (npm openzeppelin merkle-tree) builds and checks the same trees.
library Leaves {
    /// @notice Id of the question posted for a ticket: one (brand, source, ticket), one question.
    function questionId(uint64 brandId, bytes32 source, string calldata ticketId) internal pure returns (bytes32) {
        return keccak256(abi.encode(brandId, source, ticketId));
    }

    /// @notice Id of an answer; the same whether recorded directly or anchored in a batch.
    function answerId(bytes32 questionId_, address advocate, bytes32 contentDigest) internal pure returns (bytes32) {
        return keccak256(abi.encode(questionId_, advocate, contentDigest));
    }

    /// @notice Batch leaf of an answer (leaf types `bytes32, address, bytes32`).
    function answerLeaf(bytes32 answerId_) internal pure returns (bytes32) {
        return keccak256(bytes.concat(answerId_));
    }

    /// @notice Batch leaf of a question (leaf types `bytes32, uint32, bytes32, uint128, bytes32`).
    function questionLeaf(bytes32 questionId_, uint32 index, bytes32 topic, uint128 bounty, bytes32 contentDigest)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(questionId_, index, topic, bounty, contentDigest))));
    }

    /// @notice Reputation leaf (leaf types `address, bytes32, uint256`).
    function reputationLeaf(address advocate, bytes32 topic, uint256 score) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(advocate, topic, score))));
    }
}

"""The indexer's error: what the chain or the node answered and the indexer cannot make sense of."""

from __future__ import annotations


class IndexerError(RuntimeError):
    """The chain or the node answered something the indexer cannot make sense of."""

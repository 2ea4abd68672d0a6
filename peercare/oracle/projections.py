"""Projections of the ledger's events (owned by the indexer)."""

"""Reputation epochs on a real chain: publishing, recomputing, the CLI."""

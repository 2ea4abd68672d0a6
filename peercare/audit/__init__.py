"""`peercare audit verify`: check the whole public history from the chain and the content store
alone (see `peercare.audit.verify` and docs/audit.md)."""

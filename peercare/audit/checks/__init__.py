"""The audit's checks, one module per check, each run by `peercare.audit.verify.run_audit` in this
order and each returning (or filling) one `Section` of the report:

- `content`: each answer's block is present and hashes to its digest, or was erased on request;
- `batches`: each anchored batch's manifest rebuilds the anchored root and proves every leaf;
- `payouts`: payouts follow from acceptances; pools and earnings balance with the ledger's views;
- `reputation`: each published epoch recomputes to the root on chain;
- `database`: the oracle's own index equals the scratch index up to the block it reached;
- `routing`, `ratings`: routing decisions and rating batches;
- `questions`: question batches (manifests, tickets, repeats, escrow conservation);
- `common`: what they share: `AuditError`, the report (`Check`, `Entry`, `Section`, `AuditReport`),
  `Progress`, the scratch index (`ScratchIndex`).
"""

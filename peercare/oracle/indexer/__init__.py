"""The indexer: follows the ledger's events into the projections (`peercare.db.tables.projections`).

- `follower`: the `Indexer`: its cursor, the blocks `confirmations` behind the head, the logs and
  headers read from the node, one transaction per step, and rewinding reorganisations;
- `decoder`: the events projected, by contract, and their logs decoded with the contracts' ABI;
- `projectors`: one projector per event, the rows its log adds (`PROJECTORS`);
- `manifests`: the manifests of anchored batches, fetched, checked against the anchored root, and
  fetched again while missing;
- `admission`: which leaves of a batch become answers (those the ledger would accept);
- `rescan`: an index compared with a full rescan of the same blocks;
- `errors`: `IndexerError`; `chunks`: long lists cut for one RPC batch or one SQL `IN`.

Code outside the package imports from here, not from the modules.
"""

from peercare.oracle.indexer.errors import IndexerError
from peercare.oracle.indexer.follower import Indexer
from peercare.oracle.indexer.manifests import ContentSource
from peercare.oracle.indexer.rescan import rescan_differences

__all__ = ["ChainReader", "ContentSource", "Indexer", "IndexerError", "rescan_differences"]

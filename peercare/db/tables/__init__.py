"""Every table, grouped by owner: `oracle` (brands, webhook events, the oracle's questions and
answers, the outbox), `projections` (the chain's events as the indexer projects them, and reads
over them), `api` (keys, sign-in, routes) and `reputation` (published epochs). Importing this
package registers them all on `base.Base.metadata`: migrations and schema checks import it."""

from peercare.db.tables import api, oracle, projections, reputation

__all__ = ["api", "oracle", "projections", "reputation"]

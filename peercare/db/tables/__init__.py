"""Every table, grouped by owner: `oracle` (brands, webhook events, the oracle's questions and
answers, the outbox), `deliveries` (what the oracle tells the ticketing systems), `projections`
(the chain's events as the indexer projects them, and reads over them), `api` (keys, sign-in),
`routing` (rounds of offers, offers) and `reputation` (published epochs). Importing this package
registers them all on `base.Base.metadata`: migrations and schema checks import it."""

from peercare.db.tables import api, deliveries, oracle, projections, reputation, routing

__all__ = ["api", "deliveries", "oracle", "projections", "reputation", "routing"]

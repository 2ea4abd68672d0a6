"""Outbound deliveries: telling a brand's ticketing system what routing did, durably and exactly once
(docs/webhooks.md, "Outbound: what PeerCare sends back").

- `queue`: the durable queue: `enqueue` in the caller's transaction, the back-off between attempts,
  putting a parked delivery back;
- `sender`: the worker that attempts the due deliveries and records each outcome (retry, park);
- `clients`: sending ONE delivery to ONE system (generic signed POST, Zendesk, Freshdesk) and
  classifying the answer as delivered, retry or park; with `after_uncertain`, it first looks for the
  delivery's marker line on the ticket, so a retry never posts twice.
"""

"""The oracle: ticketing webhooks in, batched ledger transactions out, exactly once.

Webhook events are stored before they are acknowledged (`intake`), turned into questions, answers,
acceptances and ratings (`processor`), written to the chain through one persistent outbox and one
signer that owns the nonce (`signer`), and read back from the chain's events into projections
(`indexer`). All state lives in one database (`db`, `models`, `projections`).
"""

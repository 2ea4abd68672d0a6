"""`peercare demo`: a Stack Exchange dump replayed as a brand, through the generic webhook.

Replaying a plan (`plan.py`) against a running PeerCare, the way a brand would: the steps, in
order, and the module that owns each.

`peercare up` runs in another terminal; this process shares its data folder (the oracle's
database, where it configures the demo brand and its webhook secret like `peercare oracle brand`
and `peercare oracle webhook` do, and the content store, where advocates' answers are drafted
before they sign them, like the API's draft route does) and talks to its HTTP API and chain
(`connection.py`: `connect`, which also checks it is a PeerCare the demo can replay into):

1. set-up, idempotent (`brand_setup.py`: `set_up_brand`): find the brand by name in the oracle's
   database, or register one on the local chain (anvil #2 its admin, the oracle's signer its
   oracle); configure its topics, bounties and answer window; keep or create its generic webhook
   secret; top its pool up to the bounties of the questions not posted yet;
2. deliveries (`deliveries.py`: `send_all`, with the advocates' signed answers from
   `advocate_answers.py`), one at a time in plan order for each ticket and each advocate (the order
   the oracle handles them, hence the order of each advocate's signed answers and their nonces),
   re-sent on a second run and answered "duplicate" by the oracle;
   The plan is replayed in two halves with a reputation epoch between them, so that the second
   half is routed live: the replayed advocates accept or decline their offers by a stated rule,
   and a stand-in for the brand's system receives the deliveries (`offers.py`);
3. waiting for the oracle to handle every event, settle every chain write and index it, mining
   empty blocks on the local chain so that the last writes reach their confirmation depth
   (`progress.py`: `wait_for_oracle`);
4. a reputation epoch published through the oracle's outbox (or the latest one reused when it
   already covers this brand's history) (`epoch.py`: `publish_reputation`), then the summary, read
   from the indexed chain events (`summary.py`: `chain_figures`, `describe`).

`peercare demo` (`peercare/cli/demo.py`) runs these steps in this order; every step raises
`DemoError` (`errors.py`) when the demo cannot go on.
"""

"""Routes for brands: their configuration, webhook secrets, pool, questions and who they were
routed to, the outbound channels and deliveries to their ticketing systems, and their API keys,
one module per resource; `router` mounts them all.

Reads (`BrandReader`) are open to the brand's own keys and to auditor keys covering the brand;
writes (`BrandAdmin`) need the brand's key. The configuration is the oracle's (`db.tables.oracle.Brand`)
and the processor reads it per event, so a change applies to the next ticket. Pool figures and
question states come from the indexer's projections of the chain, with the ledger's own `pool()`
beside them; deposits are prepared here and signed by the funder's wallet, never by the oracle.
The models are in `peercare.api.schemas.brands`; a brand's export is an auditors' route.
"""

from __future__ import annotations

from fastapi import APIRouter

from peercare.api.routes.brands import configuration, deliveries, keys, pool, questions, webhooks

router = APIRouter(prefix="/api/v1", tags=["brands"])
# In this order in the schema's paths.
for resource in (configuration, webhooks, pool, questions, deliveries, keys):
    router.include_router(resource.router)

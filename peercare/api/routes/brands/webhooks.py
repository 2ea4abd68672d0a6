"""`/brands/{brand_id}/webhooks/{source}/secret`: a brand's webhook credentials per ticketing
system, created or rotated by its admin; the new secret is shown once and never again."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import APIRouter, Path

from peercare.api.intake import CREDENTIALS_TTL_S
from peercare.api.problems import Problem
from peercare.api.routes.brands.common import configured_brand, webhook_endpoint
from peercare.api.schemas.brands import SecretIn, WebhookSecretOut
from peercare.api.schemas.common import Source
from peercare.api.security import BrandAdmin, Context
from peercare.db.tables.oracle import WebhookCredential
from peercare.oracle.webhooks import FRESHDESK_TOKEN, GENERIC_SIGNATURE

router = APIRouter()

SourcePath = Annotated[Source, Path(description="The ticketing system")]


@router.post(
    "/brands/{brand_id}/webhooks/{source}/secret",
    summary="Create or rotate a webhook source's credentials; the new secret is shown once",
    responses={422: {"description": "zendesk without its signing secret, or a malformed secret"}},
)
def rotate_webhook_secret(
    brand_id: BrandAdmin, source: SourcePath, context: Context, body: SecretIn | None = None
) -> WebhookSecretOut:
    """Like `peercare oracle webhook`. The intake re-reads credentials every few seconds
    (`intake.CREDENTIALS_TTL_S`): until then the previous secret is still accepted, after that only
    the new one. A generic sender switches over without a refused delivery by signing with both
    secrets meanwhile (two `v1=` signatures in X-PeerCare-Signature)."""
    given = body.secret if body is not None else None
    if source == "zendesk" and given is None:
        raise Problem(422, "secret: zendesk signs with its own secret: send Zendesk's signing secret as `secret`")
    secret = given or secrets.token_urlsafe(32)
    username = password = None
    if source == "freshdesk":
        username, password = f"brand-{brand_id}", secrets.token_urlsafe(24)
    with context.database.transaction() as session:
        configured_brand(session, brand_id)
        row = session.get(WebhookCredential, (brand_id, source))
        rotated = row is not None
        row = row or WebhookCredential(brand_id=brand_id, source=source)
        row.secret = secret
        row.basic_username = username
        row.basic_password_sha256 = hashlib.sha256(password.encode()).hexdigest() if password else None
        session.add(row)
    notes = {
        "zendesk": "Zendesk signs with this secret; nothing to paste.",
        "freshdesk": f"Send the secret as {FRESHDESK_TOKEN} and the basic-auth credentials from the automation rule.",
        "generic": f"Sign with it; during the switch-over send both signatures in {GENERIC_SIGNATURE} (v1=old,v1=new).",
    }
    when = f"the previous credentials stop working within {CREDENTIALS_TTL_S:g} s. " if rotated else ""
    return WebhookSecretOut(
        source=source,
        endpoint=webhook_endpoint(brand_id, source),
        secret=secret,
        basic_username=username,
        basic_password=password,
        effective_within_s=CREDENTIALS_TTL_S,
        note=f"Shown once; {when}{notes[source]}",
    )

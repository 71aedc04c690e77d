"""Google: API keys (standard AIza..., auth AQ.) and service-account JSON share the provider ``google``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import google_api_key, google_service_account
from .model import Context, Verification

if TYPE_CHECKING:
    from ..http import CredentialClient


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    if secret.startswith(("AIza", "AQ.")):
        return google_api_key.verify(secret, context, client)
    return google_service_account.verify(secret, context, client)

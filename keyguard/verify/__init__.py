"""Live checks (``--verify``): is a found key live, how restricted, what quota, what scope.

``registry.py`` lists every check once: a provider whose check is one GET is a row of data
there (``simple.py`` runs it); a provider whose check needs logic is a small module here exposing
``CHECK`` and ``verify(secret: str, context: Context, client: CredentialClient) -> Verification``.
``verifier_for`` maps a rule's ``provider`` field (and, failing that, its rule id) to a check,
so exact rule ids matter little. Every call is a metadata call (list models, whoami, key info,
balance) sent by ``keyguard.http.CredentialClient`` to the provider's fixed https host; nothing in
a scanned file can change where a key goes (see ``context.py`` for the two values a file may
supply: an Azure resource name and an AWS secret, both checked by strict patterns).
"""
from __future__ import annotations

from .lookup import NO_LIVE_CHECK, check_of, module_for, names, verifier_for
from .model import STATUSES, Check, Context, Verification, Verifier, implied_severity

__all__ = ["NO_LIVE_CHECK", "Check", "Context", "Verification", "Verifier", "verifier_for",
           "module_for",
           "implied_severity", "STATUSES", "names", "check_of"]

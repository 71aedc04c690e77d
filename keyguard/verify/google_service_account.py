"""Google service-account keys: is the key still registered? Checked without using the key.

The check is Google's public certificate list for the account,
``GET www.googleapis.com/robot/v1/metadata/x509/<client_email>`` (kid -> certificate). The
private key never leaves this machine: keyguard looks for ``private_key_id`` among the kids and
compares the private key's RSA modulus with the certificate's public key.

Not done: the OAuth JWT token exchange (a POST to oauth2.googleapis.com/token) mints an access
token — it creates something, so it is outside the zero-cost policy; without a token the
account's IAM permissions (testIamPermissions) and whether the account is disabled stay unknown.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any, TYPE_CHECKING
from urllib.parse import quote

from .model import Check, Context, Verification
from ._common import body_json, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "www.googleapis.com"
EMAIL = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9-]{0,62}\.(?:iam\.gserviceaccount\.com|"
                   r"appspot\.gserviceaccount\.com|developer\.gserviceaccount\.com)")
KEY_ID = re.compile(r"[0-9a-f]{40}")
CHECK = Check(
    provider="Google service account (JSON key)",
    requests=(f"GET {HOST}/robot/v1/metadata/x509/<client_email>",),
    status="public certificate list, no key sent: `private_key_id` listed and its certificate "
           "matches the private key live; id absent, certificate mismatch or 404 (no such account) "
           "invalid; no `client_email`/`private_key_id` near the key unknown (nothing sent)",
    scope=("kind", "client_email", "project_id"),
    unknown=("IAM permissions (need an access token; keyguard does not mint tokens)",
             "whether the service account is disabled"),
)
UNKNOWN = list(CHECK.unknown)


def _fields(secret: str, companions: dict[str, str]) -> dict[str, str]:
    fields = dict(companions)
    try:
        data = json.loads(secret)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        fields.update({k: v for k, v in data.items() if isinstance(v, str)})
    elif "PRIVATE KEY" in secret:
        fields["private_key"] = secret
    return fields


def _der_items(data: bytes, pos: int = 0, end: int | None = None) -> list[tuple[int, bytes]]:
    """Top-level (tag, content) pairs of a DER blob."""
    end = len(data) if end is None else end
    items = []
    while pos < end:
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[pos:pos + n], "big")
            pos += n
        items.append((tag, data[pos:pos + length]))
        pos += length
    return items


def rsa_modulus(pem: str) -> bytes | None:
    """The modulus of a PKCS#8 or PKCS#1 RSA private key, as big-endian bytes; None if unreadable."""
    try:
        b64 = re.sub(r"-----[^-]+-----|\\n|\s", "", pem)
        der = base64.b64decode(b64)
        outer = _der_items(der)[0][1]
        parts = _der_items(outer)
        if len(parts) >= 3 and parts[1][0] == 0x30 and parts[2][0] == 0x04:  # PKCS#8
            parts = _der_items(_der_items(parts[2][1])[0][1])
        modulus = parts[1][1]
        return modulus.lstrip(b"\x00") or None
    except (ValueError, IndexError):
        return None


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    fields = _fields(secret, context.companions)
    email, key_id = fields.get("client_email", ""), fields.get("private_key_id", "")
    check = f"GET {HOST}/robot/v1/metadata/x509/<client_email>"
    scope: dict[str, Any] = {"kind": "service account"}
    if EMAIL.fullmatch(email):
        scope["client_email"] = email
    if isinstance(fields.get("project_id"), str) and re.fullmatch(r"[a-z][a-z0-9-]{4,29}", fields["project_id"]):
        scope["project_id"] = fields["project_id"]
    if not EMAIL.fullmatch(email) or not KEY_ID.fullmatch(key_id):
        return Verification("unknown", check, scope=scope, unknown=list(UNKNOWN), reasons=[
            "client_email or private_key_id not found next to the key: nothing to check"])
    path = f"/robot/v1/metadata/x509/{quote(email, safe='@.')}"
    answer = send(client, "GET", HOST, path)  # no credential: a public list
    if isinstance(answer, Verification):
        answer.check, answer.scope, answer.unknown = check, scope, list(UNKNOWN)
        return answer
    v = interpret(answer, secret, check, invalid=(404,), unknown_fields=UNKNOWN)
    v.scope.update(scope)
    if answer.status_code == 404:
        v.reasons = ["404: Google has no such service account (deleted)"]
        return v
    certs = body_json(answer)
    if v.status != "live" or not isinstance(certs, dict):
        return v
    if key_id not in certs:
        v.status = "invalid"
        v.reasons = ["private_key_id is not among the account's public keys: the key was "
                     "most likely deleted (inference)"]
        return v
    modulus = rsa_modulus(fields.get("private_key", ""))
    cert = str(certs[key_id])
    try:
        cert_der = base64.b64decode(re.sub(r"-----[^-]+-----|\s", "", cert))
    except ValueError:
        cert_der = b""
    if modulus is None:
        v.unknown.append("whether the private key matches (could not read it)")
        v.reasons = ["private_key_id is registered with Google (the private key was not readable)"]
    elif modulus in cert_der:
        v.reasons = ["private_key_id is registered with Google and its certificate matches the private key"]
    else:
        v.status = "invalid"
        v.reasons = ["the registered certificate does not match this private key"]
    return v

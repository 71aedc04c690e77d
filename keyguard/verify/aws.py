"""AWS access keys: STS GetCallerIdentity, signed with SigV4 using only hmac/hashlib.

GetCallerIdentity needs no permission and works even when it is explicitly denied; it reads the
account, ARN and user id and changes nothing. It is a GET with the signature in the
Authorization header (the secret never travels; only a signature made with it does).

The check needs the key id *and* its secret. The secret comes from a finding or a strictly
matched ``aws_secret_access_key`` value near the key id in the same file (see ``context.py``);
without it the result is ``unknown``. Pairing by proximity is a guess, so up to three nearby
candidates are tried in turn, and ``SignatureDoesNotMatch`` for all of them is ``unknown`` (the
key id exists, the secret found with it is not its own), never ``invalid``. Known canary-token accounts are not contacted at all, so a
check does not set off someone's alarm. Session keys (ASIA...) need their session token, and
Bedrock API keys (ABSK..., bedrock-api-key-...) have no documented zero-cost check: unknown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import base64
import datetime
import hashlib
import hmac
import re

from .model import Check, Context, Verification
from ._common import scrub, send

if TYPE_CHECKING:
    import requests

    from ..http import CredentialClient

HOST = "sts.amazonaws.com"
REGION, SERVICE = "us-east-1", "sts"
QUERY = "Action=GetCallerIdentity&Version=2011-06-15"
KEY_ID = re.compile(r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}")
SECRET = re.compile(r"[A-Za-z0-9+/]{40}")
CHECK = Check(
    provider="AWS (access keys; Bedrock API keys)",
    requests=(f"GET {HOST}/?Action=GetCallerIdentity (SigV4)",),
    status="200 live; `InvalidClientTokenId`, `ExpiredToken` invalid; `SignatureDoesNotMatch` "
           "for every nearby pairing (at most 3, the first re-signed once) unknown (pair mismatch: "
           "the key id exists); canary-token account, session key without its token, unpaired "
           "key id or secret, Bedrock API key: unknown (nothing sent)",
    scope=("kind", "account", "arn", "user_id", "canary", "pairing"),
    unknown=("permissions of the principal (GetCallerIdentity reads identity only)",),
    severity="critical: the account's root user key",
)
# Thinkst canarytokens.org accounts and look-alikes (trufflehog pkg/detectors/aws/access_keys/canary.go)
CANARY_ACCOUNTS = frozenset({
    "052310077262", "171436882533", "534261010715", "595918472158", "717712589309",
    "819147034852", "992382622183", "730335385048", "266735846894", "893192397702",
    "044858866125", "251535659677", "344043088457", "351906852752", "390477818340",
    "426127672474", "427150556519", "439872796651", "445142720921", "465867158099",
    "637958123769", "693412236332", "732624840810", "735421457923", "959235150393",
    "982842642351",
})


def account_from_key_id(key_id: str) -> str | None:
    """The 12-digit account id encoded in a key id (not for AKIAI/AKIAJ-era keys)."""
    if len(key_id) < 20 or key_id[4] in "IJ":
        return None
    try:
        raw = base64.b32decode(key_id[4:].upper() + "=" * (-len(key_id[4:]) % 8))
    except ValueError:
        return None
    number = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{number:012d}"


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """SigV4's derived key: HMAC chain over date, region, service and "aws4_request"."""
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sign(key_id: str, secret: str, now: datetime.datetime) -> dict[str, str]:
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join(["GET", "/", QUERY, f"host:{HOST}", f"x-amz-date:{amz_date}", "",
                           "host;x-amz-date", payload_hash])
    scope = f"{day}/{REGION}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, day, REGION, SERVICE)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"x-amz-date": amz_date, "Authorization":
            f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders=host;x-amz-date, "
            f"Signature={signature}"}


def _tag(xml: str, name: str) -> str | None:
    m = re.search(rf"<{name}>([^<]{{1,300}})</{name}>", xml)
    return m.group(1) if m else None


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"GET {HOST}/?Action=GetCallerIdentity (SigV4)"
    if secret.startswith("ABSK") or "bedrock-api-key-" in secret:
        return Verification("unknown", check, scope={"kind": "bedrock api key"},
                            unknown=[*CHECK.unknown,
                                     "liveness: no zero-cost check for Bedrock API keys is documented"],
                            reasons=["Bedrock API keys work only for Bedrock actions; "
                                     "not checked (no zero-cost call known)"])
    pairs = _pairs(secret, context.companions)
    key_id = pairs[0][0] if pairs else secret
    v = Verification("unknown", check, scope={"kind": "aws access key"}, unknown=list(CHECK.unknown))
    account = account_from_key_id(key_id) if KEY_ID.fullmatch(key_id) else None
    if account:
        v.scope["account"] = account
    if account in CANARY_ACCOUNTS:
        v.reasons = ["a known canary-token account: not checked, a check would alert its owner"]
        v.scope["canary"] = True
        return v
    if key_id.startswith("ASIA"):
        v.unknown.append("liveness: a temporary (ASIA) key needs its session token")
        v.reasons = ["temporary key without its session token: not checked"]
        return v
    pairs = [(k, s) for k, s in pairs if not k.startswith("ASIA")
             and account_from_key_id(k) not in CANARY_ACCOUNTS]
    if not pairs:
        v.unknown.append("liveness: the key id / secret pair is incomplete")
        v.reasons = ["no matching key id and secret access key found together: not checked"]
        return v
    for n, (key_id, aws_secret) in enumerate(pairs):
        answer, text, code = _call(client, key_id, aws_secret, resign=n == 0)
        if isinstance(answer, Verification):
            answer.check, answer.scope, answer.unknown = check, v.scope, v.unknown
            return answer
        if n + 1 < len(pairs) and (code == "SignatureDoesNotMatch" or (
                code == "InvalidClientTokenId" and pairs[n + 1][0] != key_id)):
            continue  # this pairing is wrong; the next candidate may be right
        break
    v.evidence = {"http_status": answer.status_code}
    if code:
        v.evidence["code"] = code
        message = _tag(text, "Message")
        if message:
            v.evidence["reason"] = scrub(message, aws_secret)
    if len(pairs) > 1:
        v.scope["pairing"] = f"{n + 1} of {len(pairs)} nearby candidates"
    if account_from_key_id(key_id):
        v.scope["account"] = account_from_key_id(key_id)
    if answer.status_code == 200:
        v.status = "live"
        for tag, name in (("Arn", "arn"), ("Account", "account"), ("UserId", "user_id")):
            value = _tag(text, tag)
            if value:
                v.scope[name] = value
        v.reasons = ["GetCallerIdentity answered: the key pair is live"]
        if v.scope.get("arn", "").endswith(":root"):
            v.severity = "critical"
            v.reasons.append("the account's root user key")
    elif code == "SignatureDoesNotMatch":
        v.unknown.append("liveness: no secret found near the key id signs for it")
        v.reasons = [f"SignatureDoesNotMatch for all {len(pairs)} pairing(s) tried: AWS knows the key "
                     "id, but the secret found near it is not its own (a pair mismatch), so "
                     "whether the key is live is unknown"]
    elif code in ("InvalidClientTokenId", "ExpiredToken"):
        v.status = "invalid"
        v.reasons = [{"InvalidClientTokenId": "InvalidClientTokenId: AWS does not know this key id",
                      "ExpiredToken": "ExpiredToken: the key has expired"}[code]]
    elif answer.status_code >= 500:
        v.status = "error"
        v.reasons = [f"{answer.status_code}: provider error"]
    else:
        v.reasons = [f"{answer.status_code} {code or ''}: not a documented answer".strip()]
    return v


def _pairs(secret: str, companions: dict[str, str]) -> list[tuple[str, str]]:
    """(key id, secret) candidates, nearest first: the found half with each companion."""
    def listed(name: str) -> list[str]:
        return [companions[k] for k in (name, f"{name}_2", f"{name}_3") if k in companions]

    if KEY_ID.fullmatch(secret):
        return [(secret, s) for s in listed("aws_secret") if SECRET.fullmatch(s)]
    if SECRET.fullmatch(secret):
        return [(k, secret) for k in listed("aws_key_id") if KEY_ID.fullmatch(k)]
    return []


def _call(client: CredentialClient, key_id: str, aws_secret: str, *,
          resign: bool) -> tuple[requests.Response | Verification, str, str | None]:
    """One signed GetCallerIdentity: (answer, body text, error code)."""
    for attempt in range(2 if resign else 1):
        headers = _sign(key_id, aws_secret, datetime.datetime.now(datetime.timezone.utc))
        answer = send(client, "GET", HOST, f"/?{QUERY}", headers=headers)
        if isinstance(answer, Verification):
            return answer, "", None
        text = answer.text[:20000]
        code = _tag(text, "Code")
        if code != "SignatureDoesNotMatch":
            break  # a mismatch can be spurious on rapid re-signing: sign again once
    return answer, text, code

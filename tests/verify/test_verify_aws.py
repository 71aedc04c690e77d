"""AWS: SigV4-signed GetCallerIdentity against a stand-in STS that checks the signature itself."""
from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re

from keyguard.verify import aws

from ..standin import Recorded, StandIn, reply
from ..verify_support import check, client_for, fake

HOST = "sts.amazonaws.com"
OK_XML = ("<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/ci"
          "</Arn><UserId>AIDAEXAMPLEUSERID</UserId><Account>{account}</Account>"
          "</GetCallerIdentityResult></GetCallerIdentityResponse>")


def error_xml(code: str, message: str) -> str:
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error></ErrorResponse>")


def key_id_for_account(account: str, seed: int = 3) -> str:
    """An AKIA key id that encodes ``account`` (the inverse of the documented decoding)."""
    rnd = random.Random(seed)
    while True:
        raw = ((int(account) << 7) | rnd.randrange(128)).to_bytes(6, "big") + rnd.randbytes(4)
        key_id = "AKIA" + base64.b32encode(raw).decode()
        if key_id[4] not in "IJ":
            return key_id


def sts(secret: str, key_id: str, account: str = "123456789012"):
    """A stand-in STS that verifies SigV4 as AWS would (a second, independent implementation)."""
    def handler(request: Recorded):
        auth = request.headers.get("authorization", "")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/us-east-1/sts/aws4_request, "
                         r"SignedHeaders=host;x-amz-date, Signature=([0-9a-f]{64})", auth)
        if not m or m.group(1) != key_id:
            return reply(403, error_xml("InvalidClientTokenId", "The security token included in the request is invalid."))
        path, _, query = request.path.partition("?")
        date = request.headers["x-amz-date"]
        canonical = f"GET\n{path}\n{query}\nhost:{HOST}\nx-amz-date:{date}\n\nhost;x-amz-date\n" \
                    + hashlib.sha256(request.body).hexdigest()
        string = f"AWS4-HMAC-SHA256\n{date}\n{m.group(2)}/us-east-1/sts/aws4_request\n" \
                 + hashlib.sha256(canonical.encode()).hexdigest()
        k = ("AWS4" + secret).encode()
        for part in (m.group(2), "us-east-1", "sts", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        if hmac.new(k, string.encode(), hashlib.sha256).hexdigest() != m.group(3):
            return reply(403, error_xml("SignatureDoesNotMatch", "The request signature we calculated does not match"))
        return reply(200, OK_XML.format(account=account), {"Content-Type": "text/xml"})
    return handler


def test_signing_key_matches_the_aws_documentation_example():
    # docs.aws.amazon.com "Examples of how to derive a signing key for Signature Version 4"
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # keyguard:allow (AWS documentation example)
    assert aws.signing_key(secret, "20120215", "us-east-1", "iam").hex() == \
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_account_id_decodes_from_the_key_id():
    assert aws.account_from_key_id(key_id_for_account("123456789012")) == "123456789012"


def test_live_pair_reads_identity_and_secret_never_travels():
    key_id, secret = key_id_for_account("123456789012"), fake("aws-secret")
    with StandIn({("GET", "/"): sts(secret, key_id)}) as server:
        v = check("aws", key_id, client_for(server, HOST), "aws-access-key-id", aws_secret=secret)
    assert v.status == "live", v.reasons
    assert v.scope["arn"] == "arn:aws:iam::123456789012:user/ci" and v.scope["account"] == "123456789012"
    [sent] = server.requests
    assert sent.method == "GET" and sent.path == "/?Action=GetCallerIdentity&Version=2011-06-15"
    assert secret not in sent.path and secret not in str(sent.headers) and not sent.body


def test_a_secret_that_does_not_sign_is_a_pair_mismatch_not_a_dead_key():
    """SignatureDoesNotMatch says the key id exists and the nearby secret is not its own."""
    key_id = key_id_for_account("123456789012")
    with StandIn({("GET", "/"): sts(fake("aws-secret", 1), key_id)}) as server:
        v = check("aws", key_id, client_for(server, HOST), aws_secret=fake("aws-secret", 2))
    assert v.status == "unknown" and v.evidence["code"] == "SignatureDoesNotMatch"
    assert "pair mismatch" in v.reasons[0]
    assert len(server.requests) == 2  # re-signed once: a mismatch can be spurious


def test_each_nearby_secret_is_tried_until_one_signs():
    key_id, right = key_id_for_account("123456789012"), fake("aws-secret", 7)
    wrong = [fake("aws-secret", 8), fake("aws-secret", 9)]
    with StandIn({("GET", "/"): sts(right, key_id)}) as server:
        v = check("aws", key_id, client_for(server, HOST), aws_secret=wrong[0], aws_secret_2=wrong[1],
                  aws_secret_3=right)
    assert v.status == "live" and v.scope["pairing"] == "3 of 3 nearby candidates"
    assert len(server.requests) == 4  # the first pairing re-signed once, then one each


def test_pairings_are_bounded_and_all_mismatching_is_unknown(tmp_path):
    from keyguard.model import Finding, Rule
    from keyguard.verify.context import MAX_PAIRINGS, context_for

    key_id = key_id_for_account("123456789012")
    secrets = [fake("aws-secret", 20 + n) for n in range(5)]
    lines = [f"aws_access_key_id = {key_id}"] + [f"aws_secret_access_key = {s}" for s in secrets]
    (tmp_path / "creds").write_text("\n".join(lines) + "\n")
    rule = Rule(id="aws-access-key-id", provider="aws", name="k", description="", regex="", keywords=(),
                severity="critical", remediation="")
    f = Finding(rule=rule, secret=key_id, path="creds", line=1, column=21, end_column=41,
                severity="critical", root=str(tmp_path))
    ctx = context_for(f, [f])
    assert [ctx.companions.get(k) for k in ("aws_secret", "aws_secret_2", "aws_secret_3")] == secrets[:3]
    assert len(ctx.companions) == MAX_PAIRINGS and "5 possible AWS pairings" in ctx.notes[0]
    with StandIn({("GET", "/"): sts(fake("aws-secret", 99), key_id)}) as server:
        v = check("aws", key_id, client_for(server, HOST), **ctx.companions)
    assert v.status == "unknown" and len(server.requests) == MAX_PAIRINGS + 1


def test_unknown_key_id_is_invalid():
    with StandIn({("GET", "/"): sts("x" * 40, "AKIA" + "A" * 16)}) as server:
        v = check("aws", key_id_for_account("210987654321"), client_for(server, HOST),
                  aws_secret=fake("aws-secret"))
    assert v.status == "invalid" and v.evidence["code"] == "InvalidClientTokenId"


def test_incomplete_pair_canary_session_and_bedrock_keys_send_nothing():
    canary = key_id_for_account("052310077262")
    with StandIn({("GET", "/"): reply(500)}) as server:
        client = client_for(server, HOST)
        alone = check("aws", fake("aws-id"), client)
        trap = check("aws", canary, client, aws_secret=fake("aws-secret"))
        session = check("aws", "ASIA" + fake("aws-id")[4:], client, aws_secret=fake("aws-secret"))
        bedrock = check("aws", "ABSK" + "Q" * 120, client, "aws-bedrock-api-key")
    assert server.requests == []
    assert alone.status == "unknown" and any("pair is incomplete" in u for u in alone.unknown)
    assert trap.status == "unknown" and trap.scope["canary"] is True
    assert session.status == "unknown" and bedrock.status == "unknown"


def test_pair_given_from_the_secret_side():
    key_id, secret = key_id_for_account("123456789012"), fake("aws-secret")
    with StandIn({("GET", "/"): sts(secret, key_id)}) as server:
        v = check("aws", secret, client_for(server, HOST), "aws-secret-access-key", aws_key_id=key_id)
    assert v.status == "live"


def test_every_declared_field_is_produced():
    from keyguard.verify import check_of

    produced: set[str] = set()
    for account, role in (("123456789012", "root"), ("052310077262", "user/ci")):
        key_id, secret = key_id_for_account(account), fake("aws-secret")
        body = OK_XML.format(account=account).replace("user/ci", role)
        handler = sts(secret, key_id, account)
        routes = {("GET", "/"): lambda r, h=handler, b=body: (lambda a: a if a[0] != 200 else reply(200, b))(h(r))}
        with StandIn(routes) as server:
            v = check("aws", key_id, client_for(server, HOST), aws_secret=fake("aws-secret", 5),
                      aws_secret_2=secret)
        produced |= set(v.scope)
        if account == "123456789012":
            assert v.status == "live" and v.severity == "critical"
    assert produced == set(check_of("aws").scope)

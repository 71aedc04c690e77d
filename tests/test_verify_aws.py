"""AWS: SigV4-signed GetCallerIdentity against a stand-in STS that checks the signature itself."""
from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re

from keyguard.verify import aws

from .standin import Recorded, StandIn, reply
from .verify_support import check, client_for, fake

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


def test_wrong_secret_is_invalid_after_one_resign():
    key_id = key_id_for_account("123456789012")
    with StandIn({("GET", "/"): sts(fake("aws-secret", 1), key_id)}) as server:
        v = check("aws", key_id, client_for(server, HOST), aws_secret=fake("aws-secret", 2))
    assert v.status == "invalid" and v.evidence["code"] == "SignatureDoesNotMatch"
    assert len(server.requests) == 2


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

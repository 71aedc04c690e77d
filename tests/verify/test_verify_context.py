"""Azure OpenAI hosts, AWS pairs and service-account fields come only from the key's own file."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from keyguard.http import CredentialClient, EndpointError
from keyguard.model import Finding, Rule
from keyguard.verify.run import verify_findings

from ..standin import StandIn, reply
from .test_verify_aws import key_id_for_account, sts
from ..verify_support import fake


def rule(provider: str, rule_id: str, severity: str = "high") -> Rule:
    return Rule(id=rule_id, provider=provider, name=rule_id, description="", regex="", keywords=(),
                severity=severity, remediation="")


def finding_in(path: Path, secret: str, r: Rule) -> Finding:
    text = path.read_text()
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if secret in line)
    column = text.splitlines()[line_no - 1].index(secret) + 1
    return Finding(rule=r, secret=secret, path=path.name, root=str(path.parent), line=line_no,
                   column=column, end_column=column + len(secret), severity=r.severity)


def test_azure_host_from_the_same_file_gets_the_key_in_a_header(tmp_path):
    key = fake("azure-openai")
    env = tmp_path / "settings.env"
    env.write_text(f"AZURE_OPENAI_ENDPOINT=https://acme-prod.openai.azure.com/\nAZURE_OPENAI_API_KEY={key}\n")
    f = finding_in(env, key, rule("azure-openai", "azure-openai-key"))
    with StandIn({("GET", "/openai/models"): reply(200, {"data": []})}) as server:
        verify_findings([f], CredentialClient({"acme-prod.openai.azure.com": server.url}, min_interval=0))
    assert f.verification["status"] == "live" and f.verification["scope"]["resource"] == "acme-prod"
    [sent] = server.requests
    assert sent.path == "/openai/models?api-version=2024-10-21" and sent.headers["api-key"] == key


class RecordingClient(CredentialClient):
    """Records the real host each request was meant for (the override hides it from the server)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hosts: list[str] = []

    def url_for(self, host, path):
        self.hosts.append(host)
        return super().url_for(host, path)


@pytest.mark.parametrize("line,host", [
    ("ENDPOINT=https://evil.example/acme.openai.azure.com.evil.example/", None),
    ("ENDPOINT=https://acme.openai.azure.com.evil.example/", None),
    ("ENDPOINT=https://acme.openai.azure.com-evil.example/", None),
    ("ENDPOINT=https://a.b.openai.azure.com/", None),
    ("", None),
    # a label plus Microsoft's fixed suffix is all that is taken, wherever it sits
    ("ENDPOINT=https://evil.example/?h=x.openai.azure.com@evil.example", "x.openai.azure.com"),
])
def test_only_a_label_under_microsofts_suffix_is_used(tmp_path, line, host):
    key = fake("azure-openai")
    env = tmp_path / "settings.env"
    env.write_text(f"{line}\nAZURE_OPENAI_API_KEY={key}\n")
    f = finding_in(env, key, rule("azure-openai", "azure-openai-key"))
    with StandIn({("GET", "*"): reply(200, {})}) as server:
        client = RecordingClient({"*.openai.azure.com": server.url, "evil.example": server.url},
                                 min_interval=0)
        verify_findings([f], client)
    if host is None:
        assert f.verification["status"] == "unknown" and server.requests == [] and client.hosts == []
    else:
        assert client.hosts == [host] and f.verification["status"] == "live"


def test_azure_firewall_answer_is_a_network_restriction(tmp_path):
    key = fake("azure-openai")
    env = tmp_path / "a.env"
    env.write_text(f"endpoint: res1.openai.azure.com\napi_key: {key}\n")
    f = finding_in(env, key, rule("azure-openai", "azure-openai-key"))
    body = {"error": {"code": "403", "message": "Access denied due to Virtual Network/Firewall rules."}}
    with StandIn({("GET", "/openai/models"): reply(403, body)}) as server:
        verify_findings([f], CredentialClient({"*.openai.azure.com": server.url}, min_interval=0))
    assert f.verification["status"] == "unknown" and f.verification["restrictions"]["network"] == "restricted"


def test_aws_pair_from_two_findings_is_checked_once(tmp_path):
    key_id, secret = key_id_for_account("123456789012"), fake("aws-secret")
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    findings = [finding_in(creds, key_id, rule("aws", "aws-access-key-id")),
                finding_in(creds, secret, rule("aws", "aws-secret-access-key"))]
    with StandIn({("GET", "/"): sts(secret, key_id)}) as server:
        checks = verify_findings(findings, CredentialClient({"sts.amazonaws.com": server.url}, min_interval=0))
    assert checks == 1 and len(server.requests) == 1
    assert [f.verification["status"] for f in findings] == ["live", "live"]


def test_aws_secret_read_from_the_file_when_no_rule_found_it(tmp_path):
    key_id, secret = key_id_for_account("123456789012"), fake("aws-secret")
    creds = tmp_path / "config.py"
    creds.write_text(f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{secret}"\n')
    f = finding_in(creds, key_id, rule("aws", "aws-access-key-id"))
    with StandIn({("GET", "/"): sts(secret, key_id)}) as server:
        verify_findings([f], CredentialClient({"sts.amazonaws.com": server.url}, min_interval=0))
    assert f.verification["status"] == "live"


def test_same_key_in_two_files_is_checked_once_and_unlisted_host_is_refused(tmp_path):
    key = fake("groq")
    for name in ("a.env", "b.env"):
        (tmp_path / name).write_text(f"GROQ_API_KEY={key}\n")
    findings = [finding_in(tmp_path / n, key, rule("groq", "groq-api-key")) for n in ("a.env", "b.env")]
    with StandIn({("GET", "/openai/v1/models"): reply(401, {})}) as server:
        assert verify_findings(findings, CredentialClient({"api.groq.com": server.url}, min_interval=0)) == 1
    assert len(server.requests) == 1
    assert [f.severity for f in findings] == ["low", "low"]
    with pytest.raises(EndpointError):
        verify_findings(findings, CredentialClient({"api.openai.com": server.url}, min_interval=0))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_service_account_key_matched_against_public_certificates(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=test", "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem")],
                   check=True, capture_output=True)
    private_key, cert = (tmp_path / "k.pem").read_text(), (tmp_path / "c.pem").read_text()
    key_id = "0123456789abcdef" * 2 + "01234567"
    email = "ci-deployer@acme-prod-1.iam.gserviceaccount.com"
    sa = {"type": "service_account", "project_id": "acme-prod-1", "private_key_id": key_id,
          "private_key": private_key, "client_email": email}
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(sa, indent=2))
    pem_line = json.dumps(private_key)[1:-1]
    f = finding_in(path, pem_line, rule("google", "google-service-account"))
    f.secret = private_key  # the rule found the private key; fields come from the file
    route = ("GET", f"/robot/v1/metadata/x509/{email}")
    with StandIn({route: reply(200, {key_id: cert, "f" * 40: "x"})}) as server:
        verify_findings([f], CredentialClient({"www.googleapis.com": server.url}, min_interval=0))
    assert f.verification["status"] == "live", f.verification
    assert f.verification["scope"]["client_email"] == email
    [sent] = server.requests
    assert "authorization" not in sent.headers and private_key[40:80] not in str(sent)
    with StandIn({route: reply(200, {"f" * 40: cert})}) as server:
        f.verification = None
        verify_findings([f], CredentialClient({"www.googleapis.com": server.url}, min_interval=0))
    assert f.verification["status"] == "invalid"

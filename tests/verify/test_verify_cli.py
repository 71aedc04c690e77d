"""`keyguard scan --verify` and `keyguard verify` end to end, with stand-ins via KEYGUARD_ENDPOINTS."""
from __future__ import annotations

import json
import os

import jsonschema

from ..helpers import invoke
from ..standin import StandIn, reply, slow
from ..cli.test_cli import SARIF_SCHEMA

GEMINI = "generativelanguage.googleapis.com"
LIVE_GEMINI = reply(200, {"models": [{"name": "models/gemini-2.5-pro"}]})
INVALID_OPENAI = reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                       "code": "invalid_api_key"}})


def env_for(**hosts: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYGUARD_")}
    env["KEYGUARD_ENDPOINTS"] = ",".join(f"{h}={u}" for h, u in hosts.items())
    env["KEYGUARD_VERIFY_TIMEOUT"] = "0.5"
    return env


def project(tmp_path, make_key):
    google, openai = make_key("google-api-key"), make_key("openai-project-key")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "firebase.js").write_text(f'const firebaseConfig = {{ apiKey: "{google}" }};\n')
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={openai}\n")
    return google, openai


def test_scan_verify_sets_verdicts_severity_and_sarif_level(tmp_path, make_key):
    google, openai = project(tmp_path, make_key)
    with StandIn({("GET", "*"): LIVE_GEMINI}) as gemini, StandIn({("GET", "*"): INVALID_OPENAI}) as oai:
        env = env_for(**{GEMINI: gemini.url, "api.openai.com": oai.url})
        p = invoke("scan", str(tmp_path), "--verify", "--format", "json", env=env)
        s = invoke("scan", str(tmp_path), "--verify", "--format", "sarif", env=env)
        gh = invoke("scan", str(tmp_path), "--verify", "--format", "github", env=env)
    assert p.returncode == 1, p.stderr
    by_rule = {f["rule_id"]: f for f in json.loads(p.stdout)["findings"]}
    g, o = by_rule["google-api-key"], by_rule["openai-project-key"]
    assert g["verification"]["status"] == "live" and g["severity"] == "critical"
    assert g["verification"]["restrictions"]["gemini_reachable"] is True
    assert o["verification"]["status"] == "invalid" and o["severity"] == "low"
    assert o["verification"]["evidence"] == {"http_status": 401, "code": "invalid_api_key",
                                             "type": "invalid_request_error",
                                             "reason": "Incorrect API key provided"}
    for report in (p.stdout, s.stdout, gh.stdout):
        assert google not in report and openai not in report
    annotations = sorted(gh.stdout.splitlines())
    assert annotations[0].startswith("::error ") and "[critical]" in annotations[0]
    assert "live check: live" in annotations[0]
    assert annotations[1].startswith("::notice ") and "live check: invalid" in annotations[1]
    sarif = json.loads(s.stdout)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["google-api-key"]["level"] == "error"
    assert results["google-api-key"]["properties"]["security-severity"] == "9.5"
    assert results["openai-project-key"]["level"] == "note"
    assert results["openai-project-key"]["properties"]["verification"]["status"] == "invalid"
    # each host got its own key only, in a header, on the metadata path, once per run
    to_gemini = {(r.method, r.path, r.headers.get("x-goog-api-key"), r.headers.get("authorization"))
                 for r in gemini.requests}
    to_openai = {(r.method, r.path, r.headers.get("x-goog-api-key"), r.headers.get("authorization"))
                 for r in oai.requests}
    assert to_gemini == {("GET", "/v1beta/models", google, None)} and len(gemini.requests) == 3
    assert to_openai == {("GET", "/v1/models", None, f"Bearer {openai}")} and len(oai.requests) == 3
    assert not any(openai in str(r) for r in gemini.requests)
    assert not any(google in str(r) for r in oai.requests)


def test_nothing_is_sent_without_verify(tmp_path, make_key):
    project(tmp_path, make_key)
    with StandIn({("GET", "*"): LIVE_GEMINI}) as server:
        p = invoke("scan", str(tmp_path), "--format", "json",
                         env=env_for(**{GEMINI: server.url, "api.openai.com": server.url}))
    assert p.returncode == 1 and server.requests == []
    assert all(f["verification"] is None for f in json.loads(p.stdout)["findings"])


def test_non_loopback_override_and_unlisted_host_exit_2(tmp_path, make_key):
    project(tmp_path, make_key)
    p = invoke("scan", str(tmp_path), "--verify",
                     env=env_for(**{GEMINI: "http://203.0.113.9:80", "api.openai.com": "http://127.0.0.1:9"}))
    err = p.stderr
    assert p.returncode == 2 and "only loopback targets" in err and "Traceback" not in err
    with StandIn({("GET", "*"): LIVE_GEMINI}) as server:
        p = invoke("scan", str(tmp_path), "--verify", env=env_for(**{GEMINI: server.url}))
    assert p.returncode == 2 and "does not list" in p.stderr
    assert all(r.path == "/v1beta/models" for r in server.requests)  # openai's key went nowhere


def test_slow_provider_is_an_error_not_a_hang(tmp_path, make_key):
    google = make_key("google-api-key")
    (tmp_path / "k.env").write_text(f"GOOGLE_API_KEY={google}\n")
    with StandIn({("GET", "/v1beta/models"): slow(2.0, LIVE_GEMINI)}) as server:
        p = invoke("scan", str(tmp_path), "--verify", "--format", "json", env=env_for(**{GEMINI: server.url}))
    [f] = json.loads(p.stdout)["findings"]
    assert f["verification"]["status"] == "error" and f["severity"] == "high"


def test_verify_command_reads_a_show_secrets_report_and_stdin(tmp_path, make_key):
    google, openai = project(tmp_path, make_key)
    plain = invoke("scan", str(tmp_path), "--format", "json", env=env_for())
    (tmp_path / "plain.json").write_text(plain.stdout)
    full = invoke("scan", str(tmp_path), "--format", "json", "--show-secrets", env=env_for())
    (tmp_path / "full.json").write_text(full.stdout)
    with StandIn({("GET", "/v1beta/models"): LIVE_GEMINI, ("GET", "/v1/models"): INVALID_OPENAI}) as server:
        env = env_for(**{GEMINI: server.url, "api.openai.com": server.url})
        no_secrets = invoke("verify", str(tmp_path / "plain.json"), env=env)
        from_report = invoke("verify", str(tmp_path / "full.json"), "--format", "json", env=env)
        from_stdin = invoke("verify", "-", "--format", "json", stdin=f"{openai}\n", env=env)
    assert no_secrets.returncode == 2 and "--show-secrets" in no_secrets.stderr
    assert from_report.returncode == 1  # a live key
    statuses = {f["rule_id"]: f["verification"]["status"] for f in json.loads(from_report.stdout)["findings"]}
    assert statuses == {"google-api-key": "live", "openai-project-key": "invalid"}
    assert google not in from_report.stdout
    assert from_stdin.returncode == 0  # the only key is invalid
    [f] = json.loads(from_stdin.stdout)["findings"]
    assert f["verification"]["status"] == "invalid" and openai not in from_stdin.stdout
    assert len(server.requests) == 3


def test_history_scan_verifies_each_key_once_across_commits(tmp_path, make_key):
    from ..sources.test_git import commit, git

    google = make_key("google-api-key")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.js").write_text(f'const apiKey = "{google}";\n')
    commit(repo, "add key")
    (repo / "config.js").write_text(f'export const KEY = "{google}";\n')
    (repo / "app.js").write_text("const apiKey = process.env.KEY;\n")
    commit(repo, "move key")
    (repo / "config.js").unlink()
    commit(repo, "remove key")
    with StandIn({("GET", "/v1beta/models"): LIVE_GEMINI}) as server:
        p = invoke("scan", str(repo), "--history", "--verify", "--format", "json",
                         env=env_for(**{GEMINI: server.url}))
    assert p.returncode == 1, p.stderr
    findings = json.loads(p.stdout)["findings"]
    assert len(findings) >= 2 and all(f["commit"] for f in findings)  # found only in history
    assert {f["verification"]["status"] for f in findings} == {"live"}
    assert {f["severity"] for f in findings} == {"critical"}
    [sent] = server.requests
    assert sent.headers["x-goog-api-key"] == google and google not in p.stdout


def test_url_scan_verifies_keys_found_on_a_site(tmp_path, make_key):
    google = make_key("google-api-key")
    site = {("GET", "/"): reply(200, '<html><script src="/app.js"></script></html>',
                                {"Content-Type": "text/html"}),
            ("GET", "/app.js"): reply(200, f'const firebaseConfig = {{ apiKey: "{google}" }};\n',
                                      {"Content-Type": "application/javascript"})}
    with StandIn(site) as web, StandIn({("GET", "/v1beta/models"): LIVE_GEMINI}) as provider:
        p = invoke("scan", web.url + "/", "--verify", "--format", "json",
                         env=env_for(**{GEMINI: provider.url}))
    assert p.returncode == 1, p.stderr
    [f] = json.loads(p.stdout)["findings"]
    assert f["path"] == web.url + "/app.js" and f["verification"]["status"] == "live"
    assert [r.headers.get("x-goog-api-key") for r in provider.requests] == [google]
    assert all(google not in r.path and "x-goog-api-key" not in r.headers for r in web.requests)


def _run_with_terminal_stderr(args: list[str], env: dict[str, str]) -> tuple[int, bytes, str]:
    """Run keyguard with stderr on a pseudo-terminal (as in a shell); (exit code, stdout, stderr)."""
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "keyguard", *args], stdout=subprocess.PIPE,
                           stderr=slave, stdin=subprocess.DEVNULL, env=env, timeout=120)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return p.returncode, p.stdout, b"".join(chunks).decode(errors="replace")


def test_progress_is_shown_on_a_terminal_only(tmp_path, make_key):
    google, openai = project(tmp_path, make_key)
    with StandIn({("GET", "/v1beta/models"): LIVE_GEMINI, ("GET", "/v1/models"): INVALID_OPENAI}) as server:
        env = env_for(**{GEMINI: server.url, "api.openai.com": server.url})
        code, out, terminal = _run_with_terminal_stderr(
            ["scan", str(tmp_path), "--verify", "--format", "json"], env)
        piped = invoke("scan", str(tmp_path), "--verify", "--format", "json", env=env)
    assert code == 1 and "verified 2/2 keys" in terminal
    assert google not in terminal and openai not in terminal
    assert "verified" not in piped.stderr and "verified" not in out.decode()


def test_text_report_shows_what_was_read_and_fail_on_follows_the_verdict(tmp_path, make_key):
    google, openai = project(tmp_path, make_key)
    with StandIn({("GET", "/v1beta/models"): LIVE_GEMINI, ("GET", "/v1/models"): INVALID_OPENAI}) as server:
        env = env_for(**{GEMINI: server.url, "api.openai.com": server.url})
        text = invoke("verify", "-", stdin=f"{google}\n", env=env)
        only_invalid = invoke("scan", str(tmp_path / ".env"), "--verify", "--fail-on", "medium", env=env)
        unverified = invoke("scan", str(tmp_path / ".env"), "--fail-on", "medium", env=env)
    out = text.stdout
    assert text.returncode == 1 and "verification: live" in out
    assert "restrictions: referrer=none, api=unknown" in out and "gemini_reachable=true" in out
    assert google not in out
    assert "verification: invalid" in only_invalid.stdout and "LOW" in only_invalid.stdout
    assert only_invalid.returncode == 0 and unverified.returncode == 1  # invalid -> low < medium

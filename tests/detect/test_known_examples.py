"""Published example keys (Firebase SDK fixtures, AWS docs) are data with a source, never findings."""
from __future__ import annotations

import json
from pathlib import Path

from keyguard.detect.judge import KNOWN_EXAMPLES_NAME, known_examples
from keyguard.ruleset import builtin_rules_dir, load_rules

from ..helpers import key, scan_json, write

FIREBASE_SNIPPET = """const firebaseConfig = {{
  apiKey: "{key}",
  authDomain: "demo-app.firebaseapp.com",
  projectId: "demo-app",
}};
"""


def test_every_entry_names_its_source_and_is_key_shaped() -> None:
    data = json.loads((builtin_rules_dir() / KNOWN_EXAMPLES_NAME).read_text())
    rules = load_rules()
    assert len(data["examples"]) >= 18
    for entry in data["examples"]:
        assert entry["source"].strip(), entry["value"]
        # each entry is something a rule would report: the list is not dead weight
        assert any(reported(r, entry["value"]) for r in rules if r.provider == entry["provider"]), entry


def reported(rule, value: str) -> bool:
    """``rule`` matches ``value`` whole, or as its secret where a client secret is assigned."""
    if rule.compiled.fullmatch(value):
        return True
    m = rule.compiled.search(f'"client_secret": "{value}"')
    return m is not None and "secret" in m.groupdict() and m.group("secret") == value


def test_firebase_sample_keys_are_not_reported_but_a_real_shape_is(tmp_path: Path) -> None:
    samples = [v for v in known_examples() if v.startswith("AIza")]
    for i, sample in enumerate(samples):
        write(tmp_path / f"sample{i}" / "firebase.js", FIREBASE_SNIPPET.format(key=sample))
    write(tmp_path / "app" / "firebase.js", FIREBASE_SNIPPET.format(key=key("google-api-key", 5)))
    code, findings = scan_json(tmp_path, ".", "--no-config")
    assert code == 1
    assert [f["path"] for f in findings] == ["app/firebase.js"]


def test_aws_documentation_pair_is_not_reported(tmp_path: Path) -> None:
    pair = sorted(v for v in known_examples() if "EXAMPLE" in v)
    assert len(pair) == 2
    write(tmp_path / "credentials", "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n".format(*pair))
    code, findings = scan_json(tmp_path, ".", "--no-config")
    assert (code, findings) == (0, [])


def test_gclouds_public_client_secret_in_an_adc_file_is_not_reported_but_its_refresh_token_is(
        tmp_path: Path) -> None:
    """``gcloud auth application-default login`` writes its own public client's id and secret
    into every authorized_user file: the refresh token beside them is the secret."""
    public = next(v for v, src in known_examples().items() if "application-default login" in src)
    refresh = key("google-oauth-refresh-token", 7)
    write(tmp_path / "application_default_credentials.json", json.dumps({
        "client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "client_secret": public, "refresh_token": refresh, "type": "authorized_user"}, indent=2))
    code, findings = scan_json(tmp_path, ".", "--no-config")
    assert code == 1
    assert [f["rule_id"] for f in findings] == ["google-oauth-refresh-token"]

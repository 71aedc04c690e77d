"""The command line as a user runs it: exit codes, formats, errors, stdin."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ..conftest import ROOT
from ..helpers import invoke, scan_report

SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"  # copy of ../shared/sarif (OASIS)


def _tree(tmp_path: Path, make_key) -> tuple[Path, str, str]:
    g = make_key("google-api-key")
    o = make_key("openai-project-key")
    (tmp_path / "app").mkdir()
    (tmp_path / ".env").write_text(f"GEMINI_API_KEY={g}\n")
    (tmp_path / "app" / "client.py").write_text(f'import openai\n\nclient = openai.OpenAI(api_key="{o}")\n')
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "index.js").write_text(f"var k='{g}';\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(f"token={o}\n")
    return tmp_path, g, o


def test_clean_tree_exits_0(tmp_path):
    (tmp_path / "a.py").write_text("print('hello')\n")
    p = invoke("scan", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "0 findings" in p.stdout


def test_findings_exit_1_redacted_and_relative(tmp_path, make_key):
    root, g, o = _tree(tmp_path, make_key)
    p = invoke("scan", str(root))
    assert p.returncode == 1
    out = p.stdout
    assert g not in out and o not in out
    assert ".env" in out and "app/client.py" in out and "node_modules" not in out
    code, doc = scan_report(str(root))
    got = {(f["path"], f["rule_id"], f["line"]) for f in doc["findings"]}
    assert got == {(".env", "google-api-key", 1), ("app/client.py", "openai-project-key", 3)}
    env = next(f for f in doc["findings"] if f["path"] == ".env")
    assert env["origin"]["variable"] == "GEMINI_API_KEY"
    assert env["column"] == 16 and env["end_column"] == 16 + len(g)
    assert env["commit"] is None and env["verification"] is None
    import hashlib
    assert env["secret_sha256"] == hashlib.sha256(g.encode()).hexdigest()
    assert g not in json.dumps(doc)
    assert doc["stats"]["skipped"].get("vendored directory") == 1


def test_include_vendored_and_file_target(tmp_path, make_key):
    root, g, _ = _tree(tmp_path, make_key)
    _, doc = scan_report(str(root), "--include-vendored")
    assert any(f["path"] == "node_modules/pkg/index.js" for f in doc["findings"])
    target = str(root / ".env")
    _, doc = scan_report(target)
    assert [f["path"] for f in doc["findings"]] == [target]


def test_show_secrets(tmp_path, make_key):
    root, g, _ = _tree(tmp_path, make_key)
    p = invoke("scan", str(root / ".env"), "--show-secrets")
    assert g in p.stdout


def test_stdin(make_key):
    g = make_key("google-api-key")
    p = invoke("scan", "-", "--format", "json", stdin=f"x = '{g}'\n")
    assert p.returncode == 1
    [f] = json.loads(p.stdout)["findings"]
    assert f["path"] == "-" and f["line"] == 1


def test_sarif_is_valid_and_has_no_secret(tmp_path, make_key):
    root, g, o = _tree(tmp_path, make_key)
    out = tmp_path / "out.sarif"
    p = invoke("scan", str(root), "--format", "sarif", "--output", str(out))
    assert p.returncode == 1
    text = out.read_text()
    assert g not in text and o not in text
    doc = json.loads(text)
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA.read_text()))
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "security-severity" in rules["google-api-key"]["properties"]
    assert rules["google-api-key"]["help"]["markdown"]
    res = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]}
    assert set(res) == {".env", "app/client.py"}
    loc = res[".env"]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert loc["region"]["startLine"] == 1 and loc["region"]["startColumn"] == 16
    assert "snippet" not in loc["region"]
    assert list(res[".env"]["partialFingerprints"]) == ["keyguardSecret/v1"]


def test_sarif_srcroot_joined_with_a_uri_is_the_file(tmp_path, make_key):
    """%SRCROOT% is the root directory's URI (``file:///`` for ``/``, not ``file:////``) and
    joined with the result's uri names the scanned file."""
    from urllib.parse import unquote, urljoin, urlparse

    target = tmp_path / "sub dir" / "a.env"
    target.parent.mkdir()
    target.write_text(f"GEMINI_API_KEY={make_key('google-api-key')}\n")
    for cwd in ("/", tmp_path):
        p = invoke("scan", str(target), "--format", "sarif", cwd=cwd)
        assert p.returncode == 1, p.stderr
        run = json.loads(p.stdout)["runs"][0]
        base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        assert unquote(urlparse(base).path) == str(Path(cwd).resolve()).rstrip("/") + "/", base
        uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert unquote(urljoin(base, uri)) == unquote(target.as_uri())


def test_sarif_fingerprint_is_content_based(tmp_path, make_key):
    g = make_key("google-api-key")
    (tmp_path / "a.txt").write_text(f"k={g}\n")
    (tmp_path / "b.txt").write_text(f"\n\n\nother = '{g}'\n")
    p = invoke("scan", str(tmp_path), "--format", "sarif")
    results = json.loads(p.stdout)["runs"][0]["results"]
    assert len(results) == 2
    assert results[0]["partialFingerprints"] == results[1]["partialFingerprints"]


def test_github_format(tmp_path, make_key):
    root, g, _ = _tree(tmp_path, make_key)
    p = invoke("scan", str(root), "--format", "github")
    lines = p.stdout.splitlines()
    assert any(line.startswith("::error file=.env,line=1,col=16") for line in lines)
    assert g not in p.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_report_that_cannot_be_written_is_a_one_line_error_exit_2(tmp_path, make_key):
    """A full disk on standard output: exit 2 (not 1, which would read as findings; not 0)."""
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("nothing here\n")
    (tmp_path / "b.env").write_text(f"GEMINI_API_KEY={make_key('google-api-key')}\n")
    for target in ("a.txt", "."):
        with open("/dev/full", "w") as full:
            p = subprocess.run([sys.executable, "-m", "keyguard", "scan", target, "--format", "json"],
                               cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
        assert p.returncode == 2, p.stderr
        assert p.stderr == "Error: cannot write to standard output: No space left on device\n"
    p = invoke("scan", str(tmp_path), "--output", "/dev/full")
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr


def test_output_to_a_pipe_is_written_in_place(tmp_path, make_key):
    import os
    import threading

    root, g, _ = _tree(tmp_path, make_key)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("data", fifo.read_bytes()))
    reader.start()
    p = invoke("scan", str(root / ".env"), "--format", "json", "--output", str(fifo))
    reader.join(30)
    assert p.returncode == 1
    assert json.loads(got["data"])["findings"]
    assert fifo.is_fifo()


def test_usage_errors_exit_2(tmp_path):
    assert invoke("scan", str(tmp_path / "missing")).returncode == 2
    assert invoke("scan", "--format", "xml", str(tmp_path)).returncode == 2


def test_bad_rules_file_names_file_and_rule(tmp_path):
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("rules: [\n")
    p = invoke("scan", "--rules", str(bad_yaml), str(tmp_path))
    assert p.returncode == 2 and "bad.yml" in p.stderr and "Traceback" not in p.stderr
    bad_yaml.write_text("provider: acme\nrules:\n  - id: acme-key\n   name: [Acme\n")
    p = invoke("scan", "--rules", str(bad_yaml), str(tmp_path))
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr  # one line, with the place
    assert p.stderr.startswith(f"Error: {bad_yaml}: not valid YAML (line 4): ")
    bad_re = tmp_path / "badre.yml"
    bad_re.write_text(
        "provider: acme\nrules:\n  - id: acme-key\n    name: Acme\n    regex: 'acme_[a-z'\n"
        "    keywords: [acme_]\n    severity: high\n"
    )
    p = invoke("scan", "--rules", str(bad_re), str(tmp_path))
    assert p.returncode == 2 and "badre.yml" in p.stderr and "acme-key" in p.stderr
    slow = tmp_path / "slow.yml"
    slow.write_text(
        "provider: acme\nrules:\n  - id: acme-slow\n    name: Acme\n    regex: '(acme_[a-z]+)+x'\n"
        "    keywords: [acme_]\n    severity: high\n"
    )
    p = invoke("scan", "--rules", str(slow), str(tmp_path))
    assert p.returncode == 2 and "acme-slow" in p.stderr and "linear-time" in p.stderr


def test_user_rules_file(tmp_path):
    rules = tmp_path / "acme.yml"
    rules.write_text(
        "provider: acme\nremediation: rotate it\nrules:\n  - id: acme-key\n    name: Acme key\n"
        "    regex: 'acme_[a-z0-9]{24}'\n    keywords: [acme_]\n    severity: medium\n"
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("token: acme_k3j9x0q2m7v8b1n4z6c5l2p9\n")
    code, doc = scan_report(str(tmp_path / "src"), "--rules", str(rules))
    assert code == 1 and [f["rule_id"] for f in doc["findings"]] == ["acme-key"]


def test_unreadable_and_special_files_are_skipped(tmp_path, make_key):
    import os
    g = make_key("google-api-key")
    (tmp_path / "ok.txt").write_text(f"k={g}\n")
    os.symlink(tmp_path / "nowhere", tmp_path / "broken")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop").mkdir()
    os.symlink(tmp_path / "loop", tmp_path / "loop" / "again")
    code, doc = scan_report(str(tmp_path))
    assert code == 1 and len(doc["findings"]) == 1
    skipped = doc["stats"]["skipped"]
    assert skipped.get("broken or non-file symlink", 0) >= 2  # the broken link and the dir link
    assert skipped.get("not a regular file") == 1


def test_binary_file_is_scanned(tmp_path, make_key):
    g = make_key("google-api-key")
    (tmp_path / "app.bin").write_bytes(b"\x00\x01\x02ELF\x00" + g.encode() + b"\x00\xff\xfe" * 10)
    code, doc = scan_report(str(tmp_path))
    assert code == 1 and doc["findings"][0]["rule_id"] == "google-api-key"


def test_odd_file_names_keep_reports_valid(tmp_path, make_key):
    import os
    g = make_key("google-api-key")
    (tmp_path / "new\nline.env").write_text(f"K={g}\n")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.env"), "w") as fh:
        fh.write(f"K={g}\n")
    code, doc = scan_report(str(tmp_path))
    assert sorted(f["path"] for f in doc["findings"]) == ["caf\\xe9.env", "new\nline.env"]
    p = invoke("scan", str(tmp_path), "--format", "sarif")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(p.stdout)["runs"][0]["results"]}
    assert len(uris) == 2 and "new%0Aline.env" in uris and all("\n" not in u for u in uris)


def test_utf16_strings_inside_a_binary_are_found(tmp_path, make_key):
    g = make_key("google-api-key")
    blob = b"MZ\x90\x00" + b"\x00\x01" * 50 + f"ApiKey={g}".encode("utf-16-le") + b"\x00\x00\xff" * 20
    (tmp_path / "app.exe").write_bytes(blob)
    code, doc = scan_report(str(tmp_path))
    [f] = doc["findings"]
    assert f["rule_id"] == "google-api-key" and f["origin"]["encoding"] == "utf-16-le"

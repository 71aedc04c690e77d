"""Planted keys never leave through a side door: error messages, DEBUG logging, temp files,
caches, crash messages. keyguard has no --debug flag; its libraries' logging at DEBUG level
stands in for it.

A leak is the full key or any 12-character slice of it that its redacted form does not show."""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from keyguard.model import redact

from ..helpers import RULES, key

KEYS = {rule_id: key(rule_id, 900 + i) for i, rule_id in enumerate(
    ["google-api-key", "openai-project-key", "anthropic-api-key", "huggingface-token"])}


# each rule's fixed prefix ("sk-ant-api03-"): rule help texts show it, it tells nothing
FIXED = {rule_id: len(os.path.commonprefix([secret, key(rule_id, 1900)])) for rule_id, secret in KEYS.items()}


def leaks(text: str) -> list[str]:
    out = []
    for rule_id, secret in KEYS.items():
        shown = redact(secret, RULES[rule_id].keywords)
        for i in range(len(secret) - 11):
            piece = secret[i:i + 12]
            if i + 12 > FIXED[rule_id] and piece in text and piece not in shown:
                out.append(f"{rule_id}: {piece!r}")
                break
    return out


def plant(tree: Path) -> None:
    tree.mkdir(parents=True, exist_ok=True)
    (tree / ".env").write_text("".join(f"KEY_{i}={k}\n" for i, k in enumerate(KEYS.values())))
    (tree / "app.js").write_text(f'const gemini = "{KEYS["google-api-key"]}";\n')


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, code: str | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``keyguard ARGS`` in a subprocess (``code`` runs first in the same interpreter)."""
    prog = (code or "") + "\nimport sys\nfrom keyguard.cli import main\nsys.argv = ['keyguard', *sys.argv[1:]]\nmain()\n"
    return subprocess.run([sys.executable, "-c", prog, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, input=stdin)


@pytest.fixture
def site():
    """A page whose script URL carries a key in its query string, as Maps embeds do."""
    gemini = KEYS["google-api-key"]
    pages = {"/": (f'<script src="/maps.js?key={gemini}&v=3"></script>', "text/html"),
             "/maps.js": ("var loaded = true;", "application/javascript")}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:
            body, ctype = pages.get(self.path.split("?")[0], ("not found", "text/plain"))
            self.send_response(200 if self.path.split("?")[0] in pages else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_error_paths_never_echo_a_key(tmp_path):
    gemini, openai = KEYS["google-api-key"], KEYS["openai-project-key"]
    cases = []
    # a key pasted where a fingerprint belongs
    cases.append((["allow", gemini, "--reason", "oops"], tmp_path))
    # a config file broken on the very line that holds a key
    bad_yaml = tmp_path / "bad-yaml"
    plant(bad_yaml)
    (bad_yaml / ".keyguard.yaml").write_text(f'allow:\n  - fingerprint: "{gemini}\n    reason: [x\n')
    cases.append((["scan", "."], bad_yaml))
    wrong_value = tmp_path / "wrong-value"
    plant(wrong_value)
    (wrong_value / ".keyguard.yaml").write_text(f'allow:\n  - fingerprint: "{openai}"\n    reason: x\n')
    cases.append((["scan", "."], wrong_value))
    # a baseline that is not JSON, with a key in it
    (tmp_path / "baseline.json").write_text(f'{{"entries": ["{openai}", ')
    cases.append((["scan", str(bad_yaml / "app.js"), "--baseline", "baseline.json", "--no-config"], tmp_path))
    # a URL scan whose start URL carries a key and cannot be fetched (nothing listens on port 9)
    cases.append((["scan", f"http://127.0.0.1:9/?key={gemini}", "--timeout", "2"], tmp_path))
    for args, cwd in cases:
        r = run(args, cwd)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert leaks(r.stdout + r.stderr) == [], (args, r.stderr)


def test_debug_logging_holds_no_key(tmp_path, site):
    """Every library logger at DEBUG (there is no --debug flag): a file scan and a URL scan whose
    script URL has ``?key=`` in it. urllib3 logs request lines, query strings included."""
    plant(tmp_path / "tree")
    _commit(tmp_path / "tree", {})
    debug = "import logging, sys\nlogging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
    for args in (["scan", "tree"], ["scan", "tree", "--format", "json", "-j", "2"],
                 ["scan", "tree", "--history"], ["scan", site + "/"]):
        r = run(args, tmp_path, code=debug)
        assert r.returncode == 1, r.stderr
        assert leaks(r.stdout + r.stderr) == [], (args, r.stderr[-2000:])
    # the same logging set-up does show a plain requests.get's query string: the check can fail
    control = subprocess.run([sys.executable, "-c", debug + "import requests\nrequests.get(sys.argv[1])",
                              f"{site}/maps.js?key={KEYS['google-api-key']}"],
                             capture_output=True, text=True, timeout=60)
    assert leaks(control.stderr) != [], control.stderr
    found = json.loads(run(["scan", site + "/", "--format", "json"], tmp_path).stdout)
    assert {f["path"] for f in found["findings"]} == {site + "/"}  # the key in the page is found


def _commit(tree: Path, env: dict[str, str]) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q", str(tree)], ["-C", str(tree), "add", "-A"],
                 ["-C", str(tree), "commit", "-q", "-m", "keys"]):
        subprocess.run([*git, *args], check=True, env={**os.environ, **env}, capture_output=True)


def _all_files(top: Path) -> dict[str, str]:
    return {str(p.relative_to(top)): p.read_bytes().decode("utf-8", "replace")
            for p in top.rglob("*") if p.is_file()}


def test_no_temp_files_or_caches_hold_a_key(tmp_path):
    """TMPDIR and HOME point to empty folders: after file, parallel, git-history and report-file
    runs, TMPDIR is empty again and nothing under HOME holds a key."""
    tmp, home = tmp_path / "tmp", tmp_path / "home"
    tmp.mkdir()
    home.mkdir()
    tree = tmp_path / "tree"
    plant(tree)
    for i in range(250):  # enough files for worker processes
        (tree / f"f{i:03}.txt").write_text(f"line {i}\n")
    env = {"TMPDIR": str(tmp), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "GIT_CONFIG_NOSYSTEM": "1"}
    _commit(tree, env)
    (tree / "staged.env").write_text(f"OPENAI_API_KEY={KEYS['openai-project-key']}\n")
    subprocess.run(["git", "-C", str(tree), "add", "staged.env"], check=True, env={**os.environ, **env})
    home_before = set(_all_files(home))
    out = tmp_path / "out"
    out.mkdir()
    for args in (["scan", "tree", "-j", "2", "--format", "sarif", "-o", "out/report.sarif"],
                 ["scan", "tree", "--history", "--format", "json", "-o", "out/history.json"],
                 ["scan", "tree", "--staged"],
                 ["scan", "-", "--format", "github"]):
        r = run(args, tmp_path, env=env, stdin=(tree / ".env").read_text())
        assert r.returncode == 1 and "Traceback" not in r.stderr, (args, r.stderr)
        assert leaks(r.stdout + r.stderr) == []
    assert sorted(os.listdir(out)) == ["history.json", "report.sarif"]  # no temp file left beside
    assert leaks("".join(_all_files(out).values())) == []
    assert list(tmp.iterdir()) == []
    created = {name: text for name, text in _all_files(home).items() if name not in home_before}
    assert created == {}, sorted(created)  # keyguard writes only what the user named


def test_an_internal_error_is_one_line_without_its_message(tmp_path):
    """A bug whose exception text quotes the scanned text: the user sees its type and place,
    not the message (nor a traceback)."""
    plant(tmp_path / "tree")
    boom = ("import keyguard.detect.engine as engine\n"
            "def scan(self, st, stats=None):\n"
            "    raise ValueError('cannot handle ' + st.text)\n"
            "engine.Engine.scan = scan\n")
    r = run(["scan", "tree"], tmp_path, code=boom)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keyguard: internal error (ValueError at "), r.stderr
    assert leaks(r.stdout + r.stderr) == []

"""The text report a person reads: why each key matters, what to do about it, where it came from."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..bundler import bundle, serve
from ..helpers import RULES, key, keyguard, write
from ..sources.test_git import commit, git

GEMINI = key("google-api-key", 61)
OPENAI = key("openai-project-key", 62)


@pytest.fixture(scope="module")
def vite_app(esbuild: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Vite does with a VITE_ variable: the .env value inlined into a minified dist/ chunk."""
    app = tmp_path_factory.mktemp("vite")
    write(app / ".env.production", f"VITE_GEMINI_API_KEY={GEMINI}\n")
    write(app / "src" / "main.ts", (
        "const key = import.meta.env.VITE_GEMINI_API_KEY;\n"
        "export function models() { return fetch('https://generativelanguage.googleapis.com/v1/models?key=' + key); }\n"
        "(globalThis as any).models = models;\n"))
    bundle(esbuild, str(app / "src" / "main.ts"), "--bundle", "--minify", "--format=esm",
           f'--define:import.meta.env.VITE_GEMINI_API_KEY="{GEMINI}"',
           f"--outfile={app / 'dist' / 'assets' / 'index-4f2a9c1e.js'}")
    write(app / "dist" / "index.html",
          '<!doctype html><script type="module" src="/assets/index-4f2a9c1e.js"></script>\n')
    return app


def test_a_key_inlined_into_a_bundle_is_as_severe_as_its_vite_line(vite_app: Path) -> None:
    r = keyguard("scan", ".", "--format", "json", cwd=vite_app)
    assert r.returncode == 1, r.stderr
    by_path = {f["path"]: f for f in json.loads(r.stdout)["findings"]}
    env, built = by_path[".env.production"], by_path["dist/assets/index-4f2a9c1e.js"]
    assert env["severity"] == built["severity"] == "critical"
    assert any("client-exposed VITE_ variable" in why for why in env["reasons"])
    assert any("inlined into a browser bundle" in why for why in built["reasons"])


def test_text_says_why_and_what_to_do_and_hides_minified_names(vite_app: Path) -> None:
    r = keyguard("scan", ".", cwd=vite_app)
    assert r.returncode == 1, r.stderr
    out = " ".join(r.stdout.split())  # the report wraps long lines
    assert "why: client-exposed VITE_ variable VITE_GEMINI_API_KEY" in out
    assert "why: inlined into a browser bundle" in out
    assert "(in VITE_GEMINI_API_KEY)" in out
    # the minifier's one- or two-letter names say nothing
    bundle_block = r.stdout.split("dist/assets/index-4f2a9c1e.js", 1)[1].split("\n\n", 1)[0]
    assert "(in " not in bundle_block and "CRITICAL" in bundle_block
    assert "fix: rotate the key, then remove it from this file" in out
    # the rule's own remediation, once, however many findings it has
    remediation = " ".join(RULES["google-api-key"].remediation.split())
    assert out.count(remediation) == 1
    assert "keyguard:allow" in out and GEMINI not in r.stdout


def test_history_findings_name_author_and_date_and_advise_rotation(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "llm.py", f'OPENAI_API_KEY = "{OPENAI}"\n')
    sha = commit(repo, "call the model")
    write(repo / "llm.py", 'import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n')
    commit(repo, "read it from the environment")
    date = git(repo, "log", "-1", "--format=%as", sha)

    r = keyguard("scan", ".", "--history", cwd=repo)
    assert r.returncode == 1, r.stderr
    out = " ".join(r.stdout.split())
    assert f"commit {sha[:10]} by Ada, {date}" in out
    assert "fix: rotate the key: it stays in every clone of this history" in out
    assert "filter-repo" in out
    # a comment on a line that is gone would not help
    assert "keyguard:allow" not in out and "keyguard allow FINGERPRINT" in out


def test_url_findings_advise_rotation_and_purging_the_deploy(vite_app: Path, tmp_path: Path) -> None:
    with serve(vite_app / "dist") as (base, _):
        r = keyguard("scan", base + "/", "--format", "json", cwd=tmp_path)
        text = keyguard("scan", base + "/", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    (served,) = json.loads(r.stdout)["findings"]
    assert served["severity"] == "critical"
    assert any("served by the site" in why for why in served["reasons"])
    out = " ".join(text.stdout.split())
    assert "purge the old deploy" in out and "keyguard:allow" not in out

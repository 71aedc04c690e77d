"""``keyguard scan URL``: depth, the fetched/skipped report, page links, progress, Next.js and Vite
builds. Sites are real esbuild output served from 127.0.0.1."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from ..bundler import QuietHandler, bundle, serve
from ..helpers import key, keyguard, write

DEEP = key("google-api-key", 51)  # in a chunk four links from the start page
PAGE = key("openai-project-key", 52)  # in an inline script of a linked page
SETTINGS = key("google-api-key", 53)  # Next.js: a route's chunk named only in _buildManifest.js
DASHBOARD = key("google-api-key", 54)  # Next.js app router: a chunk named only in flight data
ADMIN = key("google-api-key", 55)  # Vite: an entry named only in the manifest
LAZY = key("openai-project-key", 56)  # Vite: its dynamic import


def _json(r: subprocess.CompletedProcess[str]) -> dict:
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def chain(esbuild: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html -> main.js -> import() a -> b -> c (holds DEEP); about.html (holds PAGE)."""
    src = tmp_path_factory.mktemp("chain")
    write(src / "main.ts", 'export async function go() { return (await import("./a")).run(); }\n'
                           "(globalThis as any).go = go;\n")
    write(src / "a.ts", 'export async function run() { return (await import("./b")).run(); }\n')
    write(src / "b.ts", 'export async function run() { return (await import("./c")).run(); }\n')
    write(src / "c.ts", f'export function run() {{ return {{ apiKey: "{DEEP}" }}; }}\n')
    out = src / "dist"
    bundle(esbuild, str(src / "main.ts"), "--bundle", "--splitting", "--format=esm", "--minify",
           "--sourcemap", f"--outdir={out}", "--chunk-names=chunks/[name]-[hash]")
    write(out / "index.html", '<!doctype html><html><head><script type="module" src="/main.js"></script>'
                              '</head><body><a href="/about.html">About</a> <a href="mailto:x@example.invalid">mail</a>'
                              ' <a href="https://example.invalid/elsewhere">elsewhere</a>'
                              ' <a href="/logo.png">logo</a></body></html>\n')
    write(out / "about.html", f'<html><body><script>window.OPENAI_KEY = "{PAGE}";</script></body></html>\n')
    return out


def test_depth_limit_skips_deeper_chunks_and_says_so(chain: Path, tmp_path: Path) -> None:
    with serve(chain) as (url, _):
        report = _json(keyguard("scan", url + "/", "--format", "json", cwd=tmp_path))
        deeper = _json(keyguard("scan", url + "/", "--max-depth", "4", "--format", "json", cwd=tmp_path))
    web = report["stats"]["web"]
    depths = {re.sub(r"-\w+\.js", ".js", e["url"].removeprefix(url)): e["depth"] for e in web["fetched"]}
    # page 0; main.js and the linked page 1; chunks a 2, b 3; each map with its script
    assert depths["/"] == 0 and depths["/main.js"] == 1 and depths["/about.html"] == 1
    assert depths["/chunks/a.js"] == 2 and depths["/chunks/b.js"] == 3
    assert depths["/main.js.map"] == 1 and depths["/chunks/b.js.map"] == 3
    assert "/chunks/c.js" not in depths
    assert web["max_depth"] == 3
    assert web["fetched_count"] == len(web["fetched"])
    assert web["fetched_bytes"] == sum(e["bytes"] for e in web["fetched"]) == report["stats"]["bytes"]
    assert all(e["bytes"] > 0 for e in web["fetched"])
    skipped = {p["path"].removeprefix(url): p["reason"] for p in report["stats"]["skipped_paths"]}
    c_chunk = next(p for p in skipped if p.startswith("/chunks/c-"))
    assert skipped[c_chunk] == "limit: --max-depth reached"
    assert {f["rule_id"]: f["path"] for f in report["findings"]} == {"openai-project-key": url + "/about.html"}
    # one link further, the key in chunk c is found (and nothing more is skipped for depth)
    found = {f["path"].removeprefix(url) for f in deeper["findings"]}
    assert c_chunk in found and "/about.html" in found
    assert "limit: --max-depth reached" not in deeper["stats"]["skipped"]


def test_page_links_stay_on_the_site(chain: Path, tmp_path: Path) -> None:
    with serve(chain) as (url, requests):
        report = _json(keyguard("scan", url + "/", "--format", "json", cwd=tmp_path))
    paths = [p for p, _ in requests]
    assert "/about.html" in paths and "/logo.png" not in paths  # an image is not a page
    listed = json.dumps(report["stats"])
    assert "example.invalid" not in listed and "mailto" not in listed  # other sites are not ours


def test_text_summary_counts_fetched_and_skipped(chain: Path, tmp_path: Path) -> None:
    with serve(chain) as (url, _):
        r = keyguard("scan", url + "/", "--max-depth", "2", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    summary = next(line for line in r.stdout.splitlines() if " finding" in line and " in " in line)
    n = int(re.search(r"in (\d+) fetched URLs", summary).group(1))
    assert n >= 5, summary
    assert "depth limit 2" in summary
    assert re.search(r"limit: --max-depth reached: [1-9]", summary), summary
    assert r.stderr == ""  # no progress display when standard error is not a terminal


def test_progress_display_on_a_terminal(chain: Path, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    with serve(chain) as (url, _):
        proc = subprocess.Popen([sys.executable, "-m", "keyguard", "scan", url + "/", "--format", "json"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        shown = b""
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                block = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not block:
                break
            shown += block
        out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 1
    text = shown.decode()
    assert re.search(r"\rkeyguard: \d+ fetched, \d+ KiB, \d+ queued, depth \d: http://127\.0\.0\.1", text), text
    assert text.endswith("\r\x1b[K")  # the line is cleared at the end
    assert json.loads(out)["findings"]  # the report itself is unchanged on standard output


BUILD_ID = "b7Qx2kLm9Tz"


@pytest.fixture(scope="module")
def next_site(esbuild: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Next.js-like export: page chunks built by esbuild under /_next/static/chunks/, a
    ``_buildManifest.js`` naming them the way Next.js does, an app-router page whose chunk only
    its flight data names, and ``build-manifest.json`` / ``app-build-manifest.json``."""
    src = tmp_path_factory.mktemp("next")
    pages = {
        "pages/_app": "export const app = () => 1;",
        "pages/index": "export const home = () => 'home';",
        "pages/settings": f'export const settings = () => ({{ gemini: "{SETTINGS}" }});',
        "app/dashboard/page": f'export const dash = () => ({{ key: "{DASHBOARD}" }});',
        "main": "export const main = () => 2;",
    }
    for name, body in pages.items():
        write(src / f"{name}.ts", body + "\n")
    out = src / "out"
    chunks = out / "_next" / "static" / "chunks"
    bundle(esbuild, *(str(src / f"{n}.ts") for n in pages), "--bundle", "--minify", "--format=iife",
           f"--outdir={chunks}", f"--outbase={src}", "--entry-names=[dir]/[name]-[hash]")
    built = {n: next(p for p in chunks.rglob("*.js") if p.relative_to(chunks).as_posix().startswith(n + "-"))
             for n in pages}
    name = {n: "static/chunks/" + p.relative_to(chunks).as_posix() for n, p in built.items()}
    write(out / "_next" / "static" / "css" / "settings-3f2a.css", ".settings{color:red}\n")
    write(out / "_next" / "static" / BUILD_ID / "_buildManifest.js", (
        'self.__BUILD_MANIFEST=function(s,c){return{__rewrites:{afterFiles:[],beforeFiles:[],fallback:[]},'
        f'"/":[s,"{name["pages/index"]}"],"/settings":[s,c,"{name["pages/settings"]}"],'
        'sortedPages:["/","/_app","/settings"]}}'
        f'("{name["main"]}","static/css/settings-3f2a.css");'
        "self.__BUILD_MANIFEST_CB&&self.__BUILD_MANIFEST_CB();\n"))
    # the pages router's HTML names its own chunks and, in __NEXT_DATA__, the build ID
    write(out / "index.html", (
        '<!DOCTYPE html><html><head>'
        f'<script src="/_next/{name["main"]}" defer=""></script>'
        f'<script src="/_next/{name["pages/_app"]}" defer=""></script>'
        f'<script src="/_next/{name["pages/index"]}" defer=""></script></head>'
        '<body><div id="__next"><a href="/dashboard/">Dashboard</a></div>'
        '<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/",'
        f'"query":{{}},"buildId":"{BUILD_ID}","nextExport":true}}</script></body></html>\n'))
    # the app router's HTML names the page chunk only inside its flight data (an escaped string)
    write(out / "dashboard" / "index.html", (
        f'<!DOCTYPE html><html><head><script src="/_next/{name["main"]}" async=""></script></head><body>'
        '<script>(self.__next_f=self.__next_f||[]).push([0]);self.__next_f.push([1,"2:I[\\"123\\",'
        f'[\\"{name["app/dashboard/page"].removeprefix("static/chunks/")}\\",'
        f'\\"{name["app/dashboard/page"]}\\"],\\"default\\"]\\n"])</script></body></html>\n'))
    # .next/ manifests (servers do not publish them; a scan of the URL reads them if one does)
    write(out / "_next" / "build-manifest.json", json.dumps({
        "polyfillFiles": [], "devFiles": [], "lowPriorityFiles": [f"static/{BUILD_ID}/_buildManifest.js"],
        "pages": {"/": [name["main"], name["pages/index"]], "/settings": [name["main"], name["pages/settings"]]},
    }))
    write(out / "_next" / "app-build-manifest.json", json.dumps({
        "pages": {"/dashboard/page": [name["main"], name["app/dashboard/page"]]}}))
    return out


def _chunk(path: str) -> str:
    return re.sub(r"-\w+\.js$", ".js", path)


def test_next_build_manifest_and_flight_data_chunks(next_site: Path, tmp_path: Path) -> None:
    with serve(next_site) as (url, requests):
        report = _json(keyguard("scan", url + "/", "--format", "json", cwd=tmp_path))
    fetched = {_chunk(e["url"].removeprefix(url)): e["depth"] for e in report["stats"]["web"]["fetched"]}
    # the build ID in __NEXT_DATA__ leads to _buildManifest.js; its "static/..." names to /_next/
    assert fetched[f"/_next/static/{BUILD_ID}/_buildManifest.js"] == 1
    assert fetched["/_next/static/chunks/pages/settings.js"] == 2
    assert fetched["/_next/static/css/settings-3f2a.css"] == 2
    assert fetched["/_next/static/chunks/app/dashboard/page.js"] == 2  # page 1 -> its chunk 2
    by_key = {f["path"].removeprefix(url): f for f in report["findings"]}
    assert {_chunk(p) for p in by_key} == {"/_next/static/chunks/pages/settings.js",
                                           "/_next/static/chunks/app/dashboard/page.js"}
    # no "static/..." name was resolved against the wrong folder
    assert not [p for p, _ in requests if "/static/" in p and not p.startswith("/_next/static/")]
    assert not [p for p, _ in requests if p.count("/static/") > 1]


@pytest.mark.parametrize("manifest", ["build-manifest.json", "app-build-manifest.json"])
def test_next_json_manifests(next_site: Path, tmp_path: Path, manifest: str) -> None:
    with serve(next_site) as (url, _):
        report = _json(keyguard("scan", f"{url}/_next/{manifest}", "--format", "json", cwd=tmp_path))
    fetched = {_chunk(e["url"].removeprefix(url)) for e in report["stats"]["web"]["fetched"]}
    expected = {"build-manifest.json": "/_next/static/chunks/pages/settings.js",
                "app-build-manifest.json": "/_next/static/chunks/app/dashboard/page.js"}[manifest]
    assert expected in fetched
    assert [_chunk(f["path"].removeprefix(url)) for f in report["findings"]] == [expected]


@pytest.fixture(scope="module")
def vite_site(esbuild: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Vite-like build: index.html loads the index entry; the admin entry and its lazy chunk
    are named only in the manifest (``file``, ``dynamicImports``)."""
    src = tmp_path_factory.mktemp("vite")
    write(src / "src" / "index.ts", "document.title = 'home';\n")
    write(src / "src" / "admin.ts", f'export const admin = {{ key: "{ADMIN}" }};\n'
                                    'export const load = () => import("./lazy");\n')
    write(src / "src" / "lazy.ts", f'export const lazy = "{LAZY}";\n')
    out = src / "dist"
    bundle(esbuild, str(src / "src" / "index.ts"), str(src / "src" / "admin.ts"), "--bundle", "--splitting",
           "--format=esm", "--minify", f"--outdir={out / 'assets'}", "--entry-names=[name]-[hash]",
           "--chunk-names=[name]-[hash]")
    files = {p.name.split("-")[0]: f"assets/{p.name}" for p in (out / "assets").glob("*.js")}
    manifest = {
        "index.html": {"file": files["index"], "name": "index", "src": "index.html", "isEntry": True},
        "src/admin.ts": {"file": files["admin"], "name": "admin", "src": "src/admin.ts", "isEntry": True,
                         "dynamicImports": ["src/lazy.ts"]},
        "src/lazy.ts": {"file": files["lazy"], "name": "lazy", "src": "src/lazy.ts", "isDynamicEntry": True},
    }
    write(out / ".vite" / "manifest.json", json.dumps(manifest, indent=2))
    write(out / "index.html", f'<!doctype html><html><head><script type="module" crossorigin '
                              f'src="/{files["index"]}"></script></head><body></body></html>\n')
    return out


@pytest.mark.parametrize("where", [".vite/manifest.json", "manifest.json"])  # Vite 5, Vite 2-4
def test_vite_manifest_entries(vite_site: Path, tmp_path: Path, where: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for p in vite_site.rglob("*"):
        if p.is_file() and not p.name == "manifest.json":
            write(site / p.relative_to(vite_site), p.read_text())
    write(site / where, (vite_site / ".vite" / "manifest.json").read_text())
    with serve(site) as (url, requests):
        report = _json(keyguard("scan", url + "/", "--format", "json", cwd=tmp_path))
    found = {f["rule_id"]: _chunk(f["path"].removeprefix(url)) for f in report["findings"]}
    assert found == {"google-api-key": "/assets/admin.js", "openai-project-key": "/assets/lazy.js"}
    assert not [p for p, _ in requests if p.startswith("/.vite/assets/")]
    absent = {".vite/manifest.json": "/manifest.json", "manifest.json": "/.vite/manifest.json"}[where]
    assert report["stats"]["skipped"] == {"well-known manifest absent (HTTP 404)": 1}
    assert report["stats"]["skipped_paths"][0]["path"] == url + absent


def test_second_start_url_unreachable_is_a_skip_not_an_error(chain: Path, tmp_path: Path) -> None:
    with serve(chain) as (url, _):
        r = keyguard("scan", url + "/about.html", "http://127.0.0.1:9/", "--timeout", "2",
                     "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert [f["path"] for f in report["findings"]] == [url + "/about.html"]
    skipped = {p["path"]: p["reason"] for p in report["stats"]["skipped_paths"]}
    assert skipped["http://127.0.0.1:9/"].startswith("fetch failed")


def test_fetched_list_is_bounded_but_counts_are_not(chain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keyguard.model import Stats
    from keyguard.sources import web

    monkeypatch.setattr(web, "MAX_LISTED", 2)
    stats = Stats()
    with serve(chain) as (url, _):
        texts = list(web.web_texts([url + "/"], stats, web.Limits()))
    record = stats.extra["web"]
    assert len(record["fetched"]) == 2
    assert record["fetched_count"] == len(texts) > 2
    assert record["fetched_bytes"] == sum(len(t.text.encode()) for t in texts)


class AuthRecordingHandler(QuietHandler):
    authorizations: list[str] = []

    def do_GET(self) -> None:
        self.authorizations.append(self.headers.get("Authorization", ""))
        super().do_GET()


def test_urls_with_credentials_are_refused_and_never_shown(tmp_path: Path) -> None:
    password = "hunter2-" + "p" * 12
    site = tmp_path / "site"
    write(site / "index.html", f'<script src="http://u:{password}@127.0.0.1:1/x.js"></script>'
                               f'<script>window.K = "{PAGE}";</script>\n')
    AuthRecordingHandler.authorizations = []
    with serve(site, AuthRecordingHandler) as (url, requests):
        start = url.replace("http://", f"http://u:{password}@") + "/"
        refused = keyguard("scan", start, "--format", "json", cwd=tmp_path)
        assert requests == []  # refused before any request
        report = _json(keyguard("scan", url + "/", "--format", "json", cwd=tmp_path))
    assert refused.returncode == 2 and "credentials" in refused.stderr
    assert password not in refused.stderr + refused.stdout
    # a linked URL with credentials is skipped, not fetched with Basic auth, and shown without them
    assert [f["rule_id"] for f in report["findings"]] == ["openai-project-key"]
    skipped = {p["path"]: p["reason"] for p in report["stats"]["skipped_paths"]}
    assert skipped["http://127.0.0.1:1/x.js"].startswith("credentials in the URL refused")
    assert password not in json.dumps(report)
    assert AuthRecordingHandler.authorizations and not any(AuthRecordingHandler.authorizations)


def test_a_key_in_a_url_path_is_redacted_everywhere_in_the_report(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / "index.html", f'<script src="/k/{SETTINGS}/app.js"></script>\n')
    write(site / "k" / SETTINGS / "app.js", f'var k = "{PAGE}";\n')
    with serve(site) as (url, requests):
        r = keyguard("scan", url + "/", "--format", "json", cwd=tmp_path)
        sarif = keyguard("scan", url + "/", "--format", "sarif", cwd=tmp_path)
        text = keyguard("scan", url + "/", cwd=tmp_path)
    report = _json(r)
    assert any(SETTINGS in p for p, _ in requests)  # fetched, as the page links it
    assert {f["rule_id"] for f in report["findings"]} == {"google-api-key", "openai-project-key"}
    for out in (r.stdout, sarif.stdout, text.stdout):
        assert SETTINGS not in out and PAGE not in out
    paths = [f["path"] for f in report["findings"]] + [e["url"] for e in report["stats"]["web"]["fetched"]]
    assert any("/k/AIza" in p for p in paths)  # shown, redacted like the key itself

"""Real bundles from a real bundler (esbuild from npm), scanned as files and served from 127.0.0.1."""
from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ..bundler import bundle, serve
from ..helpers import key, keyguard, scan_json, write

GEMINI = key("google-api-key", 41)  # inlined by `define` (like Vite's VITE_GEMINI_API_KEY)
OPENAI = key("openai-project-key", 42)  # only in server code that is tree-shaken out


@pytest.fixture(scope="session")
def site(esbuild: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("app")
    write(src / "src" / "server.ts", f'export const openaiKey = "{OPENAI}";\nexport function unused() {{ return Math.random(); }}\n')
    write(src / "src" / "main.ts", (
        'import {{ unused }} from "./server";\n'
        "const gemini = GEMINI_KEY;\n"
        "const fromEnv = process.env.OPENAI_API_KEY;\n"
        "const viteEnv = (import.meta as any).env?.VITE_OTHER_KEY;\n"
        "export function start() {{ return [gemini, fromEnv, viteEnv, unused()]; }}\n"
        "(globalThis as any).start = start;\n"
    ).format())
    out = src / "dist"
    subprocess.run([
        str(esbuild), str(src / "src" / "main.ts"), "--bundle", "--minify", "--format=esm",
        "--sourcemap", f"--define:GEMINI_KEY=\"{GEMINI}\"", f"--outfile={out / 'app.js'}",
    ], check=True, capture_output=True, timeout=120)
    subprocess.run([
        str(esbuild), str(src / "src" / "main.ts"), "--bundle", "--minify", "--format=esm",
        "--sourcemap=inline", f"--define:GEMINI_KEY=\"{GEMINI}\"", f"--outfile={out / 'inline' / 'app.js'}",
    ], check=True, capture_output=True, timeout=120)
    write(out / "index.html", '<!doctype html><html><body><script type="module" src="/app.js"></script></body></html>\n')
    return out


def test_minified_bundle_column_and_placeholders(site: Path) -> None:
    code, findings = scan_json(site, "app.js")
    assert code == 1
    text = (site / "app.js").read_text()
    line_no, line = next((i + 1, ln) for i, ln in enumerate(text.split("\n")) if GEMINI in ln)
    gem = [f for f in findings if f["rule_id"] == "google-api-key"]
    assert len(gem) == 1
    assert (gem[0]["line"], gem[0]["column"]) == (line_no, line.index(GEMINI) + 1)
    assert gem[0]["end_column"] == gem[0]["column"] + len(GEMINI)
    # process.env / import.meta.env placeholders are not findings; nothing but the inlined key
    assert {f["rule_id"] for f in findings} == {"google-api-key"}


def test_source_map_finds_tree_shaken_key_with_original_position(site: Path) -> None:
    assert OPENAI not in (site / "app.js").read_text()  # esbuild shook it out of the bundle
    code, findings = scan_json(site, "app.js.map")
    assert code == 1
    hit = next(f for f in findings if f["rule_id"] == "openai-project-key")
    raw = (site / "app.js.map").read_text()
    lines = raw.split("\n")
    assert lines[hit["line"] - 1][hit["column"] - 1:].startswith(OPENAI)
    original = hit["origin"]["original"]
    assert original["source"].endswith("src/server.ts")
    assert (original["line"], original["column"]) == (1, len('export const openaiKey = "') + 1)


def test_text_report_names_the_original_source(site: Path) -> None:
    r = keyguard("scan", "app.js.map", cwd=site)
    assert r.returncode == 1, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "OpenAI project API key" in ln)
    assert "source map: ../src/server.ts:1:27" in line, line


def test_inline_data_source_map(site: Path) -> None:
    code, findings = scan_json(site / "inline", "app.js")
    assert code == 1
    hit = next(f for f in findings if f["rule_id"] == "openai-project-key")
    assert hit["origin"]["source_map"] == "inline"
    assert hit["origin"]["original"]["source"].endswith("src/server.ts")
    text = (site / "inline" / "app.js").read_text()
    assert text.split("\n")[hit["line"] - 1][hit["column"] - 1:].startswith("# sourceMappingURL=data:")


def test_malformed_source_map_is_reported_and_scan_goes_on(tmp_path: Path) -> None:
    # a truncated map that still holds a key: scanned as plain text, the reason counted
    write(tmp_path / "broken.js.map",
          '{"version": 3, "sources": ["a.ts"], "sourcesContent": ["const GEMINI_API_KEY = \\"'
          + GEMINI + '\\";\n')
    write(tmp_path / "b.js", f'const k = "{GEMINI}";\n')
    r = keyguard("scan", ".", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert "Traceback" not in r.stderr
    assert {f["path"] for f in report["findings"]} == {"b.js", "broken.js.map"}
    assert any(k.startswith("malformed source map") for k in report["stats"]["skipped"]), report["stats"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    cookies_seen: list[str] = []
    agents: list[str] = []
    redirect_to = ""

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.agents.append(self.headers.get("User-Agent", ""))
        if self.headers.get("Cookie"):
            _Handler.cookies_seen.append(self.headers["Cookie"])
        if self.path == "/redirect-same-host":
            self.send_response(302)
            self.send_header("Location", _Handler.redirect_to)
            self.end_headers()
            return
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://localhost.invalid/x.js")
            self.end_headers()
            return
        if self.path == "/index.html" or self.path == "/":
            body = b'<html><script src="/app.js"></script><script src="/away"></script></html>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Set-Cookie", "session=abc")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture
def server(site: Path):
    handler = lambda *a, **kw: _Handler(*a, directory=str(site), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_scan_url_fetches_scripts_and_maps(server: str, tmp_path: Path) -> None:
    r = keyguard("scan", server + "/", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    assert by_rule["google-api-key"]["path"] == server + "/app.js"
    assert by_rule["openai-project-key"]["path"] == server + "/app.js.map"
    assert by_rule["openai-project-key"]["origin"]["original"]["source"].endswith("src/server.ts")
    skipped = report["stats"]["skipped"]
    assert any("redirect to another host refused" in k for k in skipped), skipped
    assert _Handler.agents and all(a.startswith("keyguard/") for a in _Handler.agents)
    assert _Handler.cookies_seen == []


def test_scan_url_sarif_uri_is_the_url(server: str, tmp_path: Path) -> None:
    r = keyguard("scan", server + "/", "--format", "sarif", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for res in json.loads(r.stdout)["runs"][0]["results"] for loc in res["locations"]}
    assert server + "/app.js" in uris


def test_scan_url_page_limit(server: str, tmp_path: Path) -> None:
    r = keyguard("scan", server + "/", "--max-pages", "1", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "limit: --max-pages reached" in json.loads(r.stdout)["stats"]["skipped"]


def test_unreachable_url_is_one_line_error(tmp_path: Path) -> None:
    r = keyguard("scan", "http://127.0.0.1:9/", "--timeout", "2", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "127.0.0.1:9" in r.stderr


@pytest.mark.parametrize("variable", ["VITE_GEMINI_API_KEY", "NEXT_PUBLIC_GEMINI_KEY", "EXPO_PUBLIC_GEMINI_KEY"])
def test_browser_exposed_env_variable_is_more_severe(tmp_path: Path, variable: str) -> None:
    write(tmp_path / ".env.production", f"{variable}={GEMINI}\n")
    write(tmp_path / "server.env.txt", f"{variable}={GEMINI}\n")  # not a .env file: no bump
    write(tmp_path / ".env", f"GEMINI_API_KEY={GEMINI}\n")  # not exposed: no bump
    _, findings = scan_json(tmp_path, ".")
    by_path = {f["path"]: f for f in findings}
    assert by_path[".env.production"]["severity"] == "critical"
    assert any("browser" in r for r in by_path[".env.production"]["reasons"])
    for plain in ("server.env.txt", ".env"):
        assert by_path[plain]["severity"] == "high"
        assert not by_path[plain].get("reasons")


def test_redirect_to_private_address_refused_when_start_was_public(server: str) -> None:
    """Treat the start as public (it is 127.0.0.1 here): a redirect to a private address is refused."""
    import requests

    from keyguard.model import Stats
    from keyguard.sources import web

    crawl = web.Crawl(web.Limits(), Stats())
    redirecting = server + "/redirect-same-host"
    _Handler.redirect_to = server + "/app.js"
    got = web._get(requests.Session(), redirecting, "127.0.0.1", True, crawl)
    assert got == "redirect to a private address refused"
    # the same redirect from a private start URL is followed
    got = web._get(requests.Session(), redirecting, "127.0.0.1", False, crawl)
    assert isinstance(got, web.Fetched) and got.url == server + "/app.js"


WASM_KEY = key("google-api-key", 71)


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def wasm_module(data: bytes) -> bytes:
    """A WebAssembly module, assembled by hand: one memory (exported) and an active data
    segment holding ``data`` at address 0 — where compilers put string constants."""
    def section(section_id: int, payload: bytes) -> bytes:
        return bytes([section_id]) + _leb128(len(payload)) + payload

    memory = section(5, b"\x01\x00\x01")  # one memory, no maximum, 1 page
    export = section(7, b"\x01" + _leb128(6) + b"memory" + b"\x02\x00")  # export memory 0
    segment = b"\x00\x41\x00\x0b" + _leb128(len(data)) + data  # memory 0, offset (i32.const 0)
    return b"\x00asm\x01\x00\x00\x00" + memory + export + section(11, b"\x01" + segment)


@pytest.fixture
def wasm_site(esbuild: Path, tmp_path: Path) -> Path:
    # string constants as a compiler lays them out: NUL-separated, some bytes not UTF-8, a newline
    data = (b"\x00\x00\x00\x00usage: gemini <prompt>\n\x00\xff\xfe\x80 https://generativelanguage."
            b"googleapis.com/v1beta/models\x00" + WASM_KEY.encode() + b"\x00\x01\x02\xc3(")
    out = tmp_path / "dist"
    out.mkdir()
    (out / "keys.wasm").write_bytes(wasm_module(data))
    write(tmp_path / "src" / "load.ts",
          'export async function load() {\n'
          '  const r = await fetch(new URL("./keys.wasm", import.meta.url));\n'
          "  return WebAssembly.instantiate(await r.arrayBuffer());\n}\n")
    bundle(esbuild, str(tmp_path / "src" / "load.ts"), "--bundle", "--format=esm", "--minify",
           f"--outfile={out / 'load.js'}")
    write(out / "index.html", '<html><script type="module" src="/load.js"></script></html>\n')
    return out


def test_wasm_module_is_valid_and_holds_the_key(wasm_site: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node not found")
    # Node's WebAssembly accepts the module, and the key is in its memory once instantiated
    script = ("const b = require('fs').readFileSync(process.argv[1]);"
              "const i = new WebAssembly.Instance(new WebAssembly.Module(b));"
              "process.stdout.write(Buffer.from(i.exports.memory.buffer).subarray(0, 200).toString('latin1'));")
    r = subprocess.run(["node", "-e", script, str(wasm_site / "keys.wasm")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert WASM_KEY in r.stdout


def test_wasm_data_segment_string_found_like_any_binary(wasm_site: Path, tmp_path: Path) -> None:
    text = (wasm_site / "keys.wasm").read_bytes().decode("utf-8", "replace")
    at = text.index(WASM_KEY)
    line, column = text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
    assert line > 1  # newline bytes (in the data segment, in section sizes) count, as in any file
    _, by_dir = scan_json(wasm_site, ".")
    with serve(wasm_site) as (url, _):
        r = keyguard("scan", url + "/", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    by_url = json.loads(r.stdout)["findings"]
    for findings, path in ((by_dir, "keys.wasm"), (by_url, url + "/keys.wasm")):
        assert [(f["rule_id"], f["path"], f["line"], f["column"], f["end_column"]) for f in findings] == [
            ("google-api-key", path, line, column, column + len(WASM_KEY))]


BIG_KEY = key("openai-project-key", 81)


@pytest.fixture(scope="module")
def big_build(esbuild: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle whose source map (and inline map) is over one read chunk (2 Mi characters): a
    3 MB message table sits before a key in a module the bundler tree-shakes out."""
    src = tmp_path_factory.mktemp("big")
    table = "".join(f'  "message {i}: café au lait, the quick brown fox",\n' for i in range(60_000))
    write(src / "src" / "server.ts", f"export const messages = [\n{table}];\n"
                                     f'export const openaiKey = "{BIG_KEY}";\n')
    write(src / "src" / "main.ts", 'import { messages } from "./server";\n'
                                   "(globalThis as any).count = () => messages.length;\n")
    out = src / "dist"
    for mode, outfile in (("--sourcemap", out / "app.js"), ("--sourcemap=inline", out / "inline" / "app.js")):
        bundle(esbuild, str(src / "src" / "main.ts"), "--bundle", "--minify", "--format=esm", mode,
               f"--outfile={outfile}")
    return out


def test_source_map_over_one_chunk_keeps_original_positions(big_build: Path) -> None:
    raw = (big_build / "app.js.map").read_text(encoding="utf-8")
    assert len(raw) > 2 * 2**20 and raw.index(BIG_KEY) > 2 * 2**20  # past the first chunk
    assert BIG_KEY not in (big_build / "app.js").read_text(encoding="utf-8")
    code, findings = scan_json(big_build, "app.js.map")
    assert code == 1
    hit = next(f for f in findings if f["rule_id"] == "openai-project-key")
    lines = raw.split("\n")
    assert lines[hit["line"] - 1][hit["column"] - 1:].startswith(BIG_KEY)
    assert hit["origin"]["original"] == {"source": "../src/server.ts", "line": 60_003,
                                         "column": len('export const openaiKey = "') + 1}


def test_inline_map_in_a_bundle_over_one_chunk(big_build: Path) -> None:
    text = (big_build / "inline" / "app.js").read_text(encoding="utf-8")
    assert len(text) > 2 * 2**20 and BIG_KEY not in text  # only in the base64 of the inline map
    code, findings = scan_json(big_build / "inline", ".")
    assert code == 1
    hit = next(f for f in findings if f["rule_id"] == "openai-project-key")
    assert hit["origin"]["source_map"] == "inline"
    assert hit["origin"]["original"]["line"] == 60_003
    line = text.split("\n")[hit["line"] - 1]
    assert line[hit["column"] - 1:].startswith("# sourceMappingURL=data:")


def test_source_map_parser_reads_only_the_top_level_sources_content(tmp_path: Path) -> None:
    """A nested "sourcesContent" (index-map sections, tool metadata) and null entries do not
    shift which source a finding belongs to."""
    decoy = {"sourcesContent": ["const nothing = 1;\n"]}
    content = f'// config\nexport const k = "{GEMINI}";\n'
    write(tmp_path / "app.js.map", json.dumps({
        "version": 3, "x_tool": decoy, "sourceRoot": "webpack://app/",
        "sources": ["src/a.ts", "src/config.ts"], "names": ["sourcesContent"],
        "sourcesContent": [None, content], "mappings": "AAAA",
    }, indent=1))
    code, findings = scan_json(tmp_path, "app.js.map")
    assert code == 1
    assert [f["origin"]["original"] for f in findings] == [
        {"source": "webpack://app/src/config.ts", "line": 2, "column": len('export const k = "') + 1}]

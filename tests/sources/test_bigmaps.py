"""Large source maps are scanned a piece of their bytes at a time (``sources/bigmaps``): the same
findings, places and original positions as the whole map's text, in bounded memory."""
from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.detect.engine import PATH_CONTEXT_MAX_CHARS
from keyguard.model import Stats
from keyguard.pipeline.scanner import Detection, Scanner
from keyguard.ruleset import load_rules
from keyguard.sources import bigmaps
from keyguard.sources.decode import CHUNK_CHARS
from keyguard.sources.files import FilesSource

from ..factories import key_for, line_for

FILLER = 'export function f{n}(a, b) {{\n  return a.map((x) => x * b + "\\u00e9");\n}}\n'


def big_map(size: int, keys: bool = True, seed: int = 7, indent: int | None = None) -> str:
    """A map of about ``size`` characters: sources of generated code, a third of them with a
    format-true key (at the source's start, middle or end, or base64-encoded), one null
    source, and one character outside the BMP."""
    rnd = random.Random(seed)
    rules = [r for r in load_rules() if r.provider != "generic"]
    sources, contents = [], []
    total = i = k = 0
    while total < size:
        body = "".join(FILLER.format(n=i * 1000 + j) for j in range(rnd.randint(5, 400)))
        if keys and i % 3 == 0:
            rule = rules[k % len(rules)]
            line = line_for(rule, key_for(rule, 5000 + k))
            k += 1
            where = rnd.choice(["start", "middle", "end", "base64"])
            if where == "start":
                body = line + "\n" + body
            elif where == "end":
                body += line
            elif where == "base64":
                body += 'const blob = "' + base64.b64encode(line.encode()).decode() + '";\n'
            else:
                body = body[: len(body) // 2] + "\n" + line + "\n" + body[len(body) // 2:]
        if i == 5:
            body += "// \U0001F600 \u00fc\n"
        sources.append(f"src/m{i}.ts")
        contents.append(None if i == 7 else body)
        total += len(body)
        i += 1
    return json.dumps({"version": 3, "file": "out.js", "sources": sources, "sourcesContent": contents,
                       "names": ["a", "b"], "mappings": "AAAA,CAAC;" * 2000}, ensure_ascii=False, indent=indent)


def scan(path: Path) -> tuple[list[tuple], dict]:
    stats = Stats()
    source = FilesSource([str(path)])
    scanner = Scanner(Detection(load_rules()))
    found = scanner.scan(source.texts(source.items(stats), stats, scanner.gate), stats)
    return sorted((f.path, f.line, f.column, f.end_line, f.end_column, f.rule.id, f.secret,
                   json.dumps(f.origin, sort_keys=True)) for f in found), stats.skipped


def test_chunks_are_over_what_the_engine_searches_whole_for_a_path() -> None:
    assert CHUNK_CHARS > PATH_CONTEXT_MAX_CHARS


@pytest.mark.parametrize("part, indent, broken", [
    (bigmaps.PART_BYTES, None, False), (9_000, None, False), (9_000, 1, False), (bigmaps.PART_BYTES, None, True),
])
def test_a_map_in_pieces_finds_what_its_whole_text_finds(tmp_path, monkeypatch, part, indent, broken) -> None:
    """indent: a line a source; broken: a bad escape in one source, so the map is malformed
    (scanned as plain text, noted as such)."""
    path = tmp_path / "app.js.map"
    text = big_map(3_000_000, indent=indent)
    if broken:
        at = text.index("return a.map", len(text) // 2)
        text = text[:at] + "\\q" + text[at:]
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(bigmaps, "PART_BYTES", part)  # 9,000: hundreds of borders
    assert len(list(bigmaps.map_chunks(path.read_bytes(), "app.js.map"))) > 1
    chunked, chunked_notes = scan(path)
    monkeypatch.setattr(bigmaps, "utf8_chars", lambda data: -1)  # the whole text, as before
    whole, whole_notes = scan(path)
    assert len(whole) > 40 and chunked == whole and chunked_notes == whole_notes
    originals = sum('"original"' in f[7] for f in whole)
    assert originals == 0 if broken else originals > 40
    assert any('"encoding": "base64"' in f[7] for f in whole)
    assert bool(whole_notes) is broken


@pytest.mark.parametrize("doc", [
    '{"version":3,"sources":["a.js"],"sourcesContent":["bad \\q escape"],"mappings":""}',
    '{"version":3,"sources":["a.js"],"sourcesContent":["tab\tinside"],"mappings":""}',
    '{"version":3,"sources":["a.js"],"sourcesContent":["\\u12x4"],"mappings":""}',
    '{"version":3,"sources":["a.js"],"sourcesContent":["x"],"mappings":""} trailing',
    '{"version":3,"sections":[],"sourcesContent":["x"]}',
    '["not", "an object"]',
])
def test_what_the_byte_parser_is_unsure_of_is_read_whole(doc: str) -> None:
    assert bigmaps.parse_map_bytes(doc.encode()) is None


def test_the_byte_parser_locates_what_the_text_parser_does() -> None:
    from keyguard.sources.sourcemaps import parse_source_map

    doc = json.dumps({"sources": ["a.js", "b.js", "c.js"], "sourceRoot": "r/", "version": 3,
                      "sourcesContent": ["x = '\\\\' + \"q\"\n", None, "é \U0001F600 \\u0041"],
                      "names": ["é"], "mappings": "AAAA"}, ensure_ascii=False, indent=1)
    raw = doc.encode()
    got = bigmaps.parse_map_bytes(raw)
    want = parse_source_map(doc)
    assert got is not None and [s.source for s in got] == [s.source for s in want]
    assert [raw[s.start:s.end].decode() for s in got] == [doc[s.start:s.end] for s in want]


PEAK = r"""
import json, os, sys
from keyguard.model import Stats
from keyguard.pipeline.scanner import Detection, Scanner
from keyguard.ruleset import load_rules
from keyguard.sources.files import FilesSource

def status(key):
    return int(next(ln.split()[1] for ln in open("/proc/self/status") if ln.startswith(key)))

stats = Stats()
scanner = Scanner(Detection(load_rules()), prepare=True)
source = FilesSource([sys.argv[1]])
before = status("VmRSS:")
found = scanner.scan(source.texts(source.items(stats), stats, scanner.gate), stats)
print(json.dumps({"found": len(found), "before_kib": before, "peak_kib": status("VmHWM:")}))
"""


def test_a_20_mb_map_with_a_character_outside_the_bmp_in_bounded_memory(tmp_path) -> None:
    path = tmp_path / "vendor.js.map"
    text = big_map(20_000_000)
    path.write_text(text, encoding="utf-8")
    size_kib = path.stat().st_size // 1024
    # whole, its text would be 80 MB: four bytes a character
    assert max(map(ord, text)) > 0xFFFF and size_kib > 19_000
    del text
    p = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    out = json.loads(p.stdout)
    assert out["found"] > 100
    grown = out["peak_kib"] - out["before_kib"]
    print(f"20 MB map: the scan's peak grew RSS by {grown // 1024} MiB")
    assert grown < 3 * size_kib, f"grew {grown} KiB for a {size_kib} KiB map"


def test_a_large_map_finds_the_same_with_or_without_hyperscan_and_workers(tmp_path, monkeypatch) -> None:
    from keyguard.sources import files

    from ..pipeline_support import run_files

    (tmp_path / "app.js.map").write_text(big_map(3_000_000), encoding="utf-8")
    monkeypatch.setattr(files.FilesSource, "pool_min_items", 1)
    rule_list = load_rules()

    def scan(jobs: int, fast: bool) -> list[tuple]:
        with monkeypatch.context() as m:
            for module in ("keyguard.detect.engine", "keyguard.detect.prefilter"):
                m.setattr(f"{module}.hyperscan_available", lambda: fast)
            result = run_files([str(tmp_path)], rule_list, Stats(), jobs, str(tmp_path))
        return [(f.path, f.line, f.column, f.end_column, f.rule.id, f.secret, sorted(f.origin.items()))
                for f in result.findings]

    plain = scan(1, fast=False)
    assert len(plain) > 40
    assert scan(1, fast=True) == plain
    assert scan(2, fast=True) == plain
    assert scan(2, fast=False) == plain

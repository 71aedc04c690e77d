"""Property-based tests (hypothesis): the engine's findings do not depend on surrounding noise,
chunk borders, line endings or encodings; the parsers turn any input into a result or their
documented clean error, never anything else.

The ``ci`` profile (the default, tests/adversarial/conftest.py) keeps these fast; a longer run:

    HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/adversarial/test_properties.py
"""
from __future__ import annotations

import codecs
import io
import json
import string
from pathlib import Path

import pytest
from hypothesis import assume, given, strategies as st

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.ruleset.load import load_rules
from keyguard.sources import decode as files
from keyguard.sources.decode import bytes_texts, read_texts
from keyguard.sources.sourcemaps import parse_source_map

from ..pipeline_support import scan_texts

from ..factories import key_for, line_for

RULES = load_rules()
ENGINE = Engine(RULES)
# distinctive-prefix rules of the main AI providers (not context-only: those need their word)
SAMPLE_RULES = [r for r in RULES if r.id in {
    "google-api-key", "anthropic-api-key", "openai-project-key", "groq-api-key", "xai-api-key",
    "huggingface-token", "openrouter-api-key", "github-pat-fine-grained",
}] or RULES[:8]
KEYS = [(r, key_for(r, seed)) for r in SAMPLE_RULES for seed in (1, 2)]
# noise: printable ASCII without letters, digits, "_" and "-" next to the key (a word boundary)
NOISE_CHARS = "".join(c for c in string.printable if c not in string.ascii_letters + string.digits + "_-\r\n\x0b\x0c")
noise_line = st.text(alphabet=string.printable.replace("\r", "").replace("\n", "").replace("\x0b", "").replace("\x0c", ""),
                     max_size=120)
noise_lines = st.lists(noise_line, max_size=6)
keys = st.sampled_from(KEYS)


def where(findings, secret: str) -> list[tuple[int, int, int, int]]:
    return sorted((f.line, f.column, f.end_line, f.end_column) for f in findings if f.secret == secret)


def plain_location(rule, key: str) -> tuple[str, int]:
    line = line_for(rule, key)
    return line, line.index(key) + 1


@given(keys, noise_lines, noise_lines, st.text(alphabet=NOISE_CHARS, max_size=40),
       st.text(alphabet=NOISE_CHARS, max_size=40))
def test_finding_is_invariant_to_surrounding_noise(rk, above, below, left, right) -> None:
    rule, key = rk
    line, col = plain_location(rule, key)
    assume(not any("keyguard:allow" in s for s in (*above, *below, left, right)))
    text = "\n".join([*above, left + " " + line + " " + right, *below]) + "\n"
    found = ENGINE.scan(ScanText(text, "noise.txt"), Stats())
    n = len(above) + 1
    c = len(left) + 1 + col
    assert (n, c, n, c + len(key)) in where(found, key), (rule.id, text)
    assert {f.rule.id for f in found if f.secret == key} >= {rule.id}


@given(keys, st.integers(min_value=0, max_value=400), st.integers(min_value=40, max_value=300),
       st.integers(min_value=0, max_value=300))
def test_finding_is_invariant_to_chunk_borders(monkeypatch_chunks, rk, before, chunk, after) -> None:
    """The same content read whole and in chunks of ``chunk`` characters (a key may straddle
    any border): one finding, at the same place."""
    rule, key = rk
    line, col = plain_location(rule, key)
    lines = 1 + before // 50
    text = "\n".join(["x" * 49] * (before // 50)) + ("\n" if before >= 50 else "") + "y " * ((before % 50) // 2) \
        + line + "\n" + "z" * after + "\n"
    data = text.encode()
    whole = scan_texts(read_texts(io.BytesIO(data), "f.txt", None, None, Stats()), ENGINE.rules, Stats())
    chunked = scan_texts(read_texts(io.BytesIO(data), "f.txt", None, None, Stats(), chunk_chars=chunk),
                         ENGINE.rules, Stats())
    expected = where(whole, key)
    assert expected and expected[0][0] == lines
    assert where(chunked, key) == expected


@pytest.fixture
def monkeypatch_chunks(monkeypatch):
    """An overlap just longer than the longest sampled match, so that small chunks really split."""
    longest = max(len(line_for(r, k)) for r, k in KEYS)
    monkeypatch.setattr(files, "OVERLAP", longest + 8)
    return monkeypatch


@given(keys, noise_lines, noise_lines)
def test_finding_is_invariant_to_line_endings(rk, above, below) -> None:
    rule, key = rk
    line, _ = plain_location(rule, key)
    text = "\n".join([*above, line, *below]) + "\n"
    unix = ENGINE.scan(ScanText(text, "f"), Stats())
    dos = ENGINE.scan(ScanText(text.replace("\n", "\r\n"), "f"), Stats())
    assert where(unix, key) and where(dos, key) == where(unix, key)


ENCODINGS = [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", b""), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", b""), ("utf-16-be", codecs.BOM_UTF16_BE),
]


@given(keys, st.lists(st.text(alphabet=string.ascii_letters + string.digits + " =:;,.'\"#", min_size=4,
                               max_size=60), max_size=5),
       st.sampled_from(ENCODINGS), st.booleans())
def test_finding_is_invariant_to_encoding(rk, above, encoding, streamed) -> None:
    """UTF-8 and UTF-16 (LE/BE, with and without BOM), read whole or streamed: same place."""
    rule, key = rk
    line, _ = plain_location(rule, key)
    text = "\n".join([*above, line]) + "\nrest = 1\n"
    name, bom = encoding
    data = bom + text.encode(name)
    stats = Stats()
    if streamed:
        texts = read_texts(io.BytesIO(data), "f", None, None, stats)
    else:
        texts = bytes_texts(data, "f", None, None, stats)
    found = scan_texts(texts, ENGINE.rules, stats)
    reference = ENGINE.scan(ScanText(text, "f"), Stats())
    assert where(reference, key) and where(found, key) == where(reference, key), (name, bom)


# -- parsers: any input gives a result or the documented clean error -------------------------------
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


def shaped(keys_: list[str]):
    """JSON objects that use the keys a parser looks for, with anything as their values."""
    return st.dictionaries(st.sampled_from(keys_), json_values | st.lists(json_values, max_size=3)
                           | st.dictionaries(st.text(max_size=8), st.lists(json_values, max_size=3), max_size=3),
                           max_size=len(keys_)) | json_values


def raw_inputs(keys_: list[str]):
    """Arbitrary bytes, JSON of any shape, and JSON shaped like the format, as bytes."""
    return (st.binary(max_size=400)
            | shaped(keys_).map(lambda d: json.dumps(d).encode())
            | st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")))


@given(raw_inputs(["version", "sources", "sourcesContent", "mappings", "names", "sections", "file"]))
def test_source_map_parser(data: bytes) -> None:
    raw = data.decode("utf-8", "replace")
    try:
        parse_source_map(raw)
    except ValueError:
        pass
    stats = Stats()  # and the whole pipeline, a map file and an inline map in a script
    texts = [ScanText(raw, "app.js.map", whole=True),
             ScanText("x=1;\n//# sourceMappingURL=data:application/json;base64,"
                      + __import__("base64").b64encode(data).decode() + "\n", "app.js", whole=True),
             ScanText("//# sourceMappingURL=data:application/json," + raw.replace("\n", " "), "b.js", whole=True)]
    scan_texts(texts, ENGINE.rules, stats)


@given(st.text(max_size=300), st.sampled_from(["text/html", "", "application/javascript", "application/json"]),
       st.sampled_from(["https://example.test/", "https://example.test/_next/static/app.js",
                        "https://example.test/.vite/manifest.json", "https://example.test/build-manifest.json"]))
def test_html_and_manifest_link_parser(text: str, ctype: str, url: str) -> None:
    from keyguard.sources.web_links import links as _links

    for link in _links(url, text, {"Content-Type": ctype} if ctype else {}, 0):
        assert link.url.startswith(("http://", "https://"))


@given(raw_inputs(["version", "entries", "results", "generated_at", "plugins_used"]))
def test_baseline_loader(tmp_path: Path, data: bytes) -> None:
    from keyguard.findings.baseline import BaselineError, load

    path = tmp_path / "baseline.json"
    path.write_bytes(data)
    try:
        load(str(path))
    except BaselineError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)


@given(st.fixed_dictionaries({"results": st.dictionaries(st.text(max_size=10), st.lists(
    st.dictionaries(st.sampled_from(["hashed_secret", "is_secret", "filename", "type", "line_number"]),
                    json_values | st.just("a" * 40), max_size=5), max_size=3), max_size=3)}))
def test_detect_secrets_baseline_import(tmp_path: Path, doc: dict) -> None:
    from keyguard.findings.baseline import BaselineError, load

    path = tmp_path / ".secrets.baseline"
    path.write_text(json.dumps(doc))
    try:
        load(str(path))
    except BaselineError as exc:
        assert str(path) in str(exc)


@given(raw_inputs(["version", "findings", "stats", "errors", "runs", "$schema"]),
       raw_inputs(["version", "findings", "stats", "runs"]))
def test_report_merge(tmp_path: Path, a: bytes, b: bytes) -> None:
    from keyguard.report.merge import MergeError, merge

    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_bytes(a)
    pb.write_bytes(b)
    try:
        merge([str(pa), str(pb)])
    except MergeError:
        pass


finding_like = st.dictionaries(st.sampled_from(
    ["rule_id", "path", "line", "column", "secret_sha256", "severity", "commit", "fingerprint"]), json_values,
    max_size=8)
sarif_result = st.dictionaries(st.sampled_from(["ruleId", "locations", "partialFingerprints", "level",
                                                "properties", "message"]), json_values, max_size=6)


@given(st.lists(st.one_of(
    st.fixed_dictionaries({"findings": st.lists(finding_like, max_size=3)},
                          optional={"stats": json_values, "errors": json_values, "version": json_values}),
    st.fixed_dictionaries({"version": st.just("2.1.0"), "runs": st.lists(st.dictionaries(
        st.sampled_from(["tool", "results", "originalUriBaseIds", "automationDetails"]),
        json_values | st.lists(sarif_result, max_size=3), max_size=4), max_size=2)}),
), min_size=1, max_size=3))
def test_report_merge_of_report_shaped_documents(tmp_path: Path, docs: list) -> None:
    from keyguard.report.merge import MergeError, merge

    paths = []
    for i, doc in enumerate(docs):
        p = tmp_path / f"r{i}.json"
        p.write_text(json.dumps(doc))
        paths.append(str(p))
    try:
        merge(paths)
    except MergeError:
        pass


@given(raw_inputs(["allow", "exclude", "rules", "verify", "baseline", "paths", "fingerprints",
                   "include_vendored", "fail_on", "min_severity"]))
def test_config_loader(tmp_path: Path, data: bytes) -> None:
    from keyguard.config.file import ConfigError, load_config

    for name in (".keyguard.yml", "pyproject.toml"):
        path = tmp_path / name
        path.write_bytes(data)
        try:
            load_config(str(path))
        except ConfigError as exc:
            assert str(path) in str(exc)


@given(raw_inputs(["provider", "rules", "remediation", "references"])
       | st.fixed_dictionaries({"provider": st.text(max_size=5), "rules": st.lists(st.dictionaries(
           st.sampled_from(["id", "name", "regex", "keywords", "severity", "context", "min_entropy",
                            "context_lines", "examples"]), json_values, max_size=9), max_size=3)}).map(
           lambda d: json.dumps(d).encode()))
def test_rules_loader(tmp_path: Path, data: bytes) -> None:
    from keyguard.ruleset.load import RuleError, load_file

    path = tmp_path / "mine.yml"
    path.write_bytes(data)
    try:
        load_file(path)
    except RuleError as exc:
        assert str(path) in str(exc)

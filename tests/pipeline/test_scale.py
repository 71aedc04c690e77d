"""Speed paths find the same as the plain path; shards partition a scan; merge rebuilds it."""
from __future__ import annotations

import base64
import io
import json
import random
from pathlib import Path

import jsonschema
import pytest

from keyguard.model import Stats
from keyguard.sources.files import POOL_MIN_FILES
from ..pipeline_support import run_files, run_texts
from keyguard.pipeline.shard import in_shard, parse_shard
from keyguard.sources import decode as files
from keyguard.sources.decode import read_texts, utf16_strings
from keyguard.sources.files import file_refs

from ..helpers import invoke, scan_report
from ..factories import key_for, line_for
from ..cli.test_cli import SARIF_SCHEMA


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, rules) -> Path:
    """More files than POOL_MIN_FILES: every rule's keys in plain, base64, UTF-16 and binary
    files, between files of look-alike noise (keywords without keys, invalid UTF-8, NULs)."""
    root = tmp_path_factory.mktemp("corpus")
    rnd = random.Random(6)
    seed = 60_000
    for rule in rules.values():
        d = root / "keys" / rule.id
        d.mkdir(parents=True)
        for i in range(2):
            seed += 1
            line = line_for(rule, key_for(rule, seed))
            (d / f"plain{i}.py").write_text("import os\n" * rnd.randint(0, 30) + line + "\n")
            encoded = base64.b64encode((line + "\n").encode()).decode()
            (d / f"secret{i}.yaml").write_text(f"kind: Secret\ndata:\n  value: {encoded}\n")
            (d / f"wide{i}.txt").write_bytes(b"\xff\xfe" + f"x = 1\n{line}\n".encode("utf-16-le"))
            (d / f"app{i}.exe").write_bytes(
                b"MZ\x90\x00" + b"\x00\x01" * 40 + line.encode("utf-16-le") + b"\x00\x00\xff" * 9
            )
            (d / f"min{i}.js").write_bytes(
                b"var a=function(b){return b.token&&b}\xe9\xff;" * rnd.randint(1, 200)
                + line.encode() + b";api_key='x';" * 3
            )
    noise = root / "noise"
    noise.mkdir()
    for n in range(POOL_MIN_FILES + 20):
        body = rnd.choice([
            b"def f(token):\n    return token.secret\n",
            b"plain words only\n" * 50,
            b"\x00\x01\x02binary\x00 token \x00",
            "caf\xe9 bearer ünïcödé\n".encode("latin-1", "replace"),
            b"",
        ])
        (noise / f"m{n:03}.txt").write_bytes(body)
    return root


def _key(f) -> tuple:
    return (f.path, f.line, f.column, f.end_line, f.end_column, f.rule.id, f.secret,
            sorted(f.origin.items()))


def _plain_texts(root: Path, stats: Stats):
    """Every file streamed and decoded, no gate, no whole-file read: the reference path."""
    for ref in file_refs([str(root)], stats):
        with open(ref.path, "rb") as fh:
            stats.files += 1
            yield from read_texts(fh, ref.shown, ref.abs_path, ref.root, stats)
            yield from utf16_strings(fh, ref.shown, ref.abs_path, ref.root)


@pytest.mark.parametrize("whole_file_bytes", [None, 700])
def test_gate_and_workers_find_what_the_plain_path_finds(corpus, rules, whole_file_bytes, monkeypatch):
    if whole_file_bytes:  # most files take the large-file path: gated block by block
        monkeypatch.setattr(files, "WHOLE_FILE_BYTES", whole_file_bytes)
    monkeypatch.setattr("keyguard.sources.files.BATCH_FILES", 16)  # many batches, collected in order
    rule_list = list(rules.values())
    plain_stats = Stats()
    plain = run_texts(_plain_texts(corpus, plain_stats), rule_list, plain_stats, str(corpus))
    expected = [_key(f) for f in plain.findings]
    assert len(expected) >= 4 * len(rule_list)  # plain, base64, UTF-16 and binary hits at least
    for jobs in (1, 2):
        stats = Stats()
        got = run_files([str(corpus)], rule_list, stats, jobs, str(corpus))
        assert [_key(f) for f in got.findings] == expected, jobs
        assert all(f.rule is rules[f.rule.id] for f in got.findings)
        assert (stats.files, stats.bytes) == (plain_stats.files, plain_stats.bytes)
        assert stats.suppressed == plain_stats.suppressed


def test_cli_jobs_reports_are_identical(corpus):
    docs = []
    for jobs in ("1", "2"):
        code, doc = scan_report(str(corpus), "--jobs", jobs, "--show-secrets")
        assert code == 1
        docs.append(doc)
    assert docs[0]["findings"] == docs[1]["findings"]
    assert docs[0]["stats"]["files"] == docs[1]["stats"]["files"] > POOL_MIN_FILES


def test_every_key_is_in_exactly_one_shard():
    keys = [f"dir{i}/file{i * 7}.py" for i in range(300)] + ["caf\\xe9.env", "-"]
    for count in (1, 2, 5):
        owners = [[i for i in range(1, count + 1) if in_shard(k, i, count)] for k in keys]
        assert all(len(o) == 1 for o in owners)
        if count > 1:
            assert len({o[0] for o in owners}) == count  # every shard gets some files
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x", "1/0", "1/2/3"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def _ids(findings: list[dict]) -> list[tuple]:
    return sorted((f["path"], f["line"], f["column"], f["fingerprint"]) for f in findings)


def test_shards_partition_the_scan_and_merge_rebuilds_it(corpus, tmp_path):
    code, full = scan_report(str(corpus), "-j", "1")
    shard_files, per_shard = [], []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}.json"
        p = invoke("scan", str(corpus), "--shard", f"{i}/3", "--format", "json", "-o", str(out))
        assert p.returncode in (0, 1), p.stderr
        shard_files.append(str(out))
        per_shard.append(json.loads(out.read_text()))
    found = [_ids(d["findings"]) for d in per_shard]
    assert all(found), "each shard holds some of the findings"
    union = sorted(x for f in found for x in f)
    assert union == _ids(full["findings"]) and len(set(union)) == len(union)  # disjoint, complete
    assert sum(d["stats"]["files"] for d in per_shard) == full["stats"]["files"]

    merged_path = tmp_path / "merged.json"
    p = invoke("merge", *shard_files, shard_files[0], "-o", str(merged_path))
    assert p.returncode == 1, p.stderr
    merged = json.loads(merged_path.read_text())
    assert _ids(merged["findings"]) == _ids(full["findings"])  # shard 1 twice: no duplicates
    assert [f["path"] for f in merged["findings"]] == [f["path"] for f in full["findings"]]
    assert merged["stats"]["files"] == full["stats"]["files"] + per_shard[0]["stats"]["files"]


def test_sarif_shards_merge_into_one_valid_run(corpus, tmp_path):
    full = json.loads(invoke("scan", str(corpus), "--format", "sarif").stdout)
    paths = []
    for i in (1, 2):
        out = tmp_path / f"s{i}.sarif"
        invoke("scan", str(corpus), "--shard", f"{i}/2", "--format", "sarif", "-o", str(out))
        paths.append(str(out))
    p = invoke("merge", *paths, *paths, "-o", str(tmp_path / "all.sarif"))
    assert p.returncode == 1, p.stderr
    doc = json.loads((tmp_path / "all.sarif").read_text())
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA.read_text()))
    [run_] = doc["runs"]

    def where(r):
        loc = r["locations"][0]["physicalLocation"]
        return (loc["artifactLocation"]["uri"], loc["region"]["startLine"],
                loc["region"]["startColumn"], r["partialFingerprints"]["keyguardSecret/v1"])

    assert sorted(map(where, run_["results"])) == sorted(map(where, full["runs"][0]["results"]))
    rules = run_["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run_["results"])
    assert run_["originalUriBaseIds"] == full["runs"][0]["originalUriBaseIds"]


def test_merge_refuses_mixed_or_foreign_reports(corpus, tmp_path):
    j, s, other = tmp_path / "a.json", tmp_path / "b.sarif", tmp_path / "c.json"
    invoke("scan", str(corpus / "keys"), "--format", "json", "-o", str(j))
    invoke("scan", str(corpus / "keys"), "--format", "sarif", "-o", str(s))
    other.write_text('{"something": "else"}')
    bad_stats, bad_run = tmp_path / "d.json", tmp_path / "e.sarif"  # right shape, broken inside
    bad_stats.write_text('{"findings": [], "stats": 5}')
    bad_run.write_text('{"version": "2.1.0", "runs": [{"results": [{}]}]}')
    for args in ([str(j), str(s)], [str(j), str(other)], [str(j), "--format", "sarif"],
                 [str(tmp_path / "missing.json")], [str(j), str(bad_stats)], [str(s), str(bad_run)]):
        p = invoke("merge", *args)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, (args, p.stderr)
        assert "Traceback" not in p.stderr
    p = invoke("merge", str(j), str(bad_stats))
    assert p.stderr.startswith(f"Error: {bad_stats}: not a keyguard JSON report"), p.stderr


def test_bad_shard_is_a_usage_error(corpus):
    p = invoke("scan", str(corpus), "--shard", "4/3")
    assert p.returncode == 2 and "--shard" in p.stderr


@pytest.mark.parametrize("fast", [False, True])
def test_the_gate_sees_a_keyword_across_block_borders(tmp_path, monkeypatch, fast):
    from keyguard.detect.prefilter import ByteGate

    gate = ByteGate(["aiza"], [])
    if fast:
        monkeypatch.setattr("keyguard.detect.prefilter.HYPERSCAN_AFTER_TEXTS", -1)
    monkeypatch.setattr(files, "WHOLE_FILE_BYTES", 700)
    for where in (4094, 4096 + 700 * 3 - 1):  # across the head's end, across a later block's
        p = tmp_path / f"k{where}.bin"
        body = bytearray(b"." * 8000)
        body[where : where + 4] = b"AiZa"
        p.write_bytes(bytes(body))
        with open(p, "rb") as fh:
            assert files.gate_stream(fh, gate)[:2] == (True, False)
    wide = tmp_path / "w.bin"
    wide.write_bytes(b"\x00" * 10 + b"." * 5000 + "AIZA".encode("utf-16-le") + b"." * 3000)
    with open(wide, "rb") as fh:
        assert files.gate_stream(fh, gate)[:3] == (False, True, wide.stat().st_size)
    (tmp_path / "none.bin").write_bytes(b"A.i.z.a" * 2000)
    with open(tmp_path / "none.bin", "rb") as fh:
        assert files.gate_stream(fh, gate)[:3] == (False, False, 14000)


class _Trickle(io.BytesIO):
    """A stream that returns at most 1000 bytes per read, as a pipe may."""

    def read(self, n: int | None = -1) -> bytes:
        return super().read(1000 if n is None or n < 0 else min(n, 1000))


@pytest.mark.parametrize("body", [
    b"plain ascii line\n" * 3000,
    ("caf\u00e9 \U0001f511 \u6f22\u5b57\n" * 4000).encode(),
    b"\x80\xff broken \xc3(\n" * 3000 + b"x" * 7000,  # invalid UTF-8, a long last line
    b"y" * 40000,  # no newline at all: columns carry over
])
def test_large_file_chunks_are_overlapping_windows_of_the_text(body):
    """Chunks of ``chunk`` characters (plus the overlap) in order, however the bytes arrive,
    each with the line and column offsets of its start."""
    chunk = 3000
    full = body.decode("utf-8", "replace")
    for stream in (io.BytesIO(body), _Trickle(body)):
        stats = Stats()
        texts = list(read_texts(stream, "f", None, None, stats, chunk_chars=chunk))
        assert len(texts) > 2 and stats.bytes == len(body)
        for i, st in enumerate(texts):
            start = i * chunk
            want = full[start:] if i == len(texts) - 1 else full[start : start + chunk + files.OVERLAP]
            assert st.text == want, i
            before = full[:start]
            assert (st.line_offset, st.column_offset) == (before.count("\n"), start - before.rfind("\n") - 1)

"""Speed paths give identical findings: the Hyperscan and str.find prefilters; git history
with and without the byte gate, in one process and in workers."""
from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.sources.history import POOL_MIN_BLOBS
from keyguard.detect.prefilter import base64_fingerprints, hyperscan_available

from ..factories import key_for, line_for

needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan wheel not installed")


def _corpus(rules, seed: int, ascii: bool = False) -> str:
    rnd = random.Random(seed)
    noise = ("function(a){return a.b+c}" + ("token=1;" if ascii else "ünïcödé;")) * 40 + "\n"
    parts = []
    for i, rule in enumerate(rules * 3):
        key = key_for(rule, seed * 1000 + i)
        line = line_for(rule, key)
        roll = rnd.random()
        if roll < 0.25:
            line = "data:\n  value: " + base64.b64encode((line + "\n").encode()).decode()
        elif roll < 0.5:
            line = noise.strip() + line
        parts.append(noise * rnd.randint(1, 30) + line + "\n")
    return "".join(parts)


@needs_hyperscan
@pytest.mark.parametrize("seed,ascii", [(1, False), (2, False), (3, True), (4, True)])
def test_fast_and_plain_paths_find_the_same(rules, seed, ascii, monkeypatch):
    monkeypatch.setattr("keyguard.detect.engine.RULE_ENDS_AFTER_HITS", 0)  # rule ends from the first text
    rule_list = list(rules.values())
    text = _corpus(rule_list, seed, ascii)
    # keys glued to look-alike assignments: windows that Hyperscan's rule ends narrow
    text += "".join(
        f'x.api_key="{key_for(r, i)}";client_secret:"{"Ab1" * 9}",token="{key_for(r, i + 1)}"'
        + ("\n" if ascii else ';/* ünï */ tökén="' + key_for(r, i + 2) + '"\n')
        for i, r in enumerate(rule_list * 2)
    )
    assert text.isascii() == ascii
    assert len(text) > 256 * 1024
    fast, plain = Engine(rule_list, fast=True), Engine(rule_list, fast=False)
    def key(f):
        return (f.rule.id, f.line, f.column, f.end_line, f.end_column, f.secret, sorted(f.origin.items()))
    got_fast = sorted(map(key, fast.scan(ScanText(text, "c"), Stats())))
    got_plain = sorted(map(key, plain.scan(ScanText(text, "c"), Stats())))
    assert fast._hyperscan is not None and plain._hyperscan is None
    covered = {rule_list[i].id for i in fast._rule_ends._bytes[1]}
    assert {"generic-api-key-assignment", "google-api-key"} <= covered  # rule ends narrow these
    assert got_fast == got_plain
    assert len(got_plain) >= len(rule_list)


def test_base64_fingerprints_find_the_keyword_at_every_alignment():
    for pad in range(6):
        for word in ("sk-proj-", "AIza", "deepseek"):
            enc = base64.b64encode(b"x" * pad + f"K={word.upper()}1234".encode()).decode()
            enc2 = base64.b64encode(b"x" * pad + f"K={word}1234".encode()).decode()
            fps = base64_fingerprints(word)
            assert any(fp in enc for fp in fps) and any(fp in enc2 for fp in fps), (pad, word)


# -- git history: gate, workers and the plain path --------------------------------------------
_GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.test",
    "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.test",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
    # one time for every commit: ties in "the oldest commit that introduced a key" are decided
    # by the order findings come in, which the worker path must keep
    "GIT_AUTHOR_DATE": "@1700000000 +0000", "GIT_COMMITTER_DATE": "@1700000000 +0000",
}


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory, rules) -> Path:
    """More blobs than POOL_MIN_BLOBS; every rule's keys in plain, base64, UTF-16, binary and
    large (streamed) blobs, keys that move between paths, blobs at two paths, deletions."""
    repo = tmp_path_factory.mktemp("history")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=_GIT_ENV, capture_output=True)

    git("init", "-q", "-b", "main")
    rnd = random.Random(66)
    rule_list = list(rules.values())
    for n in range(POOL_MIN_BLOBS + 20):  # noise: keywords without keys, NULs, invalid UTF-8
        body = rnd.choice([b"def f(token):\n    return token.secret\n", b"plain words only\n" * 30,
                           b"\x00\x01binary\x00 token \x00", "caf\xe9 bearer\n".encode("latin-1")])
        (repo / "noise" / f"n{n % 7}").mkdir(parents=True, exist_ok=True)
        (repo / "noise" / f"n{n % 7}" / f"m{n:03}.txt").write_bytes(body + str(n).encode())
    git("add", "-A")
    git("commit", "-qm", "noise")
    for step in range(12):
        for i, rule in enumerate(rule_list):
            seed = 70_000 + step * 100 + i
            line = line_for(rule, key_for(rule, seed if step % 3 else 70_000 + i))  # keys recur
            d = repo / "keys" / rule.id
            d.mkdir(parents=True, exist_ok=True)
            kind = (step + i) % 5
            if kind == 0:
                (d / "config.py").write_text("import os\n" * rnd.randint(0, 9) + line + "\n")
            elif kind == 1:
                encoded = base64.b64encode((line + "\n").encode()).decode()
                (d / "secret.yaml").write_text(f"kind: Secret\ndata:\n  value: {encoded}\n")
            elif kind == 2:
                (d / "wide.txt").write_bytes(b"\xff\xfe" + f"x = 1\n{line}\n".encode("utf-16-le"))
            elif kind == 3:
                (d / "big.min.js").write_bytes(b"var a=function(b){return b.token}\xe9;" * 40
                                               + line.encode() + b";api_key='x';\n" * 3)
            else:
                (d / "app.bin").write_bytes(b"MZ\x00\x01" * 9 + line.encode() + b"\x00\xff" * 9)
        if step % 4 == 3:  # a move, and a copy: one blob at two paths
            git("mv", f"keys/{rule_list[0].id}", f"moved{step}")
            shutil.copytree(repo / f"moved{step}", repo / f"copy{step}")
        if step % 5 == 4:
            shutil.rmtree(repo / "keys" / rule_list[-1].id, ignore_errors=True)
        git("add", "-A")
        git("commit", "-qm", f"step {step}")
    return repo


def _history_keys(repo: Path, rule_list, jobs: int, gate: bool) -> tuple[list[tuple], tuple]:
    from keyguard.pipeline.run import run
    from keyguard.pipeline.scanner import Detection
    from keyguard.sources import git
    from keyguard.sources.history import HistorySource

    stats = Stats()
    r = git.open_repo(str(repo))
    result = run([HistorySource(r, None, jobs)], Detection(rule_list, gate=gate), stats, jobs, r.toplevel)
    keys = [(f.path, f.line, f.column, f.end_line, f.end_column, f.rule.id, f.secret,
             sorted(f.origin.items()), sorted(f.commit.items())) for f in result.findings]
    return keys, (stats.files, stats.bytes, sorted(stats.suppressed.items()), stats.extra["git"])


@pytest.mark.parametrize("whole_file_bytes", [None, 700])
def test_history_workers_and_gate_find_what_the_plain_path_finds(history_repo, rules, monkeypatch,
                                                                 whole_file_bytes):
    from keyguard.sources import decode as files

    if whole_file_bytes:  # most blobs take the large-blob path: streamed, not gated
        monkeypatch.setattr(files, "WHOLE_FILE_BYTES", whole_file_bytes)
    else:  # workers get blobs while the log is still being read, many small shares
        monkeypatch.setattr("keyguard.sources.history.SHARE_BLOBS", 16)
    rule_list = list(rules.values())
    expected, expected_stats = _history_keys(history_repo, rule_list, 1, gate=False)
    assert len({k[6] for k in expected}) >= len(rule_list)  # every rule's keys, and more
    assert {k[0].split("/")[0] for k in expected} >= {"keys", "copy3", "moved3"}
    for jobs, gate in ((1, True), (2, True), (3, True), (3, False)):  # from 3: workers
        got, got_stats = _history_keys(history_repo, rule_list, jobs, gate)
        assert got == expected, (jobs, gate)
        assert got_stats == expected_stats, (jobs, gate)


def test_history_cli_jobs_reports_are_identical(history_repo):
    docs = []
    for jobs in ("1", "3"):  # in one process; in workers
        p = subprocess.run([sys.executable, "-m", "keyguard", "scan", "--history", "--jobs", jobs,
                            "--format", "json", "--show-secrets", str(history_repo)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1, p.stderr
        docs.append(json.loads(p.stdout))
    assert docs[0]["findings"] == docs[1]["findings"]
    assert docs[0]["stats"]["git"]["blobs"] > POOL_MIN_BLOBS


def test_hyperscan_patterns_open_only_real_repeats():
    """Rule ends come from the regex with each {m,n} opened to {m,} (a superset of its match
    ends, compiled far faster); escaped braces and braces in classes stay as they are, and a
    pattern the opening would change otherwise is used as written."""
    from keyguard.detect.hyperscan import open_repeats
    from keyguard.ruleset.regex import same_but_wider_repeats

    cases = {
        r"a{2,5}b": r"a{2,}b", r"\{3,5}": r"\{3,5}", r"[{2,5}]x{1,2}": r"[{2,5}]x{1,}",
        r"[]{1,2}]{3,4}": r"[]{1,2}]{3,}", r"(?:ab){2,3}?c": r"(?:ab){2,}?c", r"x{3}": r"x{3}",
        r"\\{2,3}": r"\\{2,}", r"[\]{1,2}]{5,6}": r"[\]{1,2}]{5,}",
    }
    for pattern, opened in cases.items():
        assert open_repeats(pattern) == opened
        assert same_but_wider_repeats(pattern, opened)
    assert not same_but_wider_repeats(r"\{3,5}", r"\{3,}")  # a literal changed: not a repeat
    assert not same_but_wider_repeats(r"a{2,5}", r"a{3,}")


# -- directory scans: the byte gate's pattern questions ---------------------------------------
@needs_hyperscan
def test_pattern_gate_lets_through_all_the_plain_path_finds(tmp_path, rules, monkeypatch):
    """The gate asks a whole file for the rules' patterns, not their keywords: it must still
    let through keys with letters ``re`` folds to ASCII (K ſ ı İ), keys in base64 runs just
    long enough to be decoded, %-encoded inline source maps and large (memory-mapped) files,
    and keep out files with nothing but keywords."""
    from urllib.parse import quote

    from keyguard.detect.gate import byte_gate
    from keyguard.sources import decode as files
    from keyguard.sources.decode import read_texts, utf16_strings
    from keyguard.sources.files import file_refs

    from ..pipeline_support import run_files, run_texts

    monkeypatch.setattr("keyguard.detect.prefilter.HYPERSCAN_AFTER_TEXTS", -1)  # Hyperscan from the start
    monkeypatch.setattr(files, "WHOLE_FILE_BYTES", 4096)  # big.js is mapped, not read whole
    secret = "q8Z2vLx9Tm4kd7Rp1Wf6Hs3Nb0Yc5Gj8Ue2Ai"  # keyguard:allow
    google = key_for(rules["google-api-key"], 7)
    openai_line = line_for(rules["openai-project-key"], key_for(rules["openai-project-key"], 8))
    cases = {
        "kelvin.py": f'api_key = "{secret.replace("k", chr(0x212A))}"\n',  # K in the key
        # ſ, İ in the name: the engine tries the line for the keyword at its end
        "long_s.py": f'\u017fecret_key = "{secret}"  # token\n',
        "dotless.py": f'AP\u0130_KEY = "{secret}"  # token\n',
        "b64_22.yaml": "v: " + base64.b64encode(f"K={google}\n".encode()).decode() + "\n",
        "map.js": "var a=1;\n//# sourceMappingURL=data:application/json,"
                  + quote('{"version":3,"sourcesContent":["api_key = \'' + secret + '\'"]}') + "\n",
        "big.js": "var token=1;" * 2000 + openai_line + ";\n",
        "noise.py": "def f(token, secret, api_key):\n    return token.secret\n" * 50,
    }
    for name, body in cases.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    rule_list = list(rules.values())

    def plain_texts(stats):
        for ref in file_refs([str(tmp_path)], stats):
            with open(ref.path, "rb") as fh:
                stats.files += 1
                yield from read_texts(fh, ref.shown, ref.abs_path, ref.root, stats)
                yield from utf16_strings(fh, ref.shown, ref.abs_path, ref.root)

    plain_stats = Stats()
    plain = run_texts(plain_texts(plain_stats), rule_list, plain_stats, str(tmp_path))
    stats = Stats()
    gated = run_files([str(tmp_path)], rule_list, stats, 1, str(tmp_path))

    def key(f):
        return (f.path, f.line, f.column, f.end_line, f.end_column, f.rule.id, f.secret)
    assert [key(f) for f in gated.findings] == [key(f) for f in plain.findings]
    assert {f.path for f in plain.findings} >= {"kelvin.py", "long_s.py", "dotless.py", "b64_22.yaml",
                                                 "map.js", "big.js"}
    gate = byte_gate(rule_list)
    assert gate.reads_in_place()
    assert not gate.check((tmp_path / "noise.py").read_bytes())[0]  # keywords alone: not decoded
    assert gate.check((tmp_path / "kelvin.py").read_bytes())[0]


@pytest.mark.parametrize("keep_open", [False, True])
def test_blob_names_from_a_failing_source_are_read_then_the_failure_raised(tmp_path, keep_open):
    """History streams blob names from git log to cat-file while the log is read: blobs named
    before the log failed are still read, and the log's error reaches the caller (no hang, no
    traceback from the writing thread)."""
    from keyguard.sources import git

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=_GIT_ENV)
    bodies = [b"first blob\n", b"second blob\n" * 3]
    shas = [subprocess.run(["git", "-C", str(tmp_path), "hash-object", "-w", "--stdin"], input=b,
                           capture_output=True, check=True, env=_GIT_ENV).stdout.decode().strip()
            for b in bodies]

    def names():
        yield from shas
        raise git.GitError("git log: broken")

    reader = git.BlobReader(git.open_repo(str(tmp_path)), keep_open=keep_open)
    got = []
    try:
        with pytest.raises(git.GitError, match="broken"):
            for sha, size, body in reader.stream(names()):
                got.append((sha, body.read(size)))
    finally:
        reader.close()
    assert got == list(zip(shas, bodies))


# -- directory scans: Hyperscan or not, one process or workers -----------------------------------
def _bundle_tree(root: Path, rule_list) -> None:
    """Keys of every rule in the shapes published bundles have: plain and minified lines, short
    base64 runs, a long base64 run holding a JSON document, inline ``data:`` maps, a big ``.map``
    (read on the large-file path) whose text holds a character outside the BMP, decoded text
    that is not ASCII, and decoded bytes that are not text (never reported)."""
    rnd = random.Random(19)
    filler = "function(a){return a.b+c};" * 40
    for i, rule in enumerate(rule_list):
        line = line_for(rule, key_for(rule, 19_000 + i))
        d = root / f"r{i:03}"
        d.mkdir()
        (d / "plain.py").write_text(f"x = 1\n{line}\n")
        (d / "app.min.js").write_text(filler + line.replace("\n", " ") + ";" + filler)
        encoded = base64.b64encode(f"{line}\n".encode()).decode()
        (d / "secret.yaml").write_text(f"kind: Secret\ndata:\n  value: {encoded}\n")
        wide = base64.b64encode(f"# ünïcödé 𠮷 \u200b\n{line}\n".encode()).decode()
        (d / "wide.txt").write_text(f"blob = {wide}\n")
        binary = base64.b64encode(bytes(rnd.randrange(32) for _ in range(200)) + line.encode()).decode()
        (d / "binary.txt").write_text(f"blob = {binary}\n")
        doc = json.dumps({"version": 3, "sources": ["a.js"], "sourcesContent": [filler * 20 + "\n" + line]})
        inline = base64.b64encode(doc.encode()).decode()
        (d / "bundle.js").write_text(f"{filler}\n//# sourceMappingURL=data:application/json;base64,{inline}\n")
        (d / "long.txt").write_text("data = '" + base64.b64encode((filler * 50 + line).encode()).decode() + "'\n")
    lines = [line_for(r, key_for(r, 29_000 + i)) for i, r in enumerate(rule_list)]
    sources = ["𠮷 " + filler * 40 + "\n" + ln for ln in lines]
    big = json.dumps({"version": 3, "sources": [f"s{i}.js" for i in range(len(sources))],
                      "sourcesContent": sources, "mappings": "AAAA;" * 1000}, ensure_ascii=False)
    (root / "big.js.map").write_text(big, encoding="utf-8")


@needs_hyperscan
def test_directory_scans_find_the_same_with_or_without_hyperscan_and_workers(tmp_path, rules, monkeypatch):
    from keyguard.detect import prefilter
    from keyguard.sources import decode
    from keyguard.sources import files

    from ..pipeline_support import run_files

    rule_list = list(rules.values())
    _bundle_tree(tmp_path, rule_list)
    assert (tmp_path / "big.js.map").stat().st_size > 64 * 1024
    monkeypatch.setattr(decode, "WHOLE_FILE_BYTES", 64 * 1024)  # big.js.map: the large-file path
    monkeypatch.setattr(files.FilesSource, "pool_min_items", 20)
    monkeypatch.setattr(files, "BATCH_FILES", 16)
    calls = []
    real_find = prefilter.HyperscanPrefilter.find
    monkeypatch.setattr(prefilter.HyperscanPrefilter, "find",
                        lambda self, *a, **k: calls.append(1) or real_find(self, *a, **k))

    def scan(jobs: int, fast: bool) -> list[tuple]:
        with monkeypatch.context() as m:
            for module in ("keyguard.detect.engine", "keyguard.detect.prefilter"):
                m.setattr(f"{module}.hyperscan_available", lambda: fast)
                m.setattr(f"{module}.HYPERSCAN_AFTER_TEXTS", -1)  # Hyperscan from the first text
            stats = Stats()
            result = run_files([str(tmp_path)], rule_list, stats, jobs, str(tmp_path))
        return [(f.path, f.line, f.column, f.end_line, f.end_column, f.rule.id, f.secret,
                 sorted((k, str(v)) for k, v in f.origin.items())) for f in result.findings]

    plain = scan(1, fast=False)
    assert not calls
    fast = scan(1, fast=True)
    assert calls  # Hyperscan read the texts, and the decoded base64 runs
    assert fast == plain
    assert scan(2, fast=True) == plain
    assert scan(2, fast=False) == plain
    paths = {p.split("/")[-1] for p, *_ in plain}
    assert {"plain.py", "app.min.js", "secret.yaml", "wide.txt", "bundle.js", "long.txt", "big.js.map"} <= paths
    assert "binary.txt" not in paths  # decoded, but not text
    decoded = [k for k in plain if ("encoding", "base64") in k[7]]
    assert len({k[6] for k in decoded}) >= len(rule_list)  # every rule's key found in base64
    # (a few rules' lines do not survive JSON escaping: a PEM block's newlines)
    assert len({k[5] for k in plain if k[0] == "big.js.map"}) >= len(rule_list) * 0.8

"""Hostile files: whatever a scanned tree holds, the scan finishes, keys in readable files are
found, what was skipped is counted in ``stats`` with its reason, and no traceback reaches the user.

Every scan runs the real ``keyguard`` command with a time-out (a FIFO opened for reading with no
writer would hang it)."""
from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest

from keyguard.model import Stats
from keyguard.sources.files import file_refs, ref_texts

from ..helpers import key, keyguard

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def scan(target: Path | str, *args: str, cwd: Path) -> dict:
    r = keyguard("scan", str(target), "--format", "json", *args, cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    return json.loads(r.stdout)


def found(doc: dict) -> dict[str, str]:
    """Path -> redacted key of each finding."""
    return {f["path"]: f["redacted"] for f in doc["findings"]}


def reasons(doc: dict) -> dict[str, str]:
    return {p["path"]: p["reason"] for p in doc["stats"]["skipped_paths"]}


def redacted(rule_id: str, secret: str) -> str:
    from keyguard.model import redact

    from ..helpers import RULES

    return redact(secret, RULES[rule_id].keywords)


def test_a_single_line_of_200_mib_is_read_in_chunks_and_its_key_found(tmp_path):
    """200 MiB on one line, the key near its end. keyguard runs with 512 MiB of address space:
    the file read whole (200 MiB of bytes, as much again of text, and its UTF-8 copy) would not
    fit, so passing shows the line was streamed in bounded chunks."""
    secret = key("google-api-key", 801)
    block = (b'var a=1,b="x";function f(){return a+b}' * 30_000)[: 2**20]
    path = tmp_path / "app.min.js"
    with open(path, "wb") as fh:
        for _ in range(200):
            fh.write(block)
        fh.write(f'const k="{secret}";'.encode() + block[:1000])
    limit = 512 * 2**20

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "keyguard", "scan", str(path), "--format", "json"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300, preexec_fn=cap)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    assert [(f["line"], f["column"], f["redacted"]) for f in doc["findings"]] == [
        (1, 200 * 2**20 + len('const k="') + 1, redacted("google-api-key", secret))]
    assert doc["stats"]["files"] == 1 and doc["stats"]["bytes"] == path.stat().st_size


def test_millions_of_lines_keep_exact_line_numbers(tmp_path):
    secret = key("openai-project-key", 802)
    lines = 3_000_000
    path = tmp_path / "log.txt"
    with open(path, "wb") as fh:
        fh.write(b"x=1\n" * (lines - 2))
        fh.write(f"OPENAI_API_KEY={secret}\n".encode())
        fh.write(b"x=1\n")
    doc = scan(path, cwd=tmp_path)
    assert [(f["line"], f["column"]) for f in doc["findings"]] == [(lines - 1, 16)]


def test_nul_bytes_invalid_utf8_and_utf16_without_a_bom(tmp_path):
    keys = {name: key("google-api-key", 810 + i) for i, name in enumerate(
        ["nul.txt", "invalid.txt", "utf16le.yaml", "utf16be.yaml", "binary.bin"])}
    (tmp_path / "nul.txt").write_bytes(b"\0\0head\0" + f'GEMINI_API_KEY="{keys["nul.txt"]}"\n'.encode()
                                       + b"\0" * 64)
    (tmp_path / "invalid.txt").write_bytes(b"ok \xc3( \xa0\xa1 \xed\xa0\x80 " + f'k="{keys["invalid.txt"]}"'.encode()
                                           + b" \x80\x81\xf8\n")
    body = 'config:\n  GEMINI_API_KEY: "{}"\n'
    (tmp_path / "utf16le.yaml").write_bytes(body.format(keys["utf16le.yaml"]).encode("utf-16-le"))
    (tmp_path / "utf16be.yaml").write_bytes(body.format(keys["utf16be.yaml"]).encode("utf-16-be"))
    # a binary with its strings kept as UTF-16LE (.NET, Windows resources)
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4 + f"api={keys['binary.bin']}".encode("utf-16-le")
                                          + b"\0\1\2" * 100)
    doc = scan(tmp_path, cwd=tmp_path)
    assert found(doc) == {name: redacted("google-api-key", k) for name, k in keys.items()}
    by_path = {f["path"]: f for f in doc["findings"]}
    assert by_path["utf16le.yaml"]["origin"]["encoding"] == "utf-16-le"
    assert by_path["utf16be.yaml"]["origin"]["encoding"] == "utf-16-be"
    assert by_path["utf16le.yaml"]["line"] == 2
    assert doc["stats"]["skipped"] == {}


def _mkdirs_deep(top: Path, names: list[str], plant: dict[int, str]) -> None:
    """Folders ``names[0]/names[1]/...`` below ``top``, made through directory descriptors (the
    full path may exceed PATH_MAX); ``plant`` puts a .env file with a key at some levels."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level, name in enumerate(names, 1):
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
            if level in plant:
                wfd = os.open("deep.env", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(wfd, f"GEMINI_API_KEY={plant[level]}\n".encode())
                os.close(wfd)
    finally:
        os.close(fd)


def _remove_deep(top: Path) -> None:
    """Remove a tree of any depth level by level (shutil.rmtree recurses once per level, and
    pytest's own clean-up of old temp folders would fail on these)."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    names: list[str] = []
    while fds:
        sub = None
        for entry in os.scandir(fds[-1]):
            if entry.is_dir(follow_symlinks=False):
                sub = entry.name
                break
            os.unlink(entry.name, dir_fd=fds[-1])
        if sub is not None:
            fds.append(os.open(sub, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
            names.append(sub)
            continue
        os.close(fds.pop())
        if fds:
            os.rmdir(names.pop(), dir_fd=fds[-1])
    os.rmdir(top)


def test_deeply_nested_folders_and_paths_beyond_path_max():
    """1,500 levels (a recursive walk would hit Python's recursion limit): every key is found.
    Then 25 levels of 200-character names: past PATH_MAX (4096 bytes) the OS refuses the path,
    the walk stops there with the reason in the stats. (Built outside pytest's temp folder,
    whose clean-up recurses per level.)"""
    base = Path(tempfile.mkdtemp(prefix="keyguard-deep-"))
    try:
        shallow, bottom, unreachable = (key("google-api-key", 820 + i) for i in range(3))
        (base / "deep").mkdir()
        _mkdirs_deep(base / "deep", ["n"] * 1500, {700: shallow, 1500: bottom})
        doc = scan("deep", cwd=base)
        assert found(doc) == {"n/" * 700 + "deep.env": redacted("google-api-key", shallow),
                              "n/" * 1500 + "deep.env": redacted("google-api-key", bottom)}
        assert doc["stats"]["skipped"] == {}
        (base / "long").mkdir()
        _mkdirs_deep(base / "long", [c * 200 for c in "abcdefghijklmnopqrstuvwxy"], {10: shallow, 25: unreachable})
        doc = scan("long", cwd=base)
        assert [f["redacted"] for f in doc["findings"]] == [redacted("google-api-key", shallow)]
        assert doc["stats"]["skipped"] == {"unreadable directory (File name too long)": 1}
    finally:
        for tree in ("deep", "long"):
            if (base / tree).exists():
                _remove_deep(base / tree)
        os.rmdir(base)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_links_loops_fifos_sockets_and_devices_are_skipped_never_opened(tmp_path):
    import socket

    tree = tmp_path / "tree"
    tree.mkdir()
    secret = key("google-api-key", 830)
    (tree / "real.env").write_text(f"GEMINI_API_KEY={secret}\n")
    os.symlink("loop-b", tree / "loop-a")
    os.symlink("loop-a", tree / "loop-b")
    os.symlink("nowhere", tree / "broken")
    os.symlink(".", tree / "self")  # a link back to its own folder: not followed
    os.mkfifo(tree / "fifo")  # opened for reading, it would block forever: no writer
    os.symlink("fifo", tree / "fifo-link")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tree / "sock"))
    expected = {"loop-a": "broken or non-file symlink", "loop-b": "broken or non-file symlink",
                "broken": "broken or non-file symlink", "self": "broken or non-file symlink",
                "fifo": "not a regular file", "fifo-link": "broken or non-file symlink",
                "sock": "not a regular file"}
    try:
        os.mknod(tree / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
        expected["null"] = "not a regular file"
    except PermissionError:
        pass  # only root makes device nodes: the others still show the walk never opens them
    try:
        doc = scan("tree", cwd=tmp_path)
        # a FIFO named on the command line is never opened either: it is an error, exit 2
        direct = keyguard("scan", "tree/fifo", "--format", "json", cwd=tmp_path)
    finally:
        sock.close()
    assert found(doc) == {"real.env": redacted("google-api-key", secret)}
    assert reasons(doc) == expected  # named relative to the scanned folder, as findings are
    assert doc["stats"]["files"] == 1
    assert direct.returncode == 2 and direct.stdout == "" and "Traceback" not in direct.stderr
    assert "tree/fifo: not a regular file" in direct.stderr


def test_files_vanishing_or_turning_into_fifos_mid_scan(tmp_path):
    """The walk lists a folder, then its files change before they are read: a file deleted, one
    replaced by a FIFO, a subfolder deleted. Each is skipped with its reason; the rest is read."""
    secret = key("google-api-key", 840)
    (tmp_path / "a-kept.env").write_text(f"GEMINI_API_KEY={secret}\n")
    (tmp_path / "b-gone.env").write_text("GEMINI_API_KEY=x\n")
    (tmp_path / "c-fifo.env").write_text("GEMINI_API_KEY=x\n")
    (tmp_path / "d-dir").mkdir()
    (tmp_path / "d-dir" / "inner.env").write_text("x\n")
    stats = Stats()
    refs = file_refs([str(tmp_path)], stats)
    first = next(refs)  # the top folder is listed now
    (tmp_path / "b-gone.env").unlink()
    (tmp_path / "c-fifo.env").unlink()
    os.mkfifo(tmp_path / "c-fifo.env")
    (tmp_path / "d-dir" / "inner.env").unlink()
    (tmp_path / "d-dir").rmdir()
    texts = [t for ref in [first, *refs] for t in ref_texts(ref, stats)]
    assert [t.path for t in texts] == ["a-kept.env"] and secret in texts[0].text
    assert {p["path"]: p["reason"] for p in stats.skipped_paths} == {
        "b-gone.env": "unreadable (No such file or directory)",
        "c-fifo.env": "not a regular file",
        "d-dir": "unreadable directory (No such file or directory)",
    }


_AS_NOBODY = """
import os, sys
from keyguard.cli import cli

def run(args):
    try:
        cli.main(args=args, prog_name="keyguard", standalone_mode=False)
    except SystemExit as exc:
        return exc.code
    return 0

empty, target = sys.argv[1], sys.argv[2]
# the interpreter lives under /root (mode 0700): load every module a scan needs, then drop root
for fmt in ("json", "sarif", "text"):
    run(["scan", empty, "--format", fmt, "-o", os.devnull])
for enc in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
    "x".encode(enc).decode(enc)
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
sys.exit(run(["scan", target, "--format", "json"]))
"""


def test_permission_denied_files_and_folders_are_skipped_with_the_reason():
    """Run as a user that cannot read them: as root (this suite's usual case) keyguard drops to
    ``nobody`` after loading its modules; as another user it runs as that user."""
    base = Path(tempfile.mkdtemp(prefix="keyguard-perm-"))
    try:
        os.chmod(base, 0o755)  # nobody may enter
        tree, empty = base / "tree", base / "empty"
        tree.mkdir()
        empty.mkdir()
        secret = key("google-api-key", 850)
        (tree / "readable.env").write_text(f"GEMINI_API_KEY={secret}\n")
        (tree / "secret.env").write_text(f"GEMINI_API_KEY={key('google-api-key', 851)}\n")
        (tree / "locked").mkdir()
        (tree / "locked" / "inside.env").write_text(f"GEMINI_API_KEY={key('google-api-key', 852)}\n")
        os.chmod(tree / "secret.env", 0)
        os.chmod(tree / "locked", 0)
        if os.geteuid() == 0:
            cmd = [sys.executable, "-c", _AS_NOBODY, str(empty), str(tree)]
        else:
            cmd = [sys.executable, "-m", "keyguard", "scan", str(tree), "--format", "json"]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=base, timeout=120)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        doc = json.loads(r.stdout)
        assert found(doc) == {"readable.env": redacted("google-api-key", secret)}
        assert reasons(doc) == {
            "secret.env": "unreadable (Permission denied)",
            "locked": "unreadable directory (Permission denied)",
        }
    finally:
        for p in (base / "tree" / "secret.env", base / "tree" / "locked"):
            if p.exists():
                os.chmod(p, 0o755)
        import shutil

        shutil.rmtree(base)


def test_names_with_newlines_control_characters_and_invalid_utf8_keep_reports_valid(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    names = [b"new\nline.env", b"bad-\xff\xfe-utf8.env", b'quote"back\\slash\ttab.env',
             b"esc-\x1b[31mred.env", "ünïcödé 文件.env".encode()]
    secrets = {}
    for i, name in enumerate(names):
        secrets[name] = key("google-api-key", 860 + i)
        with open(os.fsencode(tree) + b"/" + name, "w") as fh:
            fh.write(f"GEMINI_API_KEY={secrets[name]}\n")
    doc = scan("tree", cwd=tmp_path)
    assert sorted(f["redacted"] for f in doc["findings"]) == sorted(
        redacted("google-api-key", s) for s in secrets.values())
    paths = {f["path"] for f in doc["findings"]}
    assert "bad-\\xff\\xfe-utf8.env" in paths and "new\nline.env" in paths
    r = keyguard("scan", "tree", "--format", "sarif", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    sarif = json.loads(r.stdout)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    uris = [res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for res in sarif["runs"][0]["results"]]
    assert len(uris) == len(names)
    assert all(not any(ch in uri for ch in '\n\t\x1b"\\ ') for uri in uris), uris
    # the text report shows a control character escaped: a name cannot forge a report line
    r = keyguard("scan", "tree", cwd=tmp_path)
    assert r.returncode == 1 and "\x1b[31m" not in r.stdout and "new\nline" not in r.stdout
    assert "new\\nline.env" in r.stdout


def test_truncated_and_malformed_source_maps_and_notebooks(tmp_path):
    keys = [key("openai-project-key", 870 + i) for i in range(5)]
    (tmp_path / "truncated.js.map").write_text(
        '{"version":3,"sources":["a.ts"],"sourcesContent":["const k = \\"' + keys[0] + '\\";')
    (tmp_path / "wrong-types.js.map").write_text(json.dumps(
        {"version": 3, "sources": 7, "sourcesContent": {"a": f"k={keys[1]}"}}))
    (tmp_path / "truncated.ipynb").write_text(
        '{"cells": [{"cell_type": "code", "source": ["OPENAI_API_KEY = \\"' + keys[2] + '\\""]')
    (tmp_path / "garbage.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + f"k={keys[3]}".encode() + b"\xff" * 50)
    (tmp_path / "empty.js.map").write_text("")
    # nested 100,000 deep: json's decoder recursed until a RecursionError (a traceback)
    (tmp_path / "nested.js.map").write_text(
        '{"x": ' + "[" * 100_000 + "]" * 100_000 + f', "sourcesContent": ["k={keys[4]}"]}}')
    doc = scan(tmp_path, cwd=tmp_path)
    assert found(doc) == {
        "truncated.js.map": redacted("openai-project-key", keys[0]),
        "wrong-types.js.map": redacted("openai-project-key", keys[1]),
        "truncated.ipynb": redacted("openai-project-key", keys[2]),
        "garbage.ipynb": redacted("openai-project-key", keys[3]),
        "nested.js.map": redacted("openai-project-key", keys[4]),
    }
    skipped = reasons(doc)
    assert set(skipped) == {"truncated.js.map", "wrong-types.js.map", "nested.js.map"}  # each still
    assert all(r.startswith("malformed source map: ") for r in skipped.values()), skipped  # read as text
    assert skipped["nested.js.map"] == "malformed source map: not JSON (nested too deeply)"


@pytest.mark.parametrize("name, body, message", [
    (".keyguard.yaml", "allow: " + "[" * 100_000 + "]" * 100_000 + "\n", "not valid YAML: nested too deeply"),
    ("pyproject.toml", "[tool.keyguard]\nskip = " + "[" * 100_000 + "]" * 100_000 + "\n",
     "not valid TOML: nested too deeply"),
    (".keyguard-baseline.json", "[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
], ids=["yaml", "toml", "baseline"])
def test_a_deeply_nested_config_or_baseline_in_the_tree_is_one_line_not_a_crash(tmp_path, name, body, message):
    """libyaml crashed the process (SIGSEGV) on 100,000 nested brackets; json and tomllib raised
    RecursionError. Each is now one line and exit 2, like any other malformed config."""
    (tmp_path / name).write_text(body)
    r = keyguard("scan", ".", cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    assert r.stderr.strip().splitlines() == [f"Error: ./{name}: {message}"]


def test_a_source_map_over_64_mib_is_scanned_as_plain_text_with_the_reason(tmp_path):
    """Past SOURCE_MAP_MAX_BYTES a map is not parsed whole (memory): it is read in chunks like
    any large file, its keys still found, and the stats say why it has no original positions."""
    from keyguard.sources.decode import SOURCE_MAP_MAX_BYTES

    secret = key("openai-project-key", 880)
    filler = "const x = 1;\\n" * 1000
    path = tmp_path / "huge.js.map"
    with open(path, "w") as fh:
        fh.write('{"version":3,"sources":["a.ts"],"sourcesContent":["')
        while fh.tell() < SOURCE_MAP_MAX_BYTES + 2**20:
            fh.write(filler)
        fh.write(f'const k = \\"{secret}\\";"]}}')
    doc = scan(tmp_path, cwd=tmp_path)
    assert [(f["path"], f["redacted"], f["origin"]) for f in doc["findings"]] == [
        ("huge.js.map", redacted("openai-project-key", secret), None)]
    assert reasons(doc) == {"huge.js.map": "source map over 64 MiB: scanned as plain text"}


_TRUNCATED_WHILE_GATED = """
import sys
from keyguard.model import Stats
from keyguard.detect.gate import byte_gate
from keyguard.detect.prefilter import ByteGate
from keyguard.ruleset.load import load_rules
from keyguard.sources.files import file_refs, ref_texts

path = sys.argv[1]
real_check = ByteGate.check

def check(self, data, wide=False, part=False):
    with open(path, "r+b") as fh:  # another process empties the file while it is asked
        fh.truncate(0)
    return real_check(self, data, wide, part)

ByteGate.check = check
gate = byte_gate(load_rules())
assert gate is not None and gate.reads_in_place()
stats = Stats()
texts = [t for ref in file_refs([path], stats) for t in ref_texts(ref, stats, gate)]
print("survived", len(texts))
"""


def test_a_large_file_truncated_while_the_gate_reads_it_does_not_kill_the_scan(tmp_path):
    """Large files are read for the gate, not memory-mapped: a mapped file truncated by another
    process kills its reader with SIGBUS, which no handler turns into a clean skip."""
    pytest.importorskip("hyperscan")
    big = tmp_path / "big.min.js"
    big.write_bytes(b"var x = 1;" * 400_000 + f'var k="{key("google-api-key", 850)}";'.encode())
    r = subprocess.run([sys.executable, "-c", _TRUNCATED_WHILE_GATED, str(big)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.returncode, r.stderr[-500:])
    assert r.stdout.startswith("survived")

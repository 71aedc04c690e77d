"""Git sources on real repositories built in temp dirs: --history, --since, --staged."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

from ..helpers import key, keyguard, write
from ..cli.test_cli import SARIF_SCHEMA

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.test",
    "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.test",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    p = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


_clock = iter(range(1_700_000_000, 1_800_000_000, 3600))


def commit(repo: Path, msg: str) -> str:
    t = f"@{next(_clock)} +0000"
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", msg, "--allow-empty"], check=True,
                   env={**ENV, "GIT_AUTHOR_DATE": t, "GIT_COMMITTER_DATE": t})
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    return r


def scan(repo: Path, *args: str) -> tuple[int, dict]:
    p = keyguard("scan", *args, "--format", "json", cwd=repo)
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout)


def by_secret(findings: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in findings:
        out.setdefault(f["secret_sha256"], []).append(f)
    return out


def sha256(s: str) -> str:
    import hashlib

    return hashlib.sha256(s.encode()).hexdigest()


def test_history_finds_deleted_renamed_and_unmerged_keys(repo: Path) -> None:
    deleted, renamed, branch = (key("google-api-key", 11), key("openai-project-key", 12),
                                key("google-api-key", 13))
    write(repo / "README.md", "hello\n")
    write(repo / "app/config.py", f'x = 1\nGEMINI_API_KEY = "{deleted}"\n')
    c_deleted = commit(repo, "add config")
    write(repo / "app/config.py", "x = 1\n")
    commit(repo, "remove key")
    write(repo / "old_name.env", f'\nOPENAI_API_KEY="{renamed}"\n')
    c_renamed = commit(repo, "add env")
    git(repo, "mv", "old_name.env", "new_name.env")
    commit(repo, "rename")
    (repo / "new_name.env").unlink()
    commit(repo, "drop env")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo / "feature.py", f'GEMINI_API_KEY = "{branch}"\n')
    c_branch = commit(repo, "feature work")
    git(repo, "checkout", "-q", "main")

    code, plain = scan(repo)  # the work tree: all keys gone
    assert code == 0 and plain["findings"] == []

    code, doc = scan(repo, "--history")
    assert code == 1
    found = by_secret(doc["findings"])
    (d,) = found[sha256(deleted)]
    assert (d["path"], d["line"], d["commit"]["sha"]) == ("app/config.py", 2, c_deleted)
    assert d["commit"]["author"] == "Ada" and d["commit"]["date"].startswith("20")
    r = {f["path"]: f for f in found[sha256(renamed)]}
    assert set(r) == {"old_name.env", "new_name.env"}
    assert r["old_name.env"]["commit"]["sha"] == c_renamed and r["old_name.env"]["line"] == 2
    (b,) = found[sha256(branch)]
    assert (b["path"], b["commit"]["sha"]) == ("feature.py", c_branch)
    assert doc["stats"]["git"]["commits"] == 6


def test_history_scans_each_blob_once_and_attributes_oldest_commit(repo: Path) -> None:
    k = key("google-api-key", 21)
    write(repo / "a.py", f'GEMINI_API_KEY = "{k}"\n')
    first = commit(repo, "one")
    for i in range(3):  # the file changes around the key; the key stays
        write(repo / "a.py", f'GEMINI_API_KEY = "{k}"\n' + "# more\n" * (i + 1))
        commit(repo, f"edit {i}")
    write(repo / "copy.py", f'GEMINI_API_KEY = "{k}"\n')  # same blob as the first a.py
    copied = commit(repo, "copy")
    code, doc = scan(repo, "--history")
    assert code == 1
    by_path = {f["path"]: f for f in doc["findings"]}
    assert set(by_path) == {"a.py", "copy.py"}
    assert by_path["a.py"]["commit"]["sha"] == first
    assert by_path["copy.py"]["commit"]["sha"] == copied
    assert doc["stats"]["files"] == 4  # four distinct blobs, copy.py reuses one


def test_history_sarif_keeps_fingerprints_content_based(repo: Path) -> None:
    k = key("openai-project-key", 31)
    write(repo / "a.env", f'OPENAI_API_KEY="{k}"\n')
    write(repo / "b.env", f'# other\nOPENAI_API_KEY="{k}"\n')
    c = commit(repo, "two copies")
    p = keyguard("scan", "--history", "--format", "sarif", cwd=repo)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA.read_text()))
    results = doc["runs"][0]["results"]
    assert len(results) == 2
    assert len({json.dumps(r["partialFingerprints"]) for r in results}) == 1
    assert all(r["properties"]["commit"]["sha"] == c for r in results)
    assert k not in p.stdout


def test_since_reports_only_what_the_range_adds(repo: Path) -> None:
    old, new = key("google-api-key", 41), key("openai-project-key", 42)
    write(repo / "settings.py", f'GEMINI_API_KEY = "{old}"\n')
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "pr")
    # the file changes around the old key (moved down a line), and a new key comes in
    write(repo / "settings.py", f'import os\nGEMINI_API_KEY = "{old}"\n')
    commit(repo, "touch settings")
    write(repo / "new.env", f'\nOPENAI_API_KEY="{new}"\n')
    added = commit(repo, "add env")
    write(repo / "notes.txt", "nothing\n")
    commit(repo, "later")
    code, doc = scan(repo, "--since", "main")
    assert code == 1
    (f,) = doc["findings"]
    assert f["secret_sha256"] == sha256(new)
    assert (f["path"], f["line"], f["commit"]["sha"]) == ("new.env", 2, added)

    # a range with no new key is clean
    git(repo, "checkout", "-q", "main")
    write(repo / "x.txt", "x\n")
    commit(repo, "x")
    assert scan(repo, "--since", "HEAD~1")[0] == 0


def test_since_missing_ref_in_shallow_clone_says_how_to_fetch(repo: Path, tmp_path: Path) -> None:
    for i in range(3):
        write(repo / f"f{i}.txt", f"{i}\n")
        commit(repo, f"c{i}")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{repo}", str(clone)], check=True, env=ENV)
    base = git(repo, "rev-parse", "HEAD~2")
    p = keyguard("scan", "--since", base, cwd=clone)
    assert p.returncode == 2
    assert "shallow" in p.stderr and "git fetch" in p.stderr and "Traceback" not in p.stderr
    code, doc = scan(clone, "--history")  # what the clone has is scanned, with a warning
    assert code == 0 and doc["stats"]["git"]["commits"] == 1
    assert any("shallow" in e for e in doc["errors"])


@pytest.mark.parametrize("depth", [["--depth=1"], []], ids=["shallow", "full"])
def test_since_missing_ref_hint_is_a_fetch_command_that_works(repo: Path, tmp_path: Path,
                                                              depth: list[str]) -> None:
    """A single-branch clone of a PR branch has no origin/main: the command keyguard prints
    fetches it (``git fetch origin origin/main`` would fail: the remote has no such ref)."""
    import re
    import shlex

    for i in range(3):
        write(repo / f"f{i}.txt", f"{i}\n")
        commit(repo, f"c{i}")
    git(repo, "checkout", "-q", "-b", "pr")
    write(repo / "llm.py", f'GROQ_API_KEY = "{key("groq-api-key", 91)}"\n')
    added = commit(repo, "key")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", *depth, "--single-branch", "--branch=pr", f"file://{repo}",
                    str(clone)], check=True, env=ENV)
    p = keyguard("scan", "--since", "origin/main", cwd=clone)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    m = re.search(r"Fetch it first: `(git fetch [^`]+)`", p.stderr)
    assert m, p.stderr
    assert "origin/main" not in m.group(1).split()  # not a ref the remote has
    subprocess.run(shlex.split(m.group(1)), cwd=clone, check=True, env=ENV, capture_output=True)
    code, doc = scan(clone, "--since", "origin/main")
    assert code == 1 and [f["commit"]["sha"] for f in doc["findings"]] == [added]


def test_submodule_is_not_followed_and_does_not_break_the_scan(repo: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    write(sub / "inner.py", f'GEMINI_API_KEY = "{key("google-api-key", 95)}"\n')
    commit(sub, "inner")
    write(repo / "top.txt", "top\n")
    commit(repo, "top")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    commit(repo, "add submodule")
    git(repo, "checkout", "-q", "-b", "pr")
    write(repo / "more.txt", "more\n")
    commit(repo, "more")
    for args in (("--history",), ("--since", "main"), ("--staged",)):
        code, doc = scan(repo, *args)
        assert code == 0 and doc["findings"] == [], args
    # --history says what it did not follow
    code, doc = scan(repo, "--history")
    assert {"path": "vendor/sub", "reason": "submodule (not followed: scan its repository on its own)"} \
        in doc["stats"]["skipped_paths"]


def test_staged_scans_only_added_lines_with_staged_line_numbers(repo: Path) -> None:
    committed, staged, unstaged = (key("google-api-key", 51), key("openai-project-key", 52),
                                   key("google-api-key", 53))
    write(repo / "a.py", f'GEMINI_API_KEY = "{committed}"\n')
    commit(repo, "old key, already committed")
    write(repo / "a.py", f'# header\n\nGEMINI_API_KEY = "{committed}"\nOPENAI_API_KEY = "{staged}"\n')
    git(repo, "add", "a.py")
    write(repo / "b.py", f'GEMINI_API_KEY = "{unstaged}"\n')  # never staged
    code, doc = scan(repo, "--staged")
    assert code == 1
    (f,) = doc["findings"]
    assert (f["secret_sha256"], f["path"], f["line"], f["commit"]) == (sha256(staged), "a.py", 4, None)


def test_staged_in_a_repo_without_commits(repo: Path) -> None:
    k = key("google-api-key", 61)
    write(repo / "first.py", f'GEMINI_API_KEY = "{k}"\n')
    assert scan(repo, "--staged")[0] == 0  # nothing staged yet
    git(repo, "add", "first.py")
    code, doc = scan(repo, "--staged")
    assert code == 1 and doc["findings"][0]["path"] == "first.py"


def test_empty_and_bare_repos_and_non_repos(repo: Path, tmp_path: Path) -> None:
    assert scan(repo, "--history")[0] == 0  # no commits at all
    write(repo / "a.py", f'GEMINI_API_KEY = "{key("google-api-key", 71)}"\n')
    c = commit(repo, "key")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True, env=ENV)
    code, doc = scan(bare, "--history")
    assert code == 1 and doc["findings"][0]["commit"]["sha"] == c
    p = keyguard("scan", "--staged", cwd=bare)
    assert p.returncode == 2 and "bare" in p.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    p = keyguard("scan", "--history", cwd=plain)
    assert p.returncode == 2 and "not a git repository" in p.stderr and "Traceback" not in p.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent/here\n")
    p = keyguard("scan", "--history", cwd=broken)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def test_detached_head_and_lfs_pointer(repo: Path) -> None:
    write(repo / "model.bin", "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 12\n")
    commit(repo, "lfs")
    k = key("google-api-key", 81)
    write(repo / "a.py", f'GEMINI_API_KEY = "{k}"\n')
    c = commit(repo, "key")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    git(repo, "branch", "-D", "main")  # the key is reachable only from... nothing but reflogs
    git(repo, "checkout", "-q", "--detach", c)  # now only from the detached HEAD
    code, doc = scan(repo, "--history")
    assert code == 1 and doc["findings"][0]["commit"]["sha"] == c
    assert doc["stats"]["skipped"].get("git-lfs pointer (content not in git)") == 1


def test_corrupt_object_is_reported_and_the_scan_goes_on(repo: Path) -> None:
    good = key("google-api-key", 91)
    write(repo / "good.py", f'GEMINI_API_KEY = "{good}"\n')
    write(repo / "lost.txt", "this blob will go missing\n")
    commit(repo, "two files")
    lost = git(repo, "rev-parse", "HEAD:lost.txt")
    obj = repo / ".git" / "objects" / lost[:2] / lost[2:]
    obj.chmod(0o644)
    obj.unlink()
    code, doc = scan(repo, "--history")
    assert code == 1 and doc["findings"][0]["secret_sha256"] == sha256(good)
    assert any("missing git object" in r for r in doc["stats"]["skipped"])


def test_corrupt_pack_object_is_skipped_and_the_rest_is_read(repo: Path) -> None:
    import random

    rnd = random.Random(3)
    for i in range(3):  # incompressible enough to stay whole (not deltas) in the pack
        write(repo / f"f{i}.txt", "".join(rnd.choice("abcdefgh \n") for _ in range(20000)))
    k = key("google-api-key", 92)
    write(repo / "z.py", f'GEMINI_API_KEY = "{k}"\n')
    commit(repo, "files")
    git(repo, "gc", "-q")
    (pack,) = (repo / ".git/objects/pack").glob("*.pack")
    victim = git(repo, "rev-parse", "HEAD:f0.txt")
    offset = next(int(ln.split()[4]) for ln in git(repo, "verify-pack", "-v", str(pack.with_suffix(".idx"))).splitlines()
                  if ln.startswith(victim))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    for i in range(offset + 20, offset + 200):
        data[i] ^= 0x55
    pack.write_bytes(bytes(data))
    code, doc = scan(repo, "--history")
    assert code == 1 and doc["findings"][0]["secret_sha256"] == sha256(k)
    assert doc["stats"]["files"] == 3
    (skipped,) = doc["stats"]["skipped_paths"]
    assert skipped["path"] == f"f0.txt (blob {victim[:12]})" and "unreadable git object" in skipped["reason"]


def test_scanned_repo_cannot_run_code(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hook = tmp_path / "evil.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    for k, v in (("core.fsmonitor", str(hook)), ("core.pager", str(hook)),
                 ("log.showSignature", "true"), ("gpg.program", str(hook)),
                 ("diff.external", str(hook)), ("core.hooksPath", str(tmp_path))):
        git(repo, "config", k, v)
    write(repo / ".gitattributes", "* diff=evil filter=evil\n")
    git(repo, "config", "diff.evil.textconv", str(hook))
    git(repo, "config", "filter.evil.clean", str(hook))
    write(repo / "a.txt", "a\n")
    subprocess.run(["git", "-C", str(repo), "-c", "filter.evil.clean=cat", "add", "-A"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=",
                    "commit", "-qm", "a"], check=True, env=ENV)
    write(repo / "a.txt", "a\nb\n")
    subprocess.run(["git", "-C", str(repo), "-c", "filter.evil.clean=cat", "-c", "core.fsmonitor=",
                    "add", "-A"], check=True, env=ENV)
    marker.unlink(missing_ok=True)
    for args in (("--history",), ("--staged",), ("--since", "HEAD")):
        p = keyguard("scan", *args, cwd=repo)
        assert p.returncode == 0, p.stderr
    assert not marker.exists()


def test_history_shards_split_by_path_and_merge_rebuilds_the_scan(repo: Path, tmp_path: Path) -> None:
    keys = [key("google-api-key", 40 + i) for i in range(6)]
    for i, k in enumerate(keys):
        write(repo / f"dir{i}/settings.py", f'GEMINI_API_KEY = "{k}"\n')
        commit(repo, f"add {i}")
        write(repo / f"dir{i}/settings.py", f'GEMINI_API_KEY = "{k}"\nDEBUG = True\n')
        commit(repo, f"edit {i}")
    _, whole = scan(repo, "--history")
    reports = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}.json"
        p = keyguard("scan", "--history", "--shard", f"{i}/3", "--format", "json", "--output",
                     str(out), cwd=repo)
        assert p.returncode in (0, 1), p.stderr
        reports.append(out)
    parts = [json.loads(r.read_text())["findings"] for r in reports]
    assert sum(map(len, parts)) == len(whole["findings"]) == 6
    assert sum(1 for p in parts if p) >= 2  # the split really splits
    merged = keyguard("merge", *map(str, reports), "--format", "json", cwd=repo)
    assert merged.returncode == 1, merged.stderr
    place = lambda f: (f["path"], f["line"], f["commit"]["sha"], f["secret_sha256"])  # noqa: E731
    assert sorted(map(place, json.loads(merged.stdout)["findings"])) == sorted(
        map(place, whole["findings"]))
    bad = keyguard("scan", "--staged", "--shard", "1/2", cwd=repo)
    assert bad.returncode == 2 and "--shard" in bad.stderr


def test_bare_repository_scanned_as_a_directory_says_to_use_history(repo: Path, tmp_path: Path) -> None:
    """Its files are compressed git objects: a plain directory scan would report a false 'clean'."""
    write(repo / "a.py", f'GEMINI_API_KEY = "{key("google-api-key", 92)}"\n')
    commit(repo, "key")
    outer = tmp_path / "server"
    bare = outer / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True, env=ENV)
    for target in (bare, repo / ".git"):
        p = keyguard("scan", str(target), cwd=tmp_path)
        assert p.returncode == 2 and "--history" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    code, doc = scan(outer)  # a bare repository inside a scanned directory is counted as skipped
    assert code == 0 and doc["stats"]["skipped"] == {"bare git repository, scan it with --history": 1}
    assert scan(bare, "--history")[0] == 1


def test_git_modes_use_the_repository_roots_config_from_a_subdirectory(repo: Path) -> None:
    """Git findings' paths are relative to the top level, and so is its config: run from
    ``src/``, ``--staged``/``--since``/``--history`` still honour the root's .keyguard.yaml."""
    write(repo / "src" / "keep.txt", "x\n")
    base = commit(repo, "base")
    write(repo / "src" / "llm.py", f'GROQ_API_KEY = "{key("groq-api-key", 93)}"\n')
    git(repo, "add", "-A")
    code, doc = scan(repo / "src", "--staged")
    assert code == 1 and [f["path"] for f in doc["findings"]] == ["src/llm.py"]
    write(repo / ".keyguard.yaml", "skip:\n  - src/llm.py\n")
    git(repo, "add", "-A")
    code, doc = scan(repo / "src", "--staged")
    assert code == 0 and doc["findings"] == [] and doc["stats"]["suppressed"] == {"skipped-path": 1}
    commit(repo, "key")
    for args in (("--since", base), ("--history",)):
        code, doc = scan(repo / "src", *args)
        assert code == 0 and doc["findings"] == [], args
        assert doc["stats"]["suppressed"] == {"skipped-path": 1}, args


def test_identical_new_files_are_each_reported_in_since_and_staged(repo: Path) -> None:
    """A blob is read once, but each changed path holding it is a file the change adds."""
    write(repo / "README.md", "hi\n")
    base = commit(repo, "base")
    line = f'OPENAI_API_KEY = "{key("openai-project-key", 94)}"\n'
    write(repo / "a" / "settings.py", line)
    write(repo / "b" / "settings.py", line)
    git(repo, "add", "-A")
    code, doc = scan(repo, "--staged")
    assert code == 1 and sorted(f["path"] for f in doc["findings"]) == ["a/settings.py", "b/settings.py"]
    added = commit(repo, "two copies")
    code, doc = scan(repo, "--since", base)
    assert code == 1 and sorted((f["path"], f["commit"]["sha"]) for f in doc["findings"]) == [
        ("a/settings.py", added), ("b/settings.py", added)]

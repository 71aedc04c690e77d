"""Gitignore matching, checked against the expected answers and against git itself."""
from __future__ import annotations

import subprocess

import pytest

from keyguard.config.pathspec import PathSpec, PatternError

CASES = [
    # (patterns, path, excluded)
    (["*.log"], "debug.log", True),
    (["*.log"], "logs/deep/debug.log", True),
    (["*.log"], "debug.log.txt", False),
    (["secret.txt"], "a/b/secret.txt", True),
    (["/secret.txt"], "secret.txt", True),
    (["/secret.txt"], "a/secret.txt", False),
    (["docs/*.md"], "docs/a.md", True),
    (["docs/*.md"], "docs/sub/a.md", False),
    (["docs/*.md"], "x/docs/a.md", False),
    (["build/"], "build/out.js", True),
    (["build/"], "src/build/out.js", True),
    (["build/"], "build", False),  # a file named build is not a directory
    (["build"], "build", True),
    (["**/fixtures"], "fixtures/k.txt", True),
    (["**/fixtures"], "tests/unit/fixtures/k.txt", True),
    (["**/fixtures/*.json"], "a/fixtures/x.json", True),
    (["tests/**"], "tests/a/b.py", True),
    (["tests/**"], "tests", False),
    (["a/**/b.txt"], "a/b.txt", True),
    (["a/**/b.txt"], "a/x/y/b.txt", True),
    (["a/**/b.txt"], "ab/b.txt", False),
    (["*.env", "!example.env"], "prod.env", True),
    (["*.env", "!example.env"], "example.env", False),
    (["!example.env", "*.env"], "example.env", True),  # the last match wins
    (["vendor/", "!vendor/keep.py"], "vendor/keep.py", True),  # no re-include under an excluded dir
    (["vendor/*", "!vendor/keep.py"], "vendor/keep.py", False),
    (["file?.txt"], "file1.txt", True),
    (["file?.txt"], "file10.txt", False),
    (["file[0-9].txt"], "file7.txt", True),
    (["file[!0-9].txt"], "filex.txt", True),
    (["file[!0-9].txt"], "file7.txt", False),
    (["a*b"], "a/b", False),  # * never crosses /
    (["\\#notes"], "#notes", True),
    (["\\!bang"], "!bang", True),
    (["# comment", "", "x.txt"], "x.txt", True),
    (["x.txt   "], "x.txt", True),  # trailing spaces ignored
    (["*.min.js"], "./static/app.min.js", True),
]


@pytest.mark.parametrize("patterns,path,excluded", CASES)
def test_gitignore_semantics(patterns, path, excluded):
    assert PathSpec(patterns).match(path) is excluded


def _git_ignores(tmp_path, patterns: list[str], path: str) -> bool:
    (tmp_path / ".gitignore").write_text("\n".join(patterns) + "\n")
    r = subprocess.run(
        ["git", "-c", "core.excludesFile=/dev/null", "check-ignore", "--no-index", "-q", path],
        cwd=tmp_path, capture_output=True,
    )
    assert r.returncode in (0, 1), r.stderr
    return r.returncode == 0


def test_agrees_with_git(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    disagreements = []
    for patterns, path, _ in CASES:
        path = path.removeprefix("./")
        if path in ("build", "tests"):
            continue  # git does not know whether these would be files or directories
        if _git_ignores(tmp_path, patterns, path) != PathSpec(patterns).match(path):
            disagreements.append((patterns, path))
    assert disagreements == []


def test_empty_spec_matches_nothing():
    spec = PathSpec(["# only a comment", ""])
    assert not spec
    assert not spec.match("anything.py")


@pytest.mark.parametrize("bad", ["[abc", "foo\\", "/"])
def test_bad_patterns_are_refused(bad):
    with pytest.raises(PatternError):
        PathSpec([bad])

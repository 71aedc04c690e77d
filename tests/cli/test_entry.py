"""The console script's fast path for the pre-commit hook: ``scan --staged [--no-color] FILE...``
runs without click, and says and exits exactly what the command line would."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.entry import precommit_files

from ..helpers import key, write

RUN = ("import sys, json\n"
       "sys.argv = ['keyguard', *json.loads(sys.argv[1])]\n"
       "from keyguard.{module} import main\n"
       "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
       "sys.stdout.flush()\n"
       "sys.stderr.write('\\n@@' + json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] == 'click')]))\n")


def run(cwd: Path, module: str, *args: str) -> tuple[int, str, str, list[str]]:
    """(exit code, stdout, stderr, click modules loaded) of ``keyguard ARGS`` run through
    ``keyguard.entry.main`` (the console script) or ``keyguard.cli.main`` (the command line)."""
    p = subprocess.run([sys.executable, "-c", RUN.format(module=module), json.dumps(args)], cwd=cwd,
                       capture_output=True, text=True, timeout=120)
    err, _, tail = p.stderr.rpartition("\n@@")
    code, loaded = json.loads(tail)
    return code, re.sub(r"\d+\.\d+ s\)", "T s)", p.stdout), err, loaded  # the elapsed time differs


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    write(tmp_path / "old.py", f'KEY = "{key("openai-project-key", 71)}"\nDEBUG = 1\n')
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "old key")
    write(tmp_path / "old.py", f'KEY = "{key("openai-project-key", 71)}"\nDEBUG = 0\n')
    write(tmp_path / "new.py", f'GEMINI_API_KEY = "{key("google-api-key", 72)}"\n')
    git(tmp_path, "add", "-A")
    return tmp_path


@pytest.mark.parametrize("args", [
    ("scan", "--staged", "--no-color", "old.py", "new.py"),  # a finding: exit 1
    ("scan", "--staged", "--no-color", "old.py"),  # the old key only: exit 0
    ("scan", "--staged", "--", "new.py"),
])
def test_the_fast_path_says_and_exits_what_the_command_line_does(repo: Path, args: tuple[str, ...]) -> None:
    fast, slow = run(repo, "entry", *args), run(repo, "cli", *args)
    assert fast[:3] == slow[:3]
    assert fast[0] == (0 if args[-1] == "old.py" else 1), fast
    assert fast[3] == [] and slow[3], "the fast path loads no click; the command line does"


def test_an_error_on_the_fast_path_is_the_command_lines_error(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "x = 1\n")  # not a git repository
    fast, slow = run(tmp_path, "entry", "scan", "--staged", "a.py"), run(tmp_path, "cli", "scan", "--staged", "a.py")
    assert fast[:3] == slow[:3]
    assert fast[0] == 2 and fast[2].startswith("Error: ") and "git" in fast[2], fast


@pytest.mark.parametrize("args, expected", [
    (["scan", "--staged", "--no-color", "a.py", "b.py"], (["a.py", "b.py"], False)),
    (["scan", "--staged", "--color", "a.py"], (["a.py"], True)),
    (["scan", "--staged", "a.py"], (["a.py"], None)),
    (["scan", "--staged", "--", "-odd.py"], (["-odd.py"], None)),
    (["scan", "--staged", "--no-color"], None),  # no file: the whole index, click's way
    (["scan", "--staged", "--format", "json", "a.py"], None),  # any other option: click
    (["scan", "--staged", "a.py", "-v"], None),
    (["scan", "--staged", "--help"], None),
    (["scan", "a.py"], None),
    (["baseline", "--staged", "a.py"], None),
])
def test_only_the_hooks_own_command_line_takes_the_fast_path(args: list[str], expected: object) -> None:
    assert precommit_files(args) == expected


def test_a_renamed_file_is_judged_as_the_whole_index_judges_it(repo: Path) -> None:
    """``git mv`` of a file holding a committed key adds no key: the hook, which names only the
    new path, must see the rename as ``--staged`` does, not a new file."""
    git(repo, "commit", "-qm", "both")
    git(repo, "mv", "old.py", "moved.py")
    whole = run(repo, "entry", "scan", "--staged", "--no-color")
    assert whole[0] == 0, whole
    assert run(repo, "entry", "scan", "--staged", "--no-color", "moved.py")[:3] == whole[:3]

    # renamed and given a new key (git still sees a rename): only the new key is this commit's doing
    padding = "".join(f"SETTING_{i} = {i}\n" for i in range(20))
    write(repo / "moved.py", f'KEY = "{key("openai-project-key", 71)}"\nDEBUG = 0\n{padding}')
    git(repo, "add", "moved.py")
    git(repo, "commit", "-qm", "longer")
    git(repo, "mv", "moved.py", "again.py")
    write(repo / "again.py", f'KEY = "{key("openai-project-key", 71)}"\nDEBUG = 0\n{padding}'
                             f'X = "{key("openai-project-key", 73)}"\n')
    git(repo, "add", "again.py")
    code, out, err, _ = run(repo, "entry", "scan", "--staged", "--no-color", "again.py")
    assert code == 1 and "again.py\n  23:" in out and "1 finding in 1 file" in out, out + err
    assert (code, out, err) == run(repo, "entry", "scan", "--staged", "--no-color")[:3]

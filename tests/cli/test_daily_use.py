"""Daily use from the command line: unambiguous paths, exit codes, report formats, colour, git advice, help."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import key, keyguard, write
from ..sources.test_git import ENV, commit, git

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


# -- several targets: every path says which target it is under -------------------------------------
def test_two_targets_with_the_same_relative_path_stay_apart(tmp_path: Path) -> None:
    front, back = key("google-api-key", 901), key("openai-project-key", 902)
    write(tmp_path / "frontend" / "src" / "config.js", f'export const KEY = "{front}";\n')
    write(tmp_path / "backend" / "src" / "config.js", f'OPENAI_API_KEY = "{back}"\n')
    r = run("scan", "frontend", "backend", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    paths = sorted(f["path"] for f in json.loads(r.stdout)["findings"])
    assert paths == ["backend/src/config.js", "frontend/src/config.js"]
    text = run("scan", "frontend", "backend", cwd=tmp_path).stdout
    assert "frontend/src/config.js" in text and "backend/src/config.js" in text


def test_a_file_and_a_directory_keep_the_directory_prefix(tmp_path: Path) -> None:
    k = key("google-api-key", 903)
    write(tmp_path / ".env", "PORT=3000\n")
    write(tmp_path / "dist" / "app.js", f'const k="{k}";\n')
    r = run("scan", ".env", "dist", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert [f["path"] for f in json.loads(r.stdout)["findings"]] == ["dist/app.js"]


def test_a_baseline_of_two_targets_tells_their_files_apart(tmp_path: Path) -> None:
    same = key("google-api-key", 904)  # the same key in both: two findings, two entries
    write(tmp_path / "a" / "config.js", f'export const KEY = "{same}";\n')
    write(tmp_path / "b" / "config.js", f'export const KEY = "{same}";\n')
    r = run("baseline", "create", "a", "b", "--output", "base.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    entries = json.loads((tmp_path / "base.json").read_text())["entries"]
    assert sorted(e["path"] for e in entries) == ["a/config.js", "b/config.js"]
    assert run("scan", "a", "b", "--baseline", "base.json", cwd=tmp_path).returncode == 0
    write(tmp_path / "c" / "config.js", f'export const KEY = "{same}";\n')
    r = run("scan", "a", "c", "--baseline", "base.json", "--format", "json", cwd=tmp_path)
    assert [f["path"] for f in json.loads(r.stdout)["findings"]] == ["c/config.js"]


# -- a target the user named that cannot be scanned is an error ------------------------------------
def test_a_fifo_or_a_device_named_as_target_is_exit_2_with_the_reason(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.env")
    for target in ("pipe.env", "/dev/zero"):
        r = run("scan", target, cwd=tmp_path)
        assert r.returncode == 2, (target, r.stdout, r.stderr)
        assert target in r.stderr and "not a regular file" in r.stderr and "Traceback" not in r.stderr


_AS_NOBODY = """
import os, sys, traceback
from keyguard.cli import cli

def run(args):
    try:
        cli.main(args=args, prog_name="keyguard", standalone_mode=False)
    except SystemExit as exc:
        return exc.code
    except Exception as exc:  # what the console script turns into its one-line error
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0

# the interpreter lives under /root (mode 0700): load every module a scan needs, then drop root
open("readable.txt", "w").close()
for fmt in ("json", "text"):
    run(["scan", "readable.txt", ".", "--format", fmt, "-o", os.devnull])
os.setgroups([]); os.setgid(65534); os.setuid(65534)
sys.exit(run(sys.argv[1:]))
"""


def test_an_unreadable_file_named_as_target_is_exit_2(tmp_path: Path) -> None:
    base = tmp_path / "perm"
    base.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(base, 0o755)
    secret = write(base / "unreadable.env", f"GEMINI_API_KEY={key('google-api-key', 905)}\n")
    os.chmod(secret, 0)
    cmd = ([sys.executable, "-c", _AS_NOBODY] if os.geteuid() == 0 else [sys.executable, "-m", "keyguard"])
    try:
        r = subprocess.run([*cmd, "scan", "unreadable.env"], cwd=base, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(secret, 0o644)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "unreadable.env" in r.stderr and "Permission denied" in r.stderr and "Traceback" not in r.stderr


def test_files_skipped_inside_a_directory_are_named_in_the_text_report(tmp_path: Path) -> None:
    write(tmp_path / "tree" / "ok.txt", "hello\n")
    for i in range(12):
        os.mkfifo(tmp_path / "tree" / f"pipe{i:02}")
    r = run("scan", "tree", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "pipe00" in r.stdout and "not a regular file" in r.stdout
    assert "pipe11" not in r.stdout  # a short list; --verbose names them all
    r = run("scan", "tree", "--verbose", cwd=tmp_path)
    assert all(f"pipe{i:02}" in r.stdout for i in range(12))


# -- --since from a subdirectory keeps each finding's commit ----------------------------------------
def test_since_from_a_subdirectory_keeps_the_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "sub" / "README.txt", "hi\n")
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "pr")
    write(repo / "sub" / "llm.py", f'OPENAI_API_KEY = "{key("openai-project-key", 906)}"\n')
    added = commit(repo, "call the model")
    r = run("scan", "--since", "main", "--format", "json", cwd=repo / "sub", env=ENV)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    (f,) = doc["findings"]
    assert f["path"] == "sub/llm.py" and f["commit"] and f["commit"]["sha"] == added
    assert doc["errors"] == []


# -- -o FILE: the format follows the extension ------------------------------------------------------
def test_output_format_follows_the_file_extension(tmp_path: Path) -> None:
    write(tmp_path / "src" / "a.py", f'OPENAI_API_KEY = "{key("openai-project-key", 907)}"\n')
    assert run("scan", "src", "-o", "out.sarif", cwd=tmp_path).returncode == 1
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"
    assert run("scan", "src", "-o", "out.json", cwd=tmp_path).returncode == 1
    assert "findings" in json.loads((tmp_path / "out.json").read_text())
    assert run("scan", "src", "-o", "out.sarif.json", cwd=tmp_path).returncode == 1
    assert json.loads((tmp_path / "out.sarif.json").read_text())["version"] == "2.1.0"
    # --format says otherwise: it wins
    assert run("scan", "src", "--format", "text", "-o", "report.sarif", cwd=tmp_path).returncode == 1
    assert (tmp_path / "report.sarif").read_text().startswith("a.py")
    assert run("scan", "src", "-o", "report.txt", cwd=tmp_path).returncode == 1
    assert (tmp_path / "report.txt").read_text().startswith("a.py")


# -- NO_COLOR / FORCE_COLOR ---------------------------------------------------------------------------
def on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run keyguard with its standard output on a pseudo-terminal; what it wrote there."""
    leader, follower = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "keyguard", *args], cwd=cwd, env=env,
                         stdout=follower, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_no_color_and_force_color(tmp_path: Path) -> None:
    write(tmp_path / "a.py", f'OPENAI_API_KEY = "{key("openai-project-key", 908)}"\n')
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    assert ANSI.search(on_a_terminal(["scan", "."], tmp_path, base))  # a terminal: colour
    assert not ANSI.search(on_a_terminal(["scan", "."], tmp_path, {**base, "NO_COLOR": "1"}))
    assert ANSI.search(on_a_terminal(["scan", ".", "--color"], tmp_path, {**base, "NO_COLOR": "1"}))
    # an empty NO_COLOR is not set (no-color.org)
    assert ANSI.search(on_a_terminal(["scan", "."], tmp_path, {**base, "NO_COLOR": ""}))
    piped = run("scan", ".", cwd=tmp_path, env={**base, "FORCE_COLOR": "1"})
    assert piped.returncode == 1 and ANSI.search(piped.stdout)
    assert not ANSI.search(run("scan", ".", cwd=tmp_path, env=base).stdout)
    assert not ANSI.search(run("scan", ".", "--no-color", cwd=tmp_path, env={**base, "FORCE_COLOR": "1"}).stdout)


# -- git advice fits the repository ---------------------------------------------------------------------
def test_since_a_remote_ref_in_a_repo_without_that_remote_gives_no_fetch_advice(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "a.txt", "1\n")
    commit(repo, "one")
    r = run("scan", "--since", "origin/main", cwd=repo, env=ENV)
    assert r.returncode == 2
    assert "git fetch" not in r.stderr, r.stderr  # it would create a local branch named origin/main
    assert "origin" in r.stderr and "remote" in r.stderr


def test_since_past_the_root_says_so_instead_of_fetching(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(3):
        write(repo / "a.txt", f"{i}\n")
        commit(repo, f"c{i}")
    r = run("scan", "--since", "main~5", cwd=repo, env=ENV)
    assert r.returncode == 2
    assert "git fetch" not in r.stderr, r.stderr
    assert "main~5" in r.stderr and "3 commits" in r.stderr


def test_since_a_missing_ref_of_a_real_remote_still_gets_the_fetch_command(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    write(origin / "a.txt", "1\n")
    commit(origin, "one")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--single-branch", f"file://{origin}", str(clone)], check=True, env=ENV)
    git(origin, "checkout", "-q", "-b", "release")
    commit(origin, "on release")
    r = run("scan", "--since", "origin/release", cwd=clone, env=ENV)
    assert r.returncode == 2
    assert "git fetch origin release:refs/remotes/origin/release" in r.stderr, r.stderr


# -- --help ---------------------------------------------------------------------------------------------
def test_help_lists_url_targets_and_groups_url_options(tmp_path: Path) -> None:
    top = run("--help", cwd=tmp_path)
    assert top.returncode == 0
    commands = top.stdout.split("Commands:", 1)[1]
    assert "..." not in commands  # no description cut mid-phrase
    for group in ("audit", "baseline", "rules", "hook"):  # nor in a command group's own list
        listed = run(group, "--help", cwd=tmp_path).stdout.split("Commands:", 1)[1]
        assert "..." not in listed, listed
    scan = run("scan", "--help", cwd=tmp_path).stdout
    assert "https://" in scan and scan.count("keyguard scan ") >= 3  # URL targets, with examples
    head, _, url_part = scan.partition("URL scan options:")
    assert url_part, scan
    for option in ("--max-pages", "--max-depth", "--cross-origin", "--max-mb", "--max-time", "--timeout"):
        assert option not in head.split("Options:", 1)[-1] and option in url_part, option


# -- the progress line: a terminal's stderr only ----------------------------------------------------------
def stderr_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run keyguard with standard error on a pseudo-terminal: (exit code, stdout, what stderr showed)."""
    leader, follower = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "keyguard", *args], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out = p.stdout.read().decode() if p.stdout else ""
    p.wait(timeout=120)
    os.close(leader)
    return p.returncode, out, b"".join(chunks).decode("utf-8", "replace")


def test_progress_goes_to_a_terminal_never_to_reports_or_pipes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(30):
        write(repo / f"f{i}.txt", f"line {i}\n" * 200)
    write(repo / "a.py", f'OPENAI_API_KEY = "{key("openai-project-key", 909)}"\n')
    commit(repo, "files")
    # the line appears once a scan has run this long (1 s by default; 0 here, so that it shows)
    env = {**ENV, "KEYGUARD_PROGRESS_DELAY": "0"}
    for args in (["scan", "."], ["scan", ".", "--history"]):
        code, out, err = stderr_on_a_terminal([*args, "--format", "json", "-o", "report.json"], repo, env)
        assert code == 1, err
        assert re.search(r"\d+ (files|blobs)", err) and "MB/s" in err, err
        report = (repo / "report.json").read_text()
        assert "MB/s" not in report and "\r" not in report
        piped = run(*args, cwd=repo, env=env)
        assert piped.returncode == 1 and "MB/s" not in piped.stderr and "MB/s" not in piped.stdout

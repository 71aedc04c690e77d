"""The hook as the real ``pre-commit`` tool runs it, with this checkout as the hook repo."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import key, write

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
pytestmark = pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed")


def hook_env(tmp_path: Path) -> dict[str, str]:
    """pre-commit's cache in the test's folder, and git with no user or system config."""
    return {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.test",
            "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@b.test"}


def run(cwd: Path, *args: str, env: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_hook_refuses_an_added_key_and_passes_quietly_when_clean(tmp_path: Path) -> None:
    env = hook_env(tmp_path)
    repo = tmp_path / "work"
    repo.mkdir()
    run(repo, "git", "init", "-q", env=env)
    k = key("openai-project-key", 7)
    write(repo / "clean.py", "print('hello')\n")
    write(repo / "settings.py", f'DEBUG = True\nOPENAI_API_KEY = "{k}"\n')
    run(repo, "git", "add", "clean.py", "settings.py", env=env)

    p = run(repo, PRE_COMMIT, "try-repo", str(ROOT), "keyguard", "--files", "settings.py", "clean.py", env=env)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert "settings.py" in out and "2:" in out and "keyguard:allow" in out
    assert k not in out and "sk-proj-…" in out

    p = run(repo, PRE_COMMIT, "try-repo", str(ROOT), "keyguard", "--files", "clean.py", env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Passed" in p.stdout and "finding" not in p.stdout

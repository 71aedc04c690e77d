"""The pre-commit hook judges what the commit adds, as ``keyguard scan --staged`` does (real ``pre-commit``)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..helpers import RULES, key, write
from .test_precommit import PRE_COMMIT, ROOT, hook_env, run

pytestmark = pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed")


def hook(repo: Path, env: dict, *files: str) -> tuple[int, str]:
    p = run(repo, PRE_COMMIT, "try-repo", str(ROOT), "keyguard", "--files", *files, env=env)
    return p.returncode, p.stdout + p.stderr


def test_the_hook_passes_a_commit_that_only_touches_a_file_with_an_old_key(tmp_path: Path) -> None:
    env = hook_env(tmp_path)
    repo = tmp_path / "work"
    repo.mkdir()
    run(repo, "git", "init", "-q", env=env)
    old, new = key("openai-project-key", 911), key("google-api-key", 912)
    write(repo / "settings.py", f'DEBUG = True\nOPENAI_API_KEY = "{old}"\n')
    run(repo, "git", "add", "settings.py", env=env)
    run(repo, "git", "commit", "-qm", "old key, committed before the hook", env=env)

    # the commit changes another line of that file: not this commit's doing
    write(repo / "settings.py", f'DEBUG = False\nOPENAI_API_KEY = "{old}"\n')
    run(repo, "git", "add", "settings.py", env=env)
    code, out = hook(repo, env, "settings.py")
    assert code == 0, out
    assert "Passed" in out and "sk-proj-" not in out

    # a key the commit adds is refused, and only that one is shown
    write(repo / "settings.py", f'DEBUG = False\nOPENAI_API_KEY = "{old}"\nGEMINI_API_KEY = "{new}"\n')
    run(repo, "git", "add", "settings.py", env=env)
    code, out = hook(repo, env, "settings.py")
    assert code == 1, out
    assert "settings.py" in out and "3:" in out and "AIza" in out
    assert "sk-proj-" not in out and old not in out and new not in out

    # the old key moved to a new line of the same file: still not new
    write(repo / "settings.py", f'OPENAI_API_KEY = "{old}"\nDEBUG = False\n')
    run(repo, "git", "add", "settings.py", env=env)
    code, out = hook(repo, env, "settings.py")
    assert code == 0, out


def test_in_a_repository_without_commits_every_staged_line_is_new(tmp_path: Path) -> None:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}
    repo = tmp_path / "work"
    repo.mkdir()
    run(repo, "git", "init", "-q", env=env)
    k = key("openai-project-key", 913)
    write(repo / "a.py", f'OPENAI_API_KEY = "{k}"\n')
    run(repo, "git", "add", "a.py", env=env)
    code, out = hook(repo, env, "a.py")
    assert code == 1 and RULES["openai-project-key"].name in out, out

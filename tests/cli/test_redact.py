"""`keyguard redact`: keys replaced in place, byte for byte around them, atomically (a write that
fails half-way leaves the old file), mode kept, git-tracked files refused."""
from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys

import pytest

from keyguard import redact as redact_mod
from keyguard.pipeline.scanner import Detection, Scanner
from keyguard.model import redact as redacted_form

from ..helpers import keyguard


def transcript(tmp_path, keys):
    path = tmp_path / "session.jsonl"
    lines = [json.dumps({"type": "user", "message": {"content": "hello"}})]
    for k in keys:
        lines.append(json.dumps({"type": "user", "message": {"content": [
            {"type": "tool_result", "content": f"export OPENAI_API_KEY={k}\nexport MODE=prod é"}]}}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_redact_in_place_byte_for_byte(tmp_path, rules, make_key):
    key, other = make_key("openai-project-key"), make_key("anthropic-api-key")
    path = transcript(tmp_path, [key, other, key])
    raw = path.read_bytes() + b"\xff\xfe not utf-8 \n"  # bytes that are not UTF-8 survive as they are
    path.write_bytes(raw)
    os.chmod(path, 0o600)
    p = keyguard("redact", str(path))
    out, err = p.stdout, p.stderr
    assert p.returncode == 0, err
    assert "Rotate each key first" in err
    assert key not in out + err and other not in out + err
    assert f"{path}:2: OpenAI project API key {redacted_form(key, rules['openai-project-key'].keywords)}" \
           f": replaced (2 times)" in out
    assert "redacted 2 keys in 1 file" in out
    new = path.read_bytes()
    expected = raw
    for k, rid in ((key, "openai-project-key"), (other, "anthropic-api-key")):
        expected = expected.replace(k.encode(), redacted_form(k, rules[rid].keywords).encode())
    assert new == expected  # everything around each key is unchanged, byte for byte
    assert new.count("…".encode()) == 3
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    assert [n for n in os.listdir(tmp_path) if n.startswith(".keyguard")] == []


def test_dry_run_changes_nothing(tmp_path, make_key):
    key = make_key("groq-api-key")
    path = transcript(tmp_path, [key])
    before = path.read_bytes()
    p = keyguard("redact", "--dry-run", str(path))
    assert p.returncode == 0 and path.read_bytes() == before
    assert ": would replace" in p.stdout and "would redact 1 key in 1 file" in p.stdout
    assert key not in p.stdout


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def test_git_tracked_file_refused_untracked_redacted(tmp_path, make_key):
    key = make_key("xai-api-key")
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    tracked = repo / "debug.log"
    tracked.write_text(f"XAI_API_KEY={key}\n")
    git("add", "debug.log", cwd=repo)
    git("commit", "-qm", "log", cwd=repo)
    untracked = repo / "other.log"
    untracked.write_text(f"XAI_API_KEY={key}\n")
    p = keyguard("redact", str(tracked), str(untracked))
    err = p.stderr
    assert p.returncode == 2
    assert f"{tracked}: tracked by git" in err and "history" in err and "Rotate the key first" in err
    assert tracked.read_text() == f"XAI_API_KEY={key}\n"
    assert key not in untracked.read_text() and "redacted 1 key in 1 file; 1 not changed" in p.stdout


def test_full_disk_mid_write_leaves_the_old_file(tmp_path, make_key):
    """A real failed write: the file-size limit (RLIMIT_FSIZE) stops the temp file half-way."""
    key = make_key("anthropic-api-key")
    path = transcript(tmp_path, [key] * 3)
    with open(path, "a") as fh:
        fh.write(json.dumps({"type": "user", "message": {"content": "x" * 200_000}}) + "\n")
    before = path.read_bytes()
    limit = len(before) // 2

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    p = subprocess.run([sys.executable, "-m", "keyguard", "redact", str(path)], capture_output=True,
                       preexec_fn=small_disk, timeout=120)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert "cannot write" in err and "not changed" in err and "Traceback" not in err
    assert "replaced" not in p.stdout.decode()
    assert path.read_bytes() == before
    assert [n for n in os.listdir(tmp_path) if n.startswith(".keyguard")] == []


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_failure_at_each_step_leaves_the_old_file(tmp_path, monkeypatch, rules, make_key, fail_at):
    key = make_key("openai-project-key")
    path = transcript(tmp_path, [key])
    before = path.read_bytes()
    plan = redact_mod.plan(str(path), Scanner(Detection(list(rules.values()))))
    assert plan.changes and key.encode() not in plan.data

    def enospc(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    if fail_at == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

            def __getattr__(self, name):
                return getattr(self.fh, name)

        monkeypatch.setattr(redact_mod.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(redact_mod.os, fail_at, enospc)
    with pytest.raises(OSError):
        redact_mod.apply(plan)
    assert path.read_bytes() == before
    assert [n for n in os.listdir(tmp_path) if n.startswith(".keyguard")] == []


def test_file_changed_while_redacting_is_not_replaced(tmp_path, rules, make_key):
    key = make_key("openai-project-key")
    path = transcript(tmp_path, [key])
    plan = redact_mod.plan(str(path), Scanner(Detection(list(rules.values()))))
    with open(path, "a") as fh:  # the agent appends a record meanwhile
        fh.write(json.dumps({"type": "user", "message": {"content": "more"}}) + "\n")
    after_append = path.read_bytes()
    with pytest.raises(redact_mod.RedactError, match="changed while"):
        redact_mod.apply(plan)
    assert path.read_bytes() == after_append

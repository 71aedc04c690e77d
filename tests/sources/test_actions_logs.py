"""``keyguard scan github:OWNER/REPO --actions-logs``: a stand-in Actions API on 127.0.0.1 whose logs
endpoint redirects to a storage URL serving a zip in GitHub's layout (``N_JOB.txt`` per job,
``JOB/N_STEP.txt`` per step)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from ..forge_standin import Forge, answer
from ..helpers import key

TOKEN = "stand-in-github-token-" + "z" * 12
STAMP = "2026-11-30T10:00:0{}.1234567Z "
MASKED = 'export SECRET_KEY="abc***"'  # the generic pack's kind of match, with GitHub's mask in it


def log(*lines: str) -> str:
    return "\ufeff" + "".join(STAMP.format(i % 10) + ln + "\n" for i, ln in enumerate(lines))


def logs_zip(leaked: str, other: str) -> bytes:
    steps = {
        "build/1_Set up job.txt": log("Current runner version: '2.321.0'", "Operating System"),
        "build/2_Run tests.txt": log("##[group]Run pytest", "env:", f"  OPENAI_API_KEY: {leaked}",
                                     "  ANTHROPIC_API_KEY: ***", "##[endgroup]",
                                     "Authorization: Bearer sk-proj-***", MASKED),
        "build/system.txt": log("runner system"),
        "deploy/system.txt": log("runner system"),
    }
    whole = {
        "0_build.txt": "".join(v for k, v in steps.items() if k.startswith("build/") and "system" not in k),
        # a job without step files: its whole log is scanned
        "1_deploy.txt": log("##[group]Run ./deploy.sh", f"GOOGLE_API_KEY={other}", "##[endgroup]"),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in {**whole, **steps}.items():
            z.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


def scan_logs(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Forge]:
    leaked, other = key("openai-project-key", 41), key("google-api-key", 42)
    archive = logs_zip(leaked, other)
    with Forge(tmp_path) as forge:
        run = {"id": 7001, "name": "CI", "run_number": 12, "run_attempt": 1, "head_sha": "a" * 40,
               "html_url": f"{forge.url}/acme/api/actions/runs/7001", "status": "completed"}
        expired = {**run, "id": 7000, "run_number": 11}
        forge.api["/api/v3/repos/acme/api/actions/runs"] = lambda q: answer(
            200, {"total_count": 2, "workflow_runs": [run, expired]})
        forge.api["/api/v3/repos/acme/api/actions/runs/7001/logs"] = lambda q: answer(
            302, b"", {"Location": f"{forge.url}/storage/logs_7001.zip?sig=abc"})
        forge.api["/api/v3/repos/acme/api/actions/runs/7000/logs"] = lambda q: answer(
            410, {"message": "Gone"})
        forge.api["/storage/logs_7001.zip"] = lambda q: answer(200, archive, {"Content-Type": "application/zip"})
        p = subprocess.run(
            [sys.executable, "-m", "keyguard", "scan", "github:acme/api", "--actions-logs", "--runs", "2",
             "--github-api-url", f"{forge.url}/api/v3", "--format", "json", *extra],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={**os.environ, "GITHUB_TOKEN": TOKEN})
    return p, forge


def test_actions_logs_located_by_run_job_step_and_line(tmp_path: Path) -> None:
    p, forge = scan_logs(tmp_path)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    found = {f["origin"]["job"]: f for f in doc["findings"]}
    assert set(found) == {"build", "deploy"}  # the masked *** values are not keys
    step = found["build"]
    assert step["path"] == "acme/api/actions/runs/7001/build/2_Run tests.txt"
    assert step["line"] == 3 and step["origin"]["step"] == "Run tests"
    assert step["origin"]["run"] == 7001 and step["origin"]["run_number"] == 12
    assert step["origin"]["run_url"].endswith("/actions/runs/7001")
    assert step["column"] == len(STAMP.format(2)) + len("  OPENAI_API_KEY: ") + 1
    whole = found["deploy"]
    assert whole["path"].endswith("/1_deploy.txt") and whole["line"] == 2 and "step" not in whole["origin"]
    assert [e for e in doc["errors"] if "run 7000" in e and "410" in e]
    storage = [s for s in forge.seen if s.path.startswith("/storage/")]
    assert storage and "authorization" not in storage[0].headers  # the signed link needs no token
    api = [s for s in forge.seen if s.path.startswith("/api/")]
    assert all(s.headers.get("authorization") == f"Bearer {TOKEN}" for s in api)
    assert TOKEN not in p.stdout + p.stderr


def test_githubs_mask_is_not_a_key(tmp_path: Path) -> None:
    p, _ = scan_logs(tmp_path, "--enable", "generic")
    assert p.returncode == 1, p.stderr
    assert not [f for f in json.loads(p.stdout)["findings"] if f["line"] == 7]
    # the same line in a plain file is a generic finding: the mask is what drops it in a log
    (tmp_path / "plain.sh").write_text(MASKED + "\n")
    q = subprocess.run([sys.executable, "-m", "keyguard", "scan", "plain.sh", "--enable", "generic",
                        "--format", "json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert [f["rule_id"] for f in json.loads(q.stdout)["findings"]] == ["generic-keyword"]

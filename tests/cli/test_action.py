"""action.yml's shell steps, run the way a GitHub runner runs them, on a temp PR repository."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from ..helpers import key, write
from ..sources.test_git import ENV, commit, git

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s["name"] == name)


def run_step(name: str, workspace: Path, tmp: Path, event_name: str, event: dict,
             inputs: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    s = step(name)
    values = {k: v.get("default", "") for k, v in ACTION["inputs"].items()} | (inputs or {})
    env = dict(ENV)
    for k, v in (s.get("env") or {}).items():  # what the runner does with ${{ inputs.x }}
        env[k] = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], str(v))
    files = {n: tmp / n for n in ("event.json", "output", "summary", "env")}
    files["event.json"].write_text(json.dumps(event))
    for n in ("output", "summary", "env"):
        files[n].write_text("")
    env.update(GITHUB_EVENT_NAME=event_name, GITHUB_EVENT_PATH=str(files["event.json"]),
               GITHUB_OUTPUT=str(files["output"]), GITHUB_STEP_SUMMARY=str(files["summary"]),
               GITHUB_ENV=str(files["env"]), GITHUB_WORKSPACE=str(workspace),
               GITHUB_ACTION_PATH=str(ROOT), RUNNER_TEMP=str(tmp), KEYGUARD_PYTHON=sys.executable,
               PYTHONPATH=str(ROOT))
    script = tmp / "step.sh"
    script.write_text(s["run"])
    p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                       cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in files["output"].read_text().splitlines() if "=" in line)
    outputs["summary"] = files["summary"].read_text()
    return p, outputs


def test_action_scans_only_the_pull_requests_commits(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    old, new = key("google-api-key", 301), key("openai-project-key", 302)
    write(origin / "legacy.py", f'GEMINI_API_KEY = "{old}"\n')  # from before the PR
    for i in range(3):
        write(origin / f"f{i}.txt", f"{i}\n")
        base = commit(origin, f"base {i}")
    git(origin, "checkout", "-q", "-b", "pr")
    write(origin / "app/llm.py", f'import os\n\nclient = OpenAI(api_key="{new}")\n')
    added = commit(origin, "call the model")
    write(origin / "legacy.py", f'# touched\nGEMINI_API_KEY = "{old}"\n')
    head = commit(origin, "touch legacy")
    # what actions/checkout leaves: a depth-1 clone of the PR head, without the base
    ws = tmp_path / "ws"
    subprocess.run(["git", "clone", "-q", "--depth=1", "--branch=pr", f"file://{origin}", str(ws)],
                   check=True, env=ENV)
    event = {"pull_request": {"base": {"sha": base}, "head": {"sha": head}, "commits": 2}}

    p, out = run_step("Scan", ws, tmp_path, "pull_request", event)
    assert p.returncode == 1, p.stdout + p.stderr
    annotations = [ln for ln in p.stdout.splitlines() if ln.startswith("::error ")]
    assert len(annotations) == 1 and "file=app/llm.py,line=3," in annotations[0]
    assert out["findings"] == "1"
    sarif = json.loads(Path(out["sarif-file"]).read_text())
    (result,) = sarif["runs"][0]["results"]
    assert result["properties"]["commit"]["sha"] == added
    assert "| critical |" in out["summary"] or "| high |" in out["summary"]
    assert "`app/llm.py`:3" in out["summary"]
    everything = p.stdout + p.stderr + out["summary"] + Path(out["sarif-file"]).read_text()
    assert new not in everything and old not in everything

    # fail-on above the finding's severity: reported, but the step passes
    p, out = run_step("Scan", ws, tmp_path, "pull_request", event, {"fail-on": "critical"})
    sev = result["properties"]["severity"]
    assert p.returncode == (1 if sev == "critical" else 0) and out["findings"] == "1"


def test_action_scans_the_tree_outside_pull_requests_and_passes_when_clean(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    git(ws, "init", "-q", "-b", "main")
    write(ws / "a.txt", "nothing here\n")
    commit(ws, "clean")
    p, out = run_step("Scan", ws, tmp_path, "workflow_dispatch", {})
    assert p.returncode == 0, p.stdout + p.stderr
    assert out["findings"] == "0" and "No keys found" in out["summary"]
    assert "::error" not in p.stdout
    write(ws / "b.py", f'GEMINI_API_KEY = "{key("google-api-key", 303)}"\n')  # uncommitted
    p, out = run_step("Scan", ws, tmp_path, "schedule", {})
    assert p.returncode == 1 and out["findings"] == "1"


def test_action_install_step_is_valid_bash() -> None:
    p = subprocess.run(["bash", "-n"], input=step("Install keyguard")["run"], text=True, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert ACTION["runs"]["using"] == "composite"
    assert step("Upload SARIF")["uses"].startswith("github/codeql-action/upload-sarif@")


def test_action_on_push_scans_the_pushed_range_and_a_new_branch_against_the_default(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    old, pushed, branch_key = key("google-api-key", 311), key("openai-project-key", 312), key("groq-api-key", 313)
    write(origin / "legacy.py", f'GEMINI_API_KEY = "{old}"\n')  # pushed before: not this push's
    for i in range(3):
        write(origin / f"f{i}.txt", f"{i}\n")
        before = commit(origin, f"c{i}")
    write(origin / "app.py", f'client = OpenAI(api_key="{pushed}")\n')
    added = commit(origin, "key")
    write(origin / "z.txt", "z\n")
    after = commit(origin, "z")
    ws = tmp_path / "ws"  # actions/checkout: depth 1, without `before`
    subprocess.run(["git", "clone", "-q", "--depth=1", "--branch=main", f"file://{origin}", str(ws)],
                   check=True, env=ENV)
    event = {"before": before, "after": after, "commits": [{"id": added}, {"id": after}],
             "repository": {"default_branch": "main"}}
    p, out = run_step("Scan", ws, mkdir(tmp_path / "push"), "push", event)
    assert p.returncode == 1, p.stdout + p.stderr
    annotations = [ln for ln in p.stdout.splitlines() if ln.startswith("::error ")]
    assert len(annotations) == 1 and "file=app.py,line=1," in annotations[0]
    assert out["findings"] == "1"
    (result,) = json.loads(Path(out["sarif-file"]).read_text())["runs"][0]["results"]
    assert result["properties"]["commit"]["sha"] == added

    # a new branch (before is all zeros): what it adds to the default branch
    git(origin, "checkout", "-q", "-b", "feature")
    write(origin / "feature.py", f'client = Groq(api_key="{branch_key}")\n')
    tip = commit(origin, "feature")
    ws2 = tmp_path / "ws2"
    subprocess.run(["git", "clone", "-q", "--depth=1", "--branch=feature", f"file://{origin}", str(ws2)],
                   check=True, env=ENV)
    event = {"before": "0" * 40, "after": tip, "commits": [{"id": tip}],
             "repository": {"default_branch": "main"}}
    p, out = run_step("Scan", ws2, mkdir(tmp_path / "push2"), "push", event)
    assert p.returncode == 1, p.stdout + p.stderr
    annotations = [ln for ln in p.stdout.splitlines() if ln.startswith("::error ")]
    assert len(annotations) == 1 and "file=feature.py,line=1," in annotations[0]
    everything = p.stdout + p.stderr + out["summary"] + Path(out["sarif-file"]).read_text()
    assert all(k not in everything for k in (old, pushed, branch_key))


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path

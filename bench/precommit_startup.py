"""How long the pre-commit hook takes on a 10-file change: keyguard's own process (interpreter
start-up included) and the whole hook as ``pre-commit run`` runs it.

    python bench/precommit_startup.py [--keyguard PATH] [--runs 10]

Builds a temp repo whose .pre-commit-config.yaml points at this checkout's HEAD, lets
pre-commit install the hook once (from the local package index), then times both.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path, env: dict, runs: int) -> tuple[float, float, int]:
    ts, rc = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        rc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True).returncode
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000, min(ts) * 1000, rc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--pre-commit", default=shutil.which("pre-commit", path=str(Path(sys.executable).parent)))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kg-pc-bench-"))
    repo = tmp / "repo"
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp / "home")}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    engine = next(p for p in (ROOT / "keyguard" / "detect" / "engine.py", ROOT / "keyguard" / "engine.py")
                  if p.exists()).read_text()  # any 30 kB of real code
    files = [f"f{i}.py" for i in range(10)]
    for i, f in enumerate(files):
        (repo / f).write_text(engine[i * 3000:(i + 1) * 3000])
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {rev}\n    hooks:\n      - id: keyguard\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([a.pre_commit, "install-hooks"], cwd=repo, env=env, check=True, capture_output=True)
    hook_bin = next((tmp / "home").glob("repo*/py_env-*/bin"))
    python = [str(hook_bin / "python"), "-c", "pass"]
    # the hook's own command line, as .pre-commit-hooks.yaml gives it
    entry = next(ln.split(":", 1)[1].split() for ln in (ROOT / ".pre-commit-hooks.yaml").read_text().splitlines()
                 if ln.strip().startswith("entry:"))
    own = [str(hook_bin / entry[0]), *entry[1:], *files]
    whole = [a.pre_commit, "run", "keyguard", "--files", *files]
    for name, cmd in (("python -c pass (the hook's interpreter)", python),
                      (f"{' '.join(entry)}, 10 files (the hook's process)", own),
                      ("pre-commit run keyguard --files (10 files)", whole)):
        med, best, rc = timed(cmd, repo, env, a.runs)
        print(f"{name:52} median {med:6.0f} ms   min {best:6.0f} ms   exit {rc}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

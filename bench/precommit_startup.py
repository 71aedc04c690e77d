"""How long the pre-commit hook takes on a 10-file change: keyguard's own process (interpreter
start-up included) and the whole hook as ``pre-commit run`` runs it.

    python bench/precommit_startup.py [--runs 10] [--before-src DIR]

Builds a temp repo whose .pre-commit-config.yaml points at this checkout's HEAD, lets
pre-commit install the hook once (from the local package index), then times both. With
``--before-src`` (another keyguard checkout, e.g. an older commit) its HEAD's hook is installed
too and the two are timed interleaved, run by run, so that a busy spell hits both alike.
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


def install(src: Path, repo: Path, env: dict, pre_commit: str) -> Path:
    """The bin directory of the hook environment pre-commit builds for ``src``'s HEAD."""
    rev = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {src}\n    rev: {rev}\n    hooks:\n      - id: keyguard\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([pre_commit, "install-hooks"], cwd=repo, env=env, check=True, capture_output=True)
    home = Path(env["PRE_COMMIT_HOME"])
    for b in home.glob("repo*/py_env-*/bin"):
        if _rev_of(b) == rev:
            return b
    raise SystemExit(f"no hook environment for {src} at {rev}")


def hook_entry(src: Path) -> list[str]:
    """The hook's own command line, as ``src``'s .pre-commit-hooks.yaml gives it."""
    return next(ln.split(":", 1)[1].split() for ln in (src / ".pre-commit-hooks.yaml").read_text().splitlines()
                if ln.strip().startswith("entry:"))


def _rev_of(hook_bin: Path) -> str:
    """The commit pre-commit cloned into the repo directory that holds this hook environment."""
    repo_dir = hook_bin.parent.parent
    return subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--before-src", help="also install and time this keyguard checkout's HEAD, as 'before'")
    ap.add_argument("--pre-commit", default=shutil.which("pre-commit", path=str(Path(sys.executable).parent)))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kg-pc-bench-"))
    repo = tmp / "repo"
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp / "home")}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    engine = "".join(p.read_text() for p in sorted((ROOT / "keyguard").rglob("*.py")))  # real code
    files = [f"f{i}.py" for i in range(10)]
    for i, f in enumerate(files):
        (repo / f).write_text(engine[i * 3000:(i + 1) * 3000])
    hooks = {"after": (install(ROOT, repo, env, a.pre_commit), hook_entry(ROOT))}
    if a.before_src:
        before = Path(a.before_src).resolve()
        hooks["before"] = (install(before, repo, env, a.pre_commit), hook_entry(before))
        install(ROOT, repo, env, a.pre_commit)  # the config names this checkout again
    whole = [a.pre_commit, "run", "keyguard", "--files", *files]
    cmds = {}
    for name, (hook_bin, entry) in hooks.items():
        cmds[f"python -c pass (the hook's interpreter, {name})"] = [str(hook_bin / "python"), "-c", "pass"]
        cmds[f"{' '.join(entry)}, 10 files (the hook's own process, {name})"] = [
            str(hook_bin / entry[0]), *entry[1:], *files]
    cmds["pre-commit run keyguard --files (10 files, after)"] = whole
    times: dict[str, list[float]] = {name: [] for name in cmds}
    codes: dict[str, int] = {}
    for _ in range(a.runs):  # interleaved, run by run
        for name, cmd in cmds.items():
            t = time.perf_counter()
            codes[name] = subprocess.run(cmd, cwd=repo, env=env, capture_output=True).returncode
            times[name].append(time.perf_counter() - t)
    for name, ts in times.items():
        print(f"{name:64} median {statistics.median(ts) * 1000:6.0f} ms   min {min(ts) * 1000:6.0f} ms"
              f"   exit {codes[name]}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

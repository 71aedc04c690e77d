"""Organisation scan benchmark: ``keyguard scan github:ORG`` over an org of generated repositories,
without Dask and on a Dask LocalCluster of 1 and 2 workers, in the same run (interleaved).

The repositories (git fast-import: COMMITS commits touching FILES files each, a few planted
factory keys) are built in a temporary directory outside this repository and served over git's
dumb http protocol by the stand-in forge of the tests (tests/forge_standin.py) on 127.0.0.1,
whose REST answers list them. Reported: median wall seconds of each mode, the ratio to the run
without Dask, and whether the findings are identical.

    python bench/org.py [--repos 50] [--commits 60] [--reps 3] [--modes none,local:1,local:2]

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.forge_standin import Forge, paginated  # noqa: E402
from tests.helpers import key  # noqa: E402

WORDS = "alpha beta gamma delta config value request client server token cache index".split()


def fast_import_stream(n: int, commits: int, files: int) -> bytes:
    rnd = random.Random(n)
    out = []
    for c in range(commits):
        out.append(f"commit refs/heads/main\nmark :{c + 1}\n"
                   f"author Bench <bench@example.test> {1_700_000_000 + c * 60} +0000\n"
                   f"committer Bench <bench@example.test> {1_700_000_000 + c * 60} +0000\n"
                   f"data 10\ncommit {c:03d}\n")
        if c:
            out.append(f"from :{c}\n")
        for j, f in enumerate(rnd.sample(range(files), 3)):
            lines = [" ".join(rnd.choice(WORDS) for _ in range(8)) for _ in range(60)]
            if n % 5 == 0 and c == commits // 2 and j == 0:  # a key in every fifth repository
                lines[10] = f'OPENAI_API_KEY = "{key("openai-project-key", 9000 + n)}"'
            body = "\n".join(lines) + "\n"
            out.append(f"M 100644 inline src/mod{f}.py\ndata {len(body.encode())}\n{body}\n")
    return "".join(out).encode()


def build_org(root: Path, repos: int, commits: int, files: int = 20) -> list[str]:
    names = [f"bench/repo{i:03d}" for i in range(repos)]
    for i, name in enumerate(names):
        bare = root / f"{name}.git"
        bare.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
        # one pack, as a forge serves it (small imports would otherwise be loose objects,
        # one dumb-http request each)
        subprocess.run(["git", "-C", str(bare), "-c", "fastimport.unpackLimit=0", "fast-import", "--quiet"],
                       input=fast_import_stream(i, commits, files), check=True)
        subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    return names


def run_once(forge: Forge, mode: str, cwd: Path) -> tuple[float, list[tuple]]:
    args = [sys.executable, "-m", "keyguard", "scan", "github:bench", "--github-api-url",
            f"{forge.url}/api/v3", "--format", "json", "--no-config"]
    if mode != "none":
        args += ["--dask", mode]
    started = time.perf_counter()
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if p.returncode not in (0, 1):
        raise SystemExit(f"{mode}: exit {p.returncode}: {p.stderr}")
    doc = json.loads(p.stdout)
    if doc["errors"]:
        raise SystemExit(f"{mode}: errors: {doc['errors'][:3]}")
    found = [(f["origin"]["repository"].rsplit("/", 1)[1], f["path"], f["line"], f["fingerprint"],
              f["commit"]["sha"]) for f in doc["findings"]]
    return wall, found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=50)
    ap.add_argument("--commits", type=int, default=60)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--modes", default="none,local:1,local:2")
    a = ap.parse_args()
    modes = a.modes.split(",")
    with tempfile.TemporaryDirectory(prefix="keyguard-bench-org-") as tmp:
        root = Path(tmp) / "git"
        t = time.perf_counter()
        names = build_org(root, a.repos, a.commits)
        size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        print(f"org: {a.repos} repositories x {a.commits} commits, {size / 2**20:.1f} MiB of bare "
              f"repositories, built in {time.perf_counter() - t:.1f}s; {os.cpu_count()} CPUs")
        with Forge(root) as forge:
            items = [{"full_name": n, "clone_url": forge.clone_url(n), "fork": False, "archived": False}
                     for n in names]
            path = "/api/v3/orgs/bench/repos"
            forge.api[path] = paginated(items, forge.url + path, per_page=100)
            walls: dict[str, list[float]] = {m: [] for m in modes}
            results: dict[str, list[tuple]] = {}
            for rep in range(a.reps):
                for m in modes:  # interleaved: a busy moment of the machine hits every mode
                    wall, found = run_once(forge, m, Path(tmp))
                    walls[m].append(wall)
                    results.setdefault(m, found)
                    if found != results[m]:
                        print(f"  {m}: findings changed between repetitions!")
                    print(f"  rep {rep + 1} {m:8} {wall:6.2f}s  {len(found)} findings", flush=True)
    base = statistics.median(walls[modes[0]])
    print(f"\n{'mode':10} {'median s':>9} {'ratio':>7}  findings")
    for m in modes:
        med = statistics.median(walls[m])
        same = "identical" if results[m] == results[modes[0]] else "DIFFERENT"
        print(f"{m:10} {med:9.2f} {med / base:7.2f}  {len(results[m])} ({same} to {modes[0]})")


if __name__ == "__main__":
    main()

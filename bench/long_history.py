"""Synthetic long histories: ``keyguard scan --history`` on 10k and 100k commits (``git
fast-import``, 50 paths, one factory-made key in the middle), wall time and peak RSS of the
scan (``resource.getrusage(RUSAGE_CHILDREN)``: the largest of keyguard and its git children).

    python bench/long_history.py [--commits 10000,100000] [--keep DIR]

The test suite runs 2k vs 20k commits (tests/adversarial/test_hostile_repos.py); building 100k
commits takes about 15 s here, too long for a test.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def build(repo: Path, commits: int, planted: str) -> float:
    started = time.perf_counter()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=ENV)
    p = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE, env=ENV)
    assert p.stdin
    for i in range(1, commits + 1):
        body = (f"line {i}\n" if i != commits // 2 else f'GEMINI_API_KEY = "{planted}"\n').encode()
        p.stdin.write(b"commit refs/heads/main\ncommitter A <a@example.test> %d +0000\ndata 2\nc\n"
                      b"M 644 inline f%d.py\ndata %d\n%s\n" % (1_600_000_000 + i, i % 50, len(body), body))
    p.stdin.close()
    assert p.wait() == 0
    return time.perf_counter() - started


PROBE = """
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run([sys.executable, "-m", "keyguard", "scan", "--history", "--format", "json"],
                   cwd=sys.argv[1], capture_output=True)
wall = time.perf_counter() - t
print(p.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stdout.write(p.stdout.decode())
"""


def measure(repo: Path) -> tuple[int, float, int, dict]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(repo)], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    head, _, doc = out.partition("\n")
    code, wall, rss = head.split()
    return int(code), float(wall), int(rss), json.loads(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", default="10000,100000")
    ap.add_argument("--keep", help="build the repositories here and keep them")
    args = ap.parse_args()
    from tests.helpers import key

    planted = key("google-api-key", 750)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep or tmp)
        print(f"{'commits':>8} {'build s':>8} {'scan s':>7} {'peak RSS MiB':>13} {'findings':>8}")
        for n in (int(x) for x in args.commits.split(",")):
            repo = base / f"history-{n}"
            built = build(repo, n, planted) if not repo.exists() else 0.0
            code, wall, rss, doc = measure(repo)
            print(f"{n:>8} {built:>8.1f} {wall:>7.2f} {rss / 1024:>13.1f} {len(doc['findings']):>8}")


if __name__ == "__main__":
    main()

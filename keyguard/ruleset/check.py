"""Text for ``keyguard rules show`` and the checks behind ``keyguard rules test``."""
from __future__ import annotations

import re

from ..model import Rule, ScanText, Stats, redact


def describe(rule: Rule) -> str:
    lines = [
        f"id:          {rule.id}",
        f"name:        {rule.name}",
        f"provider:    {rule.provider}",
        f"severity:    {rule.severity}",
        f"confidence:  {rule.confidence}",
        f"source:      {rule.source}",
    ]
    if rule.regex:
        lines.append(f"regex:       {rule.regex}")
        lines.append(f"keywords:    {', '.join(rule.keywords)}")
    if rule.context:
        lines.append(f"context:     {', '.join(rule.context)} (needed on the key's line, the "
                     f"{rule.context_lines} lines above or below it, or in the file's path)")
    if rule.min_entropy:
        lines.append(f"min_entropy: {rule.min_entropy}")
    if rule.description:
        lines += ["", rule.description]
    if rule.remediation:
        lines += ["", "How to fix:", rule.remediation]
    if rule.references:
        lines += ["", "References:"] + [f"  {r}" for r in rule.references]
    # examples are shown redacted: rule files are data, but a report is not the place for keys
    if rule.positives or rule.negatives:
        lines += ["", f"Examples: {len(rule.positives)} positive, {len(rule.negatives)} negative "
                      "(see the rule file; `keyguard rules test FILE` runs them)"]
    return "\n".join(lines) + "\n"


def check_examples(rules: list[Rule]) -> tuple[str, int]:
    """Each rule against its own examples: positives must be found, negatives must not.

    Each rule runs alone, the way a scan judges it (entropy, placeholders, allow markers).
    Returns the report and the number of failures; a rule without a positive example fails.
    """
    from ..detect.engine import Engine

    out: list[str] = []
    failed = 0
    for rule in rules:
        engine = Engine([rule])
        results: list[tuple[bool, str]] = []
        if not rule.positives:
            results.append((False, "no positive example (examples.positive) to test it with"))
        for ex in rule.positives:
            hit = any(f.rule.id == rule.id for f in engine.scan(ScanText(ex, "example"), Stats()))
            results.append((hit, f"positive {_short(ex)}: " + ("found" if hit else "NOT found")))
        for ex in rule.negatives:
            hit = any(f.rule.id == rule.id for f in engine.scan(ScanText(ex, "example"), Stats()))
            results.append((not hit, f"negative {_short(ex)}: " + ("FOUND" if hit else "not found")))
        bad = sum(1 for ok, _ in results if not ok)
        failed += bad
        out.append(f"{'FAIL' if bad else 'PASS'}  {rule.id}  ({rule.source})")
        for ok, msg in results:
            out.append(f"  {'ok  ' if ok else 'FAIL'}  {msg}")
    n_fail_rules = sum(1 for line in out if line.startswith("FAIL"))
    out.append(
        f"{len(rules) - n_fail_rules} of {len(rules)} rules pass"
        + (f"; {failed} failing example checks" if failed else "")
    )
    return "\n".join(out) + "\n", failed


def _short(example: str) -> str:
    """An example as a short label; long key-like tokens in it are redacted."""
    text = re.sub(r"[A-Za-z0-9_+/-]{20,}", lambda m: redact(m.group(0)), example)
    return repr(text if len(text) <= 60 else text[:57] + "...")

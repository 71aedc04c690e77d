"""``keyguard merge``: the JSON or SARIF reports of ``--shard`` runs (or of many repositories)
combined into one report, each finding once.

A finding is the same finding when its fingerprint (rule + secret) and its place (path, line,
column, commit) are the same; one key leaked in two places stays two findings with one
fingerprint. Reports are merged within their format: JSON into JSON, SARIF into SARIF.
"""
from __future__ import annotations

import json
from typing import Any

from ..model import severity_rank
from .read import ReportError, load_document, report_format


class MergeError(Exception):
    """A report that cannot be merged: one line naming the file."""


def load_reports(paths: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """(the reports' common format, the parsed reports)."""
    docs, formats = [], set()
    for path in paths:
        try:
            doc = load_document(path)
        except ReportError as exc:
            raise MergeError(str(exc)) from None
        fmt = report_format(doc)
        if fmt is None:
            raise MergeError(f"{path}: not a keyguard JSON or SARIF report")
        problem = _json_problem(doc) if fmt == "json" else _sarif_problem(doc)
        if problem:
            raise MergeError(f"{path}: not a keyguard {fmt.upper()} report ({problem})")
        formats.add(fmt)
        docs.append(doc)
    if len(formats) > 1:
        raise MergeError("cannot mix JSON and SARIF reports; merge each format on its own")
    return formats.pop(), docs


# -- the fields merging reads, checked first so that a hand-edited or foreign report is one
# clean error naming its file ----------------------------------------------------------------------
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_OPT_DICT = (dict, type(None))


def _json_problem(doc: dict[str, Any]) -> str | None:
    for i, f in enumerate(doc["findings"]):
        if not isinstance(f, dict):
            return f"findings[{i}] is not an object"
        for name, kinds in (("path", _OPT_STR), ("rule_id", _OPT_STR), ("fingerprint", _OPT_STR),
                            ("line", _OPT_INT), ("column", _OPT_INT), ("commit", _OPT_DICT)):
            if not isinstance(f.get(name), kinds):
                return f"findings[{i}].{name} has the wrong type"
        if not isinstance((f.get("commit") or {}).get("sha"), _OPT_STR):
            return f"findings[{i}].commit.sha is not a string"
    errors = doc.get("errors", [])
    if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
        return "errors is not a list of strings"
    return _stats_problem(doc.get("stats", {}), "stats")


def _stats_problem(stats: Any, where: str) -> str | None:
    if not isinstance(stats, dict):
        return f"{where} is not an object"
    if not isinstance(stats.get("skipped_paths", []), list):
        return f"{where}.skipped_paths is not a list"
    return None


def _sarif_problem(doc: dict[str, Any]) -> str | None:
    for i, run in enumerate(doc["runs"]):
        where = f"runs[{i}]"
        if not isinstance(run, dict):
            return f"{where} is not an object"
        driver = run.get("tool")
        driver = driver.get("driver") if isinstance(driver, dict) else None
        if not isinstance(driver, dict):
            return f"{where}.tool.driver is missing"
        rules = driver.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str)
                                                  for r in rules):
            return f"{where}.tool.driver.rules is not a list of rules with ids"
        ids = {r["id"] for r in rules}
        bases = run.get("originalUriBaseIds", {})
        if not isinstance(bases, _OPT_DICT) or not isinstance((bases or {}).get("%SRCROOT%"), _OPT_DICT) \
                or not isinstance(((bases or {}).get("%SRCROOT%") or {}).get("uri"), _OPT_STR):
            return f"{where}.originalUriBaseIds is malformed"
        results = run.get("results", [])
        if not isinstance(results, list):
            return f"{where}.results is not a list"
        for j, r in enumerate(results):
            problem = _sarif_result_problem(r, ids)
            if problem:
                return f"{where}.results[{j}]: {problem}"
        invocations = run.get("invocations", [])
        if not isinstance(invocations, list) or not all(
                isinstance(inv, dict) and isinstance(inv.get("toolExecutionNotifications", []), list)
                for inv in invocations):
            return f"{where}.invocations is malformed"
        if not isinstance(run.get("properties"), _OPT_DICT):
            return f"{where}.properties is not an object"
        problem = _stats_problem((run.get("properties") or {}).get("stats", {}), f"{where}.properties.stats")
        if problem:
            return problem
    return None


def _sarif_result_problem(r: Any, rule_ids: set[str]) -> str | None:
    if not isinstance(r, dict):
        return "not an object"
    if r.get("ruleId") not in rule_ids:
        return "ruleId names no rule of its run"
    locations = r.get("locations", [])
    if not isinstance(locations, list):
        return "locations is not a list"
    for loc in locations:
        phys = loc.get("physicalLocation", {}) if isinstance(loc, dict) else None
        if not isinstance(phys, dict):
            return "a location is malformed"
        art, region = phys.get("artifactLocation", {}), phys.get("region", {})
        if not isinstance(art, dict) or not isinstance(region, dict) or not isinstance(art.get("uri"), _OPT_STR):
            return "a location is malformed"
        if not isinstance(region.get("startLine"), _OPT_INT) or not isinstance(region.get("startColumn"), _OPT_INT):
            return "a region is malformed"
    for name in ("partialFingerprints", "properties"):
        if not isinstance(r.get(name), _OPT_DICT):
            return f"{name} is not an object"
    if not isinstance((r.get("partialFingerprints") or {}).get("keyguardSecret/v1"), _OPT_STR):
        return "partialFingerprints is malformed"
    commit = (r.get("properties") or {}).get("commit")
    if not isinstance(commit, _OPT_DICT) or not isinstance((commit or {}).get("sha"), _OPT_STR):
        return "properties.commit is malformed"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def merge_report_stats(all_stats: list[dict[str, Any]]) -> dict[str, Any]:
    """The "stats" of several reports as one: numbers are summed (counts per reason too), anything
    else keeps its first value. (A scan's own parts merge as ``Stats.merge``; reports carry extra
    fields of any source.)"""
    out: dict[str, Any] = {}
    for stats in all_stats:
        for key, value in stats.items():
            if key == "skipped_paths":
                out[key] = (out.get(key, []) + list(value))[:1000]
            elif isinstance(value, dict):
                merged = out.setdefault(key, {})
                if not isinstance(merged, dict):
                    continue
                for k, n in value.items():
                    if _number(n) and _number(merged.get(k, 0)):
                        merged[k] = merged.get(k, 0) + n
                    else:
                        merged.setdefault(k, n)
            elif _number(value) and _number(out.get(key, 0)):
                out[key] = out.get(key, 0) + value
            else:
                out.setdefault(key, value)
    if _number(out.get("seconds")):
        out["seconds"] = round(out["seconds"], 3)  # summed over shards: CPU-like, not wall
    out["reports"] = len(all_stats)
    return out


def _json_key(f: dict[str, Any]) -> tuple:
    return (f.get("fingerprint"), f.get("path"), f.get("line"), f.get("column"),
            (f.get("commit") or {}).get("sha"))


def merge_json(docs: list[dict[str, Any]]) -> dict[str, Any]:
    seen: set[tuple] = set()
    findings = []
    for doc in docs:
        for f in doc["findings"]:
            k = _json_key(f)
            if k not in seen:
                seen.add(k)
                findings.append(f)
    findings.sort(key=lambda f: (f.get("path") or "", f.get("line") or 0, f.get("column") or 0,
                                 -_rank(f.get("severity")), f.get("rule_id") or ""))
    errors: list[str] = []
    for doc in docs:
        errors += [e for e in doc.get("errors", []) if e not in errors]
    stats = merge_report_stats([doc.get("stats", {}) for doc in docs])
    stats["findings"] = len(findings)
    return {"version": docs[0].get("version"), "findings": findings, "stats": stats, "errors": errors}


def _rank(severity: Any) -> int:
    try:
        return severity_rank(severity)
    except ValueError:
        return -1


def _base(run: dict[str, Any]) -> str | None:
    return ((run.get("originalUriBaseIds") or {}).get("%SRCROOT%") or {}).get("uri")


def _sarif_key(r: dict[str, Any]) -> tuple:
    loc = (r.get("locations") or [{}])[0].get("physicalLocation", {})
    art, region = loc.get("artifactLocation", {}), loc.get("region", {})
    commit = (r.get("properties") or {}).get("commit") or {}
    return ((r.get("partialFingerprints") or {}).get("keyguardSecret/v1"), art.get("uri"),
            region.get("startLine"), region.get("startColumn"), commit.get("sha"))


def merge_sarif(docs: list[dict[str, Any]]) -> dict[str, Any]:
    runs = [run for doc in docs for run in doc["runs"]]
    if not runs:
        raise MergeError("no SARIF runs to merge")
    first = runs[0]
    base = _base(first)
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    notes: list[dict[str, Any]] = []
    for run in runs:
        run_rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        for rule in run_rules:
            rules.setdefault(rule["id"], rule)
        run_base = _base(run)
        for r in run.get("results", []):
            r = json.loads(json.dumps(r))  # a copy: locations may be rewritten
            if run_base != base:  # another root: make its relative locations absolute
                for loc in r.get("locations", []):
                    art = loc.get("physicalLocation", {}).get("artifactLocation", {})
                    if art.pop("uriBaseId", None) == "%SRCROOT%" and run_base and isinstance(art.get("uri"), str):
                        art["uri"] = run_base + art["uri"]
            k = _sarif_key(r)
            if k in seen:
                continue
            seen.add(k)
            results.append(r)
        for inv in run.get("invocations", []):
            notes += inv.get("toolExecutionNotifications", [])
    used = sorted(rules.values(), key=lambda r: r["id"])
    index = {r["id"]: i for i, r in enumerate(used)}
    for r in results:
        r["ruleIndex"] = index[r["ruleId"]]
    merged: dict[str, Any] = {
        "tool": {"driver": {**first["tool"]["driver"], "rules": used}},
        "results": results,
    }
    if base:
        merged["originalUriBaseIds"] = {"%SRCROOT%": {"uri": base}}
    if "columnKind" in first:
        merged["columnKind"] = first["columnKind"]
    stats = merge_report_stats([(run.get("properties") or {}).get("stats", {}) for run in runs])
    stats["findings"] = len(results)
    merged["properties"] = {"stats": stats}
    if notes:
        unique = {json.dumps(n, sort_keys=True): n for n in notes}
        merged["invocations"] = [{"executionSuccessful": True,
                                  "toolExecutionNotifications": list(unique.values())}]
    return {"$schema": docs[0].get("$schema", "https://json.schemastore.org/sarif-2.1.0.json"),
            "version": "2.1.0", "runs": [merged]}


def merge(paths: list[str], fmt: str | None = None) -> tuple[str, dict[str, Any]]:
    """(format, merged report) of the reports at ``paths``."""
    found, docs = load_reports(paths)
    if fmt and fmt != found:
        raise MergeError(f"the reports are {found.upper()}; merge them into --format {found}")
    merge_docs = merge_sarif if found == "sarif" else merge_json
    try:
        return found, merge_docs(docs)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        for path, doc in zip(paths, docs):  # name the report that breaks the merge
            try:
                merge_docs([doc])
            except (KeyError, TypeError, AttributeError, IndexError, ValueError) as one:
                exc = one
                break
        else:
            path = " + ".join(paths)
        raise MergeError(f"{path}: malformed {found.upper()} report "
                         f"({exc.__class__.__name__}: {exc})") from None


def count(fmt: str, doc: dict[str, Any]) -> int:
    return len(doc["runs"][0]["results"]) if fmt == "sarif" else len(doc["findings"])

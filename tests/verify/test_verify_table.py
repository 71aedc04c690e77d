"""docs/live-checks.md is made from the code, and the code does what the table says.

Each check declares a ``Check`` (a module's ``CHECK``, or derived from its registry row);
tests/verify_support.check holds every verdict to it (no undeclared field, every declared
unknown listed), and tests/verify/test_verify_answers.py shows every declared field is read from a
documented answer. Here: the doc equals the generated table,
every check goes only to its fixed hosts, and the policy holds in the code itself (the only POSTs are the three safe ones, each with its reason).
"""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from keyguard.verify import check_of, names
from keyguard.verify.registry import BY_NAME, REGISTRY
from keyguard.verify.table import render


ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "keyguard" / "verify"
SAFE_POSTS = {"cohere", "nvidia", "perplexity"}
GENERATION = re.compile(r"(?<!check-api-key)/(?:chat/)?completions|/messages\b|generateContent|"
                        r"/predictions|/text-to-speech|/embeddings|/images/|/audio/")


def test_docs_table_is_generated_from_the_code():
    doc = (ROOT / "docs" / "live-checks.md").read_text(encoding="utf-8")
    assert doc == render(), "regenerate: python -m keyguard.verify.table > docs/live-checks.md"
    assert "docs/live-checks.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_one_registry_names_every_check_once():
    """Each check is registered once: a data row, or exactly one module with ``verify``."""
    on_disk = {p.stem for p in VERIFY.glob("*.py")
               if "def verify(" in p.read_text(encoding="utf-8")} - {"simple"}  # runs the rows
    modules = {e.name for e in REGISTRY if e.row is None}
    assert on_disk == modules
    assert len({e.name for e in REGISTRY}) == len(REGISTRY)
    aliases = [a for e in REGISTRY for a in e.aliases]
    assert len(aliases) == len(set(aliases))
    assert set(names()) == {e.name for e in REGISTRY} - {"google"}  # google only dispatches
    assert not any("CHECK =" in (VERIFY / f"{e.name}.py").read_text(encoding="utf-8")
                   for e in REGISTRY if e.row is not None and (VERIFY / f"{e.name}.py").exists())


def _hosts(module: str) -> tuple[str, ...]:
    row = BY_NAME[module].row
    if row is not None:
        return (row.host,)
    code = importlib.import_module(f"keyguard.verify.{module}")
    return tuple(h for h in (getattr(code, "HOST", None), *getattr(code, "OTHER_HOSTS", ())) if h)


@pytest.mark.parametrize("module", names())
def test_requests_go_to_the_modules_fixed_host_and_only_safe_posts(module):
    declared = check_of(module)
    for request in declared.requests:
        method, _, target = request.partition(" ")
        assert method in ("GET", "POST")
        assert target.startswith(_hosts(module) or ("<resource>.openai.azure.com",)), request
        assert not GENERATION.search(target) or module == "perplexity", request
    if BY_NAME[module].row is not None:
        assert all(r.startswith("GET ") for r in declared.requests)
        return
    source = (VERIFY / f"{module}.py").read_text(encoding="utf-8")
    posts = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Constant) and n.value == "POST"]
    if module in SAFE_POSTS:
        assert posts and "Why this POST is safe" in source
        assert all(r.startswith("POST ") for r in declared.requests)
    else:
        assert not posts and all(r.startswith("GET ") for r in declared.requests)

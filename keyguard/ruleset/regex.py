"""What a rule's regex can do, read from ``re``'s own parse tree.

One walker (``walk``) visits the tree; every question asked of a regex — is it safe to run, can
it match a newline, can it match only ASCII, does Hyperscan read it as Python does — is a
predicate over the nodes it yields. The rule loader asks the first two, the detection stage
(``keyguard.detect.hyperscan``) the others.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Iterator

MAX_WIDTH_CAP = 8192  # a match is never longer than this many characters
REPEATS = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
ARM = "ARM"  # a pseudo-node before each alternative of a BRANCH, so that trees compare exactly


class RegexError(Exception):
    """A regex that does not compile or is not allowed; the message says why."""


@dataclass(frozen=True)
class Node:
    op: Any
    av: Any
    depth: int
    icase: bool  # case-insensitive here (the pattern's flags and enclosing groups')
    dotall: bool
    in_variable: bool  # inside a repeat of variable length


def parse(pattern: str) -> Any:
    return sre_parse.parse(pattern)


def walk(items: Any, icase: bool = False, dotall: bool = False, in_variable: bool = False,
         depth: int = 0) -> Iterator[Node]:
    """Every node of a parse tree, parents before children."""
    for op, av in items:
        yield Node(op, av, depth, icase, dotall, in_variable)
        if op == c.SUBPATTERN:
            _, add, remove, sub = av
            yield from walk(sub, (icase or bool(add & re.I)) and not remove & re.I,
                            (dotall or bool(add & re.S)) and not remove & re.S, in_variable, depth + 1)
        elif op in REPEATS:
            lo, hi, sub = av
            yield from walk(sub, icase, dotall, in_variable or lo != hi, depth + 1)
        elif op == c.BRANCH:
            for arm in av[1]:
                yield Node(ARM, None, depth + 1, icase, dotall, in_variable)
                yield from walk(arm, icase, dotall, in_variable, depth + 2)
        elif op == c.ATOMIC_GROUP:
            yield from walk(av, icase, dotall, in_variable, depth + 1)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            yield from walk(av[1], icase, dotall, in_variable, depth + 1)


def walk_pattern(pattern: str) -> Iterator[Node]:
    tree = parse(pattern)
    flags = tree.state.flags
    return walk(tree, bool(flags & re.I), bool(flags & re.S))


# -- questions the rule loader asks -------------------------------------------------------------

def compile_rule_regex(pattern: str) -> tuple[re.Pattern[str], int, bool]:
    """Compile a rule's regex after checking it cannot backtrack catastrophically: (compiled,
    the longest match, whether a match can span lines). Raises ``RegexError``.

    Allowed: the RE2-compatible subset (no back-references, no look-around) and no quantifier of
    variable length nested inside another. Matching happens in windows of bounded size, and the
    engine keeps a time budget, so even a pathological pattern that slips through cannot hang.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise RegexError(f"invalid regex: {exc}") from None
    tree = parse(pattern)
    problem = unsafe_construct(tree)
    if problem:
        raise RegexError(f"regex not allowed ({problem}); matching must stay linear-time")
    lo, hi = tree.getwidth()
    if lo == 0:
        raise RegexError("regex can match the empty string")
    groups = compiled.groupindex
    if groups and "secret" not in groups:
        raise RegexError("named groups are not allowed except (?P<secret>...)")
    return compiled, min(hi, MAX_WIDTH_CAP), spans_lines(tree, bool(compiled.flags & re.DOTALL))


def unsafe_construct(tree: Any) -> str | None:
    """Why the regex could backtrack badly (or needs more than a finite automaton), or None."""
    for n in walk(tree):
        if n.op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return "back-reference"
        if n.op in (c.ASSERT, c.ASSERT_NOT):
            return "look-around"
        if n.op in REPEATS and n.av[0] != n.av[1] and n.in_variable:
            return "nested quantifier"
        if n.op == c.BRANCH and n.in_variable and any(b.getwidth() != (1, 1) for b in n.av[1]):
            return "alternation inside a repeated group"
    return None


_NL = ord("\n")
_NL_CATEGORIES = (c.CATEGORY_SPACE, c.CATEGORY_NOT_DIGIT, c.CATEGORY_NOT_WORD, c.CATEGORY_LINEBREAK)


def spans_lines(tree: Any, dotall: bool) -> bool:
    """Can the pattern match a newline? If not, the engine searches only the keyword's line."""
    for n in walk(tree, dotall=dotall):
        if n.op == c.LITERAL and n.av == _NL:
            return True
        if n.op == c.NOT_LITERAL and n.av != _NL:
            return True
        if n.op == c.ANY and n.dotall:
            return True
        if n.op == c.IN:
            negate = any(o == c.NEGATE for o, _ in n.av)
            has_nl = any((o == c.LITERAL and a == _NL) or (o == c.RANGE and a[0] <= _NL <= a[1])
                         or (o == c.CATEGORY and a in _NL_CATEGORIES) for o, a in n.av)
            if has_nl != negate:
                return True
    return False


# -- questions the Hyperscan translation asks ---------------------------------------------------

def ascii_closed(pattern: str) -> bool:
    """Can the regex match only ASCII characters (so byte mode sees UTF-8 text as ``re`` does)?"""
    for n in walk_pattern(pattern):
        if n.op in (c.ANY, c.NOT_LITERAL):
            return False
        if n.op == c.IN and any(o == c.NEGATE for o, _ in n.av):
            return False
    return True


_HS_BANNED = {c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF, c.GROUPREF_EXISTS, c.CATEGORY,
              c.ATOMIC_GROUP, c.POSSESSIVE_REPEAT}


def hyperscan_reads_as_re(tree: Any) -> bool:
    """Does Hyperscan read this parsed regex as Python does (no anchors, look-around,
    back-references or class escapes such as ``\\w`` whose meaning differs)?"""
    for n in walk(tree):
        if n.op in _HS_BANNED:
            return False
        if n.op == c.IN and any(o == c.CATEGORY for o, _ in n.av):
            return False
    return True


def same_but_wider_repeats(pattern: str, wider: str) -> bool:
    """Do the two regexes parse to the same tree but for repeats whose upper bound was raised?"""
    try:
        a, b = list(walk(parse(pattern))), list(walk(parse(wider)))
    except re.error:
        return False
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.depth != y.depth or x.op != y.op:
            return False
        if x.op in REPEATS:
            if x.av[0] != y.av[0] or y.av[1] < x.av[1]:
                return False
        elif x.op == c.SUBPATTERN:
            if x.av[:3] != y.av[:3]:
                return False
        elif x.op == c.BRANCH:
            if len(x.av[1]) != len(y.av[1]):
                return False
        elif x.op in (c.ASSERT, c.ASSERT_NOT):
            if x.av[0] != y.av[0]:
                return False
        elif x.op != c.ATOMIC_GROUP and x.av != y.av:
            return False
    return True

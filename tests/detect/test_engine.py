"""The engine on its own: boundaries, context, decoding, chunking, locations."""
from __future__ import annotations

import base64
import io

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.ruleset.load import build_rule
from keyguard.sources.decode import read_texts
from ..pipeline_support import scan_texts


def scan(rules, text, path="t.txt"):
    return Engine(list(rules.values())).scan(ScanText(text, path), Stats())


def test_location_is_one_based_in_characters(rules, make_key):
    key = make_key("google-api-key")
    text = "first line\n  ünïcode = '" + key + "'\n"
    [f] = scan(rules, text)
    assert (f.line, f.column) == (2, 14)
    assert f.end_column == f.column + len(key)
    assert f.origin["variable"] == "ünïcode"


def test_key_inside_longer_token_is_not_reported(rules, make_key):
    key = make_key("google-api-key")
    assert scan(rules, f"blob=QUJD{key}x9Zq\n") == []
    proj = make_key("openai-project-key")
    assert scan(rules, "id=task-" + proj[3:] + "\n") == []
    assert [f.rule.id for f in scan(rules, f"x={proj}\n")] == ["openai-project-key"]


def test_key_after_an_escaped_newline_in_a_string_is_reported(rules, make_key):
    """In JSON or JS source a string's "\\n" escape ends the token before the key; the
    letter n is not part of the key's token (a literal backslash before it, "\\\\n", is)."""
    key, proj = make_key("google-api-key"), make_key("openai-project-key")
    text = '{"keys": "first\\n' + key + '\\t' + proj + '\\n"}\n'
    assert sorted(f.secret for f in scan(rules, text)) == sorted([key, proj])
    assert scan(rules, '{"path": "C:\\\\n' + key + '"}\n') == []  # the file name nAIza…


def test_base64_key_after_an_assignment_is_reported(rules, make_key):
    """'=' pads the end of a base64 run; before a key it is the assignment in KEY=value."""
    key = next(k for k in (make_key("aws-bedrock-api-key", s) for s in range(50)) if "/" in k or "+" in k)
    found = scan(rules, f"AWS_BEARER_TOKEN_BEDROCK={key}\n")
    assert [(f.rule.id, f.secret) for f in found] == [("aws-bedrock-api-key", key)]
    assert scan(rules, f"blob=QUJD{key}\n") == []
    assert scan(rules, f"blob={key.rstrip('=')}==QUJD\n") == []


def test_placeholders_and_lookalikes_are_not_findings(rules):
    lookalikes = [
        "GEMINI_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "GEMINI_API_KEY=YOUR_API_KEY",
        "GEMINI_API_KEY=${GEMINI_API_KEY}",
        "key = os.environ['GEMINI_API_KEY']",
        "const k = process.env.GEMINI_API_KEY;",
        "OPENAI_API_KEY=sk-proj-...",
        "ANTHROPIC_API_KEY=sk-ant-api03-...",
        "key: sk-…****",
        "key: AIza<your-key>",
        "key: AIzaSyABCDEFGHIJKLMNOPQRSTUVWXYZ012345678",
    ]
    for line in lookalikes:
        assert scan(rules, line + "\n") == [], line


def test_allow_markers(rules, make_key):
    key = make_key("google-api-key")
    for marker in ("# keyguard:allow", "// pragma: allowlist secret", "# gitleaks:allow"):
        stats = Stats()
        assert Engine(list(rules.values())).scan(ScanText(f"k='{key}'  {marker}\n", "t"), stats) == []
        assert stats.suppressed == {"allow-marker": 1}


def test_base64_values_are_decoded_and_located_at_the_encoded_text(rules, make_key):
    key = make_key("google-api-key")
    blob = base64.b64encode(f"GEMINI_API_KEY={key}\n".encode()).decode()
    text = f"apiVersion: v1\nkind: Secret\ndata:\n  env: {blob}\n"
    [f] = scan(rules, text)
    assert f.origin["encoding"] == "base64"
    assert (f.line, f.column) == (4, 8)
    assert f.secret == key


def test_context_rule_needs_its_word_nearby():
    rule = build_rule(
        {"id": "ctx-test", "provider": "t", "name": "t", "regex": r"\b[a-f0-9]{32}\b",
         "keywords": ["acme"], "context": ["acme"], "severity": "high"},
        "test",
    )
    eng = Engine([rule])
    hexkey = "3f9a0c6e1b7d4a2f8c5e9b0d6a1f3c7e"
    assert [f.secret for f in eng.scan(ScanText(f"ACME_KEY = '{hexkey}'\n", "t"), Stats())] == [hexkey]
    assert [f.secret for f in eng.scan(ScanText(f"# acme\nfoo:\n  key: {hexkey}\n", "t"), Stats())] == [hexkey]
    far = "# acme\n" + "x\n" * 6 + f"key: {hexkey}\n"
    assert eng.scan(ScanText(far, "t"), Stats()) == []
    # the file's path names the provider: a value assigned to a credential's name counts there
    assert [f.secret for f in eng.scan(ScanText(f"other_key = '{hexkey}'\n", "acme/config.py"), Stats())] == [hexkey]
    assert eng.scan(ScanText(f"checksum = '{hexkey}'\n", "acme/config.py"), Stats()) == []
    assert eng.scan(ScanText(f"other_key = '{hexkey}'\n", "other/config.py"), Stats()) == []
    # the lines below count as far as the lines above
    assert [f.secret for f in eng.scan(ScanText(f"key: {hexkey}\nfoo: 1\n# acme\n", "t"), Stats())] == [hexkey]


def test_chunk_borders_do_not_lose_or_duplicate_keys(rules, make_key):
    key = make_key("google-api-key")
    engine = Engine(list(rules.values()))
    chunk = 4096
    for offset in range(chunk - len(key) - 2, chunk + 3):
        data = ("a" * (offset - 1) + "\n" + f"{key}\n" + "b" * 5000 + "\n").encode()
        stats = Stats()
        texts = read_texts(io.BytesIO(data), "big.txt", None, None, stats, chunk_chars=chunk)
        found = scan_texts(texts, engine.rules, stats)
        assert [(f.line, f.column, f.secret) for f in found] == [(2, 1, key)], offset


def test_chunked_single_line_columns(rules, make_key):
    key = make_key("google-api-key")
    engine = Engine(list(rules.values()))
    col = 10_000
    data = ("x;" * ((col - 1) // 2) + " " * ((col - 1) % 2) + key + ";" + "y" * 20000).encode()
    stats = Stats()
    found = scan_texts(read_texts(io.BytesIO(data), "min.js", None, None, stats, chunk_chars=3000), engine.rules, stats)
    assert [(f.line, f.column) for f in found] == [(1, col)]


def test_utf16_with_bom_and_invalid_utf8(rules, make_key):
    key = make_key("google-api-key")
    engine = Engine(list(rules.values()))
    for data in (
        ("\ufeffname=" + key + "\n").encode("utf-16-le"),
        ("\ufeffname=" + key + "\n").encode("utf-16-be"),
        ("name=" + key + "\nother = 1\n").encode("utf-16-le"),  # no BOM
        b"\xfa\xff bad bytes \x80\x81\nname=" + key.encode() + b"\n",
    ):
        stats = Stats()
        found = scan_texts(read_texts(io.BytesIO(data), "f", None, None, stats), engine.rules, stats)
        assert [f.secret for f in found] == [key]


def test_runaway_user_regex_is_stopped_by_the_budget(monkeypatch):
    import keyguard.detect.engine as engine_mod

    monkeypatch.setattr(engine_mod, "REGEX_BUDGET_SECONDS", 0.3)
    slow = build_rule(
        {"id": "slow", "provider": "t", "name": "t", "regex": r"acme_[a-z]+[a-z]+[a-z]+[a-z]+[a-z]+!",
         "keywords": ["acme_"], "severity": "high"},
        "test",
    )
    eng = Engine([slow])
    stats = Stats()
    assert eng.scan(ScanText("acme_" + "a" * 3000, "t"), stats) == []
    assert "slow" in eng.disabled and "budget" in eng.errors[0]


def test_decoded_runs_are_judged_text_as_str_isprintable_would(rules, make_key):
    """The printability test counts in C (bytes.translate), characters one by one only where
    non-ASCII could change the answer: the same answer as counting every character."""
    import random

    from keyguard.detect.base64 import mostly_printable

    def by_characters(text: str) -> bool:
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
        return not printable < len(text) * 0.95

    odd = ["é", "\u00a0", "\u200b", "中", "\U0001F600", "\x85", "\u2028", "\ue000", "\U000e0001", "\x7f", "\x00"]
    rnd = random.Random(19)
    answers = set()
    for _ in range(20_000):
        share = rnd.random() * 0.2
        text = "".join(rnd.choice(odd) if rnd.random() < share else rnd.choice("ab1 \n\t=")
                       for _ in range(rnd.randint(16, 80)))
        assert mostly_printable(text.encode(), len(text)) == by_characters(text), repr(text)
        answers.add(by_characters(text))
    assert answers == {True, False}
    # and in a scan: a key in decoded non-ASCII text is found, one in decoded binary is not
    key = make_key("google-api-key")
    wide = base64.b64encode(f"# ünïcödé 𠮷\nGEMINI_API_KEY={key}\n".encode()).decode()
    binary = base64.b64encode(bytes(range(1, 30)) * 2 + f"GEMINI_API_KEY={key}\n".encode()).decode()
    assert [f.origin["encoding"] for f in scan(rules, f"a: {wide}\n")] == ["base64"]
    assert scan(rules, f"a: {binary}\n") == []


def test_a_base64_run_is_found_around_any_position_in_it():
    import random

    from keyguard.detect.base64 import run_at

    rnd = random.Random(5)
    for n in (10, 100, 70_000, 200_000):  # runs longer than the backward search's pieces
        text = "".join(rnd.choice("ABab09+/") if rnd.random() < 0.9995 else rnd.choice("=-\n é")
                       for _ in range(n))
        for pos in [0, n - 1] + [rnd.randrange(n) for _ in range(20)]:
            start, end = run_at(text, pos)
            if text[pos] not in "=-\n é":
                assert all(ch in "ABab09+/" for ch in text[start:pos + 1])
                assert start == 0 or text[start - 1] not in "ABab09+/"
                body_end = len(text[:end].rstrip("="))  # the run's end before its padding
                assert body_end == n or text[body_end] not in "ABab09+/"

"""Format-true fake keys, built at run time so no key-shaped literal lives in the tree.

``key_for(rule)`` draws a random string from the rule's own regex (like gitleaks'
``secrets.NewSecret``), so every built-in and user rule gets a factory for free. Where a regex
is looser than the real format (a structure inside base64, a JWT, a fixed observed prefix),
``SHAPED`` builds the real shape instead.
"""
from __future__ import annotations

import random
import re
import string
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

_ALL = string.ascii_letters + string.digits + "_-"
_CATEGORY = {
    c.CATEGORY_DIGIT: string.digits,
    c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    c.CATEGORY_SPACE: " ",
    c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
    c.CATEGORY_NOT_DIGIT: string.ascii_letters,
}


def _charset(items, ignore_case: bool) -> list[str]:
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op == c.NEGATE:
            negate = True
        elif op == c.LITERAL:
            chars.add(chr(av))
        elif op == c.RANGE:
            chars.update(chr(x) for x in range(av[0], av[1] + 1))
        elif op == c.CATEGORY:
            chars.update(_CATEGORY.get(av, string.ascii_letters))
    if negate:
        chars = set(_ALL) - chars
    if ignore_case:
        chars |= {ch.swapcase() for ch in chars if ch.isalpha()}
    # keep printable ASCII: the factory builds realistic keys, not odd bytes
    return sorted(ch for ch in chars if 32 <= ord(ch) < 127) or list(_ALL)


def _gen(parsed, rnd: random.Random, ignore_case: bool, groups: dict) -> str:
    out = []
    for op, av in parsed:
        if op == c.LITERAL:
            out.append(chr(av))
        elif op == c.NOT_LITERAL:
            out.append(rnd.choice([ch for ch in _ALL if ord(ch) != av]))
        elif op == c.IN:
            out.append(rnd.choice(_charset(av, ignore_case)))
        elif op == c.ANY:
            out.append(rnd.choice(_ALL))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, hi, body = av
            hi = min(hi, lo + 8) if hi > lo + 8 else hi
            n = rnd.randint(lo, hi)
            out.extend(_gen(body, rnd, ignore_case, groups) for _ in range(n))
        elif op == c.SUBPATTERN:
            group, _add, _del, body = av
            s = _gen(body, rnd, ignore_case or bool(_add & re.I), groups)
            if group:
                groups[group] = s
            out.append(s)
        elif op == c.BRANCH:
            out.append(_gen(rnd.choice(av[1]), rnd, ignore_case, groups))
        elif op == c.CATEGORY:
            out.append(rnd.choice(_CATEGORY.get(av, string.ascii_letters)))
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue
        else:  # pragma: no cover - a construct rules do not use
            raise ValueError(f"factory cannot build {op}")
    return "".join(out)


def random_match(pattern: str, seed: int | None = None, tries: int = 200) -> str:
    """A random string matching ``pattern`` with high entropy (not filler)."""
    rnd = random.Random(seed)
    compiled = re.compile(pattern)
    parsed = sre_parse.parse(pattern)
    for _ in range(tries):
        s = _gen(parsed, rnd, bool(compiled.flags & re.I), {})
        if compiled.fullmatch(s):
            return s
    raise ValueError(f"could not build a match for {pattern!r}")


def _alnum(rnd: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(n))


def _b64url(rnd: random.Random, n: int) -> str:
    import base64

    return base64.urlsafe_b64encode(rnd.randbytes(n)).decode().rstrip("=")


def _uuid4(rnd: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def ngc_key(rnd: random.Random) -> str:
    """A legacy NGC key: base64 of "<26 letters and digits>:<UUID>" (TruffleHog ngc)."""
    import base64
    import uuid

    raw = f"{_alnum(rnd, 26)}:{uuid.UUID(int=rnd.getrandbits(128), version=4)}"
    return base64.b64encode(raw.encode()).decode()


def github_installation_jwt(rnd: random.Random) -> str:
    """A stateless installation token (2026): ghs_ and a JWT, about 520 characters."""
    import base64
    import json

    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()).decode().rstrip("=")
    claims = {"iss": str(rnd.randrange(10**5, 10**7)), "iat": 1780000000, "exp": 1780003600,
              "installation_id": rnd.randrange(10**7, 10**9), "nonce": _b64url(rnd, 48)}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"ghs_{header}.{payload}.{_b64url(rnd, 256)}"


# rule id -> builder of the real shape (the rule's regex must still match it whole)
SHAPED = {
    "nvidia-ngc-api-key": ngc_key,
    # every auth key committed in public code starts AQ.Ab8RN6 (providers.md)
    "google-auth-key": lambda rnd: "AQ.Ab8RN6" + _alnum(rnd, 44, _ALL),
    "github-refresh-token": lambda rnd: "ghr_" + _alnum(rnd, 76),
    "github-installation-token": lambda rnd: (github_installation_jwt(rnd) if rnd.random() < 0.5
                                              else "ghs_" + _alnum(rnd, 36)),
    "google-oauth-refresh-token": lambda rnd: "1//" + _alnum(rnd, 100, _ALL),
    # the secret after the client_secret name the rule needs (its (?P<secret>) group)
    "google-oauth-client-secret-legacy": lambda rnd: "client_secret: " + _alnum(rnd, 24, _ALL),
    # 48 letters and digits; a legacy OpenAI key (T3BlbkFJ after 20) is openai-user-key's
    "shared-sk-48-key": lambda rnd: "sk-" + _alnum(rnd, 48),
    # keys seen in public code carry 22 characters after sk_car_ (the rule takes 20 to 24)
    "cartesia-api-key": lambda rnd: "sk_car_" + _alnum(rnd, 22),
    # a random (version 4) UUID, as AI21 Studio issues; the rule takes any lower-case UUID
    "ai21-api-key": lambda rnd: _uuid4(rnd),
}


def adc_file(rnd: random.Random) -> str:
    """An Application Default Credentials file of type authorized_user (gcloud's layout)."""
    import json

    return json.dumps({
        "account": "",
        "client_id": f"{rnd.randrange(10**11, 10**12)}-{_alnum(rnd, 32, string.ascii_lowercase + string.digits)}.apps.googleusercontent.com",
        "client_secret": "GOCSPX-" + _alnum(rnd, 28, _ALL),
        "quota_project_id": f"acme-{rnd.randrange(1000, 9999)}",
        "refresh_token": SHAPED["google-oauth-refresh-token"](rnd),
        "type": "authorized_user",
        "universe_domain": "googleapis.com",
    }, indent=2)


def key_for(rule, seed: int | None = None) -> str:
    """The secret part of a random match of ``rule`` (the (?P<secret>) group if it has one)."""
    from keyguard.detect.judge import placeholder_reason, shannon_entropy

    rnd = random.Random(seed)
    shaped = SHAPED.get(rule.id)
    for _ in range(200):
        s = shaped(rnd) if shaped else random_match(rule.regex, rnd.randrange(1 << 30))
        if shaped and not rule.compiled.fullmatch(s):
            continue
        m = rule.compiled.fullmatch(s)
        secret = m.group("secret") if "secret" in rule.compiled.groupindex else s
        if shannon_entropy(secret) >= rule.min_entropy and not placeholder_reason(secret, rule.keywords):
            return s
    raise ValueError(f"no usable random key for {rule.id}")


def line_for(rule, key: str) -> str:
    """A realistic line carrying ``key``, with the rule's context word in the variable name."""
    if rule.context:
        word = rule.context[0].upper().replace(".", "_").replace("-", "_").strip("_")
        return f'{word}_API_KEY="{key}"'
    if re.fullmatch(r"[A-Za-z0-9_\-]+", key):
        return f'api_key = "{key}"'
    return key

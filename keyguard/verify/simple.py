"""A live check that is one GET, described as data: host, path, how the key is sent, what each
documented answer means and which body fields to read. ``registry.py`` holds the rows.

A provider whose check needs logic (two calls, a choice of endpoint, signing) is a module instead;
both kinds produce the same ``Check`` for docs/live-checks.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import Check, Context, Verification
from ._common import body_json, error_fields, expect_shape, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

SECTIONS = ("restrictions", "quota", "scope")


@dataclass(frozen=True)
class Answer:
    """What one documented answer means. ``match``: text the error code or message must hold."""

    status: int
    verdict: str  # live | invalid | unknown
    why: str = ""
    match: str = ""
    sets: tuple[tuple[str, str, Any], ...] = ()  # (section, field, value) this answer implies

    def describe(self) -> str:
        code = f" `{self.match}`" if self.match else ""
        why = f" ({self.why})" if self.why else ""
        return f"{self.status}{code} {self.verdict}{why}"


@dataclass(frozen=True)
class Read:
    """A field read from a live answer's JSON: ``path`` is dotted; ``count`` gives a list's length;
    ``keep`` keeps only those keys of each dict in a list (at most ten items)."""

    section: str
    name: str
    path: str
    count: bool = False
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimpleGet:
    provider: str  # as shown in the table
    host: str
    path: str  # may hold a fixed query
    auth: tuple[str, str] = ("Authorization", "Bearer {key}")  # header, value template
    headers: tuple[tuple[str, str], ...] = ()  # fixed extra headers, e.g. an API version
    answers: tuple[Answer, ...] = (Answer(200, "live"), Answer(401, "invalid"))
    reads: tuple[Read, ...] = ()
    body: type = dict  # the JSON shape a live answer has
    # a live 200 must hold this top-level field (e.g. "data" of a model list): a 200 without it is
    # some other answer (a gateway's, an error wrapped in 200) and says nothing about the key
    requires: str = ""
    # a dotted field a provider puts a nonzero error code in even on a 200 (MiniMax's base_resp)
    error_code: str = ""
    unknown: tuple[str, ...] = ()
    note: str = ""  # why the row looks as it does, for the table's status column

    @property
    def request(self) -> str:
        return f"GET {self.host}{self.path.split('?')[0]}"

    @property
    def check(self) -> Check:
        fields = {s: tuple(dict.fromkeys(
            [r.name for r in self.reads if r.section == s]
            + [f for a in self.answers for (sec, f, _) in a.sets if sec == s]
            + (["rate_limit"] if s == "quota" else []))) for s in SECTIONS}
        status = "; ".join(a.describe() for a in self.answers) + (f"; {self.note}" if self.note else "")
        return Check(provider=self.provider, requests=(self.request,), status=status,
                     restrictions=fields["restrictions"], quota=fields["quota"], scope=fields["scope"],
                     unknown=self.unknown)

    def verify(self, secret: str, context: Context, client: CredentialClient) -> Verification:
        header, template = self.auth
        headers = {header: template.format(key=secret), **dict(self.headers)}
        answer = send(client, "GET", self.host, self.path, headers=headers)
        if isinstance(answer, Verification):
            answer.check, answer.unknown = self.request, list(self.unknown)
            return answer
        v = interpret(answer, secret, self.request, live=(), invalid=(), unknown_fields=self.unknown)
        body = body_json(answer)
        chosen = self._answer(answer.status_code, body, secret)
        if chosen is None or v.evidence.get("body") == "web page":
            return v  # undocumented, 429, 5xx or a proxy's page: interpret's honest reading
        v.status = chosen.verdict
        v.reasons = [f"{self.request} answered {chosen.describe()}"]
        for section, name, value in chosen.sets:
            getattr(v, section)[name] = value
        if chosen.verdict == "live" and chosen.status == 200:
            if expect_shape(v, body, self.body, f"{self.provider}'s JSON {self.body.__name__}"):
                wrong = self._not_live(body)
                if wrong:
                    v.status, v.reasons = "unknown", [f"{self.request} answered 200 but {wrong}"]
                else:
                    self._read(v, body)
        return v

    def _not_live(self, body: Any) -> str:
        """Why a 200 is not the documented live answer, or ""."""
        if self.error_code:
            holder: Any = body
            for part in self.error_code.split("."):
                holder = holder.get(part) if isinstance(holder, dict) else None
            if holder not in (None, 0, "0"):
                return f"with error code {self.error_code}={holder!r}"
        if self.requires and not (isinstance(body, dict) and self.requires in body):
            return f"without {self.requires!r}, which a live answer holds"
        return ""

    def _answer(self, status: int, body: Any, secret: str) -> Answer | None:
        said = " ".join(error_fields(body, secret).values()).lower()
        for a in self.answers:
            if a.status == status and (not a.match or a.match.lower() in said):
                return a
        return None

    def _read(self, v: Verification, body: Any) -> None:
        for r in self.reads:
            *outer, last = r.path.split(".")
            holder: Any = body
            for part in outer:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if not isinstance(holder, dict) or last not in holder:
                continue  # not in this answer: nothing claimed
            value = holder[last]
            if r.count:
                value = len(value) if isinstance(value, list) else None
            elif r.keep:
                value = [{k: i[k] for k in r.keep if k in i} for i in value[:10]
                         if isinstance(i, dict)] if isinstance(value, list) else None
            elif isinstance(value, (dict, list)):
                value = None  # a scalar is documented here; anything else is not read
            if value is not None or holder[last] is None:
                getattr(v, r.section)[r.name] = value

"""Run the live checks for a list of findings: each distinct secret once, a bounded thread pool."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Callable

from ..findings.exposure import critical_whatever_restrictions
from ..http import EndpointError
from ..model import Finding
from .lookup import NO_LIVE_CHECK, module_for, verifier_for
from .model import Context, Verification, implied_severity
from .context import context_for

if TYPE_CHECKING:
    from ..http import CredentialClient

MAX_WORKERS = 8
TIMEOUT_VARIABLE = "KEYGUARD_VERIFY_TIMEOUT"  # seconds to wait for one answer (tests set it low)


def client_from_environment() -> CredentialClient:
    """The credential client; KEYGUARD_ENDPOINTS and KEYGUARD_VERIFY_TIMEOUT apply."""
    from ..http import DEFAULT_TIMEOUT, CredentialClient

    timeout = DEFAULT_TIMEOUT
    value = os.environ.get(TIMEOUT_VARIABLE)
    if value:
        try:
            seconds = float(value)
        except ValueError:
            raise EndpointError(f"{TIMEOUT_VARIABLE}: expected seconds, got {value!r}") from None
        if not 0 < seconds <= 120:
            raise EndpointError(f"{TIMEOUT_VARIABLE}: must be between 0 and 120 seconds")
        timeout = (min(seconds, DEFAULT_TIMEOUT[0]), seconds)
    return CredentialClient.from_environment(timeout=timeout)


def _job_key(module: str, secret: str, context: Context) -> str:
    """One check per distinct secret (an AWS pair counts once, whichever half was found)."""
    parts = sorted([secret, *context.companions.values()])
    return hashlib.sha256("\0".join([module, *parts]).encode("utf-8", "surrogatepass")).hexdigest()


def _check(module: str, secret: str, context: Context, client: CredentialClient) -> Verification:
    verifier = verifier_for(context.provider, context.rule_id)
    assert verifier is not None
    try:
        v = verifier(secret, context, client)
    except EndpointError:
        raise
    except Exception as exc:  # an answer keyguard failed to read says nothing about the key
        return Verification("unknown", reasons=[
            f"keyguard could not read the provider's answer ({type(exc).__name__}): "
            "whether the key is live is unknown"])
    if context.notes:
        v.reasons.extend(context.notes)
    return v


def verify_findings(findings: list[Finding], client: CredentialClient, *,
                    workers: int = MAX_WORKERS,
                    progress: Callable[[int, int], None] | None = None) -> int:
    """Set ``verification`` and the implied ``severity`` on every finding; the number of checks."""
    jobs: dict[str, tuple[str, str, Context]] = {}
    members: dict[str, list[Finding]] = {}
    by_secret: dict[str, str] = {}  # secret hash -> its first check
    unchecked: list[Finding] = []
    for f in findings:
        module = module_for(f.rule.provider, f.rule.id)
        if module is None:
            unchecked.append(f)
            continue
        context = context_for(f, findings)
        key = _job_key(module, f.secret, context)
        jobs.setdefault(key, (module, f.secret, context))
        members.setdefault(key, []).append(f)
        by_secret.setdefault(f.secret_sha256, key)
    for f in unchecked:  # e.g. a generic rule's finding of a key a provider rule also found
        key = by_secret.get(f.secret_sha256)
        if key is not None:
            members[key].append(f)
        else:
            f.verification = Verification("unknown", reasons=[
                NO_LIVE_CHECK.get(f.rule.id) or f"no live check for provider {f.rule.provider!r}"]).as_dict()
    results: dict[str, Verification] = {}
    if jobs:
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs))))
        try:
            futures = {pool.submit(_check, *job, client): key for key, job in jobs.items()}
            for done, future in enumerate(as_completed(futures), 1):
                results[futures[future]] = future.result()  # EndpointError propagates
                if progress:
                    progress(done, len(jobs))
        except BaseException:
            # Ctrl-C or a fatal error: do not wait for the requests in flight (up to their read
            # time-out); the process exits without them
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    for key, group in members.items():
        v = results[key]
        for f in group:
            f.verification = v.as_dict()
            f.severity = implied_severity(f.severity, v)
            if v.status != "invalid" and critical_whatever_restrictions(f):
                f.severity = "critical"  # a restriction does not change who an auth key acts as
            f.reasons = [*f.reasons, *(r for r in v.reasons if r not in f.reasons)]
    return len(jobs)

"""Owner-side audits: ask the account that owns the keys what each key can do.

``keyguard audit gcp|openai|anthropic|openrouter`` lists projects (or workspaces) and their API
keys with the owner's credentials, flags keys whose restrictions or age make them dangerous, and, given a scan
report, says which leaked keys belong to the audited account. Every call is a read-only GET
through ``keyguard.http.CredentialClient``.

Pipeline: a provider module (``gcp``, ``openai``, ``anthropic``) turns API answers into an
``AuditResult`` (``model``); ``crossref`` marks keys that a scan report found leaked; ``report``
renders text, JSON or SARIF (``html`` a self-contained page).

With ``--usage`` (and for ``openrouter`` always) a ``usage_*`` module reads what each key did, day
by day, into a ``usage.Usage`` attached to the result; ``anomalies`` turns it into findings
(spikes, new keys and models, leaked keys in use, spend limits); ``usage_report`` and ``html``
show it.
"""

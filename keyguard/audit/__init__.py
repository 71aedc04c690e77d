"""Owner-side audits: ask the account that owns the keys what each key can do.

``keyguard audit gcp|openai|anthropic`` lists projects (or workspaces) and their API keys with the
owner's credentials, flags keys whose restrictions or age make them dangerous, and, given a scan
report, says which leaked keys belong to the audited account. Every call is a read-only GET
through ``keyguard.http.CredentialClient``.

Pipeline: a provider module (``gcp``, ``openai``, ``anthropic``) turns API answers into an
``AuditResult`` (``model``); ``crossref`` marks keys that a scan report found leaked; ``report``
renders text, JSON or SARIF.
"""

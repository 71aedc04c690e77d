"""Hypothesis profiles: ``ci`` (the default, few examples, fast) and ``fuzz`` (a longer run).

    HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/adversarial/test_properties.py
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

"""What happens to findings after detection: severity raised for browser exposure
(``exposure``), secrets redacted wherever else they stand (``scrub``), and suppression by config
allows, ``--skip`` and baselines (``suppress``, ``baseline``)."""

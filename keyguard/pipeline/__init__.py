"""The one orchestrator (``run``), the choice of sources for a scan's targets (``plan``), the
worker processes that may scan a source's batches (``executor``), and ``--shard`` (``shard``)."""

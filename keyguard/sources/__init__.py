"""Sources: where texts come from (files, git history and changes, sites), each yielding
``ScanText`` with its provenance; ``decode`` turns bytes into text for all of them, and
``sourcemaps`` and ``agents`` (MCP/agent configs as one text per value, transcripts as one text
per record) are the transforms every source's texts go through; ``agents`` also makes the
source of ``scan --agents``. The ``Source`` protocol the
orchestrator drives is in ``keyguard.pipeline.run``."""


class WebError(Exception):
    """The start URL cannot be scanned at all (here, not in ``web``: the command line catches it
    without importing the crawler)."""


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))

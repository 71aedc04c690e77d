"""Sources: where texts come from (files, git history and changes, sites), each yielding
``ScanText`` with its provenance; ``decode`` turns bytes into text for all of them, and
``sourcemaps`` is the transform every source's texts go through. The ``Source`` protocol the
orchestrator drives is in ``keyguard.pipeline.run``."""


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))

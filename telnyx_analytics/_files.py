"""Where the package keeps files on disk, known by the transport and the command line alike.

The HTTP cache is one SQLite file (:func:`default_cache_path`); report files kept by
:mod:`telnyx_analytics.reports` live in a folder beside it; a download in progress is a
hidden ``.<file name>.<random>.part`` file beside its destination (:data:`PART_SUFFIX`),
renamed into place once whole.

>>> default_cache_path().suffix == ".sqlite" or CACHE_ENV in os.environ
True
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CACHE_ENV", "CACHE_FILE", "PART_SUFFIX", "default_cache_path"]

#: The environment variable that names the cache file.
CACHE_ENV = "TELNYX_ANALYTICS_CACHE"
CACHE_FILE = "http_cache.sqlite"
#: How an unfinished download's file name ends.
PART_SUFFIX = ".part"


def default_cache_path() -> Path:
    """Where the HTTP cache lives unless told otherwise.

    ``$TELNYX_ANALYTICS_CACHE`` if set, else ``telnyx-analytics/http_cache.sqlite`` under
    the user's cache directory (``$XDG_CACHE_HOME``, else ``~/.cache``; ``%LOCALAPPDATA%``
    on Windows).

    >>> default_cache_path().name.endswith(".sqlite") or "TELNYX_ANALYTICS_CACHE" in os.environ
    True
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    if not base and sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "telnyx-analytics" / CACHE_FILE

"""Progress bars: notebook widgets when Jupyter can draw them, text bars otherwise."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any


@functools.cache
def _bar_class() -> Any:
    # tqdm.auto picks the widget bar in a notebook, and warns (naming site-packages) when
    # ipywidgets is missing; the text bar works everywhere, so use it in that case.
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress_bar(**options: Any) -> Any:
    """A tqdm bar (``disable=True`` gives a silent one).

    >>> with progress_bar(total=2, disable=True) as bar:
    ...     bar.update(2)
    >>> bar.disable
    True
    """
    return _bar_class()(**options)


class StatusLine:
    """One line saying where a wait stands: ``wdr report 6a09cdc3: pending [00:12]``.

    Each :meth:`show` redraws it, so the elapsed time moves on at every poll and the
    status is shown from the first poll (silent when ``enabled`` is false).

    >>> line = StatusLine("wdr report 6a09cdc3", enabled=False)
    >>> line.show("pending")
    >>> line.text
    'wdr report 6a09cdc3: pending'
    >>> line.close()
    """

    def __init__(self, desc: str, *, enabled: bool) -> None:
        self.desc = desc
        self.text = desc
        self.bar = progress_bar(
            desc=desc, total=None, disable=not enabled, bar_format="{desc} [{elapsed}]",
            leave=False,
        )

    def show(self, status: str) -> None:
        self.text = f"{self.desc}: {status}"
        self.bar.set_description_str(self.text, refresh=True)

    def close(self) -> None:
        self.bar.close()

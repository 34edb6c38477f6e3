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

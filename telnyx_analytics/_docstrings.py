"""Docstring pieces shared by many functions, written once and filled in at definition time.

As seaborn's ``_categorical_docs``: a docstring names a piece on a line of its own,
``{client}``, indented as the piece should be, and :func:`shared_docs` puts the piece's
text there when the function is defined. ``help()`` and doctests see the filled text;
the API reference gets the same through the docs' griffe extension (it calls
:func:`fill`), because griffe reads docstrings from the source.

Only a whole line of the form ``{name}`` is a placeholder, so the braces of a set of
choices (``{"none", "profile"}``) or of a dict in an example are left alone, and an
unknown name fails at import instead of reaching a reader.

>>> @shared_docs
... def f(client=None):
...     '''Do it.
...
...     Parameters
...     ----------
...     {client}
...     '''
>>> print(f.__doc__.splitlines()[5])
        Default: the module-wide client.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

#: The pieces: numpydoc parameter entries (name line, then its text indented by 4), and
#: one paragraph (``download``) said of both the client's and the transport's download.
PIECES: dict[str, str] = {
    "client": """\
client : Client, optional
    Default: the module-wide client.""",
    "window": """\
start, end : str, date, datetime or Timestamp
    Inclusive window (a day as ``end`` includes that day; naive values are UTC), or
    a named period alone (``"last_month"``), or an offset alone (``"-7d"``: to now).""",
    "paging": """\
page_size : int, optional
    Records per page (1 to 250; default 250, the most the API allows).
limit : int, optional
    Stop after this many records, for a quick look.""",
    "download": """\
Sent without the API key and without the cache. The body is checked: its length against
``Content-Length`` and ``expected_length``, a gzip stream to its end, and, when the
server announces no length, its last bytes against ``ends_with`` (a CSV's ``b"\\n"``).
A short, broken or slow transfer is retried (each attempt within ``download_timeout``
seconds), then raises ``APIConnectionError`` (``APITimeoutError`` when slow) naming
``label`` (``"wdr report <id>"``); ``dest`` appears only once whole (a hidden ``.part``
file beside it, then a rename).""",
}

_PLACEHOLDER = re.compile(r"^([ \t]*)\{(\w+)\}[ \t]*$", re.MULTILINE)


def fill(text: str) -> str:
    """``text`` with each placeholder line replaced by its piece, at its indentation.

    >>> print(fill("    {paging}"))
        page_size : int, optional
            Records per page (1 to 250; default 250, the most the API allows).
        limit : int, optional
            Stop after this many records, for a quick look.
    >>> fill("    {nope}")
    Traceback (most recent call last):
    ...
    KeyError: "no docstring piece 'nope'; the pieces are: client, window, paging, download"
    """

    def piece(match: re.Match[str]) -> str:
        indent, name = match.groups()
        if name not in PIECES:
            raise KeyError(f"no docstring piece {name!r}; the pieces are: {', '.join(PIECES)}")
        return textwrap.indent(PIECES[name], indent)

    return _PLACEHOLDER.sub(piece, text)


def shared_docs(func: F) -> F:
    """Fill the placeholders of ``func``'s docstring (a decorator)."""
    if func.__doc__:
        func.__doc__ = fill(func.__doc__)
    return func

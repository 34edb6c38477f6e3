"""Keeping an old keyword working after a rename, with a warning that names the new one."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def renamed_keyword(old: str, new: str) -> Callable[[F], F]:
    """Accept ``old=`` as ``new=`` for a while, with a ``DeprecationWarning``.

    Examples
    --------
    >>> import warnings
    >>> @renamed_keyword("colour", "color")
    ... def paint(*, color: str = "red") -> str:
    ...     return color
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     paint(colour="blue")
    'blue'
    >>> str(caught[0].message)
    'paint(colour=...) is deprecated: it is now paint(color=...)'
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"{func.__name__}() got both {old}= and {new}=; "
                                    f"pass {new}= only")
                name = func.__name__
                warnings.warn(
                    f"{name}({old}=...) is deprecated: it is now {name}({new}=...)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return cast(F, wrapper)

    return decorate

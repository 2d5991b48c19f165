"""Old keyword names that still work: ``@renamed(prompt="seed_text")`` lets a caller pass ``prompt=`` where the
function now says ``seed_text=``, with a :class:`DeprecationWarning` naming the new one (issue 21 gave each concept
one name; code written against the old names runs unchanged)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def renamed(**old_to_new: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: each keyword ``old`` given to the function is passed on as ``old_to_new[old]``."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{function.__name__}() got both {new}= and its old name {old}=")
                    warnings.warn(f"{old}= is the old name of {new}=", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return call

    return decorate

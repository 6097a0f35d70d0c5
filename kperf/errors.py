"""Errors kperf raises on purpose.

Every error a user can cause with bad input is a :class:`SpecError`: it names the
field's dotted path, the bad value and what is allowed, in one line. The CLI turns
it into a line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import reprlib
from typing import Any

MAX_SHOWN_VALUE = 80
"""Characters of the offending value shown in an error line."""
MAX_SHOWN_PATH = 160
"""Characters of the field path shown (a path is made of the user's own keys)."""
MAX_SHOWN_ALLOWED = 1000
"""Characters of the 'allowed' text shown (lists of names can be long, not unbounded)."""

# The value's repr is built with small limits, so an error about a huge value (a
# document that repeats one list through YAML aliases, a 10 MB string) costs
# microseconds: a plain ``repr`` would expand all of it before it is cut to 80 chars.
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxtuple = _REPR.maxlist = _REPR.maxarray = _REPR.maxdict = 6
_REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 6
_REPR.maxstring = MAX_SHOWN_VALUE
_REPR.maxlong = 40
_REPR.maxother = MAX_SHOWN_VALUE


def short_repr(value: Any, limit: int = MAX_SHOWN_VALUE) -> str:
    """A repr of ``value`` of at most ``limit`` characters, built in bounded time."""
    try:
        shown = _REPR.repr(value)
    except Exception:  # a broken __repr__, or an int too long to convert to text
        shown = f"<{type(value).__name__}>"
    return _clip(_printable(shown), limit)


def _printable(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (one line)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class KperfError(Exception):
    """Base class of kperf's own errors."""


class SpecError(KperfError, ValueError):
    """Invalid input: a field path, the offending value and what is allowed."""

    def __init__(self, path: str, value: Any, allowed: str) -> None:
        self.path = path
        self.value = value
        self.allowed = allowed
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``path: got value; allowed``, one line whatever the parts contain."""
        shown = short_repr(self.value)
        where = _clip(_printable(self.path), MAX_SHOWN_PATH) or "<top level>"
        allowed = _clip(_printable(self.allowed), MAX_SHOWN_ALLOWED)
        return f"{where}: got {shown}; {allowed}"


class ConformanceError(KperfError):
    """A cluster builds but violates the Kubernetes network model (CLI exit 3)."""

"""Errors kperf raises on purpose.

Every error a user can cause with bad input is a :class:`SpecError`: it names the
field's dotted path, the bad value and what is allowed, in one line. The CLI turns
it into a line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from typing import Any


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
        shown = repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        where = self.path or "<top level>"
        return f"{where}: got {shown}; {self.allowed}"


class ConformanceError(KperfError):
    """A cluster builds but violates the Kubernetes network model (CLI exit 3)."""

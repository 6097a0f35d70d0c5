"""The Typer application and the error handling every command shares.

Exit codes: 0 success; 1 a run or check failed (e.g. a failed sweep run, a failed
validation case); 2 invalid input (one line on stderr naming the field); 3 a cluster
builds but violates the Kubernetes network model.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from kperf.errors import SpecError

app = typer.Typer(
    name="kperf",
    help="Discrete-event network performance simulator for Kubernetes clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_NONCONFORMANT = 3

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    print(f"kperf: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def handles_errors(func: F) -> F:
    """Turn kperf's input errors into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            raise fail(str(exc)) from None
        except KeyError as exc:  # registry look-ups phrase their own message
            raise fail(str(exc.args[0]) if exc.args else repr(exc)) from None

    return wrapper  # type: ignore[return-value]

"""The Typer application and the error handling every command shares.

Exit codes: 0 success; 1 a run or check failed (e.g. a failed sweep run, a failed
validation case); 2 invalid input (one line on stderr naming the field); 3 a cluster
builds but violates the Kubernetes network model; 130 interrupted (Ctrl-C).

Usage errors (an unknown command or option, a missing argument, a value of the wrong
type or out of range) are one line too: :class:`KperfGroup` runs the command line
itself and prints them as ``kperf: error: FIELD: got VALUE; allowed: ...`` instead of
Click's boxed usage text.

Help: a flag (a boolean option such as ``--force`` or ``--help``) shows no type
column in ``--help``; Typer would print ``<bool>`` there (:func:`quiet_flags`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from difflib import get_close_matches
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from kperf.errors import SpecError

if TYPE_CHECKING:
    from typer._click import exceptions as click_exc
else:  # Typer >= 0.24 vendors Click as typer._click; older Typer uses Click itself
    try:
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover
        from click import exceptions as click_exc

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_NONCONFORMANT = 3
EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    print(f"kperf: error: {one_line(message)}", file=sys.stderr)
    return typer.Exit(code)


def one_line(text: str) -> str:
    """``text`` with its line breaks folded into spaces (an error is one line)."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


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


# --------------------------------------------------------------------------- usage errors

def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _param_name(param: Any) -> str:
    """How the user spells a parameter: ``--bytes`` for an option, ``FILE`` for an argument."""
    opts = [o for o in getattr(param, "opts", None) or [] if o.startswith("-")]
    if getattr(param, "param_type_name", "") == "option" and opts:
        return max(opts, key=len)  # --output rather than -o
    metavar = getattr(param, "metavar", None)
    name = str(metavar or getattr(param, "name", None) or "value")
    return name if metavar else name.upper()


def _command(ctx: Any) -> str:
    return str(getattr(ctx, "command_path", "") or "kperf")


def _param_label(ctx: Any, param: Any) -> str:
    """An option by its flag; an argument by its command and name (``kperf list CATALOG``)."""
    name = _param_name(param)
    return name if name.startswith("-") else f"{_command(ctx)} {name}"


def _options_of(ctx: Any) -> str:
    command = getattr(ctx, "command", None)
    if command is None:
        return "see kperf --help"
    flags: list[str] = []
    for param in command.get_params(ctx):
        if getattr(param, "param_type_name", "") == "option" and not getattr(param, "hidden",
                                                                             False):
            flags.extend(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
    return ", ".join(flags) if flags else "none"


def _number_kind(param: Any) -> str:
    desc = getattr(param, "type_descriptor", None)
    annotation = getattr(desc, "annotation", None)
    return "an integer" if annotation is int else "a number"


def _allowed(ctx: Any, param: Any, error: dict[str, Any] | None, message: str) -> str:
    """What the parameter accepts, in words: its choices, its range, or the type's rule."""
    desc = getattr(param, "type_descriptor", None)
    choices = getattr(desc, "choices", None) if desc is not None else None
    if choices:
        return "allowed: " + ", ".join(str(getattr(c, "value", c)) for c in choices)
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        kind = _number_kind(param)
        if low is not None and high is not None:
            return f"allowed: {kind} from {low:,} to {high:,}"
        return f"allowed: {kind} >= {low:,}" if low is not None else f"allowed: {kind} <= {high:,}"
    if error is not None:
        msg = str(error.get("msg", message))
        if msg.startswith("Input should be "):
            return "allowed: " + msg.removeprefix("Input should be ")
        return msg.removeprefix("Value error, ")
    text = message.rstrip(".")
    return text[:1].lower() + text[1:]


def usage_error_line(exc: click_exc.ClickException) -> str:
    """One line for a Click usage error: the option or argument, the value, what is allowed."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click_exc.NoSuchOption):
        return (f"{_command(ctx)}: got unknown option {_shown(exc.option_name)}; "
                f"allowed: {_options_of(ctx)}")
    if isinstance(exc, click_exc.MissingParameter):
        param = exc.param
        if param is None:
            return one_line(exc.format_message())
        what = str(getattr(param, "help", None) or "").strip().rstrip(".")
        kind = getattr(param, "param_type_name", "parameter")
        return (f"{_param_label(ctx, param)}: missing; required {kind}"
                + (f" ({one_line(what)})" if what else "")
                + f"; see {_command(ctx)} --help")
    if isinstance(exc, click_exc.BadParameter) and exc.param is not None:
        errors_of = getattr(exc.__cause__, "errors", None)  # a pydantic ValidationError
        errors = errors_of() if callable(errors_of) else []
        error = dict(errors[0]) if errors else None
        got = f"got {_shown(error['input'])}; " if error and "input" in error else ""
        allowed = _allowed(ctx, exc.param, error, exc.message)
        return one_line(f"{_param_label(ctx, exc.param)}: {got}{allowed}")
    if isinstance(exc, click_exc.BadOptionUsage):  # raised by the parser, without a ctx
        opt = exc.option_name
        if " requires " in exc.message:
            return f"{opt}: got no value; allowed: {opt} followed by its value"
        if " does not take a value" in exc.message:
            return f"{opt}: got a value; allowed: {opt} alone (a flag)"
    message = exc.format_message().rstrip(".")
    command = _command(ctx)
    if command != "kperf" and isinstance(exc, click_exc.UsageError):
        message = f"{command}: {message[:1].lower()}{message[1:]}"
    return one_line(message)


# --------------------------------------------------------------------------- help

def quiet_flags(params: list[Any]) -> list[Any]:
    """``params`` with no type shown for flags: ``--force`` rather than ``--force <bool>``.

    Typer's help prints an option's ``metavar`` in place of its type when there is
    one; an empty metavar leaves the column blank. A flag takes no value, so nothing
    else reads its metavar (usage errors name options by their flag).
    """
    for param in params:
        if (getattr(param, "param_type_name", "") == "option" and getattr(param, "is_flag", False)
                and param.metavar is None):
            param.metavar = ""
    return params


class KperfCommand(TyperCommand):
    """A kperf command: Typer's, with flags shown without a type in ``--help``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return quiet_flags(super().get_params(ctx))


class KperfTyper(typer.Typer):
    """``typer.Typer`` whose commands are :class:`KperfCommand` unless told otherwise."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("cls") is None:
            kwargs["cls"] = KperfCommand
        return super().command(*args, **kwargs)


class KperfGroup(TyperGroup):
    """kperf's top-level command group: usage errors as one line, exit codes kept.

    Runs the command line with Click's ``standalone_mode=False`` and does what
    standalone mode does (exit with the command's code) except for how errors look:
    one line on stderr and exit code 2, never the boxed usage text. ``--help`` and
    ``--version`` exit 0, Ctrl-C exits 130, ``typer.Exit(code)`` exits ``code``.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        return quiet_flags(super().get_params(ctx))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click_exc.UsageError:
            name = args[0] if args else ""
            if not name or name.startswith("-") or self.get_command(ctx, name) is not None:
                raise
            names = [n for n, c in self.commands.items() if not getattr(c, "hidden", False)]
            close = get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise click_exc.UsageError(
                f"command: got {_shown(name)}; allowed: {', '.join(names)}{hint}", ctx
            ) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if prog_name is None:  # not "python -m kperf.cli.main" in messages and help
            prog_name = self.name or "kperf"
        if not standalone_mode:  # the caller handles Click's exceptions itself
            return super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        except click_exc.NoArgsIsHelpError:
            _exit(EXIT_INVALID)  # `kperf` alone: the help is already printed
        except click_exc.UsageError as exc:
            print(f"kperf: error: {usage_error_line(exc)}", file=sys.stderr)
            _exit(EXIT_INVALID)
        except click_exc.ClickException as exc:
            print(f"kperf: error: {one_line(exc.format_message())}", file=sys.stderr)
            _exit(exc.exit_code)
        except typer.Abort:
            print("kperf: aborted", file=sys.stderr)
            _exit(EXIT_FAILED)
        # without standalone mode Typer returns the code of a typer.Exit (130 after
        # Ctrl-C) and the command's return value (None) when it simply returns
        _exit(code if isinstance(code, int) else EXIT_OK)


def _exit(code: int) -> NoReturn:
    sys.exit(code)


app = KperfTyper(
    name="kperf",
    cls=KperfGroup,
    help="Discrete-event network performance simulator for Kubernetes clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from kperf.version import __version__

        print(f"kperf {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print kperf's version and exit."),
    ] = False,
) -> None:
    """Discrete-event network performance simulator for Kubernetes clusters."""

"""Progress reporting for a sweep: a rich progress bar on a terminal, plain lines
otherwise (CI logs, ``nohup``, notebooks), or nothing.

Plain lines look like ``[3/16] ok cluster.nodes=8 cluster.cni=calico-bgp 1.2s``; the
count includes runs finished by an earlier invocation (they are announced at the
start), so the last line of a resumed sweep still reads ``[16/16]``.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from kperf.experiments.worker import RunOutcome


class Progress:
    """Silent progress (the base class; subclasses print)."""

    def start(self, total: int, already_done: int, description: str) -> None:
        """The sweep begins: ``total`` runs of which ``already_done`` are skipped."""

    def update(self, done: int, total: int, label: str, outcome: RunOutcome) -> None:
        """One run finished; ``done`` counts every finished run so far."""

    def message(self, text: str) -> None:
        """A line of information (where results go, a warning)."""

    def close(self) -> None:
        """The sweep ended (finished or interrupted)."""


class LogProgress(Progress):
    """One plain line per finished run, on ``stream`` (stderr by default)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, total: int, already_done: int, description: str) -> None:
        skipped = f" ({already_done} already done)" if already_done else ""
        self._print(f"{description}: {total} runs{skipped}")

    def update(self, done: int, total: int, label: str, outcome: RunOutcome) -> None:
        status = "ok" if outcome.ok else "FAILED"
        parts = [f"[{done}/{total}]", status]
        if label:
            parts.append(label)
        parts.append(f"{outcome.elapsed_s:.1f}s")
        line = " ".join(parts)
        if not outcome.ok:
            line += f": {outcome.error}"
        self._print(line)

    def message(self, text: str) -> None:
        self._print(text)


class BarProgress(Progress):
    """A rich progress bar: runs done, failures, elapsed time and ETA."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream if stream is not None else sys.stderr)
        self._bar: Any = None
        self._task: Any = None
        self._failed = 0

    def start(self, total: int, already_done: int, description: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        skipped = f" ({already_done} already done)" if already_done else ""
        self.console.print(f"{description}: {total} runs{skipped}", markup=False, highlight=False)
        self._bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._bar.start()
        self._task = self._bar.add_task("runs", total=total, completed=already_done, failed=0)

    def update(self, done: int, total: int, label: str, outcome: RunOutcome) -> None:
        from rich.text import Text

        if self._bar is None:
            return
        if not outcome.ok:
            self._failed += 1
            text = Text("FAILED ", style="red")
            text.append(f"{label}: {outcome.error}")
            self._bar.console.print(text, highlight=False)
        self._bar.update(self._task, completed=done, failed=self._failed)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def make_progress(mode: str | bool | Progress = "auto", stream: IO[str] | None = None) -> Progress:
    """``"auto"`` (a bar when the stream is a terminal, else lines), ``"bar"``,
    ``"lines"``, ``"off"``; ``True`` means auto and ``False`` off; or a Progress."""
    if isinstance(mode, Progress):
        return mode
    out = stream if stream is not None else sys.stderr
    if mode is True or mode == "auto":
        isatty = getattr(out, "isatty", None)
        mode = "bar" if callable(isatty) and isatty() else "lines"
    if mode is False or mode == "off":
        return Progress()
    if mode == "bar":
        return BarProgress(out)
    if mode == "lines":
        return LogProgress(out)
    raise ValueError(f"progress must be 'auto', 'bar', 'lines', 'off' or a bool, not {mode!r}")

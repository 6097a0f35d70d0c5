"""Terminal tables that fit the console width.

Text cells wrap; when a table still cannot fit, the least important columns (lowest
``priority``) are left out and one line under the table names them and says where to
see them. The width is rich's: the terminal's, or the ``COLUMNS`` environment variable.
Output to a pipe or a log with no ``COLUMNS`` gets :data:`PIPE_WIDTH` columns rather
than rich's 80, so logs keep whole tables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 160
"""Width of tables written to a pipe or a log when ``COLUMNS`` is not set."""

MIN_WRAP = 12
"""Narrowest width a wrapping column is counted at when deciding what fits."""

Cell = str | Text
"""A cell: a string with rich markup, or a :class:`rich.text.Text` (no markup)."""


@dataclass(frozen=True)
class Col:
    """A column: its header, how important it is (higher: kept longer), alignment and
    whether its text may wrap onto several lines."""

    header: str
    priority: int
    justify: Literal["left", "right", "center"] = "left"
    wrap: bool = False


def table_console() -> Console:
    """A console for tables: the terminal's width, ``COLUMNS``, else :data:`PIPE_WIDTH`."""
    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console = Console(width=PIPE_WIDTH)
    return console


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else Text.from_markup(cell).plain


def _natural_width(col: Col, cells: Sequence[Cell]) -> int:
    """The width of a column's longest line: wide enough for nothing to wrap."""
    texts = [col.header, *(_plain(c) for c in cells)]
    return max(cell_len(line) for t in texts for line in (t.splitlines() or [""]))


def _min_width(col: Col, cells: Sequence[Cell]) -> int:
    """The narrowest width at which a column still reads well: its widest cell for
    columns that do not wrap; for wrapping ones its longest word, at most
    :data:`MIN_WRAP` (longer words fold), and not narrower than the header's words."""
    if not col.wrap:
        return _natural_width(col, cells)
    texts = [col.header, *(_plain(c) for c in cells)]
    header_word = max((cell_len(w) for w in col.header.split()), default=1)
    word = max((cell_len(w) for t in texts for w in t.split()), default=1)
    return max(header_word, min(word, MIN_WRAP))


def table_width(widths: Sequence[int]) -> int:
    """Width of a rich table with the default box and padding for these column widths."""
    return sum(widths) + 3 * len(widths) + 1


def fit_columns(cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int) -> list[int]:
    """Indexes of the columns to show (in their order) so the table fits ``width``:
    the lowest-priority columns are dropped first (the rightmost of equal ones); the
    most important column always stays."""
    mins = [_min_width(c, [r[i] for r in rows]) for i, c in enumerate(cols)]
    keep = list(range(len(cols)))
    by_importance = sorted(keep, key=lambda i: (cols[i].priority, -i))
    for i in by_importance[:-1]:
        if table_width([mins[k] for k in keep]) <= width:
            break
        keep.remove(i)
    return keep


def column_widths(cols: Sequence[Col], rows: Sequence[Sequence[Cell]],
                  width: int) -> list[int] | None:
    """Widths for the columns so the table fills at most ``width``: every column at
    least its minimum, the rest shared among wrapping columns in proportion to what
    they lack of their natural width. ``None`` when the table fits as it is (or cannot
    fit even at the minimums: rich then squeezes it)."""
    cells = [[r[i] for r in rows] for i in range(len(cols))]
    natural = [_natural_width(c, cells[i]) for i, c in enumerate(cols)]
    widths = [_min_width(c, cells[i]) for i, c in enumerate(cols)]
    if table_width(natural) <= width or table_width(widths) > width:
        return None
    spare = width - table_width(widths)
    lack = [n - w for n, w in zip(natural, widths, strict=True)]
    total = sum(lack)
    add = [spare * d // total for d in lack] if total else [0] * len(lack)
    widths = [w + a for w, a in zip(widths, add, strict=True)]
    spare -= sum(add)
    for i in sorted(range(len(cols)), key=lambda i: -lack[i]):  # the remainder, 1 each
        if spare <= 0:
            break
        if widths[i] < natural[i]:
            widths[i] += 1
            spare -= 1
    return widths


def print_table(console: Console, cols: Sequence[Col], rows: Sequence[Sequence[Cell]], *,
                title: str | None = None, hint: str) -> list[str]:
    """Print a table that fits ``console.width``; returns the headers of the columns
    left out, named on one line under the table together with ``hint`` (where to see
    them, e.g. ``"all columns in summary.csv"``)."""
    keep = fit_columns(cols, rows, console.width)
    shown = [[r[i] for i in keep] for r in rows]
    widths = column_widths([cols[i] for i in keep], shown, console.width)
    table = Table(title=title, title_justify="left")
    for n, i in enumerate(keep):
        c = cols[i]
        table.add_column(c.header, justify=c.justify, no_wrap=not c.wrap,
                         overflow="fold" if c.wrap else "ellipsis",
                         width=None if widths is None else widths[n])
    for r in shown:
        table.add_row(*r)
    console.print(table)
    dropped = [c.header for i, c in enumerate(cols) if i not in keep]
    if dropped:
        console.print(Text(f"not shown, too narrow a terminal: {', '.join(dropped)} ({hint})"))
    return dropped

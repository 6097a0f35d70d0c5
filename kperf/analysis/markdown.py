"""Markdown text: escaping and tables (used by reports and capacity plans).

This module sits below :mod:`~kperf.analysis.capacity` and
:mod:`~kperf.analysis.report`. A capacity plan writes its own ``plan.md`` and a
report embeds plans, so if the table helpers lived in the report module, capacity
and report would import each other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*\[\]|#])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def cell_text(value: Any) -> str:
    """A table cell's text: ``-`` for None, NaN and pandas' NA; whole floats without
    ``.0``; other floats in ``%g``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{int(value)}" if value.is_integer() else f"{value:g}"
    if str(value) in ("<NA>", "nan"):
        return "-"
    return str(value)


def md_escape(text: str) -> str:
    """Text safe inside Markdown: anything that could open raw HTML (``<script``,
    ``</``, ``<!``, an entity) is escaped, so it is shown, never run; Markdown syntax
    characters are backslash-escaped. ``<=`` and ``a < b`` stay readable."""
    out = _MD_ENTITY.sub("&amp;", str(text))
    out = _MD_TAG.sub("&lt;", out)
    return _MD_SPECIAL.sub(r"\\\1", out).replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; every cell escaped."""
    head = "| " + " | ".join(md_escape(h) for h in headers) + " |"
    rule = "|" + "|".join("---" for _ in headers) + "|"
    body = ["| " + " | ".join(md_escape(cell_text(c)) for c in r) + " |" for r in rows]
    return "\n".join([head, rule, *body])

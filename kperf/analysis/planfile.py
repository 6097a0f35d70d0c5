"""Reading a saved capacity plan (``plan.json``, ``plan.csv``, ``plan_probes.csv``).

The plot maker draws the capacity chart of a folder that holds a plan, and a plan
draws its own chart with the plot functions. Reading the files lives here, below
both :mod:`~kperf.analysis.plots` and :mod:`~kperf.analysis.capacity`, so that plots
need not import capacity (which imports plots).

Plan format 2 (``plan.json`` ``plan_format``) adds to ``plan.csv`` the bracket
(``capacity_per_node_{low,mean,high}_rps``, ``capacity_{low,mean,high}_rps``,
``nodes_needed_{low,mean,high}``), the bottleneck (``bottleneck``,
``bottleneck_utilisation``, ``bottleneck_name``, ``util_<class>``), ``monotonic`` and
``monotonic_detail``, and to ``plan_probes.csv`` the other tests' verdicts
(``meets_slo_mean``, ``meets_slo_lower``), ``metric_geo_low_us``, ``search`` and the
same bottleneck columns. A folder of format 1 (no ``plan_format``) reads as it was:
the code that shows a plan leaves out what its table lacks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

PLAN_JSON = "plan.json"
PLAN_CSV = "plan.csv"
PROBES_CSV = "plan_probes.csv"
PLAN_MD = "plan.md"
PLAN_FORMAT = 2
"""The format :meth:`~kperf.analysis.capacity.CapacityPlan.save` writes (see above)."""

TEXT_COLUMNS = ("config", "bottleneck", "bottleneck_name", "monotonic_detail", "note",
                "reason", "search")
"""Columns read as text (a column with no value in any row would read as numbers)."""


@dataclass
class SavedPlan:
    """A plan's tables and settings as written by
    :meth:`kperf.analysis.capacity.CapacityPlan.save`."""

    table: pd.DataFrame
    probes: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def read_plan(folder: str | os.PathLike[str]) -> SavedPlan | None:
    """The plan saved in ``folder`` (``plan.json`` + ``plan.csv``), or None when there
    is none or its ``plan.json`` is not a plan's."""
    path = Path(folder)
    meta_path, table_path = path / PLAN_JSON, path / PLAN_CSV
    if not meta_path.exists() or not table_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if not isinstance(meta, dict) or "slo" not in meta:
        return None
    meta.setdefault("plan_format", 1)
    probes_path = path / PROBES_CSV
    probes = _read_csv(probes_path) if probes_path.exists() else pd.DataFrame()
    return SavedPlan(table=_read_csv(table_path), probes=probes, meta=meta)


def _read_csv(path: Path) -> pd.DataFrame:
    header = pd.read_csv(path, nrows=0).columns
    frame = pd.read_csv(path, dtype={c: "object" for c in TEXT_COLUMNS if c in header})
    for c in TEXT_COLUMNS:
        if c in frame.columns:
            frame[c] = frame[c].where(frame[c].notna(), "")
    return frame

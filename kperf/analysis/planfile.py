"""Reading a saved capacity plan (``plan.json``, ``plan.csv``, ``plan_probes.csv``).

The plot maker draws the capacity chart of a folder that holds a plan, and a plan
draws its own chart with the plot functions. Reading the files lives here, below
both :mod:`~kperf.analysis.plots` and :mod:`~kperf.analysis.capacity`, so that plots
need not import capacity (which imports plots).
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
    probes_path = path / PROBES_CSV
    probes = pd.read_csv(probes_path) if probes_path.exists() else pd.DataFrame()
    return SavedPlan(table=pd.read_csv(table_path), probes=probes, meta=meta)

"""Across-replication summaries: the mean of each metric and its t confidence interval.

A sweep runs every configuration ``replications`` times with independent seeds, so
each metric of a configuration is a small sample of i.i.d. estimates. Its mean has
the Student-t confidence interval

    mean ± t(1 - (1 - confidence) / 2, n - 1) · s / √n

with ``s`` the sample standard deviation across the ``n`` replications. With one
replication there is no interval (``NaN``): the report and the capacity search say so
instead of pretending to a precision they do not have.

Only runs with ``status == "ok"`` count; ``n`` says how many there were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_CONFIDENCE = 0.95

ROW_KEYS = ("replication", "seed", "status", "error", "run_id")
"""Columns between the swept keys and the metrics in a summary table (see
:mod:`kperf.experiments.store`)."""

METRIC_LABELS: dict[str, str] = {
    "latency_mean_us": "mean latency (µs)",
    "latency_p50_us": "p50 latency (µs)",
    "latency_p90_us": "p90 latency (µs)",
    "latency_p99_us": "p99 latency (µs)",
    "latency_p999_us": "p99.9 latency (µs)",
    "latency_max_us": "max latency (µs)",
    "throughput_gbps": "throughput (Gbit/s)",
    "requests_per_s": "requests/s",
    "completed": "requests completed",
    "failed": "requests failed",
    "drops": "drops",
    "cpu_cores_busy_max": "CPU cores busy (busiest node)",
    "link_utilisation_max": "link utilisation (busiest link)",
    "retransmits": "retransmits",
    "fairness_jain": "Jain's fairness index (bulk flows)",
    "cpu_cores_per_10gbps": "CPU cores per 10 Gbit/s",
}
"""Readable axis and table labels (with units) of the summary metrics."""


def metric_label(name: str) -> str:
    """The readable label of a metric column (the column name when unknown)."""
    return METRIC_LABELS.get(name, name)


def sweep_keys_of(summary: pd.DataFrame, manifest: Mapping[str, Any] | None = None) -> list[str]:
    """The swept keys of a summary table.

    From the manifest when given (``manifest["sweep"]``), else the columns before
    ``replication`` (the store writes the swept keys first).
    """
    if manifest is not None and isinstance(manifest.get("sweep"), Mapping):
        return [k for k in manifest["sweep"] if k in summary.columns]
    cols = list(summary.columns)
    if "replication" in cols:
        return cols[: cols.index("replication")]
    return []


def metric_columns(summary: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric metric columns: everything numeric that is not a swept key or row key."""
    skip = {*sweep_keys_of(summary), *ROW_KEYS, *exclude}
    out = []
    for col in summary.columns:
        if col in skip:
            continue
        if pd.api.types.is_numeric_dtype(summary[col]) and not pd.api.types.is_bool_dtype(
            summary[col]
        ):
            out.append(col)
    return out


def ok_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of runs that finished ``ok`` (all rows when there is no status column)."""
    if "status" not in summary.columns:
        return summary
    return summary[summary["status"].astype(str) == "ok"]


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval from ``n`` values (``NaN`` bounds when n < 2)."""

    mean: float
    low: float
    high: float
    std: float
    n: int
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def upper(self) -> float:
        """The upper bound, or the mean when there is no interval (one value)."""
        return self.mean if math.isnan(self.high) else self.high


def t_interval(values: Sequence[float] | np.ndarray | pd.Series,
               confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Mean and two-sided Student-t confidence interval of ``values`` (NaNs ignored)."""
    from scipy import stats

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), not {confidence}")
    arr = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(float)
    arr = arr[~np.isnan(arr)]
    n = int(arr.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0, confidence)
    mean = float(arr.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1, confidence)
    std = float(arr.std(ddof=1))
    t = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1))
    half = t * std / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, std, n, confidence)


def _group_items(frame: pd.DataFrame, by: list[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    if not by:
        return [((), frame)]
    out = []
    for key, sub in frame.groupby(by, sort=False, dropna=False):
        out.append((key if isinstance(key, tuple) else (key,), sub))
    return out


def aggregate(
    summary: pd.DataFrame,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """One row per configuration: ``n`` and, per metric, mean and confidence interval.

    ``by``: the grouping columns (default: the swept keys). ``metrics``: the metric
    columns (default: every numeric metric). Columns of the result: the ``by``
    columns, ``n`` (ok runs), then for each metric ``<m>_mean``, ``<m>_ci_low``,
    ``<m>_ci_high`` and ``<m>_std``. Groups keep the order of first appearance
    (sweep order). Only ``ok`` runs count.
    """
    keys = list(sweep_keys_of(summary) if by is None else by)
    missing = [k for k in keys if k not in summary.columns]
    if missing:
        raise KeyError(f"not columns of the summary: {', '.join(missing)}")
    names = list(metric_columns(summary, exclude=keys) if metrics is None else metrics)
    frame = ok_rows(summary)
    rows = []
    for key, sub in _group_items(frame, keys):
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n"] = len(sub)
        for m in names:
            iv = t_interval(sub.get(m, []), confidence)
            row[f"{m}_mean"] = iv.mean
            row[f"{m}_ci_low"] = iv.low
            row[f"{m}_ci_high"] = iv.high
            row[f"{m}_std"] = iv.std
        rows.append(row)
    columns = [*keys, "n", *(f"{m}_{s}" for m in names for s in ("mean", "ci_low", "ci_high",
                                                                  "std"))]
    return pd.DataFrame(rows, columns=columns)


def aggregate_long(
    summary: pd.DataFrame,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """The same as :func:`aggregate` in long form: the ``by`` columns, ``metric``,
    ``n``, ``mean``, ``ci_low``, ``ci_high``, ``half_width``, ``std`` (one row per
    configuration and metric; convenient for ``groupby`` and seaborn-style plots)."""
    keys = list(sweep_keys_of(summary) if by is None else by)
    names = list(metric_columns(summary, exclude=keys) if metrics is None else metrics)
    rows = []
    for key, sub in _group_items(ok_rows(summary), keys):
        for m in names:
            iv = t_interval(sub.get(m, []), confidence)
            rows.append({**dict(zip(keys, key, strict=True)), "metric": m, "n": iv.n,
                         "mean": iv.mean, "ci_low": iv.low, "ci_high": iv.high,
                         "half_width": iv.half_width, "std": iv.std})
    return pd.DataFrame(rows, columns=[*keys, "metric", "n", "mean", "ci_low", "ci_high",
                                       "half_width", "std"])


def with_derived(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with derived per-run metrics added (a copy):

    ``cpu_cores_per_10gbps`` = ``cpu_cores_busy_max / throughput_gbps × 10`` — the
    cores the busiest node spends per 10 Gbit/s (NaN where throughput is zero).
    """
    out = summary.copy()
    if {"cpu_cores_busy_max", "throughput_gbps"} <= set(out.columns):
        tput = pd.to_numeric(out["throughput_gbps"], errors="coerce").astype(float)
        cpu = pd.to_numeric(out["cpu_cores_busy_max"], errors="coerce").astype(float)
        out["cpu_cores_per_10gbps"] = (cpu / tput.where(tput > 0) * 10).astype(float)
    return out


def format_ci(iv_mean: float, low: float, high: float, fmt: str = "{:,.1f}") -> str:
    """``12.3 ± 0.4`` (or just the mean when there is no interval, ``-`` for NaN)."""
    if iv_mean is None or (isinstance(iv_mean, float) and math.isnan(iv_mean)):
        return "-"
    text = fmt.format(iv_mean)
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return text
    return f"{text} ± {fmt.format((high - low) / 2)}"

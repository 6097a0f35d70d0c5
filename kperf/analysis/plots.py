"""Plots of experiment results: every function takes a table and returns a Figure.

Each plot function takes a summary table (one row per run, as ``kperf run`` writes
it), or a samples or breakdown table, and returns a :class:`matplotlib.figure.Figure`
drawn on the Agg canvas. Nothing global is touched: no ``pyplot`` state, no backend
switch at import, so the functions are safe in scripts, tests, servers and
notebooks (a notebook displays a returned Figure inline).

Across replications a point is the mean of the ``ok`` runs and its error bar the
95 % Student-t confidence interval (:mod:`kperf.analysis.aggregate`). Axes carry
units; an axis turns logarithmic when its values span more than a factor of 20.

:func:`make_plots` looks at a results folder, makes every plot its swept keys and
metrics support, and writes each as PNG and SVG into ``DIR/plots/``; with runs'
flows tables (``runs/<id>.flows.parquet``) also the per-flow goodput per
configuration (:func:`flow_goodput`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from kperf.analysis.aggregate import (
    DEFAULT_CONFIDENCE,
    metric_label,
    ok_rows,
    sweep_keys_of,
    t_interval,
    with_derived,
)
from kperf.analysis.planfile import read_plan

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LOG_RATIO = 20.0
"""An axis becomes logarithmic when its positive values span more than this factor."""

CATEGORY_ORDER = ("app", "stack", "veth", "bridge", "policy", "proxy", "encap", "crypto",
                  "wire", "queueing")
"""Stack order (bottom to top) of the latency breakdown's stage categories."""

MODE_KEYS = ("cluster.cni",)
PROXY_KEYS = ("cluster.proxy",)
NODES_KEYS = ("cluster.nodes",)

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")

_PERCENTILE_STYLE = {
    "latency_p50_us": ("p50", "--", "o"),
    "latency_p90_us": ("p90", "-.", "^"),
    "latency_p99_us": ("p99", "-", "s"),
    "latency_p999_us": ("p99.9", ":", "D"),
    "latency_mean_us": ("mean", (0, (1, 1)), "v"),
}


# --------------------------------------------------------------------------- basics


def new_figure(width: float = 7.0, height: float = 4.5,
               ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A Figure on the Agg canvas (no pyplot, no global backend) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def save_figure(fig: Figure, stem: str | os.PathLike[str],
                formats: Sequence[str] = ("png", "svg"), dpi: int = 120) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg`` (or ``formats``); the paths."""
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        out.append(path)
    return out


def _metadata(fmt: str) -> dict[str, Any] | None:
    # Reproducible files: no creation date (PNG) and no date/hash salt (SVG).
    if fmt == "svg":
        return {"Date": None}
    if fmt == "png":
        return {"Software": "kperf"}
    return None


def color(i: int) -> str:
    """The ``i``-th colour of the palette (tab10)."""
    return _PALETTE[i % len(_PALETTE)]


_CNI_PALETTE = (*_PALETTE, "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
"""Twenty distinct qualitative colours (tab10, then darker tab20b/tab20c tones): one
per CNI mode of the catalog."""

CNI_GROUP_KEYS = ("cluster.cni", "mode", "cni")
"""Grouping columns whose values are CNI mode names (``mode``: the column
:func:`make_plots` adds when the CNI is not swept)."""


@functools.cache
def _cni_colours() -> dict[str, str]:
    from kperf.profiles.cni import CNI_PROFILES

    return {name: _CNI_PALETTE[i % len(_CNI_PALETTE)]
            for i, name in enumerate(CNI_PROFILES)}


def cni_colours() -> dict[str, str]:
    """CNI mode name -> its colour, for every mode of the catalog (a copy)."""
    return dict(_cni_colours())


def cni_colour(name: Any) -> str:
    """The one colour of a CNI mode in every plot.

    Modes of the catalog (:data:`kperf.profiles.cni.CNI_PROFILES`) get the colour of
    their catalog position; any other name a stable colour from a CRC-32 of the name
    (the same in every process, unlike ``hash``).
    """
    key = str(name)
    known = _cni_colours().get(key)
    if known is not None:
        return known
    return _CNI_PALETTE[zlib.crc32(key.encode("utf-8")) % len(_CNI_PALETTE)]


def group_colour(by: str | None, name: Any, i: int) -> str:
    """The colour of the ``i``-th group (value ``name``) of a plot grouped by ``by``:
    the CNI's fixed colour when ``by`` names CNI modes, else the ``i``-th colour."""
    return cni_colour(name) if by in CNI_GROUP_KEYS else color(i)


def single_flow_bound_gbps(nic_rate_gbps: float, mtu_bytes: float) -> float:
    """The goodput one TCP flow can reach on a NIC: the line rate times the payload
    share of a full frame, (MTU - 52) / (MTU + 38) (IPv4 and TCP headers with
    timestamps: 52 B; Ethernet header, FCS, preamble and inter-frame gap: 38 B)."""
    return float(nic_rate_gbps) * (float(mtu_bytes) - 52.0) / (float(mtu_bytes) + 38.0)


def _finite_positive(values: Iterable[Any]) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(list(values), dtype="object"), errors="coerce").to_numpy(float)
    return arr[np.isfinite(arr) & (arr > 0)]


def auto_log(ax: Axes, values: Iterable[Any], axis: str = "x", ratio: float = LOG_RATIO) -> bool:
    """Make ``axis`` logarithmic when the positive ``values`` span more than ``ratio``."""
    arr = _finite_positive(values)
    if arr.size >= 2 and arr.max() / arr.min() > ratio:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        return True
    return False


def key_label(key: str | None) -> str:
    """A readable axis label for a swept key, with units where the name carries them."""
    if key is None:
        return ""
    known = {
        "cluster.nodes": "cluster size (nodes)",
        "cluster.cni": "CNI mode",
        "cluster.proxy": "proxy mode",
        "testbed": "testbed",
    }
    if key in known:
        return known[key]
    tail = key.rsplit(".", 1)[-1]
    if tail == "rate_per_s":
        return "offered load per client (requests/s)"
    if tail == "streams":
        return "parallel streams per client"
    units = {"_gbps": "Gbit/s", "_us": "µs", "_bytes": "bytes", "_s": "s", "_per_s": "/s"}
    for suffix in sorted(units, key=len, reverse=True):
        if tail.endswith(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} ({units[suffix]})"
    return key


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _groups(frame: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per value of ``by`` in order of appearance; one group when absent."""
    if by is None or by not in frame.columns:
        return [("all", frame)]
    return [(_label(k), sub) for k, sub in frame.groupby(by, sort=False, dropna=False)]


def _numeric(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce").astype(float)


def _curve(frame: pd.DataFrame, x: str, metric: str,
           confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct ``x`` (sorted): mean of ``metric`` and the CI half-widths (lo, hi)."""
    xs, ys, lo, hi = [], [], [], []
    work = frame.assign(_x=_numeric(frame, x))
    for xv, sub in work.groupby("_x", dropna=True, sort=True):
        iv = t_interval(sub[metric], confidence)
        if math.isnan(iv.mean):
            continue
        xs.append(xv)
        ys.append(iv.mean)
        lo.append(0.0 if math.isnan(iv.low) else iv.mean - iv.low)
        hi.append(0.0 if math.isnan(iv.high) else iv.high - iv.mean)
    return np.array(xs, float), np.array(ys, float), np.array(lo, float), np.array(hi, float)


def _legend(ax: Axes, title: str | None = None, confidence: float | None = None) -> None:
    """A legend (when there are labelled artists); with ``confidence``, its title says
    what the error bars are."""
    handles, _ = ax.get_legend_handles_labels()
    if confidence is not None:
        note = f"bars: {confidence:.0%} CI of the mean"
        title = f"{title}\n({note})" if title else note
    if handles:
        ax.legend(title=title, fontsize="small", title_fontsize="small")


def _ci_note(confidence: float) -> str:
    return f"points: mean over replications; bars: {confidence:.0%} confidence interval"


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what} needs the column(s) {', '.join(missing)}; the table has "
                       f"{', '.join(map(str, frame.columns))}")


# --------------------------------------------------------------------------- plots


def latency_cdf(samples: pd.DataFrame, by: str | None = "cluster.cni", *,
                title: str | None = None, max_points: int = 5000) -> Figure:
    """CDF of request latency per group (per CNI mode by default), log x axis.

    ``samples``: per-request rows with ``latency_us`` (failed requests, NaN latency,
    are left out) and the ``by`` column. One line per group; the legend gives each
    group's p50 and p99.
    """
    _require(samples, ["latency_us"], "latency_cdf")
    fig, (ax,) = new_figure()
    ok = samples
    if "failed" in ok.columns:
        ok = ok[~ok["failed"].astype(bool)]
    for i, (name, sub) in enumerate(_groups(ok, by)):
        lat = np.sort(_finite_positive(sub["latency_us"]))
        if lat.size == 0:
            continue
        frac = np.arange(1, lat.size + 1) / lat.size
        if lat.size > max_points:
            idx = np.unique(np.linspace(0, lat.size - 1, max_points).astype(int))
            lat, frac = lat[idx], frac[idx]
        p50, p99 = np.interp([0.5, 0.99], frac, lat)
        ax.step(lat, frac, where="post", color=group_colour(by, name, i),
                label=f"{name} (p50 {p50:,.0f} µs, p99 {p99:,.0f} µs)")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.005)
    ax.set_xlabel("latency (µs, log scale)")
    ax.set_ylabel("fraction of requests ≤ latency")
    for q in (0.5, 0.99):
        ax.axhline(q, color="grey", lw=0.6, ls=":")
    ax.set_title(title or "Latency CDF" + (f" per {key_label(by)}" if by in samples else ""))
    _legend(ax, key_label(by) if by in samples else None)
    return fig


def latency_vs_load(summary: pd.DataFrame, load: str = "workload.rate_per_s",
                    by: str | None = "cluster.cni",
                    metrics: Sequence[str] = ("latency_p50_us", "latency_p99_us"), *,
                    confidence: float = DEFAULT_CONFIDENCE, title: str | None = None) -> Figure:
    """p50 and p99 latency (or ``metrics``) against offered load, one colour per group.

    The knee of the p99 curve shows the capacity: past it queues build and latency
    grows without bound. Line style tells the percentile (p50 dashed, p99 solid).
    """
    _require(summary, [load, *metrics], "latency_vs_load")
    frame = ok_rows(summary)
    fig, (ax,) = new_figure()
    all_y: list[float] = []
    for i, (name, sub) in enumerate(_groups(frame, by)):
        for m in metrics:
            short, ls, marker = _PERCENTILE_STYLE.get(m, (m, "-", "o"))
            xs, ys, lo, hi = _curve(sub, load, m, confidence)
            if xs.size == 0:
                continue
            all_y += list(ys)
            ax.errorbar(xs, ys, yerr=[lo, hi], color=group_colour(by, name, i), ls=ls,
                        marker=marker, ms=4,
                        capsize=3, label=f"{name} {short}")
    auto_log(ax, _numeric(frame, load), "x")
    auto_log(ax, all_y, "y")
    ax.set_xlabel(key_label(load))
    ax.set_ylabel("latency (µs)")
    ax.set_title(title or "Latency vs offered load")
    _legend(ax, key_label(by) if by in frame else None, confidence)
    return fig


def metric_vs(summary: pd.DataFrame, x: str, metric: str, by: str | None = "cluster.cni", *,
              confidence: float = DEFAULT_CONFIDENCE, title: str | None = None,
              xlabel: str | None = None, ylabel: str | None = None,
              ax: Axes | None = None, y_from_zero: bool = False) -> Figure:
    """Any metric against any numeric swept key, one line (with CIs) per group.

    ``y_from_zero``: a linear y axis starting at 0 (no automatic log scale), so that
    small differences between groups are not blown up to fill the axis.
    """
    _require(summary, [x, metric], "metric_vs")
    frame = ok_rows(summary)
    if ax is None:
        fig, (ax,) = new_figure()
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    ys_all: list[float] = []
    for i, (name, sub) in enumerate(_groups(frame, by)):
        xs, ys, lo, hi = _curve(sub, x, metric, confidence)
        if xs.size == 0:
            continue
        ys_all += list(ys)
        ax.errorbar(xs, ys, yerr=[lo, hi], color=group_colour(by, name, i), marker="o",
                    ms=4, capsize=3, label=name)
    auto_log(ax, _numeric(frame, x), "x")
    if y_from_zero:
        ax.set_ylim(bottom=0)
    else:
        auto_log(ax, ys_all, "y")
    ax.set_xlabel(xlabel or key_label(x))
    ax.set_ylabel(ylabel or metric_label(metric))
    ax.set_title(title or f"{metric_label(metric)} vs {key_label(x)}")
    _legend(ax, key_label(by) if by in frame else None, confidence)
    return fig


def _bound_line(ax: Axes, bound_gbps: float | None, label: str | None) -> None:
    """The dashed horizontal reference at a throughput bound, in the legend; the y
    axis from 0 to a little above the highest of the data and the bound."""
    if bound_gbps is not None and math.isfinite(bound_gbps) and bound_gbps > 0:
        ax.axhline(bound_gbps, color="black", ls="--", lw=1,
                   label=label or f"bound {bound_gbps:,.2f} Gbit/s")
    ax.set_autoscaley_on(True)
    ax.relim()
    ax.autoscale_view(scalex=False)
    top = ax.get_ylim()[1]
    if bound_gbps is not None and math.isfinite(bound_gbps):
        top = max(top, bound_gbps * 1.05)
    ax.set_ylim(0, top * 1.05 if top > 0 else 1.0)


def _throughput_plot(summary: pd.DataFrame, x: str, by: str | None, metric: str,
                     confidence: float, title: str, xlabel: str,
                     bound_gbps: float | None, bound_label: str | None) -> Figure:
    fig = metric_vs(summary, x, metric, by, confidence=confidence, title=title,
                    xlabel=xlabel, ylabel=metric_label(metric), y_from_zero=True)
    ax = fig.axes[0]
    _bound_line(ax, bound_gbps, bound_label)
    _legend(ax, key_label(by) if by in summary else None, confidence)
    return fig


def throughput_vs_cluster_size(summary: pd.DataFrame, nodes: str = "cluster.nodes",
                               by: str | None = "cluster.cni", *,
                               metric: str = "throughput_gbps",
                               confidence: float = DEFAULT_CONFIDENCE,
                               bound_gbps: float | None = None,
                               bound_label: str | None = None) -> Figure:
    """Throughput (Gbit/s) against the number of nodes, one line per CNI mode; the y
    axis from 0, with a dashed line at ``bound_gbps`` when given (e.g. the
    single-flow bound of the testbed, :func:`single_flow_bound_gbps`)."""
    return _throughput_plot(summary, nodes, by, metric, confidence,
                            "Throughput vs cluster size", "cluster size (nodes)",
                            bound_gbps, bound_label)


def throughput_vs_streams(summary: pd.DataFrame, streams: str = "workload.streams",
                          by: str | None = "cluster.cni", *, metric: str = "throughput_gbps",
                          confidence: float = DEFAULT_CONFIDENCE,
                          bound_gbps: float | None = None,
                          bound_label: str | None = None) -> Figure:
    """Throughput (Gbit/s) against parallel streams per client, one line per CNI mode;
    y axis from 0 and the optional dashed ``bound_gbps`` as in
    :func:`throughput_vs_cluster_size`."""
    return _throughput_plot(summary, streams, by, metric, confidence,
                            "Throughput vs number of streams", "parallel streams per client",
                            bound_gbps, bound_label)


def latency_breakdown(breakdown: pd.DataFrame, by: str | None = "cluster.cni", *,
                      title: str | None = None) -> Figure:
    """Where the microseconds go: stacked bars of mean time per request by stage
    category (stack, veth, policy, encap, crypto, app, wire, queueing...), one bar per
    group (per CNI mode by default).

    ``breakdown``: rows with ``category``, ``time_us`` and the ``by`` column (one row
    per run and category, as the runner stores them, or already averaged); runs of a
    group are averaged.
    """
    _require(breakdown, ["category", "time_us"], "latency_breakdown")
    frame = breakdown.assign(time_us=_numeric(breakdown, "time_us"))
    groups = _groups(frame, by)
    labels = [name for name, _ in groups]
    cats_present = list(dict.fromkeys(frame["category"].astype(str)))
    cats = [c for c in CATEGORY_ORDER if c in cats_present]
    cats += [c for c in cats_present if c not in cats]
    table = np.zeros((len(cats), len(groups)))
    for j, (_, sub) in enumerate(groups):
        if "run_id" in sub.columns and sub["run_id"].nunique() > 1:
            per_run = sub.groupby(["run_id", "category"], sort=False)["time_us"].sum()
            means = per_run.groupby(level="category").sum() / sub["run_id"].nunique()
        else:
            means = sub.groupby("category", sort=False)["time_us"].mean()
        for i, c in enumerate(cats):
            table[i, j] = float(means.get(c, 0.0))
    fig, (ax,) = new_figure(width=max(6.0, 1.2 * len(groups) + 3.5))
    x = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    cat_colors = {c: color(i) for i, c in enumerate(CATEGORY_ORDER)}
    for i, c in enumerate(cats):
        ax.bar(x, table[i], bottom=bottom, label=c, color=cat_colors.get(c, color(i)),
               width=0.6)
        bottom += table[i]
    for xi, total in zip(x, bottom, strict=True):
        ax.annotate(f"{total:,.1f}", (xi, total), ha="center", va="bottom", fontsize="small",
                    xytext=(0, 2), textcoords="offset points")
    if len(bottom) and bottom.max() > 0:
        ax.set_ylim(0, bottom.max() * 1.08)  # room for the totals above the bars
    ax.set_xticks(x, labels, rotation=30 if len(groups) > 4 else 0,
                  ha="right" if len(groups) > 4 else "center")
    ax.set_xlabel(key_label(by) if by in frame else "configuration")
    ax.set_ylabel("mean time per request (µs)")
    ax.set_title(title or "Where the microseconds go: latency breakdown by stage")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], title="stage category", fontsize="small",
              title_fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def cpu_per_10g(summary: pd.DataFrame, by: str | None = "cluster.cni", *,
                confidence: float = DEFAULT_CONFIDENCE, title: str | None = None) -> Figure:
    """The cost of the datapath: CPU cores (busiest node) per 10 Gbit/s per mode.

    Per run ``cpu_cores_busy_max / throughput_gbps × 10``; bars are means across
    runs with confidence intervals, cheapest first.
    """
    _require(summary, ["cpu_cores_busy_max", "throughput_gbps"], "cpu_per_10g")
    frame = with_derived(ok_rows(summary))
    rows = []
    for name, sub in _groups(frame, by):
        iv = t_interval(sub["cpu_cores_per_10gbps"], confidence)
        if not math.isnan(iv.mean):
            rows.append((name, iv))
    rows.sort(key=lambda r: r[1].mean)
    fig, (ax,) = new_figure(width=max(6.0, 0.9 * len(rows) + 3.0))
    x = np.arange(len(rows))
    means = [iv.mean for _, iv in rows]
    err = [[0.0 if math.isnan(iv.low) else iv.mean - iv.low for _, iv in rows],
           [0.0 if math.isnan(iv.high) else iv.high - iv.mean for _, iv in rows]]
    ax.bar(x, means, yerr=err, capsize=4,
           color=[group_colour(by, name, i) for i, (name, _) in enumerate(rows)],
           width=0.6, label="CPU cores per 10 Gbit/s")
    for xi, m in zip(x, means, strict=True):
        ax.annotate(f"{m:.2f}", (xi, m), ha="center", va="bottom", fontsize="small",
                    xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x, [name for name, _ in rows], rotation=30 if len(rows) > 4 else 0,
                  ha="right" if len(rows) > 4 else "center")
    ax.set_xlabel(key_label(by) if by in frame else "configuration")
    ax.set_ylabel("CPU cores per 10 Gbit/s (busiest node)")
    ax.set_title(title or "Cost of the datapath: CPU cores per 10 Gbit/s\n"
                 f"(whiskers: {confidence:.0%} confidence interval of the mean)")
    return fig


def services_scaling(summary: pd.DataFrame, services: str, by: str | None = "cluster.proxy", *,
                     latency: str = "latency_p50_us", rate: str = "requests_per_s",
                     confidence: float = DEFAULT_CONFIDENCE) -> Figure:
    """First-connection latency and requests/s against the number of Services, one
    line per proxy mode (two panels).

    With a connect-request-response workload (``crr``, or ``http`` without
    keep-alive) every request opens a connection, so its latency is the
    first-connection latency, including the proxy's first-packet rule walk.
    """
    _require(summary, [services, latency, rate], "services_scaling")
    fig, (left, right) = new_figure(width=11.0, ncols=2)
    metric_vs(summary, services, latency, by, confidence=confidence, ax=left,
              xlabel="number of Services",
              ylabel=f"first-connection latency, {metric_label(latency)}",
              title="First-connection latency vs Services")
    metric_vs(summary, services, rate, by, confidence=confidence, ax=right,
              xlabel="number of Services", ylabel="requests/s",
              title="Requests/s vs Services")
    fig.suptitle("Cost of Services per proxy mode")
    return fig


def failed_per_update(summary: pd.DataFrame, nodes: str = "cluster.nodes",
                      by: str | None = "cluster.proxy", *, failed: str = "failed",
                      updates: str | float = 1.0,
                      confidence: float = DEFAULT_CONFIDENCE) -> Figure:
    """Failed requests per rolling update against cluster size, one line per group.

    ``updates``: the number of rolling updates in each run, a number or the name of
    a column (default: one update per run).
    """
    _require(summary, [nodes, failed], "failed_per_update")
    frame = ok_rows(summary).copy()
    per = (_numeric(frame, updates) if isinstance(updates, str) else
           pd.Series(float(updates), index=frame.index))
    frame["_failed_per_update"] = _numeric(frame, failed) / per.where(per > 0)
    fig = metric_vs(frame, nodes, "_failed_per_update", by, confidence=confidence,
                    title="Failed requests per rolling update vs cluster size",
                    xlabel="cluster size (nodes)", ylabel="failed requests per rolling update")
    return fig


def heatmap(summary: pd.DataFrame, x: str, y: str, metric: str = "latency_p99_us", *,
            title: str | None = None, annotate: bool = True,
            log_color: bool | None = None) -> Figure:
    """Mean of ``metric`` over two swept keys (``x`` across, ``y`` down), annotated.

    Cells average the ``ok`` runs of a configuration (and any other swept keys).
    ``log_color``: logarithmic colour scale (default: when values span > 20×).
    """
    from matplotlib.colors import LogNorm, Normalize

    _require(summary, [x, y, metric], "heatmap")
    frame = ok_rows(summary).assign(_m=lambda f: _numeric(f, metric))
    xs = list(dict.fromkeys(frame[x].tolist()))
    ys = list(dict.fromkeys(frame[y].tolist()))
    xs = _sorted_values(xs)
    ys = _sorted_values(ys)
    grid = np.full((len(ys), len(xs)), np.nan)
    means = frame.groupby([y, x], sort=False, dropna=False)["_m"].mean()
    for cell, val in means.items():
        yv, xv = cast(tuple[Any, Any], cell)
        grid[ys.index(yv), xs.index(xv)] = val
    fig, (ax,) = new_figure(width=max(6.0, 0.9 * len(xs) + 3.5),
                            height=max(3.5, 0.5 * len(ys) + 2.5))
    ax.grid(False)
    finite = grid[np.isfinite(grid)]
    positive = finite[finite > 0]
    use_log = (log_color if log_color is not None else
               bool(positive.size >= 2 and positive.max() / positive.min() > LOG_RATIO
                    and positive.size == finite.size))
    norm = (LogNorm(positive.min(), positive.max()) if use_log and positive.size else
            Normalize(finite.min() if finite.size else 0, finite.max() if finite.size else 1))
    image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="viridis", norm=norm)
    cbar = fig.colorbar(image, ax=ax)
    cbar.set_label(metric_label(metric))
    ax.set_xticks(np.arange(len(xs)), [_label(v) for v in xs],
                  rotation=30 if len(xs) > 5 else 0, ha="right" if len(xs) > 5 else "center")
    ax.set_yticks(np.arange(len(ys)), [_label(v) for v in ys])
    if annotate and grid.size <= 400:
        mid = (norm.vmin + norm.vmax) / 2 if norm.vmin is not None and norm.vmax is not None \
            else 0.0
        for (r, c), val in np.ndenumerate(grid):
            if np.isfinite(val):
                ax.text(c, r, f"{val:,.3g}", ha="center", va="center", fontsize="x-small",
                        color="white" if val < mid else "black")
    ax.set_xlabel(key_label(x))
    ax.set_ylabel(key_label(y))
    ax.set_title(title or f"{metric_label(metric)} by {key_label(x)} and {key_label(y)}")
    return fig


def flow_goodput(flows: pd.DataFrame, by: str | None = "config", *,
                 title: str | None = None, xlabel: str | None = None,
                 max_groups: int = 40) -> Figure:
    """Per-flow goodput, one box per configuration with its flows drawn over it.

    ``flows``: rows of runs' flows tables (``goodput_gbps``, optionally
    ``size_bytes``, and the ``by`` column naming the configuration), replications
    pooled. A box spans the quartiles of a configuration's flows (whiskers 1.5 IQR);
    every flow is a point beside it: a dot for a bulk stream (``size_bytes == 0``,
    goodput over the measurement window), a cross for a finite transfer (goodput
    over its completion time). Unequal shares show as a tall box; the first
    ``max_groups`` configurations are drawn.
    """
    _require(flows, ["goodput_gbps"], "flow_goodput")
    frame = flows.assign(goodput_gbps=_numeric(flows, "goodput_gbps"))
    frame = frame[np.isfinite(frame["goodput_gbps"].to_numpy(float))]
    sizes = (_numeric(frame, "size_bytes").fillna(0.0) if "size_bytes" in frame.columns
             else pd.Series(0.0, index=frame.index))
    frame = frame.assign(_bulk=sizes.to_numpy(float) == 0)
    groups = [(name, sub) for name, sub in _groups(frame, by) if len(sub)][:max_groups]
    if not groups:
        raise ValueError("flow_goodput: no flow has a finite goodput_gbps")
    fig, (ax,) = new_figure(width=max(6.0, 0.9 * len(groups) + 3.5))
    x = np.arange(len(groups), dtype=float)
    data = [sub["goodput_gbps"].to_numpy(float) for _, sub in groups]
    ax.boxplot(data, positions=x, widths=0.5, showfliers=False, manage_ticks=False,
               medianprops={"color": "black"})
    rng = np.random.default_rng(0)  # jitter only; the same figure every time
    kinds = (("o", "bulk stream"), ("x", "finite transfer"))
    shown: set[str] = set()
    cni_col = next((k for k in CNI_GROUP_KEYS if k in frame.columns), None)
    for i, (_, sub) in enumerate(groups):
        cnis: list[Any] = (list(sub[cni_col].dropna().unique()) if cni_col is not None
                           else [])
        colour = cni_colour(cnis[0]) if len(cnis) == 1 else color(i)
        for bulk, (marker, kind) in zip((True, False), kinds, strict=True):
            ys = sub.loc[sub["_bulk"] == bulk, "goodput_gbps"].to_numpy(float)
            if ys.size == 0:
                continue
            xs = x[i] + 0.32 + rng.uniform(-0.06, 0.06, ys.size)
            ax.scatter(xs, ys, s=10, marker=marker, color=colour, alpha=0.7)
            shown.add(kind)
    values = frame["goodput_gbps"].to_numpy(float)
    if values.size and values.min() > 0:
        auto_log(ax, values, "y")
    else:
        ax.set_ylim(bottom=0)
    labels = [f"{name}\n({len(sub)} flows)" for name, sub in groups]
    ax.set_xticks(x, labels, rotation=30 if len(groups) > 3 else 0,
                  ha="right" if len(groups) > 3 else "center", fontsize="small")
    ax.set_xlim(-0.6, len(groups) - 0.2)
    ax.set_xlabel(xlabel or (key_label(by) if by in frame and by != "config"
                             else "configuration"))
    ax.set_ylabel("per-flow goodput (Gbit/s)")
    ax.set_title(title or "Per-flow goodput per configuration")
    handles = [ax.scatter([], [], s=14, marker=marker, color="grey", label=kind)
               for marker, kind in kinds if kind in shown]
    ax.legend(handles=handles, title="flow", fontsize="small", title_fontsize="small",
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def config_labels(frame: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.Series, list[str]]:
    """Per row, its configuration as the values (``a, b``) of the ``keys`` that take
    two or more values in ``frame`` (``all`` when none does), and those keys."""
    varying = [k for k in keys if k in frame.columns and frame[k].nunique(dropna=False) > 1]
    if not varying:
        return pd.Series("all", index=frame.index, dtype=object), []
    labels = [", ".join(_label(v) for v in vals)
              for vals in frame[varying].itertuples(index=False, name=None)]
    return pd.Series(labels, index=frame.index, dtype=object), varying


def _sorted_values(values: list[Any]) -> list[Any]:
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
           for v in values):
        return sorted(values)
    return values


def capacity_chart(plan: pd.DataFrame, probes: pd.DataFrame | None = None, *,
                   slo_metric: str | None = None, slo_threshold_us: float | None = None,
                   slo_text: str = "", confidence: float = DEFAULT_CONFIDENCE) -> Figure:
    """Capacity planning at a glance.

    Left (when ``probes`` are given): the SLO metric's upper confidence bound at each
    load the search tried, per configuration, with the SLO as a horizontal line.
    Right: per configuration, the nodes needed for the target load (or, without a
    target, the highest total load), best first.
    """
    _require(plan, ["config"], "capacity_chart")
    has_probes = probes is not None and len(probes) > 0
    config_cni: dict[str, str] = {}
    if "cluster.cni" in plan.columns:  # a configuration of one CNI mode: its colour
        config_cni = {str(c): str(m) for c, m in zip(plan["config"], plan["cluster.cni"],
                                                     strict=True)}

    def config_colour(cfg: Any, i: int) -> str:
        cni = config_cni.get(str(cfg))
        return cni_colour(cni) if cni is not None else color(i)
    fig, axes = new_figure(width=12.0 if has_probes else 7.0, ncols=2 if has_probes else 1)
    if has_probes:
        assert probes is not None
        ax = axes[0]
        configs = list(dict.fromkeys(plan["config"].astype(str)))
        for i, cfg in enumerate(configs):
            sub = probes[probes["config"].astype(str) == cfg].sort_values("load_per_node_rps")
            if sub.empty:
                continue
            y = _numeric(sub, "metric_upper_us")
            ax.plot(sub["load_per_node_rps"], y, color=config_colour(cfg, i), lw=1, alpha=0.6)
            ok = sub["meets_slo"].astype(bool).to_numpy()
            xv = sub["load_per_node_rps"].to_numpy(float)
            ax.scatter(xv[ok], y.to_numpy()[ok], color=config_colour(cfg, i), marker="o",
                       s=18, label=cfg)
            ax.scatter(xv[~ok], y.to_numpy()[~ok], color=config_colour(cfg, i), marker="x",
                       s=22)
        if slo_threshold_us is not None:
            ax.axhline(slo_threshold_us, color="black", ls="--", lw=1,
                       label=f"SLO {slo_text}".strip())
        auto_log(ax, probes["load_per_node_rps"], "x")
        auto_log(ax, probes["metric_upper_us"], "y")
        ax.set_xlabel("offered load per node (requests/s)")
        ax.set_ylabel(f"{metric_label(slo_metric or 'latency')}, upper "
                      f"{confidence:.0%} bound")
        ax.set_title("Search: loads tried (o meets the SLO, x does not)")
        _legend(ax)
        ax = axes[1]
    else:
        ax = axes[0]
    target = "nodes_needed" in plan.columns and plan["nodes_needed"].notna().any()
    col = "nodes_needed" if target else (
        "max_total_rps" if "max_total_rps" in plan.columns and plan["max_total_rps"].notna().any()
        else "capacity_per_node_rps")
    ylab = {"nodes_needed": "nodes needed for the target load",
            "max_total_rps": "highest total load meeting the SLO (requests/s)",
            "capacity_per_node_rps": "highest load per node meeting the SLO (requests/s)"}[col]
    order = plan.sort_values("rank") if "rank" in plan.columns else plan
    vals = _numeric(order, col).to_numpy()
    names = order["config"].astype(str).tolist()
    x = np.arange(len(order))
    ax.bar(x, np.nan_to_num(vals, nan=0.0),
           color=[config_colour(c, i) for i, c in enumerate(order["config"])], width=0.6,
           label=ylab)
    for xi, v in zip(x, vals, strict=True):
        text = "not met" if not np.isfinite(v) else (f"{v:,.0f}")
        ax.annotate(text, (xi, 0 if not np.isfinite(v) else v), ha="center", va="bottom",
                    fontsize="small", xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x, names, rotation=30 if len(names) > 3 else 0,
                  ha="right" if len(names) > 3 else "center")
    ax.set_xlabel("configuration (best first)")
    ax.set_ylabel(ylab)
    ax.set_title(f"Capacity for SLO {slo_text}".strip())
    return fig


# --------------------------------------------------------------------------- results folders


@dataclass
class MadePlot:
    """One plot written by :func:`make_plots`."""

    name: str
    title: str
    caption: str
    files: list[Path]

    @property
    def png(self) -> Path | None:
        return next((p for p in self.files if p.suffix == ".png"), None)


@dataclass
class PlotSet:
    """What :func:`make_plots` did: the plots made and, for the others, why not."""

    folder: Path
    made: list[MadePlot] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """Readable lines: each plot made, then each skipped with the reason."""
        lines = [f"plots in {self.folder}/:"]
        lines += [f"  made     {p.name:<24} {p.title}" for p in self.made]
        lines += [f"  skipped  {n:<24} {why}" for n, why in self.skipped]
        return "\n".join(lines)


def _first_key(keys: Sequence[str], candidates: Iterable[str] = (),
               suffix: str | None = None, contains: str | None = None) -> str | None:
    for c in candidates:
        if c in keys:
            return c
    for k in keys:
        tail = k.rsplit(".", 1)[-1]
        if suffix is not None and tail == suffix:
            return k
        if contains is not None and contains in tail:
            return k
    return None


def _is_kind_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] == "kind"


def _slice(frame: pd.DataFrame, keys: Sequence[str], keep: Iterable[str],
           want_stream: bool | None = None) -> tuple[pd.DataFrame, str]:
    """Hold every swept key not in ``keep`` at one value (the first in sweep order, or
    for a workload ``kind`` key the stream / non-stream kind as wanted); a note
    saying where the slice was taken."""
    keep = set(keep)
    notes = []
    out = frame
    for k in keys:
        if k in keep or k not in out.columns:
            continue
        values = list(dict.fromkeys(out[k].tolist()))
        if len(values) <= 1:
            continue
        pick = values[0]
        if _is_kind_key(k) and want_stream is not None:
            wanted = [v for v in values if (v == "stream") == want_stream]
            pick = wanted[0] if wanted else pick
        out = out[out[k] == pick]
        notes.append(f"{k}={_label(pick)}")
    return out, ("at " + ", ".join(notes)) if notes else ""


def _distinct(frame: pd.DataFrame, key: str | None) -> int:
    return 0 if key is None or key not in frame.columns else frame[key].nunique(dropna=False)


def _has(frame: pd.DataFrame, metric: str) -> bool:
    return metric in frame.columns and bool(_numeric(frame, metric).notna().any())


def _run_tables(folder: Path, frame: pd.DataFrame, table: str, keys: Sequence[str],
                columns: Sequence[str] | None = None,
                transform: Callable[[str, pd.DataFrame], pd.DataFrame] | None = None,
                ) -> pd.DataFrame:
    """Concatenate one stored table of each run in ``frame``, tagged with its swept values."""
    parts = []
    for row in frame.itertuples(index=False):
        run_id = str(getattr(row, "run_id", ""))
        path = folder / "runs" / f"{run_id}.{table}.parquet"
        if not run_id or not path.exists():
            continue
        part = pd.read_parquet(path, columns=list(columns) if columns else None)
        if transform is not None:
            part = transform(run_id, part)
        values = dict(zip(frame.columns, row, strict=True))
        for k in keys:
            part[k] = values[k]
        part["run_id"] = run_id
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _workload_kinds(manifest: Mapping[str, Any], run_id: str) -> dict[str, str]:
    """Workload label -> kind of one run (labels as ``simulate`` names them)."""
    try:
        wls = manifest["runs"][run_id]["spec"]["workloads"]
    except (KeyError, TypeError):
        return {}
    out = {}
    for i, w in enumerate(wls):
        label = w.get("name") or f"{w.get('kind')}{i if len(wls) > 1 else ''}"
        out[str(label)] = str(w.get("kind"))
    return out


def _testbed_bound(manifest: Mapping[str, Any],
                   frame: pd.DataFrame) -> tuple[float | None, str | None]:
    """The single-flow bound (:func:`single_flow_bound_gbps`) and its legend label when
    every run of ``frame`` ran on the same testbed (its NIC rate and MTU from the
    run's resolved spec, else from the catalog by name); ``(None, None)`` otherwise."""
    runs = manifest.get("runs") or {}
    seen: set[tuple[str, float, float]] = set()
    for run_id in frame.get("run_id", pd.Series(dtype=object)).astype(str):
        spec = runs.get(run_id, {}).get("spec", {}) if isinstance(runs, Mapping) else {}
        tb = spec.get("testbed") if isinstance(spec, Mapping) else None
        if isinstance(tb, str):
            tb = {"name": tb}
        if not isinstance(tb, Mapping):
            return None, None
        rate, mtu = tb.get("nic_rate_gbps"), tb.get("mtu_bytes")
        if rate is None or mtu is None:
            try:
                from kperf.profiles import get_testbed

                known = get_testbed(str(tb.get("name")))
            except KeyError:
                return None, None
            rate = known.nic_rate_gbps if rate is None else rate
            mtu = known.mtu_bytes if mtu is None else mtu
        try:
            seen.add((str(tb.get("name")), float(rate), float(mtu)))
        except (TypeError, ValueError):
            return None, None
    if len(seen) != 1:
        return None, None
    (name, rate, mtu), = seen
    bound = single_flow_bound_gbps(rate, mtu)
    return bound, (f"single-flow bound {bound:,.2f} Gbit/s ({name}: {rate:g} Gbit/s "
                   f"× ({mtu:g}−52)/({mtu:g}+38))")


def _run_spec_count(manifest: Mapping[str, Any], run_id: str, what: str,
                    fallback: Any = 0) -> float:
    """From a run's resolved cluster spec: the number of Services (declared plus
    ``extra_services``) or of ``rolling_updates``; ``fallback`` when not recorded."""
    try:
        cluster = manifest["runs"][run_id]["spec"]["cluster"]
    except (KeyError, TypeError):
        return float(fallback)
    if what == "services":
        return float(len(cluster.get("services") or []) + int(cluster.get("extra_services") or 0))
    return float(len(cluster.get(what) or []))


def _base_value(manifest: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = manifest.get("experiment", {})
    for part in dotted.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def make_plots(
    source: Any,
    out: str | os.PathLike[str] | None = None,
    *,
    heatmap_keys: tuple[str, str] | None = None,
    heatmap_metric: str | None = None,
    formats: Sequence[str] = ("png", "svg"),
    confidence: float = DEFAULT_CONFIDENCE,
) -> PlotSet:
    """Make every plot that fits a results folder; write them to ``DIR/plots/``.

    ``source``: a results folder path or a :class:`~kperf.experiments.Results`.
    Which plots apply depends on the swept keys and on the metrics present (a
    latency CDF needs stored samples, throughput vs cluster size a swept
    ``cluster.nodes``...). Swept keys a plot does not show are held at one value
    (the first; stream runs for throughput plots, the others for latency plots), as
    the plot's caption says. Returns what was made and why the rest was skipped;
    ``index.json`` in the plots folder lists the plots made.
    """
    from kperf.experiments.results import Results, load_results

    results = source if isinstance(source, Results) else load_results(source)
    folder = Path(results.path)
    plot_dir = Path(out) if out is not None else folder / "plots"
    manifest = results.manifest
    summary = results.summary
    keys = sweep_keys_of(summary, manifest)
    frame = ok_rows(summary)
    made = PlotSet(folder=plot_dir)

    def emit(name: str, title: str, caption: str, make: Callable[[], Figure]) -> None:
        try:
            fig = make()
        except (KeyError, ValueError, TypeError) as exc:  # a plot that cannot be drawn
            made.skipped.append((name, f"could not draw: {exc}"))
            return
        files = save_figure(fig, plot_dir / name, formats)
        made.made.append(MadePlot(name, title, caption, files))

    if frame.empty:
        made.skipped.append(("*", "no run finished ok"))
        _write_index(made)
        return made

    mode = _first_key(keys, MODE_KEYS)
    proxy = _first_key(keys, PROXY_KEYS)
    nodes = _first_key(keys, NODES_KEYS)
    load = _first_key(keys, suffix="rate_per_s")
    streams = _first_key(keys, suffix="streams")
    services = _first_key(keys, ("cluster.extra_services",), contains="service")
    single = str(_base_value(manifest, "cluster.cni") or "all")
    group = mode

    def tag(sub: pd.DataFrame) -> pd.DataFrame:
        if group is None:
            return sub.assign(mode=single)
        return sub

    by = group if group is not None else "mode"
    has_latency = _has(frame, "latency_p99_us")

    # 1. latency CDF (needs samples)
    if not has_latency:
        made.skipped.append(("latency_cdf", "no latency metrics"))
    else:
        sub, note = _slice(frame, keys, [group] if group else [], want_stream=False)
        samples = _run_tables(folder, sub, "samples", [k for k in keys if k in sub.columns],
                              columns=["latency_us", "failed"])
        if samples.empty:
            made.skipped.append(("latency_cdf", "no per-request samples stored (run with "
                                 "keep_samples: true or --keep-samples)"))
        else:
            emit("latency_cdf", "Latency CDF per CNI mode",
                 f"Distribution of request latency per CNI mode (log x){_note(note)}; "
                 "replications pooled.",
                 lambda: latency_cdf(tag(samples), by,
                                     title="Latency CDF" + (f" ({note})" if note else "")))

    # 2. latency vs offered load
    if load is None or _distinct(frame, load) < 2 or not has_latency:
        made.skipped.append(("latency_vs_load", "needs a swept open-loop rate "
                             "(workload.rate_per_s) with 2+ values and latency metrics"))
    else:
        sub, note = _slice(frame, keys, [load, *([group] if group else [])], want_stream=False)
        emit("latency_vs_load", "p50 and p99 latency vs offered load",
             f"p50 (dashed) and p99 (solid) latency against offered load per client, per "
             f"CNI mode{_note(note)}; {_ci_note(confidence)}.",
             lambda: latency_vs_load(tag(sub), load, by, confidence=confidence))

    has_tput = _has(frame, "throughput_gbps") and float(
        _numeric(frame, "throughput_gbps").max()) > 0
    # 3. throughput vs cluster size / streams
    for name, key, title, fn, wanted in (
        ("throughput_vs_nodes", nodes, "Throughput vs cluster size",
         throughput_vs_cluster_size, "cluster.nodes"),
        ("throughput_vs_streams", streams, "Throughput vs number of streams",
         throughput_vs_streams, "workload.streams"),
    ):
        if key is None or _distinct(frame, key) < 2 or not has_tput:
            made.skipped.append((name, f"needs a swept {wanted} key with 2+ values and a "
                                 "throughput"))
            continue
        sub, note = _slice(frame, keys, [key, *([group] if group else [])], want_stream=True)
        bound, bound_label = _testbed_bound(manifest, sub)
        bound_note = (f" Dashed: {bound_label}, the goodput one TCP flow can reach; "
                      "several clients or streams together can exceed it."
                      if bound is not None else "")
        emit(name, title, f"{title} per CNI mode{_note(note)}; {_ci_note(confidence)}."
             + bound_note,
             functools.partial(fn, tag(sub), key, by, confidence=confidence,
                               bound_gbps=bound, bound_label=bound_label))

    # 4. latency breakdown
    if not has_latency:
        made.skipped.append(("latency_breakdown", "no latency metrics"))
    else:
        sub, note = _slice(frame, keys, [group] if group else [], want_stream=False)

        def pick_workload(run_id: str, part: pd.DataFrame) -> pd.DataFrame:
            kinds = _workload_kinds(manifest, run_id)
            labels = list(dict.fromkeys(part["workload"].astype(str))) if len(part) else []
            chosen = [w for w in labels if kinds.get(w) != "stream"] or labels
            return part[part["workload"].astype(str) == chosen[0]] if chosen else part

        bd = _run_tables(folder, sub, "breakdown", [k for k in keys if k in sub.columns],
                         transform=pick_workload)
        if bd.empty:
            made.skipped.append(("latency_breakdown", "no breakdown tables stored"))
        else:
            emit("latency_breakdown", "Latency breakdown by stage category",
                 f"Mean time per request spent in each stage category, per CNI mode"
                 f"{_note(note)}; queueing is time waiting for a busy resource.",
                 lambda: latency_breakdown(tag(bd), by))

    # 5. CPU per 10 Gbit/s
    if not has_tput or not _has(frame, "cpu_cores_busy_max"):
        made.skipped.append(("cpu_per_10g", "needs throughput and CPU metrics"))
    else:
        sub, note = _slice(frame, keys, [group] if group else [], want_stream=True)
        tput = _numeric(sub, "throughput_gbps")
        if float(tput.max()) < 0.01:
            made.skipped.append(("cpu_per_10g", "throughput too small to scale to 10 Gbit/s"))
        else:
            emit("cpu_per_10g", "CPU cores per 10 Gbit/s per CNI mode",
                 "Cores busy on the busiest node per 10 Gbit/s carried "
                 f"(cpu_cores_busy_max / throughput_gbps × 10){_note(note)}.",
                 lambda: cpu_per_10g(tag(sub), by, confidence=confidence))

    # 6. Services scaling per proxy mode
    if services is None or _distinct(frame, services) < 2 or not has_latency or not \
            pd.api.types.is_numeric_dtype(frame[services]):
        made.skipped.append(("services_scaling", "needs a swept number of Services "
                             "(e.g. cluster.extra_services) with 2+ values"))
    else:
        sgroup = proxy
        sub, note = _slice(frame, keys, [services, *([sgroup] if sgroup else [])],
                           want_stream=False)
        sub = sub.assign(services_total=[
            _run_spec_count(manifest, r, "services", fallback=v)
            for r, v in zip(sub["run_id"].astype(str), sub[services], strict=True)])
        emit("services_scaling", "First-connection latency and requests/s vs Services",
             f"p50 first-connection latency and requests/s against the number of Services "
             f"(declared and generated), per proxy mode{_note(note)}; {_ci_note(confidence)}.",
             lambda: services_scaling(sub, "services_total", sgroup, confidence=confidence))

    # 7. failed requests per rolling update vs cluster size
    updates = pd.Series([_run_spec_count(manifest, r, "rolling_updates", fallback=0)
                         for r in frame["run_id"].astype(str)], index=frame.index, dtype=float)
    has_failed = _has(frame, "failed")
    if nodes is None or _distinct(frame, nodes) < 2 or not has_failed or not (updates > 0).any():
        made.skipped.append(("failed_per_update", "needs a swept cluster.nodes and "
                             "cluster.rolling_updates in the runs"))
    else:
        fgroup = proxy or group
        with_updates = frame.assign(rolling_updates=updates)
        with_updates = with_updates[with_updates["rolling_updates"] > 0]
        sub, note = _slice(with_updates, keys, [nodes, *([fgroup] if fgroup else [])])
        emit("failed_per_update", "Failed requests per rolling update vs cluster size",
             f"Failed requests divided by the rolling updates of each run, against cluster "
             f"size{_note(note)}; {_ci_note(confidence)}.",
             lambda: failed_per_update(sub, nodes, fgroup, updates="rolling_updates",
                                       confidence=confidence))

    # 8. heatmap of two swept keys
    multi = [k for k in keys if _distinct(frame, k) >= 2]
    hx, hy = heatmap_keys if heatmap_keys is not None else (
        (multi[1], multi[0]) if len(multi) >= 2 else (None, None))
    metric = heatmap_metric or next((m for m in ("latency_p99_us", "throughput_gbps",
                                                 "requests_per_s") if _has(frame, m)), None)
    if hx is None or hy is None or metric is None:
        made.skipped.append(("heatmap", "needs two swept keys with 2+ values each"))
    else:
        for k in (hx, hy):
            if k not in frame.columns:
                raise KeyError(f"heatmap key {k!r} is not a column of the summary; swept "
                               f"keys: {', '.join(keys) or 'none'}")
        if metric not in frame.columns:
            raise KeyError(f"heatmap metric {metric!r} is not a column of the summary")
        sub, note = _slice(frame, keys, [hx, hy], want_stream=metric == "throughput_gbps")
        emit("heatmap", f"{metric_label(metric)} by {hx} and {hy}",
             f"Mean {metric_label(metric)} for each pair of {hx} and {hy}{_note(note)}.",
             lambda: heatmap(sub, hx, hy, metric))

    # 9. per-flow goodput, when the runs stored flows tables (folders without any, such
    # as those written before kperf stored them, get no entry: neither made nor skipped)
    flows = results.tables("flows")
    if "goodput_gbps" in flows.columns and _has(flows, "goodput_gbps"):
        config, varying = config_labels(flows, keys)
        flows = flows.assign(config=config)
        n_configs = flows["config"].nunique()
        more = f"; the first 40 of {n_configs} configurations" if n_configs > 40 else ""
        flow_x = (key_label(varying[0]) if len(varying) == 1 else
                  ", ".join(varying) if varying else "configuration")
        emit("flow_goodput", "Per-flow goodput per configuration",
             "Goodput of every flow (dots: bulk streams over the measurement window; "
             "crosses: finite transfers over their completion time), boxes over each "
             f"configuration's flows, replications pooled{more}.",
             lambda: flow_goodput(flows, "config", xlabel=flow_x))

    # 10. capacity plan, when one was written here
    plan = read_plan(folder)
    if plan is None:
        made.skipped.append(("capacity", "no capacity plan here (kperf plan ... --out DIR)"))
    else:
        table, probes, meta = plan.table, plan.probes, plan.meta
        emit("capacity", "Capacity planning", str(meta.get("caption", "Capacity plan.")),
             lambda: capacity_chart(table, probes, slo_metric=meta.get("metric"),
                                    slo_threshold_us=meta.get("threshold_us"),
                                    slo_text=str(meta.get("slo", "")),
                                    confidence=float(meta.get("confidence", confidence))))
    _write_index(made)
    return made


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _write_index(made: PlotSet) -> None:
    made.folder.mkdir(parents=True, exist_ok=True)
    index = {
        "made": [{"name": p.name, "title": p.title, "caption": p.caption,
                  "files": [f.name for f in p.files]} for p in made.made],
        "skipped": [{"name": n, "reason": why} for n, why in made.skipped],
    }
    (made.folder / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False)
                                           + "\n", encoding="utf-8")

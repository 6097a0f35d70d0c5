"""Plots of experiment results: every function takes a table and returns a Figure.

Each plot function takes a summary table (one row per run, as ``kperf run`` writes
it), or a samples or breakdown table, and returns a :class:`matplotlib.figure.Figure`
drawn on the Agg canvas. Nothing global is touched: no ``pyplot`` state, no backend
switch at import, so the functions are safe in scripts, tests, servers and
notebooks (a notebook displays a returned Figure inline).

Across replications a point is the mean of the ``ok`` runs and its error bar the
95 % Student-t confidence interval (:mod:`kperf.analysis.aggregate`); with one
replication there is no interval and the caption says so. Axes carry units; an axis
turns logarithmic when its values span more than a factor of 20 (its label then says
"log scale"), and a linear axis of non-negative values starts at zero. Each CNI mode
has one colour in every plot (:func:`cni_colour`).

:func:`make_plots` looks at a results folder, makes every plot its swept keys and
metrics support (including one plot of the main metric per swept dimension,
``by_<key>``), and writes each as PNG and SVG into ``DIR/plots/`` with an
``index.json`` that lists, per plot, its caption, the colour drawn for each series
(read back from the figure's artists) and, for ``latency_vs_load``, the knee of each
p99 curve (:func:`knee_load`); with runs' flows tables (``runs/<id>.flows.parquet``)
also the per-flow goodput per configuration (:func:`flow_goodput`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
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


def log_label(label: str) -> str:
    """``label`` marked as on a logarithmic axis: ``latency (µs)`` becomes
    ``latency (µs, log scale)``, ``CNI mode`` becomes ``CNI mode (log scale)``."""
    if "log scale" in label:
        return label
    if label.endswith(")") and "(" in label:
        return f"{label[:-1]}, log scale)"
    return f"{label} (log scale)"


def scale_axis(ax: Axes, values: Iterable[Any], axis: str, label: str,
               ratio: float = LOG_RATIO) -> bool:
    """Label an axis and choose its scale: logarithmic when the positive ``values``
    span more than ``ratio`` (the label then says "log scale"), else linear and, when
    no value is negative, from zero, so that a difference is not blown up to fill the
    axis. Returns whether the axis is logarithmic."""
    values = list(values)
    log = auto_log(ax, values, axis, ratio)
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(log_label(label) if log else label)
    get_lim, set_lim = ((ax.get_xlim, ax.set_xlim) if axis == "x"
                        else (ax.get_ylim, ax.set_ylim))
    if log:
        # A confidence interval reaching 0 or below cannot be drawn on a log axis:
        # such a whisker runs off the bottom, which starts at half the smallest value.
        low = _finite_positive(values).min() / 2
        if get_lim()[0] < low:
            set_lim(low, None)
    else:
        arr = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(float)
        arr = arr[np.isfinite(arr)]
        if arr.size and arr.min() >= 0:
            set_lim(0, None)
    return log


_SERIES_ATTR = "_kperf_series"


def tag_series(artist: Any, name: Any) -> Any:
    """Mark ``artist`` (a line, bar, marker collection) as drawing series ``name``, so
    that :func:`drawn_colours` can read back the colour it was actually drawn in."""
    setattr(artist, _SERIES_ATTR, str(name))
    return artist


def _artist_colour(artist: Any) -> str | None:
    from matplotlib.colors import to_hex

    try:
        if hasattr(artist, "get_facecolor") and not hasattr(artist, "get_xydata"):
            for getter in (artist.get_facecolor, artist.get_edgecolor):
                arr = np.atleast_2d(np.asarray(getter(), float))  # collections: per element
                if arr.size and arr[0, 3] > 0:  # unfilled markers ("x"): the edge colour
                    return to_hex(arr[0], keep_alpha=False)
            return None
        return to_hex(artist.get_color(), keep_alpha=False)
    except (ValueError, TypeError, AttributeError):
        return None


def drawn_colours(fig: Figure) -> dict[str, str | list[str]]:
    """Series name -> the colour its artists were drawn in, read from the figure
    (every artist marked with :func:`tag_series`); a series drawn in several colours
    gets the sorted list of them (which a colour-consistency check reports)."""
    seen: dict[str, set[str]] = {}
    for ax in fig.axes:
        for artist in (*ax.lines, *ax.patches, *ax.collections):
            name = getattr(artist, _SERIES_ATTR, None)
            if name is None:
                continue
            colour = _artist_colour(artist)
            if colour is not None:
                seen.setdefault(name, set()).add(colour)
    return {name: next(iter(c)) if len(c) == 1 else sorted(c) for name, c in seen.items()}


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


def _legend(ax: Axes, title: str | None = None, confidence: float | None = None,
            bars: str = "bars") -> None:
    """A legend (when there are labelled artists); with ``confidence``, its title says
    what the error ``bars`` (or whiskers) are."""
    handles, _ = ax.get_legend_handles_labels()
    if confidence is not None:
        note = f"{bars}: {confidence:.0%} CI of the mean"
        title = f"{title}\n({note})" if title else note
    if handles:
        ax.legend(title=title, fontsize="small", title_fontsize="small")


def _ci_note(confidence: float, reps: int | None = None, points: str = "points",
             bars: str = "error bars") -> str:
    """What a point (or bar: ``points``) and its error bar (or whisker: ``bars``) are,
    for a caption; ``reps``: replications per point (with fewer than two there is no
    interval, and the note says so)."""
    if reps is not None and reps < 2:
        return f"{points}: one run each (one replication: no confidence interval)"
    n = f" (n = {reps} each)" if reps is not None else ""
    return (f"{points}: mean over replications; {bars}: {confidence:.0%} Student-t "
            f"confidence interval of the mean{n}")


def replications_per_point(frame: pd.DataFrame, keys: Sequence[str]) -> int:
    """The most ``ok`` runs any configuration (combination of ``keys``) has in
    ``frame``: how many replications a point of a plot of ``frame`` averages."""
    ok = ok_rows(frame)
    cols = [k for k in keys if k in ok.columns]
    if ok.empty:
        return 0
    if not cols:
        return len(ok)
    return int(ok.groupby(cols, sort=False, dropna=False).size().max())


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
        (line,) = ax.step(lat, frac, where="post", color=group_colour(by, name, i),
                          label=f"{name} (p50 {p50:,.0f} µs, p99 {p99:,.0f} µs)")
        tag_series(line, name)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.005)
    ax.set_xlabel("latency (µs, log scale)")
    ax.set_ylabel("fraction of requests ≤ latency")
    for q in (0.5, 0.99):
        ax.axhline(q, color="grey", lw=0.6, ls=":")
    ax.set_title(title or "Latency CDF" + (f" per {key_label(by)}" if by in samples else ""))
    _legend(ax, key_label(by) if by in samples else None)
    return fig


KNEE_DEFINITION = (
    "Kleinrock's power, throughput / delay (here offered load / p99 latency), is "
    "largest at the knee (Kleinrock 1979, 'Power and deterministic rules of thumb for "
    "probabilistic problems in computer communications', ICC 1979; for M/M/1 at "
    "utilisation 0.5); the vertex of the parabola through the sampled maximum and its "
    "two neighbours")
"""How :func:`knee_load` defines the knee, in the words captions and the plot index use."""


def knee_load(loads: Sequence[float] | np.ndarray, latencies_us: Sequence[float] | np.ndarray,
              throughputs: Sequence[float] | np.ndarray | None = None) -> float | None:
    """The knee of a latency-vs-load curve: the load that maximises Kleinrock's power.

    Kleinrock's power of a system is its throughput divided by its delay (Kleinrock
    1979, "Power and deterministic rules of thumb for probabilistic problems in
    computer communications", ICC 1979). Below the knee more load buys throughput at
    little extra delay; past it, delay grows faster than throughput, so power falls.
    For an M/M/1 queue with service rate μ the mean delay is 1/(μ − λ), the power
    λ(μ − λ) and its maximum at utilisation λ/μ = 0.5; any fixed percentile of the
    M/M/1 sojourn time is proportional to the mean (the sojourn time is exponential,
    p99 = ln(100)/(μ − λ)), so a p99 curve has its knee there too.

    On a sampled curve: power at each sampled load (``throughputs`` / latency;
    ``throughputs`` default to the loads themselves: an open-loop system below
    saturation carries what it is offered), the sample with the largest power, then
    the vertex of the parabola through it and its two neighbours (exact when power is
    quadratic in the load, as for M/M/1; never outside those neighbours).

    ``None`` when the knee is not bracketed by the samples: fewer than three usable
    points (finite, positive latency), or the largest power at the lowest or highest
    load sampled — a flat curve (power grows with load up to the last sample: sweep
    further) or one that rises from the start (sample lower loads). Duplicate loads
    are averaged.
    """
    x = np.asarray(loads, float)
    lat = np.asarray(latencies_us, float)
    thr = x if throughputs is None else np.asarray(throughputs, float)
    if not x.shape == lat.shape == thr.shape or x.ndim != 1:
        raise ValueError(f"knee_load: loads, latencies and throughputs need one value "
                         f"each per point (got shapes {x.shape}, {lat.shape}, {thr.shape})")
    ok = np.isfinite(x) & np.isfinite(lat) & np.isfinite(thr) & (lat > 0)
    x, lat, thr = x[ok], lat[ok], thr[ok]
    if x.size == 0:
        return None
    xs, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse)
    power = np.bincount(inverse, weights=thr / lat) / counts
    if xs.size < 3:
        return None
    i = int(np.argmax(power))
    if i == 0 or i == xs.size - 1:
        return None
    (x0, x1, x2), (p0, p1, p2) = xs[i - 1:i + 2], power[i - 1:i + 2]
    # Vertex of the parabola through three points (Lagrange form).
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (p1 - p0) + x1 * (p0 - p2) + x0 * (p2 - p1)) / denom
    b = (x2 * x2 * (p0 - p1) + x1 * x1 * (p2 - p0) + x0 * x0 * (p1 - p2)) / denom
    if not a < 0:
        return float(x1)
    return float(min(max(-b / (2 * a), x0), x2))


def load_knees(summary: pd.DataFrame, load: str = "workload.rate_per_s",
               by: str | None = "cluster.cni", metric: str = "latency_p99_us",
               throughput: str | None = None) -> dict[str, float | None]:
    """Per group (its label, as in the plots' legends): :func:`knee_load` of the mean
    ``metric`` (over the ``ok`` replications) against ``load``; ``throughput``: a
    column to use as the throughput (default: the load itself — ``requests_per_s``
    counts the requests that *started* in the window, so past saturation it keeps
    tracking the offered load and would add only sampling noise)."""
    _require(summary, [load, metric, *([throughput] if throughput else [])], "load_knees")
    frame = ok_rows(summary)
    out: dict[str, float | None] = {}
    for name, sub in _groups(frame, by):
        work = sub.assign(_x=_numeric(sub, load), _y=_numeric(sub, metric))
        if throughput:
            work = work.assign(_t=_numeric(sub, throughput))
        means = work.groupby("_x", sort=True, dropna=True)[
            ["_y", *(["_t"] if throughput else [])]].mean()
        out[name] = knee_load(means.index.to_numpy(float), means["_y"].to_numpy(float),
                              means["_t"].to_numpy(float) if throughput else None)
    return out


def _load_unit(load: str) -> str:
    return "/s" if load.rsplit(".", 1)[-1].endswith("per_s") else ""


def significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures without an exponent, with thousands
    separators: 2954.2 -> ``2,950``, 0.01234 -> ``0.0123``."""
    if not math.isfinite(value):
        return str(value)
    if value == 0 or abs(value) >= 10 ** (digits - 1):
        return f"{float(f'{value:.{digits}g}'):,.0f}"
    return f"{float(f'{value:.{digits}g}'):,.{digits}g}"


def _knee_text(knee: float, unit: str) -> str:
    """A knee load to three significant figures (it comes from a sampled curve)."""
    return f"{significant(knee)}{unit}"


def latency_vs_load(summary: pd.DataFrame, load: str = "workload.rate_per_s",
                    by: str | None = "cluster.cni",
                    metrics: Sequence[str] = ("latency_p50_us", "latency_p99_us"), *,
                    confidence: float = DEFAULT_CONFIDENCE, title: str | None = None,
                    knee_metric: str | None = "latency_p99_us") -> Figure:
    """p50 and p99 latency (or ``metrics``) against offered load, one colour per group.

    The knee of the p99 curve shows the capacity: past it queues build and latency
    grows without bound. Line style tells the percentile (p50 dashed, p99 solid). The
    knee of each group's ``knee_metric`` curve (:func:`knee_load`, Kleinrock's power)
    is drawn as a star on the curve and a dotted vertical line in the group's colour,
    with the knee load in the legend; a group whose knee the sweep does not bracket
    gets none.
    """
    _require(summary, [load, *metrics], "latency_vs_load")
    frame = ok_rows(summary)
    fig, (ax,) = new_figure()
    all_y: list[float] = []
    knees = (load_knees(frame, load, by, knee_metric)
             if knee_metric is not None and knee_metric in metrics else {})
    unit = _load_unit(load)
    for i, (name, sub) in enumerate(_groups(frame, by)):
        colour = group_colour(by, name, i)
        for m in metrics:
            short, ls, marker = _PERCENTILE_STYLE.get(m, (m, "-", "o"))
            xs, ys, lo, hi = _curve(sub, load, m, confidence)
            if xs.size == 0:
                continue
            all_y += list(ys)
            bars = ax.errorbar(xs, ys, yerr=[lo, hi], color=colour, ls=ls,
                               marker=marker, ms=4, capsize=3, label=f"{name} {short}")
            tag_series(bars.lines[0], name)
            knee = knees.get(name)
            if m == knee_metric and knee is not None:
                tag_series(ax.axvline(knee, color=colour, ls=":", lw=1.2), name)
                (star,) = ax.plot([knee], [float(np.interp(knee, xs, ys))], ls="none",
                                  marker="*", ms=13, color=colour, mec="black", mew=0.6,
                                  label=f"{name} knee {_knee_text(knee, unit)}",
                                  zorder=5)
                tag_series(star, name)
    scale_axis(ax, _numeric(frame, load), "x", key_label(load))
    scale_axis(ax, all_y, "y", "latency (µs)")
    ax.set_title(title or "Latency vs offered load")
    _legend(ax, key_label(by) if by in frame else None, confidence)
    return fig


def metric_vs(summary: pd.DataFrame, x: str, metric: str, by: str | None = "cluster.cni", *,
              confidence: float = DEFAULT_CONFIDENCE, title: str | None = None,
              xlabel: str | None = None, ylabel: str | None = None,
              ax: Axes | None = None, y_from_zero: bool = False) -> Figure:
    """Any metric against any numeric swept key, one line (with CIs) per group.

    Axes as :func:`scale_axis` chooses them (log when the values span more than 20×,
    else linear from zero); ``y_from_zero``: always a linear y axis from 0 (no
    automatic log scale).
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
        bars = ax.errorbar(xs, ys, yerr=[lo, hi], color=group_colour(by, name, i),
                           marker="o", ms=4, capsize=3, label=name)
        tag_series(bars.lines[0], name)
    scale_axis(ax, _numeric(frame, x), "x", xlabel or key_label(x))
    if y_from_zero:
        ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel or metric_label(metric))
    else:
        scale_axis(ax, ys_all, "y", ylabel or metric_label(metric))
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


def _metric_short(metric: str) -> str:
    return _PERCENTILE_STYLE[metric][0] if metric in _PERCENTILE_STYLE else metric_label(metric)


def metric_by_key(summary: pd.DataFrame, key: str,
                  metrics: Sequence[str] = ("latency_p99_us", "latency_p50_us"),
                  by: str | None = "cluster.cni", *, categorical: bool | None = None,
                  confidence: float = DEFAULT_CONFIDENCE, title: str | None = None,
                  bound_gbps: float | None = None, bound_label: str | None = None) -> Figure:
    """The main metric(s) against one swept key, with confidence intervals.

    A numeric key (``categorical`` False; by default when the column is numeric and
    not boolean): one line per group and metric against the key, the first metric
    solid, p50 dashed, error bars the ``confidence`` Student-t interval over the
    replications; axes from zero, or logarithmic and labelled so when the values span
    more than 20×. A categorical key (a CNI or proxy mode, a testbed name...): for
    each value, one bar of the first metric per group (side by side) with its
    interval as a whisker, and any further metric (p50) as a black tick with its own
    whisker on the bar; the y axis from zero. When ``key`` names CNI modes its bars
    take each mode's colour (:func:`cni_colour`) and ``by`` is ignored; otherwise
    groups are coloured as in every plot (:func:`group_colour`). ``bound_gbps``: a
    dashed line at a throughput bound (as the throughput plots draw).
    """
    _require(summary, [key, *metrics], "metric_by_key")
    if not metrics:
        raise ValueError("metric_by_key needs at least one metric")
    frame = ok_rows(summary)
    if categorical is None:
        categorical = (not pd.api.types.is_numeric_dtype(frame[key])
                       or pd.api.types.is_bool_dtype(frame[key]))
    first = metrics[0]
    latency = all(m.startswith("latency_") for m in metrics)
    if categorical:
        fig = _metric_bars(frame, key, metrics, by, confidence)
    else:
        fig, (ax,) = new_figure()
        ys_all: list[float] = []
        for i, (name, sub) in enumerate(_groups(frame, by)):
            for m in metrics:
                short, ls, marker = _PERCENTILE_STYLE.get(m, (m, "-", "o"))
                if m == first:
                    ls = "-"
                xs, ys, lo, hi = _curve(sub, key, m, confidence)
                if xs.size == 0:
                    continue
                ys_all += list(ys)
                label = f"{name} {short}" if len(metrics) > 1 else name
                bars = ax.errorbar(xs, ys, yerr=[lo, hi], color=group_colour(by, name, i),
                                   ls=ls, marker=marker, ms=4, capsize=3, label=label)
                tag_series(bars.lines[0], name)
        scale_axis(ax, _numeric(frame, key), "x", key_label(key))
        ylabel = "latency (µs)" if latency and len(metrics) > 1 else metric_label(first)
        if first == "throughput_gbps":
            ax.set_ylabel(ylabel)
        else:
            scale_axis(ax, ys_all, "y", ylabel)
        _legend(ax, key_label(by) if by in frame else None, confidence)
    ax = fig.axes[0]
    if first == "throughput_gbps":
        _bound_line(ax, bound_gbps, bound_label)
        grouped = by in frame and by != key and not (categorical and key in CNI_GROUP_KEYS)
        _legend(ax, key_label(by) if grouped else None, confidence,
                "whiskers" if categorical else "bars")
    if categorical and ax.get_legend() is None:  # nothing labelled: say what whiskers are
        ax.text(0.99, 0.99, f"whiskers: {confidence:.0%} CI of the mean",
                transform=ax.transAxes, ha="right", va="top", fontsize="small")
    label = metric_label(first).split(" (")[0]
    what = (" and ".join(_metric_short(m) for m in metrics) + " latency" if latency
            else label[:1].upper() + label[1:])
    ax.set_title(title or f"{what} by {key_label(key)}")
    return fig


def _metric_bars(frame: pd.DataFrame, key: str, metrics: Sequence[str], by: str | None,
                 confidence: float) -> Figure:
    """The categorical form of :func:`metric_by_key`: bars of ``metrics[0]`` per value
    of ``key`` (one per group), ticks of the other metrics, CI whiskers on both."""
    cats = _sorted_values(list(dict.fromkeys(frame[key].tolist())))
    key_is_cni = key in CNI_GROUP_KEYS
    groups = ([("", frame)] if key_is_cni or by is None or by == key or by not in frame
              else _groups(frame, by))
    n = len(groups)
    width = 0.8 / n
    fig, (ax,) = new_figure(width=max(6.0, 0.55 * len(cats) * n + 3.5))
    ax.grid(False, axis="x")
    x = np.arange(len(cats), dtype=float)
    first, rest = metrics[0], list(metrics[1:])
    tops: list[float] = []
    annotate = len(cats) * n <= 16
    ticks_labelled = False
    for j, (gname, gsub) in enumerate(groups):
        pos, heights, err_lo, err_hi, colours, names = [], [], [], [], [], []
        for c, cat in enumerate(cats):
            sub = gsub[gsub[key] == cat]
            iv = t_interval(sub[first], confidence)
            if math.isnan(iv.mean):
                continue
            pos.append(x[c] + (j - (n - 1) / 2) * width)
            heights.append(iv.mean)
            err_lo.append(0.0 if math.isnan(iv.low) else iv.mean - iv.low)
            err_hi.append(0.0 if math.isnan(iv.high) else iv.high - iv.mean)
            name = _label(cat) if key_is_cni else gname
            colours.append(cni_colour(cat) if key_is_cni else group_colour(by, gname, j))
            names.append(name)
            for m in rest:
                ivm = t_interval(sub[m], confidence)
                if math.isnan(ivm.mean):
                    continue
                ax.errorbar([pos[-1]], [ivm.mean],
                            yerr=[[0.0 if math.isnan(ivm.low) else ivm.mean - ivm.low],
                                  [0.0 if math.isnan(ivm.high) else ivm.high - ivm.mean]],
                            fmt="_", color="black", ms=max(6.0, 40 * width), mew=2,
                            capsize=2, elinewidth=0.8, zorder=4,
                            label=None if ticks_labelled else f"{_metric_short(m)} (tick)")
                ticks_labelled = True
        if not pos:
            continue
        label = gname if (not key_is_cni and by in frame and by != key) else None
        bars = ax.bar(pos, heights, width=width * 0.92, color=colours,
                      yerr=[err_lo, err_hi], capsize=3, label=label,
                      error_kw={"elinewidth": 1})
        for patch, name in zip(bars, names, strict=True):
            tag_series(patch, name)
        tops += [h + e for h, e in zip(heights, err_hi, strict=True)]
        if annotate:
            for px, h, e in zip(pos, heights, err_hi, strict=True):
                ax.annotate(significant(h), (px, h + e), ha="center", va="bottom",
                            fontsize="x-small", xytext=(0, 2), textcoords="offset points")
    if tops:
        ax.set_ylim(0, max(tops) * 1.12 if max(tops) > 0 else 1.0)
    labels = [_label(c) for c in cats]
    long = len(cats) > 4 or max((len(t) for t in labels), default=0) > 14
    ax.set_xticks(x, labels, rotation=30 if long else 0, ha="right" if long else "center")
    ax.set_xlabel(key_label(key))
    ylabel = ("latency (µs)" if all(m.startswith("latency_") for m in metrics) and rest
              else metric_label(first))
    ax.set_ylabel(ylabel)
    _legend(ax, key_label(by) if not key_is_cni and by in frame and by != key else None,
            confidence, "whiskers")
    return fig


def latency_breakdown(breakdown: pd.DataFrame, by: str | None = "cluster.cni", *,
                      title: str | None = None,
                      confidence: float = DEFAULT_CONFIDENCE) -> Figure:
    """Where the microseconds go: stacked bars of mean time per request by stage
    category (stack, veth, policy, encap, crypto, app, wire, queueing...), one bar per
    group (per CNI mode by default).

    ``breakdown``: rows with ``category``, ``time_us`` and the ``by`` column (one row
    per run and category, as the runner stores them, or already averaged); runs of a
    group are averaged. With a ``run_id`` column and two or more runs in a group, a
    whisker on top of its bar is the ``confidence`` Student-t interval of the per-run
    total, and the total is written as ``mean ± half-width``.
    """
    _require(breakdown, ["category", "time_us"], "latency_breakdown")
    frame = breakdown.assign(time_us=_numeric(breakdown, "time_us"))
    groups = _groups(frame, by)
    labels = [name for name, _ in groups]
    cats_present = list(dict.fromkeys(frame["category"].astype(str)))
    cats = [c for c in CATEGORY_ORDER if c in cats_present]
    cats += [c for c in cats_present if c not in cats]
    table = np.zeros((len(cats), len(groups)))
    half = np.full(len(groups), np.nan)
    for j, (_, sub) in enumerate(groups):
        if "run_id" in sub.columns and sub["run_id"].nunique() > 1:
            per_run = sub.groupby(["run_id", "category"], sort=False)["time_us"].sum()
            means = per_run.groupby(level="category").sum() / sub["run_id"].nunique()
            iv = t_interval(per_run.groupby(level="run_id").sum(), confidence)
            half[j] = iv.half_width
        else:
            means = sub.groupby("category", sort=False)["time_us"].mean()
        for i, c in enumerate(cats):
            table[i, j] = float(means.get(c, 0.0))
    fig, (ax,) = new_figure(width=max(6.0, 1.2 * len(groups) + 3.5))
    x = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    cat_colors = {c: color(i) for i, c in enumerate(CATEGORY_ORDER)}
    for i, c in enumerate(cats):
        for patch in ax.bar(x, table[i], bottom=bottom, label=c,
                            color=cat_colors.get(c, color(i)), width=0.6):
            tag_series(patch, c)
        bottom += table[i]
    if np.isfinite(half).any():
        ax.errorbar(x, bottom, yerr=np.nan_to_num(half), fmt="none", ecolor="black",
                    capsize=4, lw=1)
    for xi, total, hw in zip(x, bottom, half, strict=True):
        text = f"{total:,.1f}" + (f" ± {hw:,.1f}" if np.isfinite(hw) else "")
        ax.annotate(text, (xi, total + (hw if np.isfinite(hw) else 0.0)), ha="center",
                    va="bottom", fontsize="small", xytext=(0, 2), textcoords="offset points")
    tops = bottom + np.nan_to_num(half)
    if len(tops) and tops.max() > 0:
        ax.set_ylim(0, tops.max() * 1.1)  # room for the totals above the bars
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
    bars = ax.bar(x, means, yerr=err, capsize=4,
                  color=[group_colour(by, name, i) for i, (name, _) in enumerate(rows)],
                  width=0.6, label="CPU cores per 10 Gbit/s")
    for patch, (name, _) in zip(bars, rows, strict=True):
        tag_series(patch, name)
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
            log_color: bool | None = None,
            confidence: float = DEFAULT_CONFIDENCE) -> Figure:
    """Mean of ``metric`` over two swept keys (``x`` across, ``y`` down), annotated.

    Cells average the ``ok`` runs of a configuration (and any other swept keys); a
    cell of two or more runs says ``mean ± half-width`` of the ``confidence``
    Student-t interval. ``log_color``: logarithmic colour scale (default: when values
    span > 20×).
    """
    from matplotlib.colors import LogNorm, Normalize

    _require(summary, [x, y, metric], "heatmap")
    frame = ok_rows(summary).assign(_m=lambda f: _numeric(f, metric))
    xs = list(dict.fromkeys(frame[x].tolist()))
    ys = list(dict.fromkeys(frame[y].tolist()))
    xs = _sorted_values(xs)
    ys = _sorted_values(ys)
    grid = np.full((len(ys), len(xs)), np.nan)
    halves = np.full((len(ys), len(xs)), np.nan)
    for cell, part in frame.groupby([y, x], sort=False, dropna=False)["_m"]:
        yv, xv = cast(tuple[Any, Any], cell)
        iv = t_interval(part, confidence)
        grid[ys.index(yv), xs.index(xv)] = iv.mean
        halves[ys.index(yv), xs.index(xv)] = iv.half_width
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
                hw = float(halves[r, c])
                text = significant(float(val)) + (f"\n± {significant(hw, 2)}"
                                                  if math.isfinite(hw) else "")
                ax.text(c, r, text, ha="center", va="center", fontsize="x-small",
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
    for i, (name, sub) in enumerate(groups):
        cnis: list[Any] = (list(sub[cni_col].dropna().unique()) if cni_col is not None
                           else [])
        colour = cni_colour(cnis[0]) if len(cnis) == 1 else color(i)
        for bulk, (marker, kind) in zip((True, False), kinds, strict=True):
            ys = sub.loc[sub["_bulk"] == bulk, "goodput_gbps"].to_numpy(float)
            if ys.size == 0:
                continue
            xs = x[i] + 0.32 + rng.uniform(-0.06, 0.06, ys.size)
            dots = ax.scatter(xs, ys, s=10, marker=marker, color=colour, alpha=0.7)
            tag_series(dots, cnis[0] if len(cnis) == 1 else name)
            shown.add(kind)
    values = frame["goodput_gbps"].to_numpy(float)
    if values.size and values.min() > 0:
        scale_axis(ax, values, "y", "per-flow goodput (Gbit/s)")
    else:  # a flow that carried nothing: no log axis
        ax.set_ylim(bottom=0)
        ax.set_ylabel("per-flow goodput (Gbit/s)")
    labels = [f"{name}\n({len(sub)} flows)" for name, sub in groups]
    ax.set_xticks(x, labels, rotation=30 if len(groups) > 3 else 0,
                  ha="right" if len(groups) > 3 else "center", fontsize="small")
    ax.set_xlim(-0.6, len(groups) - 0.2)
    ax.set_xlabel(xlabel or (key_label(by) if by in frame and by != "config"
                             else "configuration"))
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
    target, the highest total load), best first, with the bracket the replications
    give (whiskers; plans written before brackets existed have none) and the
    bottleneck resource class and its utilisation at capacity.
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
            name = config_cni.get(str(cfg), cfg)
            (line,) = ax.plot(sub["load_per_node_rps"], y, color=config_colour(cfg, i), lw=1,
                              alpha=0.6)
            tag_series(line, name)
            ok = sub["meets_slo"].astype(bool).to_numpy()
            xv = sub["load_per_node_rps"].to_numpy(float)
            label: str | None = cfg  # in the legend once, on the first markers drawn
            for mask, marker, size in ((ok, "o", 18), (~ok, "x", 22)):
                if mask.any():
                    tag_series(ax.scatter(xv[mask], y.to_numpy()[mask],
                                          color=config_colour(cfg, i), marker=marker,
                                          s=size, label=label), name)
                    label = None
        if slo_threshold_us is not None:
            ax.axhline(slo_threshold_us, color="black", ls="--", lw=1,
                       label=f"SLO {slo_text}".strip())
        scale_axis(ax, probes["load_per_node_rps"], "x",
                   "offered load per node (requests/s)")
        scale_axis(ax, [*probes["metric_upper_us"], *([slo_threshold_us]
                                                      if slo_threshold_us else [])],
                   "y", f"{metric_label(slo_metric or 'latency')}, upper "
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
    bars = ax.bar(x, np.nan_to_num(vals, nan=0.0),
                  color=[config_colour(c, i) for i, c in enumerate(order["config"])],
                  width=0.6, label=ylab)
    for patch, cfg in zip(bars, order["config"], strict=True):
        tag_series(patch, config_cni.get(str(cfg), cfg))
    # the bracket from the replications (kperf.analysis.capacity: the conservative
    # answer at one end; the load missed even on the lower bound at the other)
    other_end = {"nodes_needed": "nodes_needed_low", "max_total_rps": "capacity_high_rps",
                 "capacity_per_node_rps": "capacity_per_node_high_rps"}[col]
    ends = (_numeric(order, other_end).to_numpy() if other_end in order.columns
            else np.full(len(order), np.nan))
    tops = np.fmax(vals, ends)
    if np.isfinite(ends).any():
        lo_err = np.where(np.isfinite(ends), np.clip(vals - ends, 0, None), 0.0)
        hi_err = np.where(np.isfinite(ends), np.clip(ends - vals, 0, None), 0.0)
        ax.errorbar(x, np.nan_to_num(vals, nan=0.0), yerr=[lo_err, hi_err], fmt="none",
                    ecolor="black", capsize=5, lw=1,
                    label=f"bracket from the replications ({confidence:.0%})")
    util = order["bottleneck"].astype(str).tolist() if "bottleneck" in order.columns \
        else [""] * len(order)
    share = (_numeric(order, "bottleneck_utilisation").to_numpy()
             if "bottleneck_utilisation" in order.columns else np.full(len(order), np.nan))
    for xi, v, end, top, cls, u in zip(x, vals, ends, tops, util, share, strict=True):
        text = "not met" if not np.isfinite(v) else f"{v:,.0f}"
        if np.isfinite(v) and np.isfinite(end) and end != v:
            lo, hi = sorted((v, end))
            text += f" ({lo:,.0f}-{hi:,.0f})"
        if np.isfinite(v) and cls not in ("", "nan", "None") and np.isfinite(u):
            text += f"\n{cls} {u:.0%} busy"
        ax.annotate(text, (xi, 0 if not np.isfinite(top) else top), ha="center",
                    va="bottom", fontsize="small", xytext=(0, 2), textcoords="offset points")
    if np.isfinite(ends).any():
        ax.legend(loc="lower right", fontsize="small")
    ax.set_xticks(x, names, rotation=30 if len(names) > 3 else 0,
                  ha="right" if len(names) > 3 else "center")
    ax.set_xlabel("configuration (best first)")
    ax.set_ylabel(ylab)
    ax.set_title(f"Capacity for SLO {slo_text}".strip())
    return fig


# --------------------------------------------------------------------------- results folders


@dataclass
class MadePlot:
    """One plot written by :func:`make_plots`.

    ``colours``: series name (a CNI mode, a proxy mode, a stage category...) -> the
    colour its artists were drawn in, read back from the figure
    (:func:`drawn_colours`); ``data``: further facts the plot index records (for
    ``latency_vs_load``, ``knee``: the knee of each group's p99 curve).
    """

    name: str
    title: str
    caption: str
    files: list[Path]
    colours: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

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

    def emit(name: str, title: str, caption: str, make: Callable[[], Figure],
             data: dict[str, Any] | None = None) -> None:
        try:
            fig = make()
        except (KeyError, ValueError, TypeError) as exc:  # a plot that cannot be drawn
            made.skipped.append((name, f"could not draw: {exc}"))
            return
        files = save_figure(fig, plot_dir / name, formats)
        made.made.append(MadePlot(name, title, caption, files, drawn_colours(fig),
                                  dict(data or {})))

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
        reps = replications_per_point(sub, [load, *([group] if group else [])])
        knees = load_knees(tag(sub), load, by)
        unit = _load_unit(load)
        found = [f"{g} {_knee_text(k, unit)}" for g, k in knees.items() if k is not None]
        missing = [g for g, k in knees.items() if k is None]
        knee_text = (" Stars and dotted lines: the knee of each p99 curve, the load where "
                     "Kleinrock's power (offered load / p99) is largest (Kleinrock 1979; "
                     "utilisation 0.5 for M/M/1)"
                     + (f": {', '.join(found)}" if found else "")
                     + (f"; not bracketed by the sweep for {', '.join(missing)}"
                        if missing else "") + ".")
        emit("latency_vs_load", "p50 and p99 latency vs offered load",
             f"p50 (dashed) and p99 (solid) latency against {key_label(load)}, per "
             f"CNI mode{_note(note)}; {_ci_note(confidence, reps)}.{knee_text}",
             lambda: latency_vs_load(tag(sub), load, by, confidence=confidence),
             data={"knee": {"load_key": load, "load_label": key_label(load),
                            "metric": "latency_p99_us", "by": by,
                            "definition": KNEE_DEFINITION, "by_group": knees}})

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
        reps = replications_per_point(sub, [key, *([group] if group else [])])
        emit(name, title, f"{title} per CNI mode{_note(note)}; {_ci_note(confidence, reps)}."
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
            reps = replications_per_point(sub, [group] if group else [])
            ci_text = (f" Whiskers and ± on the totals: {confidence:.0%} Student-t "
                       f"confidence interval of the per-run total (n = {reps} per bar)."
                       if reps >= 2 else " One replication: no confidence interval.")
            emit("latency_breakdown", "Latency breakdown by stage category",
                 f"Mean time per request spent in each stage category, per CNI mode"
                 f"{_note(note)}, averaged over replications; queueing is time waiting "
                 f"for a busy resource.{ci_text}",
                 lambda: latency_breakdown(tag(bd), by, confidence=confidence))

    # 5. CPU per 10 Gbit/s
    if not has_tput or not _has(frame, "cpu_cores_busy_max"):
        made.skipped.append(("cpu_per_10g", "needs throughput and CPU metrics"))
    else:
        sub, note = _slice(frame, keys, [group] if group else [], want_stream=True)
        tput = _numeric(sub, "throughput_gbps")
        if float(tput.max()) < 0.01:
            made.skipped.append(("cpu_per_10g", "throughput too small to scale to 10 Gbit/s"))
        else:
            reps = replications_per_point(sub, [group] if group else [])
            emit("cpu_per_10g", "CPU cores per 10 Gbit/s per CNI mode",
                 "Cores busy on the busiest node per 10 Gbit/s carried "
                 f"(cpu_cores_busy_max / throughput_gbps × 10){_note(note)}; "
                 f"{_ci_note(confidence, reps, 'bars', 'whiskers')}.",
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
        reps = replications_per_point(sub, [services, *([sgroup] if sgroup else [])])
        emit("services_scaling", "First-connection latency and requests/s vs Services",
             f"p50 first-connection latency and requests/s against the number of Services "
             f"(declared and generated), per proxy mode{_note(note)}; "
             f"{_ci_note(confidence, reps)}.",
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
        reps = replications_per_point(sub, [nodes, *([fgroup] if fgroup else [])])
        emit("failed_per_update", "Failed requests per rolling update vs cluster size",
             f"Failed requests divided by the rolling updates of each run, against cluster "
             f"size{_note(note)}; {_ci_note(confidence, reps)}.",
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
        reps = replications_per_point(sub, [hx, hy])
        ci_text = (f" Under each mean: ± the half-width of its {confidence:.0%} Student-t "
                   f"confidence interval (n = {reps} per cell)." if reps >= 2
                   else " One replication: no confidence interval.")
        emit("heatmap", f"{metric_label(metric)} by {hx} and {hy}",
             f"Mean {metric_label(metric)} over replications for each pair of {hx} and "
             f"{hy}{_note(note)}.{ci_text}",
             lambda: heatmap(sub, hx, hy, metric, confidence=confidence))

    # 9. the main metric against each swept dimension no other plot has on its x axis
    _plots_by_key(emit, made, manifest, frame, keys, confidence=confidence,
                  mode=mode, proxy=proxy, single=single)

    # 10. per-flow goodput, when the runs stored flows tables (folders without any, such
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

    # 11. capacity plan, when one was written here
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


_FAMILIES = {
    "latency": (("latency_p99_us", "latency_p50_us"), "request/response"),
    "throughput": (("throughput_gbps",), "stream"),
}
"""Main metrics of each kind of run: p99 (and p50) latency for request/response kinds
(rr, crr, http, callgraph), throughput for streams."""


def _run_kind_sets(manifest: Mapping[str, Any], frame: pd.DataFrame,
                   keys: Sequence[str]) -> list[frozenset[str]]:
    """Per row of ``frame``: the workload kinds its run ran
    (:func:`kperf.analysis.kinds.row_kinds`: the swept ``kind`` key, else the run's
    resolved spec, else the experiment's runs when they agree; else none)."""
    from kperf.analysis.kinds import row_kinds

    runs = manifest.get("runs") or {}
    specs = ([dict(r.get("spec") or {}) for r in runs.values() if isinstance(r, Mapping)]
             if isinstance(runs, Mapping) else [])
    if not specs:  # a folder without resolved run specs: the experiment's workloads
        exp = manifest.get("experiment") or {}
        if isinstance(exp, Mapping):
            wl = exp.get("workloads", exp.get("workload"))
            specs = [{"workloads": wl if isinstance(wl, list) else [wl]}] if wl else []
    kinds, _ = row_kinds(frame, keys, manifest, specs)
    return [frozenset(k for k in str(v).split("+") if k) for v in kinds]


def _family_frames(manifest: Mapping[str, Any], frame: pd.DataFrame,
                   keys: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The ``ok`` runs each main metric applies to: ``latency`` for runs with a
    request/response workload and a p99, ``throughput`` for runs with a stream and a
    positive throughput (runs of unknown kind: latency when they have one)."""
    kinds = _run_kind_sets(manifest, frame, keys)
    lat = (_numeric(frame, "latency_p99_us").notna() if "latency_p99_us" in frame
           else pd.Series(False, index=frame.index))
    tput = (_numeric(frame, "throughput_gbps").fillna(0.0) > 0 if "throughput_gbps" in frame
            else pd.Series(False, index=frame.index))
    rr = pd.Series([any(k != "stream" for k in ks) or not ks for ks in kinds],
                   index=frame.index)
    stream = pd.Series(["stream" in ks or (not ks and not bool(la))
                        for ks, la in zip(kinds, lat, strict=True)], index=frame.index)
    out = {"latency": frame[rr & lat], "throughput": frame[stream & tput]}
    return {name: sub for name, sub in out.items() if not sub.empty}


def plot_file_stem(key: str) -> str:
    """``by_<key>`` with the key's dots and other punctuation as underscores."""
    return "by_" + re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")


def _plots_by_key(emit: Callable[..., None], made: PlotSet, manifest: Mapping[str, Any],
                  frame: pd.DataFrame, keys: Sequence[str], *, confidence: float,
                  mode: str | None, proxy: str | None, single: str) -> None:
    """For every swept key with 2+ values that no plot made so far has on its x axis
    against the same main metric: a plot of that metric against it
    (:func:`metric_by_key`), one per key and kind of run, named ``by_<key>`` (with
    ``_latency`` / ``_throughput`` when the sweep has both kinds). Keys naming the
    workload kind are not plotted (their runs do not share a metric)."""
    names = {p.name for p in made.made}
    load = _first_key(keys, suffix="rate_per_s")
    services = _first_key(keys, ("cluster.extra_services",), contains="service")
    covered = {
        "latency": {k for k, plot in ((load, "latency_vs_load"),
                                      (services, "services_scaling"))
                    if k is not None and plot in names},
        "throughput": {k for k, plot in ((_first_key(keys, NODES_KEYS), "throughput_vs_nodes"),
                                         (_first_key(keys, suffix="streams"),
                                          "throughput_vs_streams"))
                       if k is not None and plot in names},
    }
    families = _family_frames(manifest, frame, keys)
    for family, fam in families.items():
        metrics, kind_text = _FAMILIES[family]
        for key in keys:
            if _is_kind_key(key) or key in covered[family] or _distinct(fam, key) < 2:
                continue
            name = plot_file_stem(key) + (f"_{family}" if len(families) > 1 else "")
            # lines or bars per CNI mode (else per proxy mode); none when the key is
            # the CNI: its bars are the modes, every other key held at one value
            group = None if key == mode else next(
                (g for g in (mode, proxy) if g is not None and g != key
                 and _distinct(fam, g) >= 2), None)
            sub, note = _slice(fam, keys, [key, *([group] if group else [])])
            data = sub.assign(mode=single) if mode is None else sub
            by = group or (mode if mode is not None else "mode")
            categorical = (key in (mode, proxy, "testbed")
                           or not pd.api.types.is_numeric_dtype(sub[key])
                           or pd.api.types.is_bool_dtype(sub[key]))
            reps = replications_per_point(sub, [key, *([group] if group else [])])
            per = (f", per {key_label(group)}" if group else
                   f" ({single})" if mode is None else "")
            ci = (_ci_note(confidence, reps, "bars and ticks" if family == "latency"
                           else "bars", "whiskers") if categorical
                  else _ci_note(confidence, reps))
            bound: float | None = None
            bound_label: str | None = None
            bound_note = ""
            if family == "latency":
                shape = ("p99 (bars) and p50 (black ticks)" if categorical
                         else "p99 (solid) and p50 (dashed)")
                what = f"{shape} latency of the {kind_text} runs"
                title = f"p99 and p50 latency by {key_label(key)}"
            else:
                bound, bound_label = _testbed_bound(manifest, sub)
                bound_note = (f" Dashed: {bound_label}, the goodput one TCP flow can reach."
                              if bound is not None else "")
                what = f"Throughput of the {kind_text} runs"
                title = f"Throughput by {key_label(key)}"
            emit(name, title,
                 f"{what} against {key}{per}{_note(note)}; "
                 f"{ci}.{bound_note}",
                 functools.partial(metric_by_key, data, key, metrics, by,
                                   categorical=categorical, confidence=confidence,
                                   title=title, bound_gbps=bound, bound_label=bound_label),
                 data={"x_key": key, "metrics": list(metrics)})


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _write_index(made: PlotSet) -> None:
    made.folder.mkdir(parents=True, exist_ok=True)
    index = {
        "made": [{"name": p.name, "title": p.title, "caption": p.caption,
                  "files": [f.name for f in p.files], "colours": p.colours, **p.data}
                 for p in made.made],
        "skipped": [{"name": n, "reason": why} for n, why in made.skipped],
    }
    (made.folder / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False)
                                           + "\n", encoding="utf-8")

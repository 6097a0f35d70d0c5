"""Every kperf figure: each function takes a table (a summary, samples, a breakdown,
flows or a capacity plan) and returns a :class:`matplotlib.figure.Figure`; the
knee of a latency-vs-load curve (:func:`knee_load`). Primitives (colours, axes,
legends) are in :mod:`kperf.analysis.plotbase`; :mod:`kperf.analysis.plots` picks
the figures that fit a results folder and re-exports them all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from kperf.analysis.aggregate import (
    DEFAULT_CONFIDENCE,
    metric_label,
    ok_rows,
    t_interval,
    with_derived,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from kperf.analysis.plotbase import (
    _PERCENTILE_STYLE,
    CATEGORY_ORDER,
    CNI_GROUP_KEYS,
    LOG_RATIO,
    _curve,
    _finite_positive,
    _groups,
    _label,
    _legend,
    _numeric,
    _require,
    category_colour,
    cni_colour,
    color,
    group_colour,
    key_label,
    new_figure,
    scale_axis,
    tag_series,
)

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
    for i, c in enumerate(cats):
        for patch in ax.bar(x, table[i], bottom=bottom, label=c,
                            color=category_colour(c) or color(i), width=0.6):
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

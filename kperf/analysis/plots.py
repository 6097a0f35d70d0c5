"""Plots of experiment results: every function takes a table and returns a Figure.

(The figures live in :mod:`kperf.analysis.figures` and their primitives in
:mod:`kperf.analysis.plotbase`; this module re-exports both, so
``kperf.analysis.plots.latency_vs_load`` and the others keep their names.)

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
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kperf.analysis.aggregate import (
    DEFAULT_CONFIDENCE,
    metric_label,
    ok_rows,
    sweep_keys_of,
)
from kperf.analysis.figures import (
    KNEE_DEFINITION,
    _knee_text,
    _load_unit,
    capacity_chart,
    config_labels,
    cpu_per_10g,
    failed_per_update,
    flow_goodput,
    heatmap,
    knee_load,
    latency_breakdown,
    latency_cdf,
    latency_vs_load,
    load_knees,
    metric_by_key,
    metric_vs,
    services_scaling,
    significant,
    throughput_vs_cluster_size,
    throughput_vs_streams,
)
from kperf.analysis.planfile import read_plan
from kperf.analysis.plotbase import (
    CATEGORY_ORDER,
    CNI_GROUP_KEYS,
    LOG_RATIO,
    MODE_KEYS,
    NODES_KEYS,
    PROXY_KEYS,
    _ci_note,
    _label,
    _numeric,
    auto_log,
    cni_colour,
    cni_colours,
    color,
    drawn_colours,
    group_colour,
    key_label,
    log_label,
    new_figure,
    replications_per_point,
    save_figure,
    scale_axis,
    single_flow_bound_gbps,
    tag_series,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CATEGORY_ORDER",
    "CNI_GROUP_KEYS",
    "KNEE_DEFINITION",
    "LOG_RATIO",
    "MODE_KEYS",
    "NODES_KEYS",
    "PROXY_KEYS",
    "MadePlot",
    "PlotSet",
    "auto_log",
    "capacity_chart",
    "cni_colour",
    "cni_colours",
    "color",
    "config_labels",
    "cpu_per_10g",
    "drawn_colours",
    "failed_per_update",
    "flow_goodput",
    "group_colour",
    "heatmap",
    "key_label",
    "knee_load",
    "latency_breakdown",
    "latency_cdf",
    "latency_vs_load",
    "load_knees",
    "log_label",
    "make_plots",
    "metric_by_key",
    "metric_vs",
    "new_figure",
    "plot_file_stem",
    "replications_per_point",
    "save_figure",
    "scale_axis",
    "services_scaling",
    "significant",
    "single_flow_bound_gbps",
    "tag_series",
    "throughput_vs_cluster_size",
    "throughput_vs_streams",
]

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
    from kperf.analysis.kinds import row_kinds, run_specs

    specs = run_specs(manifest)
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

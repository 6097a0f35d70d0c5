"""Reports: ``report.md`` and a self-contained ``report.html`` for a results folder.

A report answers, on one page, what a platform engineer would otherwise dig out of
tables. It opens with the Answer: the experiment's ``question:``, then sentences
computed from the summary (per workload kind, the best configuration on the main
metric and its margin over the worst; per other swept key, the largest change it
makes to any figure) and, with a ``baseline:``, every configuration's main metrics as
% overhead against the baseline. Then: what was simulated, which configuration did
best (with confidence intervals), how the flows shared the network (when the runs
stored flows tables: goodput, Jain's fairness index, retransmits, completion times),
the plots, the capacity-planning answer when ``kperf plan`` wrote one into the folder, what the
numbers rest on (which CNI profiles are calibrated against published measurements
and which are estimated, with every source), and how to reproduce it.

The report is built once as a small document model (sections of paragraphs,
tables, images and code) and rendered twice: Markdown (images referenced as
``plots/*.png``) and HTML (images embedded as base64 ``data:`` URIs, styles inline,
no scripts and no external resources, so the file can be mailed or archived and
opened offline). Every name and value that comes from a user file is escaped with
:func:`html.escape` in the HTML and neutralised in the Markdown.

``kperf report DIR`` and ``kperf run`` (at the end of a sweep) call
:func:`write_report`; :func:`report_hook` is the runner's post-run hook form.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kperf.analysis.aggregate import (
    DEFAULT_CONFIDENCE,
    aggregate,
    format_ci,
    metric_label,
    ok_rows,
    sweep_keys_of,
    t_interval,
)
from kperf.analysis.document import (
    Document,
    Section,
    to_html,
    to_markdown,
)
from kperf.analysis.kinds import MIN_THROUGHPUT_GBPS, distinct, row_kinds, run_specs
from kperf.analysis.kinds import kind_class as _kind_class
from kperf.analysis.kinds import kind_title as _kind_title
from kperf.analysis.kinds import metric_applies as _metric_applies
from kperf.analysis.markdown import cell_text
from kperf.analysis.mesh_answer import mesh_sentences

SECTIONS = (
    "Answer",
    "What was simulated",
    "Key findings",
    "Plots",
    "Capacity planning",
    "Assumptions and provenance",
    "How to reproduce",
)
"""The report's sections, in order (every report has all of them)."""

FLOWS_SECTION = "Flows"
"""A section only reports of folders whose runs stored flows tables
(``runs/<id>.flows.parquet``) have; it comes right after Key findings."""

MAX_TABLE_ROWS = 25

MODEL_ASSUMPTIONS = (
    "kperf is a discrete-event model: contended resources (node CPU cores doing packet "
    "processing, NIC transmit queues, links, application worker pools) are queues; "
    "everything uncontended is a fixed delay.",
    "It does not model TCP congestion control dynamics or loss recovery in detail, NIC "
    "driver internals, interrupt moderation or NUMA effects. Its answers are calibrated "
    "estimates for comparing designs and sizing clusters, not measurements.",
    "CPU costs are per message, per segment (a GSO/GRO super-packet when offloads survive "
    "the encapsulation), per wire packet and per byte, in microseconds of a reference "
    "core divided by the testbed's CPU speed factor.",
    "Replications use independent random streams of one experiment seed; ± values are "
    "half-widths of the 95 % Student-t confidence interval of the mean across "
    "replications (none with a single replication). Failed runs are left out.",
)


# --------------------------------------------------------------------------- content


@dataclass
class _Source:
    """What a report is about: a results folder (manifest, summary) and/or a plan."""

    folder: Path
    results: Any | None
    plan: Any | None
    run_specs: list[dict[str, Any]]
    experiment: dict[str, Any]

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.results.manifest) if self.results is not None else {}

    @property
    def name(self) -> str:
        if self.results is not None:
            return str(self.manifest.get("name", self.folder.name))
        if self.plan is not None:
            return str(self.plan.meta.get("experiment_name", self.folder.name))
        return self.folder.name


def _load_source(folder: Path) -> _Source:
    from kperf.analysis.capacity import load_plan
    from kperf.errors import SpecError
    from kperf.experiments.results import load_results

    plan = load_plan(folder)
    results = None
    if (folder / "manifest.json").exists():
        results = load_results(folder)
    elif plan is None:
        raise SpecError(str(folder), str(folder), "no kperf results here (neither "
                        "manifest.json from kperf run nor plan.json from kperf plan)")
    if results is not None:
        manifest = results.manifest
        specs = run_specs(manifest)
        experiment = dict(manifest.get("experiment", {}))
    else:
        experiment = dict(plan.meta.get("experiment", {})) if plan is not None else {}
        specs = _specs_from_experiment(experiment)
    return _Source(folder, results, plan, specs, experiment)


def _specs_from_experiment(experiment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Resolved run specs of an experiment (no simulation), for a plan-only folder."""
    from kperf.experiments.expand import expand
    from kperf.spec.experiment import load_experiment

    try:
        return [r.spec for r in expand(load_experiment(dict(experiment)))]
    except Exception:  # a report should not fail on an experiment kperf no longer accepts
        return []


def _describe_workload(w: Mapping[str, Any]) -> str:
    kind = str(w.get("kind", "?"))
    names = {"rr": "request/response (netperf TCP_RR)",
             "crr": "connect-request-response (netperf TCP_CRR)",
             "stream": "bulk stream (iperf3)", "http": "open-loop HTTP",
             "callgraph": "fan-out call graph"}
    parts = [f"{w.get('name') or kind}: {names.get(kind, kind)}",
             f"{w.get('clients', 'client')} → {w.get('target', 'server')}"]
    if kind in ("rr", "crr"):
        parts.append(f"{w.get('request_bytes')} B request / {w.get('response_bytes')} B response")
        if w.get("rate_per_s") is not None:
            parts.append(f"open loop {float(w['rate_per_s']):,.0f} req/s per client")
        else:
            parts.append(f"closed loop, {w.get('outstanding', 1)} outstanding")
    elif kind == "stream":
        parts.append(f"{str(w.get('protocol', 'tcp')).upper()}, {w.get('streams', 1)} "
                     f"stream(s) per client")
    elif kind in ("http", "callgraph"):
        parts.append(f"{float(w.get('rate_per_s') or 0):,.0f} req/s per client")
        svc = w.get("service_us")
        if isinstance(svc, Mapping):
            parts.append(f"service time {svc.get('dist')} mean {svc.get('mean')} µs")
    parts.append(f"{w.get('duration_s')} s measured after {w.get('warmup_s')} s warm-up")
    return "; ".join(str(p) for p in parts)


def _section_simulated(src: _Source) -> Section:
    from kperf.profiles import CNI_PROFILES

    s = Section(SECTIONS[1])
    exp = src.experiment
    desc = str(exp.get("description") or src.manifest.get("description") or "").strip()
    s.p(f"Experiment {src.name}" + (f": {desc}" if desc else "."))
    specs = src.run_specs
    testbeds = distinct(sp.get("testbed", {}) for sp in specs)
    clusters = [sp.get("cluster", {}) for sp in specs]
    rows: list[list[str]] = []
    for tb in testbeds:
        rows.append(["testbed", f"{tb.get('name')}: {tb.get('nic_rate_gbps')} Gbit/s NIC, "
                     f"MTU {tb.get('mtu_bytes')}, {tb.get('cores_per_node')} cores per node, "
                     f"CPU speed factor {tb.get('cpu_speed_factor')}"
                     + (f" — {tb.get('description')}" if tb.get("description") else "")])
    nodes = sorted({int(c.get("nodes")) if isinstance(c.get("nodes"), int) else
                    len(c.get("nodes") or []) for c in clusters})
    if nodes:
        rows.append(["cluster size (nodes)", ", ".join(str(n) for n in nodes)])
    for cni in distinct(c.get("cni") for c in clusters):
        prof = CNI_PROFILES.get(str(cni))
        detail = (f"{prof.plugin} {prof.mode}: {prof.routing} routing, encapsulation "
                  f"{prof.encapsulation}" if prof is not None else "unknown to this kperf")
        rows.append(["CNI mode", f"{cni} ({detail})"])
    proxies = distinct(c.get("proxy") for c in clusters)
    if proxies:
        rows.append(["proxy mode(s)", ", ".join(str(p) for p in proxies)])
    if clusters:
        deps = distinct((d.get("name"), d.get("replicas"), d.get("placement"),
                          d.get("app_workers")) for c in clusters
                         for d in c.get("deployments", []))
        for name, reps, place, workers in deps[:12]:
            rows.append(["deployment", f"{name}: {reps} replica(s), placement {place}, "
                         f"{workers} app workers per pod"])
        n_svc = sorted({len(c.get("services", [])) for c in clusters})
        rows.append(["Services", ", ".join(str(n) for n in n_svc)])
    for w in distinct(w for sp in specs for w in sp.get("workloads", []))[:8]:
        rows.append(["workload", _describe_workload(w)])
    sweep = exp.get("sweep") or {}
    for key, values in sweep.items():
        rows.append([f"sweep {key}", ", ".join(cell_text(v) for v in values)])
    rows.append(["replications", cell_text(exp.get("replications", 1))])
    rows.append(["experiment seed", cell_text(exp.get("seed", 0))])
    if src.results is not None:
        m = src.manifest
        counts = m.get("counts") or {}
        total = len(m.get("runs", {}))
        rows.append(["runs", f"{total} ({counts.get('ok', '?')} ok, "
                     f"{counts.get('failed', '?')} failed, {counts.get('not_run', '?')} "
                     "not run)"])
        rows.append(["simulated", f"{m.get('started_at', '?')} to {m.get('finished_at', '?')} "
                     f"with kperf {m.get('kperf_version', '?')}"])
    s.table(["what", "value"], rows)
    return s


_FINDING_METRICS = (
    ("latency_p50_us", "p50 (µs)", "{:,.1f}"),
    ("latency_p99_us", "p99 (µs)", "{:,.1f}"),
    ("throughput_gbps", "throughput (Gbit/s)", "{:,.3g}"),
    ("streams", "streams", "{:,.0f}"),
    ("throughput_per_stream_gbps", "per stream (Gbit/s)", "{:,.3g}"),
    ("throughput_per_client_gbps", "per client (Gbit/s)", "{:,.3g}"),
    ("requests_per_s", "requests/s", "{:,.0f}"),
    ("failed", "failed", "{:,.1f}"),
)

def _kinds_of_rows(summary: pd.DataFrame, keys: Sequence[str],
                   src: _Source) -> tuple[pd.Series, str | None]:
    return row_kinds(summary, keys, src.manifest, src.run_specs)


def _per_stream_text(row: Any) -> str:
    """`` in total: 2 streams from 2 clients, 9.91 Gbit/s per stream`` for a ranking
    row (aggregated means), or ``""`` when it has no streams."""
    streams = _finite(row.get("streams_mean"))
    per = _finite(row.get("throughput_per_stream_gbps_mean"))
    if not streams or per is None:
        return ""
    clients = _finite(row.get("stream_clients_mean"))
    who = f" from {clients:,.0f} client pods" if clients and clients > 1 else ""
    return (f" in total: {streams:,.0f} streams{who}, {per:,.3g} Gbit/s per stream"
            if streams > 1 else "")


def _sweep_rows(src: _Source, s: Section
                ) -> tuple[pd.DataFrame, list[str], pd.DataFrame] | None:
    """The summary, its swept keys and its rows of runs that finished ok; None (said
    in ``s``) for a folder that holds a capacity plan only."""
    if src.results is None:
        s.p("This folder holds a capacity plan only (no kperf run sweep); see Capacity "
            "planning.")
        return None
    summary = _with_stream_shares(src.results.summary, src)
    return summary, sweep_keys_of(summary, src.manifest), ok_rows(summary)


def _with_stream_shares(summary: pd.DataFrame, src: _Source) -> pd.DataFrame:
    """The summary with the per-stream and per-client throughput columns
    (:func:`kperf.metrics.fairness.stream_shares`); a folder written before runs
    stored them gets them from its runs' flows tables (left out when it has none)."""
    from kperf.metrics.fairness import STREAM_SHARE_KEYS, stream_shares

    if set(STREAM_SHARE_KEYS) <= set(summary.columns) or "run_id" not in summary.columns:
        return summary
    flows = _flow_table(src)
    if flows.empty or not {"run_id", "client", "size_bytes"} <= set(flows.columns):
        return summary
    bulk = flows[pd.to_numeric(flows["size_bytes"], errors="coerce") == 0]
    shares = {str(run): stream_shares(part["client"], part["goodput_gbps"])
              for run, part in bulk.groupby("run_id", sort=False)}
    out = summary.copy()
    for key in STREAM_SHARE_KEYS:
        if key not in out.columns:
            out[key] = [shares.get(str(r), {}).get(key, math.nan)
                        for r in out["run_id"].astype(str)]
    return out


def _section_findings(src: _Source, confidence: float) -> Section:
    s = Section(SECTIONS[2])
    rows = _sweep_rows(src, s)
    if rows is None:
        return s
    summary, keys, ok = rows
    n_failed = len(summary) - len(ok)
    if ok.empty:
        s.p("No run finished ok, so there is nothing to rank.")
        _failed_runs(s, summary)
        return s
    metrics = [m for m, _, _ in _FINDING_METRICS
               if m in ok.columns and pd.to_numeric(ok[m], errors="coerce").notna().any()]
    kinds, kind_key = _kinds_of_rows(summary, keys, src)
    by = list(keys) if kind_key is not None else [*keys, "_kind"]
    extra = ["stream_clients"] if "streams" in metrics and "stream_clients" in ok.columns \
        else []
    agg = aggregate(summary.assign(_kind=kinds), by=by, metrics=metrics + extra,
                    confidence=confidence)
    if kind_key is not None:
        agg["_kind"] = agg[kind_key].astype(str)
    reps = int(agg["n"].max()) if len(agg) else 0
    kind_groups = list(dict.fromkeys(agg["_kind"].astype(str)))
    several = len(kind_groups) > 1
    s.p(f"Each row is one configuration: the mean over its ok replications (n) ± the "
        f"half-width of the {confidence:.0%} Student-t confidence interval"
        + (" (one replication: no interval)." if reps < 2 else ".")
        + (" One table per workload kind, with the metrics that apply to it: latency, "
           "requests/s and failed requests for request/response kinds (rr, crr, http, "
           "callgraph), throughput for streams (and for request/response kinds only when "
           f"it reaches {MIN_THROUGHPUT_GBPS:g} Gbit/s)." if several else ""))
    config = list(keys)

    def label(row: Any) -> str:
        return ", ".join(f"{k}={cell_text(row[k])}" for k in config) if config else src.name

    def mean_of(frame: pd.DataFrame, m: str) -> pd.Series:
        return pd.to_numeric(frame[f"{m}_mean"], errors="coerce")

    def applicable(frame: pd.DataFrame, kind: str) -> list[str]:
        tmax = mean_of(frame, "throughput_gbps").max() if "throughput_gbps" in metrics \
            else math.nan
        tmax = float(tmax) if pd.notna(tmax) else 0.0
        return [m for m in metrics if _metric_applies(m, kind, tmax)
                and mean_of(frame, m).notna().any()]

    def table(frame: pd.DataFrame, shown: list[str], order_by: str, ascending: bool) -> None:
        work = frame.assign(_key=mean_of(frame, order_by))
        sort_cols, orders = ["_key"], [ascending]
        if order_by != "requests_per_s" and "requests_per_s" in shown:
            work = work.assign(_rps=mean_of(frame, "requests_per_s"))
            sort_cols, orders = ["_key", "_rps"], [ascending, False]
        work = work.sort_values(sort_cols, ascending=orders, na_position="last",
                                kind="stable")
        headers = ["rank", *config, "n", *(h for m, h, _ in _FINDING_METRICS if m in shown)]
        rows = []
        for rank, r in enumerate(work.head(MAX_TABLE_ROWS).to_dict("records"), start=1):
            cells = [str(rank), *(cell_text(r[k]) for k in config), str(r["n"])]
            for m, _, fmt in _FINDING_METRICS:
                if m in shown:
                    mean = r[f"{m}_mean"]
                    low, high = r[f"{m}_ci_low"], r[f"{m}_ci_high"]
                    if m == "streams" and not high > low:  # a count that never varies
                        low = high = math.nan
                    cells.append("" if mean is None or pd.isna(mean) else
                                 format_ci(mean, low, high, fmt))
            rows.append(cells)
        s.table(headers, rows)
        if len(work) > MAX_TABLE_ROWS:
            s.p(f"... {len(work) - MAX_TABLE_ROWS} more configurations in summary.csv.")

    plan: list[tuple[str, str, pd.DataFrame, list[str]]] = []
    highlights = []
    for kind in kind_groups:
        frame = agg[agg["_kind"].astype(str) == kind].reset_index(drop=True)
        shown = applicable(frame, kind)
        plan.append((kind, _kind_title(kind), frame, shown))
        suffix = f", {_kind_title(kind)}" if several else ""
        if "latency_p99_us" in shown:
            best = frame.iloc[int(np.nanargmin(mean_of(frame, "latency_p99_us")
                                               .to_numpy(float)))]
            highlights.append(f"Lowest p99 latency{suffix}: {label(best)} — "
                              f"{format_ci(best['latency_p99_us_mean'], best['latency_p99_us_ci_low'], best['latency_p99_us_ci_high'])} µs.")  # noqa: E501
        if "throughput_gbps" in shown:
            best = frame.iloc[int(np.nanargmax(mean_of(frame, "throughput_gbps")
                                               .to_numpy(float)))]
            highlights.append(f"Highest throughput{suffix}: {label(best)} — "
                              f"{format_ci(best['throughput_gbps_mean'], best['throughput_gbps_ci_low'], best['throughput_gbps_ci_high'], '{:,.3g}')} Gbit/s"  # noqa: E501
                              f"{_per_stream_text(best) if 'streams' in shown else ''}.")
    if n_failed:
        highlights.append(f"{n_failed} run(s) failed and are left out (see below).")
    s.bullets(highlights)
    for _kind, title, frame, shown in plan:
        suffix = f": {title}" if several else ""
        if "latency_p99_us" in shown:
            s.h3(f"Configurations ranked by p99 latency (lowest first){suffix}")
            table(frame, shown, "latency_p99_us", ascending=True)
        if "throughput_gbps" in shown:
            s.h3(f"Configurations ranked by throughput (highest first){suffix}")
            table(frame, shown, "throughput_gbps", ascending=False)
        if "latency_p99_us" not in shown and "throughput_gbps" not in shown and shown:
            s.h3(f"Configurations by {metric_label(shown[0])}{suffix}")
            table(frame, shown, shown[0], ascending=True)
    _failed_runs(s, summary)
    return s


# --------------------------------------------------------------------------- answer

ANSWER_FIGURES: dict[str, tuple[str, ...]] = {
    "request": ("latency_p50_us", "latency_p99_us", "requests_per_s"),
    "stream": ("throughput_gbps",),
    "other": ("latency_p50_us", "latency_p99_us", "requests_per_s", "throughput_gbps"),
}
"""The figures the Answer compares, by workload class (request/response kinds, bulk
streams, mixed or unknown kinds)."""

NEGLIGIBLE_PCT = 0.1
"""A swept key whose largest relative change of any figure stays at or below this
(in %) "changes no figure by more than 0.1 %"."""

_ANSWER_UNITS = {"latency_p50_us": ("p50 latency", "{:,.1f} µs"),
                 "latency_p99_us": ("p99 latency", "{:,.1f} µs"),
                 "requests_per_s": ("requests/s", "{:,.0f} requests/s"),
                 "throughput_gbps": ("throughput", "{:,.3g} Gbit/s")}


def main_metric(kinds: str) -> tuple[str, bool]:
    """The main metric of a workload kind and whether lower is better: p99 latency for
    request/response kinds, throughput for streams."""
    if _kind_class(kinds) == "stream":
        return "throughput_gbps", False
    return "latency_p99_us", True


def overhead_pct(metric: str, value: float, base: float) -> float:
    """``value``'s overhead against ``base`` in %: how much higher a latency, or how
    much lower a throughput or rate (positive: worse than the baseline)."""
    if metric.startswith("latency"):
        return (value - base) / base * 100
    return (base - value) / base * 100


def _same_value(a: Any, b: Any) -> bool:
    from kperf.spec.experiment import canonical_json

    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return bool(float(a) == float(b))
    return canonical_json(a) == canonical_json(b)


def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _knee_sentence(plots: Any) -> str | None:
    """The knee of each p99-vs-load curve (from the latency_vs_load plot's index
    entry), lowest first, as one sentence; None without one."""
    plot = next((p for p in (plots.made if plots is not None else [])
                 if p.name == "latency_vs_load"), None)
    knee = plot.data.get("knee") if plot is not None else None
    if not isinstance(knee, Mapping) or not isinstance(knee.get("by_group"), Mapping):
        return None
    found = {str(g): float(v) for g, v in knee["by_group"].items()
             if isinstance(v, (int, float)) and math.isfinite(v)}
    missing = [str(g) for g, v in knee["by_group"].items() if str(g) not in found]
    if not found:
        return None
    ranked = sorted(found.items(), key=lambda kv: kv[1])
    text = ", ".join(f"{g} at {float(f'{v:.3g}'):,.0f}" for g, v in ranked)
    unit = str(knee.get("load_label") or knee.get("load_key") or "offered load")
    out = (f"Knee of the p99 curve (the load where load / p99, Kleinrock's power, peaks; "
           f"past it queues build and p99 grows fast), {unit}: {text}.")
    if len(ranked) > 1:
        out += (f" {ranked[-1][0]} keeps p99 flat to "
                f"{ranked[-1][1] / ranked[0][1]:.2f}x the load of {ranked[0][0]}.")
    if missing:
        out += (f" No knee inside the swept loads for {', '.join(missing)} (sweep "
                "further to find it).")
    return out


def _section_answer(src: _Source, confidence: float, plots: Any = None) -> Section:
    """The question, sentences answering it from the summary, and the overhead
    table against the ``baseline:`` configuration."""
    s = Section(SECTIONS[0])
    question = str(src.experiment.get("question") or "").strip()
    if question:
        s.p(f"Question: {question}")
    rows = _sweep_rows(src, s)
    if rows is None:
        return s
    summary, keys, ok = rows
    metrics = [m for m in _ANSWER_UNITS if m in ok.columns
               and pd.to_numeric(ok[m], errors="coerce").notna().any()]
    if ok.empty or not metrics:
        s.p("No run finished ok, so there is no answer to compute.")
        return s
    kinds, kind_key = _kinds_of_rows(summary, keys, src)
    by = list(keys) if kind_key is not None else [*keys, "_kind"]
    shares = [m for m in ("streams", "stream_clients", "throughput_per_stream_gbps",
                          "entry_node_imbalance", "endpoint_imbalance", "off_node_share")
              if m in ok.columns and pd.to_numeric(ok[m], errors="coerce").notna().any()]
    balance = "entry_node_imbalance" in shares
    if balance and {"failed", "completed"} <= set(summary.columns):
        done = pd.to_numeric(summary["completed"], errors="coerce").fillna(0)
        bad = pd.to_numeric(summary["failed"], errors="coerce").fillna(0)
        summary = summary.assign(failed_share=(bad / (bad + done)).where(bad + done > 0))
        shares.append("failed_share")
    agg = aggregate(summary.assign(_kind=kinds), by=by, metrics=metrics + shares,
                    confidence=confidence)
    agg = agg[agg["n"] > 0].reset_index(drop=True)
    if kind_key is not None:
        agg["_kind"] = agg[kind_key].astype(str)
    config = [k for k in keys if k != kind_key]
    kind_groups = list(dict.fromkeys(agg["_kind"].astype(str)))

    def label(row: Any, only: Sequence[str] | None = None) -> str:
        shown = [k for k in config if only is None or k in only]
        return ", ".join(f"{k}={cell_text(row[k])}" for k in shown) or src.name

    def value_text(metric: str, value: float, row: Any = None) -> str:
        text = _ANSWER_UNITS[metric][1].format(value)
        per = _per_stream_text(row) if row is not None and metric == "throughput_gbps" \
            else ""
        return f"{text} ({per.removeprefix(' in total: ')})" if per else text

    sentences: list[str] = []
    # An offered-load key compares configurations at one load (the lightest): the best
    # CNI at 20,000 requests/s against the worst at 200,000 says nothing.
    loads = [k for k in config if k.rsplit(".", 1)[-1] == "rate_per_s"
             and pd.to_numeric(agg[k], errors="coerce").notna().all()]
    for kind in kind_groups:
        frame = agg[agg["_kind"].astype(str) == kind].reset_index(drop=True)
        at_load = ""
        for k in loads:
            lightest = pd.to_numeric(frame[k], errors="coerce").min()
            frame = frame[pd.to_numeric(frame[k], errors="coerce") == lightest]
            at_load += f", at the lightest load ({k}={cell_text(lightest)})"
        # with the host network as the baseline (a reference, not a contender), rank
        # the configurations through the CNI against each other; the overhead table
        # below compares each with the host network
        base = src.experiment.get("baseline")
        if isinstance(base, Mapping) and base and all(k in frame.columns for k in base) \
                and any(k.rsplit(".", 1)[-1] == "network" and v == "host"
                        for k, v in base.items()):
            is_base = np.logical_and.reduce([
                frame[k].map(lambda v, want=want: _same_value(v, want)).to_numpy(bool)
                for k, want in base.items()])
            if (~is_base).sum() >= 2:
                frame = frame[~is_base]
                at_load += " (through the CNI; the host-network baseline aside)"
        frame = frame.reset_index(drop=True)
        metric, lower = main_metric(kind)
        col = f"{metric}_mean"
        if col not in frame.columns:
            continue
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
        if not np.isfinite(values).any():
            continue
        name = _ANSWER_UNITS[metric][0]
        what = f"{_kind_title(kind)}{at_load}: " if kind or at_load else ""
        best_i = int(np.nanargmin(values) if lower else np.nanargmax(values))
        worst_i = int(np.nanargmax(values) if lower else np.nanargmin(values))
        best, worst = frame.iloc[best_i], frame.iloc[worst_i]
        b, w = float(values[best_i]), float(values[worst_i])
        if len(frame) < 2 or best_i == worst_i or b == w:
            who = ("every configuration has" if len(frame) > 1 else
                   f"{label(best, [k for k in config if k not in loads])} has")
            sentences.append(f"{what}{who} {name} {value_text(metric, b)}.")
            continue
        differ = [k for k in config if not _same_value(best[k], worst[k])]
        if lower:
            pct = (w - b) / w * 100
            rel = f"{pct:.1f} % below"
        else:
            pct = (b - w) / w * 100 if w > 0 else math.inf
            rel = f"{pct:.1f} % above"
        sentences.append(f"{what}{label(best, [k for k in config if k not in loads])} has "
                         f"the {'lowest' if lower else 'highest'} "
                         f"{name}, {value_text(metric, b, best)}, {rel} "
                         f"{label(worst, differ)} ({value_text(metric, w)}).")
    for key in config:
        fixed = [*(k for k in config if k != key), "_kind"]
        sentences.append(_dimension_sentence(agg, key, fixed, metrics, value_text))
        trade = _tradeoff_sentence(agg, key, fixed) if balance else None
        if trade is not None:
            sentences.append(trade)
    sentences += mesh_sentences(ok, config)
    knee = _knee_sentence(plots)
    if knee is not None:
        sentences.append(knee)
    s.bullets(sentences)
    baseline = src.experiment.get("baseline")
    if isinstance(baseline, Mapping) and baseline and config:
        _overhead_tables(s, agg, config, kind_groups, dict(baseline), label)
    elif keys:
        s.p("Add baseline: (a swept key and value, e.g. {cluster.cni: calico-bgp}) to the "
            "experiment file to see every configuration's overhead against it.")
    return s


TRADEOFF_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("latency_p50_us", "p50 latency", "{:,.1f} µs"),
    ("latency_p99_us", "p99 latency", "{:,.1f} µs"),
    ("entry_node_imbalance", "entry-node imbalance (max/mean)", "{:,.2f}"),
    ("endpoint_imbalance", "endpoint imbalance (max/mean)", "{:,.2f}"),
    ("off_node_share", "share served off the entry node", "{:.0%}"),
    ("failed_share", "failed requests", "{:.1%}"),
)
"""The figures of a trade-off sentence (:func:`_tradeoff_sentence`): latency against
how evenly the load spreads and what fails (traffic from outside the cluster)."""


def _tradeoff_sentence(agg: pd.DataFrame, key: str, fixed: list[str]) -> str | None:
    """For a swept key with two values ``a`` and ``b``: each trade-off figure's median
    over the configurations of the other keys with ``a`` and with ``b``, and the
    largest with ``b`` when it differs from the median — e.g. Cluster against Local:
    lower latency bought with uneven load and, for NodePort clients, failures."""
    values = distinct(agg[key].tolist())
    if len(values) != 2:
        return None
    a, b = values
    other = [k for k in fixed if k != "_kind"]
    pairs = []
    for _, sub in (agg.groupby(other, sort=False, dropna=False) if other else [((), agg)]):
        rows = {str(cell_text(v)): r for v, r in zip(sub[key], sub.to_dict("records"),
                                                     strict=True)}
        if str(cell_text(a)) in rows and str(cell_text(b)) in rows:
            pairs.append((rows[str(cell_text(a))], rows[str(cell_text(b))]))
    parts = []
    for m, name, fmt in TRADEOFF_FIGURES:
        col = f"{m}_mean"
        got: list[tuple[float, float]] = []
        for x, y in pairs:
            fx, fy = _finite(x.get(col)), _finite(y.get(col))
            if fx is not None and fy is not None:
                got.append((fx, fy))
        if not got:
            continue
        xa = float(np.median([x for x, _ in got]))
        ya = [y for _, y in got]
        yb = float(np.median(ya))
        text = f"{name} {fmt.format(xa)} -> {fmt.format(yb)}"
        if fmt.format(max(ya)) != fmt.format(yb):
            text += f" (up to {fmt.format(max(ya))})"
        parts.append(text)
    if not pairs or len(parts) < 2:
        return None
    return (f"{key} {cell_text(a)} -> {cell_text(b)}, medians over the {len(pairs)} "
            f"configurations of the other keys: {'; '.join(parts)}.")


def _dimension_sentence(agg: pd.DataFrame, key: str, fixed: list[str], metrics: list[str],
                        value_text: Any) -> str:
    """The largest relative change of any figure across ``key``'s values, the other
    swept keys (``fixed``) held; the change is (max - min) / min of the figure."""
    values = distinct(agg[key].tolist())
    span = (" to ".join if len(values) == 2 else ", ".join)(cell_text(v) for v in values)
    going = f"Going {'from' if len(values) == 2 else 'across'} {key} {span}"
    largest: tuple[float, str, str, Any, Any, Any, Any] | None = None
    groups = list(agg.groupby(fixed, sort=False, dropna=False)) if fixed else [((), agg)]
    for group_key, sub in groups:
        if len(sub) < 2:
            continue
        kind = str(sub["_kind"].iloc[0])
        for m in ANSWER_FIGURES[_kind_class(kind)]:
            if m not in metrics:
                continue
            col = pd.to_numeric(sub[f"{m}_mean"], errors="coerce")
            if col.isna().any() or (col <= 0).any():
                continue
            lo_i, hi_i = int(col.to_numpy(float).argmin()), int(col.to_numpy(float).argmax())
            if lo_i == hi_i:  # all equal: name two different values
                hi_i = 1 if lo_i == 0 else 0
            lo, hi = float(col.iloc[lo_i]), float(col.iloc[hi_i])
            pct = (hi - lo) / lo * 100
            if largest is None or pct > largest[0]:
                where = ", ".join(f"{k}={cell_text(v)}" for k, v in
                                  zip(fixed, group_key if isinstance(group_key, tuple)
                                      else (group_key,), strict=True) if k != "_kind")
                what = f"{kind} workloads" if kind else "the workloads"
                largest = (pct, m, what + (f" at {where}" if where else ""),
                           sub[key].iloc[lo_i], lo, sub[key].iloc[hi_i], hi)
    if largest is None:
        return f"{going}: no figure can be compared (no pair of finite, positive values)."
    pct, m, where, v_lo, lo, v_hi, hi = largest
    detail = (f"{_ANSWER_UNITS[m][0]} of {where}: {value_text(m, lo)} with {key}="
              f"{cell_text(v_lo)}, {value_text(m, hi)} with {key}={cell_text(v_hi)}")
    if pct <= NEGLIGIBLE_PCT:
        return (f"{going} changes no figure by more than {NEGLIGIBLE_PCT:g} % (the other "
                f"swept keys fixed; largest change {pct:.2f} %, {detail}).")
    return (f"{going} changes a figure by up to {pct:.1f} % (the other swept keys fixed; "
            f"{detail}).")


def _overhead_tables(s: Section, agg: pd.DataFrame, config: list[str], kind_groups: list[str],
                     baseline: dict[str, Any], label: Any) -> None:
    """Per workload kind, every configuration's main metrics as absolute values and as
    % overhead against its baseline configuration (the configuration with the
    baseline's values and its own values of the other swept keys)."""
    base_keys = [k for k in config if k in baseline]
    s.h3("Overhead against the baseline: " + ", ".join(f"{k}={cell_text(baseline[k])}"
                                                       for k in base_keys))
    s.p("Overhead: how much higher a latency, or lower a throughput, than the baseline "
        "configuration with the same workload kind and the same values of the other "
        "swept keys, in % of the baseline (0 % for the baseline itself; negative: "
        "better than the baseline).")
    for kind in kind_groups:
        frame = agg[agg["_kind"].astype(str) == kind].reset_index(drop=True)
        shown = [m for m in (("throughput_gbps",) if _kind_class(kind) == "stream" else
                             ("latency_p50_us", "latency_p99_us"))
                 if f"{m}_mean" in frame.columns]
        if not shown:
            continue
        if len(kind_groups) > 1 or kind:
            s.p(f"{_kind_title(kind)}:")
        headers = list(config)
        for m in shown:
            unit = _ANSWER_UNITS[m][1].rsplit(" ", 1)[-1].strip("}")
            headers += [f"{_ANSWER_UNITS[m][0]} ({unit})", f"{_ANSWER_UNITS[m][0]} overhead (%)"]
        rows = []
        worst: tuple[float, str, str] | None = None
        for r in frame.to_dict("records")[:MAX_TABLE_ROWS * 4]:
            match = frame
            for k in base_keys:
                match = match[[_same_value(v, baseline[k]) for v in match[k]]]
            for k in config:
                if k not in baseline:
                    match = match[[_same_value(v, r[k]) for v in match[k]]]
            base = match.iloc[0] if len(match) else None
            cells = [cell_text(r[k]) for k in config]
            for m in shown:
                v = _finite(r[f"{m}_mean"])
                b = _finite(base[f"{m}_mean"]) if base is not None else None
                cells.append("-" if v is None else _ANSWER_UNITS[m][1].split(" ")[0].format(v))
                if v is None or b is None or b == 0:
                    cells.append("-")
                    continue
                pct = overhead_pct(m, v, b)
                cells.append(f"{pct:+.1f}")
                if m == shown[-1] and (worst is None or pct > worst[0]):
                    worst = (pct, label(r), _ANSWER_UNITS[m][0])
            rows.append(cells)
        s.table(headers, rows)
        if worst is not None and worst[0] > 0:
            s.p(f"Largest {worst[2]} overhead: {worst[0]:+.1f} % ({worst[1]}).")


def _failed_runs(s: Section, summary: pd.DataFrame) -> None:
    if "status" not in summary.columns:
        return
    bad = summary[summary["status"].astype(str) != "ok"]
    if bad.empty:
        return
    s.h3("Failed runs")
    keys = sweep_keys_of(summary)
    rows = [[*(cell_text(r.get(k)) for k in keys), cell_text(r.get("replication")),
             cell_text(r.get("error"))[:300]] for r in bad.head(MAX_TABLE_ROWS).to_dict("records")]
    s.table([*keys, "replication", "error"], rows)


_ELSEWHERE = ("capacity",)
"""Plots shown in their own section (Capacity planning), not under Plots."""


def _section_plots(src: _Source, plots: Any, elsewhere: Sequence[str] = _ELSEWHERE) -> Section:
    s = Section(SECTIONS[3])
    made = [p for p in plots.made if p.name not in elsewhere] if plots is not None else []
    if not made:
        s.p("No plot applies to this folder.")
    for p in made:
        if p.png is None:
            continue
        s.h3(p.title)
        s.image(p.png, p.caption, p.title)
    skipped = [f"{name}: {why}" for name, why in (plots.skipped if plots is not None else [])
               if name != "capacity"]
    if skipped:
        s.p("Plots that do not apply to this sweep:")
        s.bullets(skipped)
    return s


def _flow_table(src: _Source) -> pd.DataFrame:
    """Every ok run's flows table, tagged with its swept values (empty: none stored)."""
    if src.results is None:
        return pd.DataFrame()
    flows = src.results.tables("flows")
    return flows if len(flows) and "goodput_gbps" in flows.columns else pd.DataFrame()


def _flow_column(frame: pd.DataFrame, name: str, default: float = np.nan) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(default, index=frame.index, dtype=float)
    return pd.to_numeric(frame[name], errors="coerce").astype(float)


def _pooled(values: pd.Series, q: float) -> str:
    """The ``q``-th percentile of the finite ``values``, as table text (``-``: none)."""
    arr = values.to_numpy(float)
    arr = arr[np.isfinite(arr)]
    return f"{float(np.percentile(arr, q)):,.1f}" if arr.size else "-"


def _jain(values: pd.Series) -> float:
    """Jain's index of one run's bulk goodputs; NaN (not an error) for values that
    are no shares, so one odd run cannot stop a report."""
    from kperf.metrics.fairness import jain_index

    try:
        return jain_index(values)
    except ValueError:
        return float("nan")


def _section_flows(src: _Source, flows: pd.DataFrame, plots: Any,
                   confidence: float) -> Section:
    """Per configuration: flows, aggregate goodput, Jain's index, the spread of
    per-flow goodput, retransmits and, for finite transfers, completion times."""
    s = Section(FLOWS_SECTION)
    summary = src.results.summary if src.results is not None else pd.DataFrame()
    keys = [k for k in sweep_keys_of(summary, src.manifest) if k in flows.columns]
    work = flows.assign(
        _goodput=_flow_column(flows, "goodput_gbps"),
        _size=_flow_column(flows, "size_bytes", 0.0).fillna(0.0),
        _retx=_flow_column(flows, "retransmits", 0.0).fillna(0.0),
        _fct=_flow_column(flows, "fct_us"),
        _finished=(flows["finished"].astype("boolean").fillna(False).astype(bool)
                   if "finished" in flows.columns else pd.Series(False, index=flows.index)),
    )
    work["_bulk"] = work["_size"] == 0
    if "run_id" not in work.columns:
        work["run_id"] = "run"
    has_bulk = bool(work["_bulk"].any())
    has_finite = bool((~work["_bulk"]).any())
    n_ok = len(ok_rows(summary))
    n_runs = int(work["run_id"].nunique())
    reps = int(work.groupby(keys, sort=False, dropna=False)["run_id"].nunique().max()) \
        if keys else n_runs
    text = (f"Per-flow results of the {n_runs} ok run(s) that stored a flows table "
            "(runs/<id>.flows.parquet), one row per configuration. Flows per run, "
            "aggregate goodput, Jain's index and retransmits are per run, then the mean "
            f"over the configuration's runs ± the half-width of the {confidence:.0%} "
            "Student-t confidence interval")
    text += " (one replication: no interval)." if reps < 2 else "."
    text += (" Minimum and maximum per-flow goodput and the completion-time "
             "percentiles pool the flows of all its runs.")
    s.p(text)
    notes = []
    if has_bulk:
        notes.append("Bulk streams (size_bytes 0) send until the window closes; their "
                     "goodput is measured over the measurement window, and the aggregate "
                     "is their sum.")
        notes.append("Jain's fairness index over a run's bulk streams, (Σx)² / (n·Σx²) of "
                     "their goodputs x (Jain, Chiu and Hawe, DEC-TR-301, 1984): 1 when "
                     "every stream gets the same share, 1/n when one takes it all.")
    if has_finite:
        notes.append("Finite transfers: goodput over their own completion time; flow "
                     "completion time (FCT) from connect to the last byte's arrival, over "
                     "the transfers that finished.")
    if n_ok > n_runs:
        notes.append(f"{n_ok - n_runs} ok run(s) stored no flows table (no stream or "
                     "transfer in their workloads, or written before kperf stored flows) "
                     "and are not in this table.")
    s.bullets(notes)

    headers = [*keys, "runs", "flows per run"]
    if has_bulk:
        headers += ["aggregate goodput, bulk (Gbit/s)", "Jain's index (bulk)"]
    headers += ["min flow goodput (Gbit/s)", "max flow goodput (Gbit/s)",
                "retransmits per run"]
    if has_finite:
        headers += ["transfers finished", "FCT p50 (µs)", "FCT p99 (µs)"]
    groups = (list(work.groupby(keys, sort=False, dropna=False)) if keys
              else [((), work)])

    def ci(series: pd.Series, fmt: str) -> str:
        iv = t_interval(series, confidence)
        return format_ci(iv.mean, iv.low, iv.high, fmt)

    rows: list[list[str]] = []
    for key, sub in groups[:MAX_TABLE_ROWS]:
        values = key if isinstance(key, tuple) else (key,)
        per_run = sub.groupby("run_id", sort=False)
        bulk = sub[sub["_bulk"]]
        finite = sub[~sub["_bulk"]]
        counts = per_run.size().astype(float)
        cells = [*(cell_text(v) for v in values), str(sub["run_id"].nunique()),
                 cell_text(counts.iloc[0]) if counts.nunique() == 1
                 else ci(counts, "{:,.1f}")]
        if has_bulk:
            by_run = bulk.groupby("run_id", sort=False)["_goodput"]
            cells.append(ci(by_run.sum(min_count=1), "{:,.3g}") if len(bulk) else "-")
            cells.append(ci(by_run.agg(_jain), "{:.3f}") if len(bulk) else "-")
        goodput = sub["_goodput"][np.isfinite(sub["_goodput"].to_numpy(float))]
        cells += [f"{goodput.min():,.3g}" if len(goodput) else "-",
                  f"{goodput.max():,.3g}" if len(goodput) else "-",
                  ci(per_run["_retx"].sum(), "{:,.1f}")]
        if has_finite:
            done = finite[finite["_finished"]]
            cells += [f"{len(done)} of {len(finite)}" if len(finite) else "-",
                      _pooled(done["_fct"], 50), _pooled(done["_fct"], 99)]
        rows.append(cells)
    s.table(headers, rows)
    if len(groups) > MAX_TABLE_ROWS:
        s.p(f"... {len(groups) - MAX_TABLE_ROWS} more configurations in runs/*.flows.parquet.")
    plot = next((p for p in (plots.made if plots is not None else [])
                 if p.name == "flow_goodput" and p.png is not None), None)
    if plot is not None and plot.png is not None:
        s.h3(plot.title)
        s.image(plot.png, plot.caption, plot.title)
    return s


def _section_capacity(src: _Source) -> Section:
    from kperf.analysis.capacity import UTILISATION_NOTE, display_table, plan_hint

    s = Section(SECTIONS[4])
    plan = src.plan
    if plan is None:
        # A command that plans this folder's experiment, or why it cannot be planned.
        summary = src.results.summary if src.results is not None else pd.DataFrame()
        p99 = pd.to_numeric(summary.get("latency_p99_us", pd.Series(dtype=float)),
                            errors="coerce")
        if "status" in summary.columns:
            p99 = p99[summary["status"] == "ok"]
        text, command = plan_hint(src.experiment, src.manifest.get("source"), src.folder,
                                  float(p99.max()) if p99.notna().any() else None)
        s.p(text)
        if command is not None:
            s.code(command)
        return s
    for sentence in plan.statements():  # answer, confidence, bracket, estimates, monotony
        s.p(sentence)
    meta = plan.meta
    details = [f"SLO: {meta.get('slo')} on {meta.get('metric')}",
               f"replications per load: {meta.get('replications')}",
               f"search tolerance: {float(meta.get('rel_tol', 0)):.0%} of the load"]
    if meta.get("bracket_tol") is not None:
        details.append(f"bracket tolerance (its mean and high end): "
                       f"{float(meta['bracket_tol']):.0%} of the load")
    if meta.get("target_rps") is not None:
        details.append(f"target: {float(meta['target_rps']):,.0f} requests/s")
    if meta.get("nodes") is not None:
        details.append(f"cluster resized to {meta['nodes']} nodes")
    if "bottleneck" in plan.table.columns:
        details.append(UTILISATION_NOTE)
    s.bullets(details)
    s.table(*display_table(plan))
    chart = src.folder / "plots" / "capacity.png"
    if chart.exists():
        s.image(chart, str(meta.get("caption", "Capacity plan.")), "capacity plan")
    s.p("Assumptions of the capacity answer:")
    s.bullets(str(a) for a in meta.get("assumptions", []))
    return s


def _cni_sources(name: str) -> tuple[str, list[str]]:
    from kperf.profiles import CNI_PROFILES

    prof = CNI_PROFILES.get(name)
    if prof is None:
        return "unknown to this kperf version", []
    sources: list[str] = []
    for stage in (*prof.tx, *prof.rx, *prof.tx_overlay, *prof.rx_overlay):
        sources.append(f"{stage.name} ({stage.category}): {stage.source}")
    if prof.encapsulation != "none":
        sources.append(f"encapsulation {prof.encapsulation} {prof.encap_bytes} B: "
                       f"{prof.encap_source}")
    if prof.notes:
        sources.append(f"notes: {prof.notes}")
    estimated_stages = sum(1 for st in (*prof.tx, *prof.rx, *prof.tx_overlay,
                                        *prof.rx_overlay)
                           if str(st.source).lower().startswith("estimated"))
    if prof.estimated:
        status = "estimated (no published pod-level measurement exists)"
    else:
        status = "calibrated against published measurements"
        if estimated_stages:
            status += f" ({estimated_stages} stage cost(s) estimated)"
    return status, list(dict.fromkeys(sources))


def _section_provenance(src: _Source) -> Section:
    from kperf.profiles import PROXY_MODES

    s = Section(SECTIONS[5])
    s.bullets(MODEL_ASSUMPTIONS)
    clusters = [sp.get("cluster", {}) for sp in src.run_specs]
    cnis = [str(c) for c in distinct(c.get("cni") for c in clusters)]
    if cnis:
        s.h3("CNI profiles: calibrated or estimated")
        rows = []
        for cni in cnis:
            status, _ = _cni_sources(cni)
            rows.append([cni, status])
        s.table(["CNI mode", "profile numbers"], rows)
        for cni in cnis:
            _, sources = _cni_sources(cni)
            if sources:
                s.p(f"Sources of the {cni} profile:")
                s.bullets(sources)
    testbeds = distinct(sp.get("testbed", {}) for sp in src.run_specs)
    if testbeds:
        s.h3("Testbeds")
        s.bullets(f"{tb.get('name')}: {tb.get('source', 'no source recorded')}"
                  for tb in testbeds)
    proxies = [str(p) for p in distinct(c.get("proxy") for c in clusters)]
    if proxies:
        s.h3("Proxy modes")
        s.bullets(f"{p}: {PROXY_MODES[p].source if p in PROXY_MODES else 'unknown'}"
                  for p in proxies)
    s.p("Sources cite shared/CALIBRATION.md rows as CAL:<testbed>; 'estimated' marks "
        "numbers without a published measurement behind them. The profile catalog is the "
        "one of the kperf version that wrote this report.")
    return s


def _section_reproduce(src: _Source) -> Section:
    import yaml

    s = Section(SECTIONS[6])
    m = src.manifest
    if src.results is not None:
        s.p("The sweep was run with:")
        s.code(str(m.get("command") or f"kperf run {m.get('source') or 'EXP.yaml'}"))
        s.p(f"kperf {m.get('kperf_version', '?')}, Python {m.get('python', '?')}, "
            f"{m.get('platform', '?')}. manifest.json in this folder holds the experiment "
            "and the fully resolved spec and seed of every run; any row can be re-run from "
            "it alone, e.g. in Python: kperf.load_results(DIR).rerun(0). Running the same "
            "command again into the same folder skips the finished runs.")
    if src.plan is not None:
        cmd = src.plan.meta.get("command")
        s.p("The capacity plan was made with:")
        s.code(str(cmd or f"kperf plan EXP.yaml --slo '{src.plan.meta.get('slo')}'"))
    s.p("The experiment (as written, the sweep included):")
    s.code(yaml.safe_dump(src.experiment, sort_keys=False, allow_unicode=True,
                          default_flow_style=None).rstrip())
    s.p("This report was written by kperf report; regenerate it with:")
    s.code(f"kperf report {src.folder}")
    return s


# --------------------------------------------------------------------------- entry points


def build_document(folder: str | os.PathLike[str], plots: Any = None,
                   confidence: float = DEFAULT_CONFIDENCE) -> Document:
    """The report of a results folder as a :class:`Document` (not written)."""
    src = _load_source(Path(folder))
    from kperf.version import __version__

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    flows = _flow_table(src)
    extra = [_section_flows(src, flows, plots, confidence)] if len(flows) else []
    elsewhere = (*_ELSEWHERE, "flow_goodput") if extra else _ELSEWHERE
    sections = [
        _section_answer(src, confidence, plots),
        _section_simulated(src),
        _section_findings(src, confidence),
        *extra,
        _section_plots(src, plots, elsewhere),
        _section_capacity(src),
        _section_provenance(src),
        _section_reproduce(src),
    ]
    return Document(title=f"kperf report: {src.name}",
                    subtitle=f"Results folder {src.folder} — written {stamp} by kperf "
                             f"{__version__}",
                    sections=sections)


def write_report(folder: str | os.PathLike[str], *, plots: bool = True,
                 formats: Sequence[str] = ("png", "svg"),
                 confidence: float = DEFAULT_CONFIDENCE) -> Path:
    """Write ``report.md`` and ``report.html`` into a results folder; the Markdown path.

    ``plots``: (re)make the plots first (:func:`kperf.analysis.plots.make_plots`);
    with ``False`` the PNGs already in ``plots/`` (as listed by its ``index.json``)
    are used. Works on a folder from ``kperf run`` (``manifest.json``), from
    ``kperf plan`` (``plan.json``), or both.
    """
    from kperf.analysis.plots import PlotSet, make_plots

    path = Path(folder)
    src_has_run = (path / "manifest.json").exists()
    plot_set: Any = None
    if plots and src_has_run:
        plot_set = make_plots(path, formats=formats, confidence=confidence)
    else:
        plot_set = _read_index(path / "plots") or PlotSet(folder=path / "plots")
    doc = build_document(path, plot_set, confidence)
    md_path = path / "report.md"
    md_path.write_text(to_markdown(doc, path), encoding="utf-8")
    (path / "report.html").write_text(to_html(doc), encoding="utf-8")
    return md_path


def _read_index(plot_dir: Path) -> Any:
    from kperf.analysis.plots import MadePlot, PlotSet

    try:
        index = json.loads((plot_dir / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    made = [MadePlot(str(p["name"]), str(p["title"]), str(p["caption"]),
                     [plot_dir / f for f in p.get("files", [])],
                     colours=dict(p.get("colours") or {}),
                     data={k: p[k] for k in ("knee", "x_key", "metrics") if k in p})
            for p in index.get("made", []) if isinstance(p, Mapping)]
    skipped = [(str(p["name"]), str(p["reason"])) for p in index.get("skipped", [])
               if isinstance(p, Mapping)]
    return PlotSet(folder=plot_dir, made=made, skipped=skipped)


def report_hook(results: Any) -> None:
    """The runner's post-run hook form of :func:`write_report` (takes a Results)."""
    write_report(results.path)


def register_post_run_hook() -> None:
    """Make every complete ``kperf.run(...)`` in this process write its report
    (appends :func:`report_hook` to the runner's ``POST_RUN_HOOKS`` once)."""
    from kperf.experiments.runner import POST_RUN_HOOKS

    if report_hook not in POST_RUN_HOOKS:
        POST_RUN_HOOKS.append(report_hook)

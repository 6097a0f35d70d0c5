"""Capacity planning: the highest load that meets a latency SLO, and the nodes it takes.

The question: *how many nodes do I need to carry N requests/s at p99 below X ms, and
which mode needs the fewest?* — and the reverse, *how much load can N nodes carry?*

Method, for each configuration of an experiment's sweep:

1. **Load.** The experiment's open-loop workloads (``rr``/``crr`` with
   ``rate_per_s``, ``http``, ``callgraph``) are scaled by one factor; the offered load
   is the sum over those workloads of ``rate_per_s`` × client pods. The load per node
   is that total divided by the cluster's node count.
2. **SLO test.** A load is simulated ``replications`` times with independent seeds
   (the same seeds at every load — common random numbers — so the comparison
   between loads is not blurred by seed noise). It *meets* the SLO when every run
   finished, at most ``max_failed_fraction`` of requests failed, and the upper bound
   of the two-sided ``confidence`` (95 %) Student-t interval of the SLO metric
   across replications is within the threshold. With one replication there is no
   interval and the single value is used (the output says so).
3. **Search.** Starting from the experiment's rate, the load is doubled until the
   SLO fails (or halved until it holds), then bisected until the bracket is narrower
   than ``rel_tol`` of the load. The answer is the highest load found to meet the
   SLO; it assumes latency grows with load (a single knee), which holds for queues.
4. **Nodes.** Nodes needed for a target = ``ceil(target / capacity per node)``:
   this assumes capacity scales linearly with nodes at the simulated pod density
   (no shared bottleneck such as one Service's single backend). With ``nodes=N``
   the cluster is first resized to N nodes (deployments placed by ``spread`` or
   ``binpack`` scaled with it) and the search gives the highest total load of
   that cluster directly.

Modes are ranked by nodes needed (fewest first), or by capacity when no target is
given. :meth:`CapacityPlan.save` writes ``plan.csv``, ``plan_probes.csv`` (every
load tried), ``plan.json``, ``plan.md`` and ``plots/capacity.png``/``.svg``; the
report of the folder picks them up.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kperf.analysis.aggregate import DEFAULT_CONFIDENCE, Interval, metric_label, t_interval
from kperf.analysis.markdown import markdown_table
from kperf.analysis.planfile import PLAN_CSV, PLAN_JSON, PLAN_MD, PROBES_CSV, read_plan
from kperf.errors import SpecError

# --------------------------------------------------------------------------- SLOs

SLO_STATS: dict[str, str] = {
    "p50": "latency_p50_us",
    "p90": "latency_p90_us",
    "p99": "latency_p99_us",
    "p999": "latency_p999_us",
    "p99.9": "latency_p999_us",
    "mean": "latency_mean_us",
    "max": "latency_max_us",
}
"""SLO statistic → summary metric."""

_UNITS_US = {"ns": 1e-3, "us": 1.0, "µs": 1.0, "μs": 1.0, "ms": 1e3, "s": 1e6}

_SLO_RE = re.compile(
    r"^\s*(?P<stat>p50|p90|p99\.9|p999|p99|mean|max)\s*(?P<op><=|<|≤)\s*"
    r"(?P<value>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>ns|us|µs|μs|ms|s)\s*$",
    re.IGNORECASE,
)

SLO_ALLOWED = ("allowed: STAT OP VALUE UNIT with STAT one of p50, p90, p99, p999, mean, "
               "max; OP <= or <; UNIT ns, us, ms or s (e.g. 'p99<=2ms', 'p50<500us')")


@dataclass(frozen=True)
class Slo:
    """A latency objective: ``stat`` (p99...) ``op`` (``<=`` or ``<``) a threshold."""

    stat: str
    op: str
    threshold_us: float
    text: str

    @property
    def metric(self) -> str:
        """The summary column the SLO is about (``latency_p99_us``...)."""
        return SLO_STATS[self.stat]

    def holds(self, value_us: float) -> bool:
        """True when ``value_us`` satisfies the objective (NaN never does)."""
        if value_us is None or math.isnan(value_us):
            return False
        return value_us <= self.threshold_us if self.op == "<=" else value_us < self.threshold_us

    def __str__(self) -> str:
        return self.text


def parse_slo(text: str | Slo) -> Slo:
    """Parse ``'p99<=2ms'``, ``'p50<500us'``, ``'p999<=10ms'``, ``'mean<=1ms'``.

    Raises a one-line :class:`~kperf.errors.SpecError` (path ``--slo``) otherwise.
    """
    if isinstance(text, Slo):
        return text
    m = _SLO_RE.match(str(text))
    if m is None:
        raise SpecError("--slo", text, SLO_ALLOWED)
    stat = m["stat"].lower()
    stat = "p999" if stat == "p99.9" else stat
    op = "<=" if m["op"] in ("<=", "≤") else "<"
    unit = m["unit"].lower().replace("μ", "µ")
    value = float(m["value"])
    if value <= 0 or not math.isfinite(value):
        raise SpecError("--slo", text, "allowed: a positive latency threshold")
    canonical = f"{stat}{op}{m['value']}{'us' if unit == 'µs' else unit}"
    return Slo(stat=stat, op=op, threshold_us=value * _UNITS_US[unit], text=canonical)


def format_us(value_us: float) -> str:
    """``1.5 ms``, ``250 µs``, ``2 s``."""
    if value_us is None or math.isnan(value_us):
        return "-"
    if value_us >= 1e6:
        return f"{value_us / 1e6:,.3g} s"
    if value_us >= 1e3:
        return f"{value_us / 1e3:,.3g} ms"
    return f"{value_us:,.3g} µs"


# --------------------------------------------------------------------------- search


@dataclass
class SearchResult:
    """Outcome of :func:`search_highest`: the highest value found to pass, and the
    lowest found to fail (``None`` when the search never saw one)."""

    passed: float | None
    failed: float | None
    steps: int

    @property
    def bounded(self) -> bool:
        """Both sides seen: the answer lies between ``passed`` and ``failed``."""
        return self.passed is not None and self.failed is not None


def search_highest(
    meets: Callable[[float], bool],
    start: float = 1.0,
    *,
    rel_tol: float = 0.03,
    grow: float = 2.0,
    max_expand: int = 8,
    max_steps: int = 40,
) -> SearchResult:
    """The highest ``x > 0`` with ``meets(x)`` true, for a predicate true below a
    threshold and false above it.

    From ``start``: multiply by ``grow`` until ``meets`` fails (or divide until it
    holds), at most ``max_expand`` times; then bisect the bracket until
    ``(fail - pass) <= rel_tol × fail``. Every call of ``meets`` is one step.
    """
    if start <= 0 or rel_tol <= 0 or grow <= 1:
        raise ValueError("start and rel_tol must be positive, grow > 1")
    steps = 0
    lo: float | None = None
    hi: float | None = None

    def test(x: float) -> bool:
        nonlocal steps
        steps += 1
        return meets(x)

    x = start
    if test(x):
        lo = x
        for _ in range(max_expand):
            x *= grow
            if test(x):
                lo = x
            else:
                hi = x
                break
    else:
        hi = x
        for _ in range(max_expand):
            x /= grow
            if test(x):
                lo = x
                break
            hi = x
    if lo is None or hi is None:
        return SearchResult(lo, hi, steps)
    while hi - lo > rel_tol * hi and steps < max_steps:
        mid = (lo + hi) / 2
        if test(mid):
            lo = mid
        else:
            hi = mid
    return SearchResult(lo, hi, steps)


def nodes_needed(target_rps: float, capacity_per_node_rps: float) -> float:
    """``ceil(target / capacity per node)``; NaN when the capacity is zero or unknown."""
    if capacity_per_node_rps is None or not capacity_per_node_rps > 0:
        return math.nan
    return float(math.ceil(target_rps / capacity_per_node_rps - 1e-9))


# --------------------------------------------------------------------------- plan


@dataclass
class Probe:
    """One load tried for one configuration: ``replications`` simulations."""

    config: str
    factor: float
    rate_per_client_per_s: float
    load_total_rps: float
    load_per_node_rps: float
    interval: Interval
    failed_fraction: float
    runs_failed: int
    meets_slo: bool
    reason: str

    def row(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "rate_per_client_per_s": self.rate_per_client_per_s,
            "load_total_rps": self.load_total_rps,
            "load_per_node_rps": self.load_per_node_rps,
            "metric_mean_us": self.interval.mean,
            "metric_ci_low_us": self.interval.low,
            "metric_ci_high_us": self.interval.high,
            "metric_upper_us": self.interval.upper,
            "n_ok": self.interval.n,
            "failed_fraction": self.failed_fraction,
            "runs_failed": self.runs_failed,
            "meets_slo": self.meets_slo,
            "reason": self.reason,
        }


ASSUMPTIONS = (
    "Offered load is open-loop (Poisson) and scaled uniformly over the experiment's "
    "open-loop workloads; load = rate_per_s × client pods.",
    "Nodes needed = ceil(target / capacity per node): capacity is assumed to scale "
    "linearly with nodes at the simulated pod density.",
    "The search assumes latency grows with load (one knee); bisection stops when the "
    "bracket is narrower than the stated tolerance, and reports its lower end.",
)


@dataclass
class CapacityPlan:
    """The answer of :func:`plan_capacity`: a ranked table, every load tried, and the
    settings that produced them (``meta``)."""

    table: pd.DataFrame
    probes: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def slo(self) -> Slo:
        return parse_slo(str(self.meta["slo"]))

    @property
    def confidence(self) -> float:
        return float(self.meta.get("confidence", DEFAULT_CONFIDENCE))

    def confidence_statement(self) -> str:
        """How a load was judged, in one sentence (printed with every answer)."""
        reps = int(self.meta.get("replications", 1))
        slo = self.slo
        if reps < 2:
            return (f"A load meets {slo} when the {slo.stat} of its single run is within "
                    "the threshold (1 replication: no confidence interval).")
        return (f"A load meets {slo} when the upper bound of the two-sided "
                f"{self.confidence:.0%} Student-t confidence interval of {slo.stat} across "
                f"{reps} replications is within the threshold (and at most "
                f"{float(self.meta.get('max_failed_fraction', 0)):.2%} of requests fail).")

    def answer(self) -> str:
        """The one-line answer: the best configuration and what it needs or carries."""
        if self.table.empty:
            return "no configuration to plan"
        best = self.table.sort_values("rank").iloc[0]
        slo = self.slo
        target = self.meta.get("target_rps")
        nodes = self.meta.get("nodes")
        cap = float(best["capacity_per_node_rps"])
        if not cap > 0:
            return f"No configuration meets {slo} at any load tried."
        if target is not None:
            need = best["nodes_needed"]
            return (f"Best: {best['config']} needs {int(need):,} nodes for "
                    f"{float(target):,.0f} requests/s at {slo} "
                    f"({cap:,.0f} requests/s per node).")
        if nodes is not None:
            return (f"Best: {best['config']} carries {float(best['max_total_rps']):,.0f} "
                    f"requests/s on {int(nodes)} nodes at {slo}.")
        return f"Best: {best['config']} carries {cap:,.0f} requests/s per node at {slo}."

    def figure(self) -> Any:
        """The capacity chart (:func:`kperf.analysis.plots.capacity_chart`)."""
        from kperf.analysis.plots import capacity_chart

        return capacity_chart(self.table, self.probes, slo_metric=self.slo.metric,
                              slo_threshold_us=self.slo.threshold_us, slo_text=str(self.slo),
                              confidence=self.confidence)

    def markdown(self) -> str:
        """The plan as a Markdown section body (table, answer, method)."""
        lines = [self.answer(), "", self.confidence_statement(), ""]
        lines.append(markdown_table(*display_table(self)))
        lines += ["", "Assumptions:", ""]
        lines += [f"- {a}" for a in self.meta.get("assumptions", ASSUMPTIONS)]
        return "\n".join(lines) + "\n"

    def save(self, out: str | os.PathLike[str], formats: Sequence[str] = ("png", "svg"),
             ) -> list[Path]:
        """Write ``plan.csv``, ``plan_probes.csv``, ``plan.json``, ``plan.md`` and
        ``plots/capacity.*`` into ``out``; the paths written."""
        from kperf.analysis.plots import save_figure

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / PLAN_CSV, folder / PROBES_CSV, folder / PLAN_JSON, folder / PLAN_MD]
        self.table.to_csv(paths[0], index=False)
        self.probes.to_csv(paths[1], index=False)
        meta = {**self.meta, "answer": self.answer(),
                "confidence_statement": self.confidence_statement(),
                "caption": f"Capacity for {self.slo}: loads tried per configuration "
                           f"(left) and the answer per configuration (right). "
                           f"{self.confidence_statement()}"}
        paths[2].write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str) + "\n",
                            encoding="utf-8")
        paths[3].write_text(f"## Capacity planning\n\n{self.markdown()}", encoding="utf-8")
        paths += save_figure(self.figure(), folder / "plots" / "capacity", formats)
        return paths


def display_table(plan: CapacityPlan) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted rows of a plan, for the CLI, Markdown and HTML."""
    t = plan.table.sort_values("rank")
    slo = plan.slo
    headers = ["rank", "configuration", "nodes simulated", "load/client (req/s)",
               "capacity/node (req/s)", f"{slo.stat} at capacity (mean / upper)"]
    has_target = plan.meta.get("target_rps") is not None
    has_nodes = plan.meta.get("nodes") is not None
    if has_nodes:
        headers.append(f"max total on {plan.meta['nodes']} nodes (req/s)")
    if has_target:
        headers.append(f"nodes for {float(plan.meta['target_rps']):,.0f} req/s")
    headers.append("note")
    rows = []
    for r in t.to_dict("records"):
        cap = float(r["capacity_per_node_rps"])
        cells = [
            str(int(r["rank"])),
            str(r["config"]),
            str(int(r["nodes"])),
            f"{float(r['rate_per_client_per_s']):,.0f}" if cap > 0 else "-",
            f"{cap:,.0f}" if cap > 0 else "not met",
            (f"{format_us(float(r['metric_mean_us']))} / {format_us(float(r['metric_upper_us']))}"
             if cap > 0 else "-"),
        ]
        if has_nodes:
            cells.append(f"{float(r['max_total_rps']):,.0f}" if cap > 0 else "-")
        if has_target:
            need = r.get("nodes_needed")
            cells.append("-" if need is None or need != need else f"{int(need):,}")
        note = r.get("note")
        cells.append("" if note is None or note != note else str(note))
        rows.append(cells)
    return headers, rows


def _open_loop(workloads: Sequence[Any]) -> list[int]:
    return [i for i, w in enumerate(workloads) if getattr(w, "rate_per_s", None) is not None]


def resize_cluster(spec: Any, nodes: int) -> Any:
    """The experiment ``spec`` (an ExperimentSpec without sweep) with ``nodes`` nodes.

    Deployments placed by ``spread`` or ``binpack`` keep their pods per node:
    replicas × nodes / current nodes (rounded, at least 1). Deployments pinned to a
    node, and explicit pods, are kept as they are.
    """
    cluster = spec.cluster
    if not isinstance(cluster.nodes, int):
        raise SpecError("--nodes", nodes, "allowed only when cluster.nodes is a count (this "
                        "cluster lists its nodes explicitly)")
    if nodes < 1:
        raise SpecError("--nodes", nodes, "allowed: a node count >= 1")
    n0 = cluster.nodes
    overrides: dict[str, Any] = {"cluster.nodes": nodes}
    for i, dep in enumerate(cluster.deployments):
        if dep.placement in ("spread", "binpack"):
            overrides[f"cluster.deployments.{i}.replicas"] = max(
                1, round(dep.replicas * nodes / n0))
    try:
        return spec.resolve(overrides)
    except SpecError as exc:
        raise SpecError("--nodes", nodes, f"the cluster cannot be resized: {exc.one_line()}"
                        ) from None


def _client_pods(cluster_spec: Any, workloads: Sequence[Any], indices: Sequence[int]) -> list[int]:
    from kperf.cluster import Cluster

    built = Cluster.build(cluster_spec)
    counts = []
    for i in indices:
        name = workloads[i].clients
        counts.append(sum(1 for p in built.pods if p.deployment == name))
    return counts


def _config_label(params: Mapping[str, Any], fallback: str) -> str:
    if not params:
        return fallback
    if len(params) == 1:
        return str(next(iter(params.values())))
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in params.items())


def plan_capacity(
    experiment: Any,
    slo: str | Slo,
    *,
    target_rps: float | None = None,
    nodes: int | None = None,
    replications: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    rel_tol: float = 0.03,
    max_failed_fraction: float = 0.001,
    max_expand: int = 8,
    simulate_fn: Callable[..., Any] | None = None,
    progress: Callable[[str], None] | None = None,
    command: str | None = None,
) -> CapacityPlan:
    """Capacity of every configuration of an experiment's sweep (see the module doc).

    ``experiment``: a path, a mapping or an ExperimentSpec. ``slo``: e.g.
    ``'p99<=2ms'``. ``target_rps``: total requests/s to carry (adds ``nodes_needed``).
    ``nodes``: resize the cluster to this many nodes first (adds ``max_total_rps``).
    ``replications``: runs per load (default: the experiment's, at least 3).
    ``simulate_fn``: the simulation (default :func:`kperf.workloads.simulate.simulate`).
    ``progress``: called with one line per load tried.
    """
    from kperf.experiments.expand import run_seed
    from kperf.spec.experiment import load_experiment

    the_slo = parse_slo(slo)
    spec = load_experiment(experiment)
    if target_rps is not None and not target_rps > 0:
        raise SpecError("--target-rps", target_rps, "allowed: a positive number of requests/s")
    if nodes is not None and nodes < 1:
        raise SpecError("--nodes", nodes, "allowed: a node count >= 1")
    reps = replications if replications is not None else max(spec.replications, 3)
    if reps < 1:
        raise SpecError("--replications", reps, "allowed: 1 or more")
    if not 0 < confidence < 1:
        raise SpecError("--confidence", confidence, "allowed: a number between 0 and 1")
    if not 0 < rel_tol < 1:
        raise SpecError("--tolerance", rel_tol, "allowed: a number between 0 and 1")
    if simulate_fn is None:
        from kperf.workloads.simulate import simulate as simulate_fn
    assert simulate_fn is not None
    open_idx = _open_loop(spec.workloads)
    if not open_idx:
        raise SpecError("workload", [w.kind for w in spec.workloads],
                        "capacity planning needs an open-loop workload: rr or crr with "
                        "rate_per_s, http, or callgraph")
    # The search varies the rate itself: a swept rate only gives the starting point.
    rate_keys = [k for k in spec.sweep if k.rsplit(".", 1)[-1] == "rate_per_s"]
    start = {k: spec.sweep[k][0] for k in rate_keys}
    keys = [k for k in spec.sweep if k not in rate_keys]
    grid = [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(spec.sweep[k] for k in keys))]

    rows: list[dict[str, Any]] = []
    probe_rows: list[dict[str, Any]] = []
    for params in grid:
        resolved = spec.resolve({**params, **start}) if params or start else spec
        if nodes is not None:
            resolved = resize_cluster(resolved, nodes)
        label = _config_label(params, resolved.cluster.cni)
        workloads = resolved.workloads
        idx = _open_loop(workloads)
        base = [float(workloads[i].rate_per_s) for i in idx]
        clients = _client_pods(resolved.cluster, workloads, idx)
        n_nodes = resolved.cluster.node_count
        per_factor = sum(r * c for r, c in zip(base, clients, strict=True))
        seeds = [run_seed(spec.seed, params, rep) for rep in range(reps)]
        probes: dict[float, Probe] = {}

        def evaluate(factor: float, resolved: Any = resolved, workloads: list[Any] = workloads,
                     idx: list[int] = idx, base: list[float] = base, label: str = label,
                     per_factor: float = per_factor, n_nodes: int = n_nodes,
                     seeds: list[int] = seeds, probes: dict[float, Probe] = probes) -> bool:
            scaled = list(workloads)
            for i, r in zip(idx, base, strict=True):
                scaled[i] = workloads[i].model_copy(update={"rate_per_s": r * factor})
            values: list[float] = []
            completed = failed = 0.0
            runs_failed = 0
            reason = ""
            for seed in seeds:
                try:
                    res = simulate_fn(resolved.resolved_testbed, resolved.cluster, scaled, seed)
                except (KeyboardInterrupt, SpecError):
                    raise
                except Exception as exc:  # a run that fails does not meet the SLO
                    runs_failed += 1
                    reason = f"run failed: {type(exc).__name__}: {exc}"
                    continue
                s = res.summary
                values.append(float(s.get(the_slo.metric, math.nan)))
                completed += float(s.get("completed") or 0)
                failed += float(s.get("failed") or 0)
            iv = t_interval(values, confidence)
            frac = failed / (completed + failed) if completed + failed > 0 else math.nan
            if runs_failed:
                ok = False
            elif not completed > 0:
                ok, reason = False, "no request completed"
            elif frac > max_failed_fraction:
                ok, reason = False, f"{frac:.2%} of requests failed"
            else:
                ok = the_slo.holds(iv.upper)
                reason = "" if ok else f"{the_slo.stat} upper bound {format_us(iv.upper)}"
            total = per_factor * factor
            probe = Probe(label, factor, base[0] * factor, total, total / n_nodes, iv,
                          frac, runs_failed, ok, reason)
            probes[factor] = probe
            probe_rows.append(probe.row())
            if progress is not None:
                verdict = "meets" if ok else "misses"
                progress(f"{label}: {base[0] * factor:,.0f} req/s per client "
                         f"({total / n_nodes:,.0f} per node): {the_slo.stat} "
                         f"{format_us(iv.mean)}, upper {format_us(iv.upper)} -> {verdict} "
                         f"{the_slo}")
            return ok

        found = search_highest(evaluate, 1.0, rel_tol=rel_tol, max_expand=max_expand)
        note = ""
        if found.passed is None:
            factor = 0.0
            lowest = min(probes)
            why = probes[lowest].reason
            note = (f"SLO not met at any load tried (down to "
                    f"{base[0] * lowest:,.1f} req/s per client){': ' + why if why else ''}")
        else:
            factor = found.passed
            if found.failed is None:
                note = ("capacity is above the highest load tried; raise the workload's "
                        "rate_per_s to search higher")
        best = probes.get(factor)
        iv = best.interval if best is not None else Interval(math.nan, math.nan, math.nan,
                                                              math.nan, 0, confidence)
        total = per_factor * factor
        cap_node = total / n_nodes
        row: dict[str, Any] = {
            "config": label,
            **params,
            "nodes": n_nodes,
            "clients": sum(clients),
            "rate_per_client_per_s": base[0] * factor,
            "capacity_rps": total,
            "capacity_per_node_rps": cap_node,
            "metric": the_slo.metric,
            "metric_mean_us": iv.mean,
            "metric_upper_us": iv.upper,
            "replications": reps,
            "probes": found.steps,
            "bracket_high_per_node_rps": (per_factor * found.failed / n_nodes
                                          if found.failed is not None else math.nan),
            "bounded": found.bounded,
        }
        if nodes is not None:
            row["max_total_rps"] = total
        if target_rps is not None:
            row["target_rps"] = float(target_rps)
            row["nodes_needed"] = nodes_needed(target_rps, cap_node)
            if nodes is not None:
                row["meets_target"] = bool(total >= target_rps)
        row["note"] = note
        rows.append(row)

    table = pd.DataFrame(rows)
    table = _rank(table, target_rps is not None)
    probes_frame = pd.DataFrame(probe_rows)
    from kperf.version import __version__

    meta: dict[str, Any] = {
        "experiment_name": spec.name,
        "experiment": spec.raw_data(),
        "slo": str(the_slo),
        "metric": the_slo.metric,
        "metric_label": metric_label(the_slo.metric),
        "op": the_slo.op,
        "threshold_us": the_slo.threshold_us,
        "confidence": confidence,
        "replications": reps,
        "rel_tol": rel_tol,
        "max_failed_fraction": max_failed_fraction,
        "target_rps": target_rps,
        "nodes": nodes,
        "sweep_keys": keys,
        "rate_keys_ignored": rate_keys,
        "command": command,
        "kperf_version": __version__,
        "assumptions": list(ASSUMPTIONS),
    }
    return CapacityPlan(table=table, probes=probes_frame, meta=meta)


def _rank(table: pd.DataFrame, by_nodes: bool) -> pd.DataFrame:
    if table.empty:
        return table.assign(rank=pd.Series(dtype=int))
    work = table.assign(_cap=-table["capacity_per_node_rps"].astype(float))
    order = ["nodes_needed", "_cap"] if by_nodes else ["_cap"]
    work = work.sort_values(order, na_position="last", kind="stable")
    work.insert(0, "rank", range(1, len(work) + 1))
    return work.drop(columns="_cap").reset_index(drop=True)


def load_plan(folder: str | os.PathLike[str]) -> CapacityPlan | None:
    """The plan saved in ``folder`` (``plan.json`` + ``plan.csv``), or None."""
    saved = read_plan(folder)
    if saved is None:
        return None
    return CapacityPlan(table=saved.table, probes=saved.probes, meta=saved.meta)

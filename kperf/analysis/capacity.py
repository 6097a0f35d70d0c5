"""Capacity planning: the highest load that meets a latency SLO, and the nodes it takes.

The question: *how many nodes do I need to carry N requests/s at p99 below X ms, and
which mode needs the fewest?* — and the reverse, *how much load can N nodes carry?*
With the answer come what limits it (the bottleneck) and how sure it is (a bracket).
The SLO and the search are in :mod:`kperf.analysis.slo`, the utilisation classes in
:mod:`kperf.analysis.utilisation`; this module plans with them and re-exports their
names.

Method, for each configuration of an experiment's sweep:

1. **Load.** The experiment's open-loop workloads (``rr``/``crr`` with
   ``rate_per_s``, ``http``, ``callgraph``) are scaled by one factor; the offered load
   is the sum over those workloads of ``rate_per_s`` × client pods. The load per node
   is that total divided by the cluster's node count.
2. **SLO test.** A load (a *probe*) is simulated ``replications`` times with
   independent seeds (the same seeds at every load — common random numbers — so the
   comparison between loads is not blurred by seed noise). It is *admissible* when
   every run finished, some request completed and at most ``max_failed_fraction`` of
   requests failed. An admissible load *meets* the SLO when the upper bound of the
   two-sided ``confidence`` (95 %) Student-t interval of the SLO metric across
   replications is within the threshold. With one replication there is no interval
   and the single value is used (the output says so). The same replications are also
   tested on their mean and on a lower bound (for the bracket, below): a load is
   simulated once, whatever test reads it.
3. **Search.** Starting from the experiment's rate, the load is doubled until the
   SLO fails (or halved until it holds), then bisected until the bracket is narrower
   than ``rel_tol`` of the load.
4. **Monotonic answer.** Latency need not grow monotonically with load in a noisy
   simulation, and the three tests' searches probe loads the first search did not. So
   the answer is settled over *every* probe of the configuration: the capacity is the
   highest load that met the SLO **below the lowest load that missed it** (if a load
   met it above a miss, that pass is not used, and the bisection continues between
   the settled pass and that miss until within ``rel_tol``). Such a pass above a miss
   makes the configuration ``monotonic = False``; its note and the plan's
   :meth:`CapacityPlan.monotonicity_statement` say at which loads. No reported
   capacity is ever above a load seen to miss the SLO.
5. **Nodes.** Nodes needed for a target = ``ceil(target / capacity per node)``:
   this assumes capacity scales linearly with nodes at the simulated pod density
   (no shared bottleneck such as one Service's single backend). With ``nodes=N``
   the cluster is first resized to N nodes (deployments placed by ``spread`` or
   ``binpack`` scaled with it) and the search gives the highest total load of
   that cluster directly. Large clusters (``method``, :mod:`kperf.analysis.plan_nodes`):
   when the linear estimate reaches ``decomposed_min_nodes`` (200), the node count is
   searched with the decomposed method instead (``nodes_method`` says which), and a
   cluster of that size is simulated by it at every load.

**Uncertainty bracket.** The search of step 3 is run for three tests of a load, each
settled as in step 4, sharing every simulation:

- ``upper`` — the SLO on the interval's upper bound: ``capacity_per_node_rps`` (also
  ``capacity_per_node_low_rps``), the answer. At that load the metric's expected
  value (over seeds, for runs of this length) is within the threshold with one-sided
  confidence (1 + ``confidence``) / 2 (97.5 %): the conservative end.
- ``mean`` — the SLO on the replications' mean: ``capacity_per_node_mean_rps``, the
  point estimate (what a very large number of replications would converge to).
- ``lower`` — the SLO on the lower bound of the Student-t interval of the metric's
  **logarithm** (a lower bound of the replications' geometric mean):
  ``capacity_per_node_high_rps`` is the **lowest load that misses the SLO even on
  that bound**, so at that load the expected metric is above the threshold with
  one-sided confidence 97.5 %. This search stops bisecting at ``bracket_tol`` (10 %,
  at least ``rel_tol``; so does the ``mean`` one) and expands to at most ``grow``² ×
  the lowest load that missed the ``upper`` test.

Why logarithms for the high end: a latency percentile across seeds is right-skewed
(near saturation one seed's unlucky spread of connections over pods can give a p99
ten times the others'), and on the raw scale the lower bound of 3 replications falls
below zero, which would put the high end where every replication misses the SLO many
times over (``capacity.yaml``: flannel at 15,000 requests/s per node, three p99s of
18-57 ms against 2 ms). On the log scale the interval stays positive and treats a
ratio as a ratio. It stays a bound on the *mean*: the mean of a positive quantity is
at least its geometric mean (Jensen), so a geometric mean shown above the threshold
shows the mean above it too. For the same reason a load that passes ``upper`` passes
``mean`` and one that passes ``mean`` passes ``lower``, so low ≤ mean ≤ high always.

If the expected metric grows with load, the load at which it reaches the threshold
(the capacity of the simulated model) is therefore in ``[low, high]`` with about
``confidence`` (95 %) confidence — each end a one-sided 97.5 % statement at one load
(the high end assuming the log of the metric is roughly normal across seeds), not
adjusted for the several loads tried. The ends are the bisections' outer ends (the
highest pass of ``upper``, the lowest miss of ``lower``), so the search tolerance is
inside the bracket. Nodes follow: ``nodes_needed_low`` = ``ceil(target / high)``,
``nodes_needed_mean``, and ``nodes_needed_high`` = ``nodes_needed`` =
``ceil(target / low)`` (the conservative answer). The totals are
``capacity_low_rps``/``capacity_mean_rps``/``capacity_high_rps``. With one
replication the three tests coincide and the bracket is the bisection's own (highest
pass, lowest miss). A ``high`` that is NaN means the bracket is open above: up to the
highest load the ``lower`` search may try, the SLO was met on its bound (more
replications narrow the interval). The bracket says how much more replications
could change the answer: with 3 replications the Student-t factor is 4.30, with 10
it is 2.26.

**Bottleneck and utilisation.** Every run's ``resources`` table (busy time of every
server, :meth:`kperf.engine.sim.Simulation.resources_df`) is reduced to one
utilisation per *resource class* — the busy fraction over the whole simulated time,
warm-up and drain included, of the busiest resource of that class:

=============  ===============================================================
``app``        the app workers of the busiest pod (busy worker-seconds / time /
               workers; ``resources`` rows ``app``)
``cpu_core``   the busiest CPU core of any node (rows ``cpu``; a flow hashes to
               one core, so one hot flow shows here first)
``cpu_node``   the busiest node's cores on average (rows ``cpu`` by node); never
               above ``cpu_core``, so it names the bottleneck only on a tie
``nic``        the busiest NIC transmit queue (rows ``nic``)
``port``       the busiest switch output port towards a node (rows ``port``)
``uplink``     the busiest leaf uplink or spine port (rows ``uplink``, ``spine``)
=============  ===============================================================

Rows ``cpu:<category>`` (stack, veth, policy, ``app``...) are not classes: they split
the same cores' (and the app pools') time by what it was spent on, in cores busy. A
resource kind kperf does not know yet (a new hop kind) becomes a class of its own
name. Per probe, each class's utilisation is averaged over the replications (the
busiest resource may differ by seed; the one busiest most often is named). The
``bottleneck`` is the class with the highest utilisation **at the probe that defines
the capacity** (the ``upper`` answer); the plan table carries ``bottleneck``,
``bottleneck_utilisation``, ``bottleneck_name`` (e.g. ``web-2 app``) and one
``util_<class>`` column per class, and every probe in ``plan_probes.csv`` the same.
At a latency SLO the bottleneck is often well below 100 % busy: queueing delay at
60-90 % is what breaks the SLO.

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
import shlex
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kperf.analysis.aggregate import DEFAULT_CONFIDENCE, Interval, metric_label, t_interval
from kperf.analysis.kinds import rate_keys
from kperf.analysis.markdown import markdown_table
from kperf.analysis.plan_nodes import (
    DECOMPOSED_MIN_NODES,
    PLAN_METHODS,
    NodeSearch,
    fewest_nodes,
    use_decomposed,
)
from kperf.analysis.planfile import PLAN_CSV, PLAN_JSON, PLAN_MD, PROBES_CSV, read_plan
from kperf.analysis.slo import (
    SLO_ALLOWED,
    SLO_STATS,
    SLO_TESTS,
    SearchResult,
    Settled,
    Slo,
    format_us,
    geometric_lower_us,
    nodes_needed,
    parse_slo,
    search_highest,
    settle,
    tested_value,
)
from kperf.analysis.utilisation import (
    UTIL_CLASSES,
    UTIL_SHORT,
    UTILISATION_NOTE,
    bottleneck_of,
    describe_bottleneck,
    resource_utilisation,
)
from kperf.errors import SpecError

__all__ = [
    "ASSUMPTIONS",
    "EXAMPLE_PLAN",
    "GROW",
    "MAX_STEPS",
    "OPEN_LOOP_NEEDED",
    "SLO_ALLOWED",
    "SLO_STATS",
    "SLO_TESTS",
    "UTILISATION_NOTE",
    "UTIL_CLASSES",
    "UTIL_SHORT",
    "CapacityPlan",
    "Probe",
    "SearchResult",
    "Settled",
    "Slo",
    "bottleneck_of",
    "describe_bottleneck",
    "display_table",
    "format_us",
    "geometric_lower_us",
    "load_plan",
    "nodes_needed",
    "parse_slo",
    "plan_capacity",
    "plan_hint",
    "plannable",
    "resize_cluster",
    "resource_utilisation",
    "search_highest",
    "settle",
    "suggest_slo",
    "tested_value",
    "util_columns",
]

# --------------------------------------------------------------------------- plan


@dataclass
class Probe:
    """One load tried for one configuration: ``replications`` simulations.

    ``interval``: the SLO metric's mean and Student-t interval over the replications;
    ``geometric_low_us``: the lower bound of its geometric mean
    (:func:`geometric_lower_us`), read by the ``lower`` test. ``verdicts``: test
    (``upper``, ``mean``, ``lower``) → the load meets the SLO (``meets_slo`` is the
    ``upper`` one; every test fails unless every run finished, some request completed
    and few enough failed). ``utilisation``: class → the busiest resource's
    utilisation, mean over the replications; ``busiest``: class → the resource busiest
    most often. ``search``: the test whose search made the probe.
    """

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
    geometric_low_us: float = math.nan
    verdicts: dict[str, bool] = field(default_factory=dict)
    utilisation: dict[str, float] = field(default_factory=dict)
    busiest: dict[str, str] = field(default_factory=dict)
    search: str = "upper"

    def meets(self, test: str) -> bool:
        """The verdict of ``test`` (``meets_slo`` for ``upper`` or when not recorded)."""
        return self.verdicts.get(test, self.meets_slo)

    @property
    def bottleneck(self) -> tuple[str, float, str]:
        """(class, utilisation, busiest resource's name) of the busiest class."""
        cls, u = bottleneck_of(self.utilisation)
        return cls, u, self.busiest.get(cls, "")

    def row(self) -> dict[str, Any]:
        cls, u, name = self.bottleneck
        return {
            "config": self.config,
            "rate_per_client_per_s": self.rate_per_client_per_s,
            "load_total_rps": self.load_total_rps,
            "load_per_node_rps": self.load_per_node_rps,
            "metric_mean_us": self.interval.mean,
            "metric_ci_low_us": self.interval.low,
            "metric_ci_high_us": self.interval.high,
            "metric_upper_us": self.interval.upper,
            "metric_geo_low_us": self.geometric_low_us,
            "n_ok": self.interval.n,
            "failed_fraction": self.failed_fraction,
            "runs_failed": self.runs_failed,
            "meets_slo": self.meets_slo,
            "meets_slo_mean": self.meets("mean"),
            "meets_slo_lower": self.meets("lower"),
            "search": self.search,
            "reason": self.reason,
            "bottleneck": cls,
            "bottleneck_utilisation": u,
            "bottleneck_name": name,
            **util_columns(self.utilisation),
        }


def util_columns(utilisation: Mapping[str, float]) -> dict[str, float]:
    """``util_<class>`` for every class of :data:`UTIL_CLASSES` (NaN when not seen) and
    any other class present."""
    cols = {f"util_{c}": math.nan for c in UTIL_CLASSES}
    cols.update({f"util_{c}": float(u) for c, u in utilisation.items()})
    return cols


ASSUMPTIONS = (
    "Offered load is open-loop (Poisson) and scaled uniformly over the experiment's "
    "open-loop workloads; load = rate_per_s × client pods.",
    "Nodes needed = ceil(target / capacity per node): capacity is assumed to scale "
    "linearly with nodes at the simulated pod density.",
    "The search assumes latency grows with load (one knee); bisection stops when the "
    "bracket is narrower than the stated tolerance, and reports its lower end. Where "
    "probes are not monotonic (a load meets the SLO above one that misses it), the "
    "capacity is the highest load met below every miss.",
    "The bracket assumes the SLO metric's mean over seeds grows with load, that its "
    "mean over the replications is close to normal (low end) and that its logarithm "
    "is (high end: Student-t intervals); it is pointwise (one load at a time), not "
    "adjusted for the several loads tried.",
)


def _num(row: Mapping[Any, Any], key: str) -> float:
    """A number of a plan row; NaN when absent (a plan saved by an older kperf) or not
    a number."""
    try:
        return float(row.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


def _text(row: Mapping[Any, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None or value != value else str(value)


def _range(low: float, high: float) -> str:
    """``12–26``; ``?`` for an open end; ``16`` when both ends round to the same."""
    def one(v: float) -> str:
        return "?" if v != v else f"{v:,.0f}"
    return one(low) if one(low) == one(high) else f"{one(low)}–{one(high)}"


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

    def bracket_statement(self) -> str:
        """What the bracket is, in one sentence ("" for a plan saved without one)."""
        if "capacity_per_node_high_rps" not in self.table.columns:
            return ""
        reps = int(self.meta.get("replications", 1))
        if reps < 2:
            return ("Bracket: one replication has no interval, so it is the search's own "
                    "(the highest load met, the lowest missed).")
        return (f"Bracket: from the highest load met on the interval's upper bound (the "
                f"answer) to the lowest load missed even on the lower bound of the "
                f"replications' geometric mean; the load at which the expected "
                f"{self.slo.stat} reaches the threshold lies in it with about "
                f"{self.confidence:.0%} confidence, search tolerance included.")

    def point_estimates(self) -> str:
        """The SLO tested on the replications' mean, per configuration, in one sentence
        ("" for a plan saved without it or with one replication, where it is the
        answer)."""
        if ("capacity_per_node_mean_rps" not in self.table.columns
                or int(self.meta.get("replications", 1)) < 2):
            return ""
        target = self.meta.get("target_rps") is not None
        parts = []
        for r in self.table.sort_values("rank").to_dict("records"):
            cap = _num(r, "capacity_per_node_mean_rps")
            if not cap > 0:
                continue
            need = _num(r, "nodes_needed_mean")
            parts.append(f"{r['config']} {cap:,.0f} requests/s per node"
                         + (f" ({need:,.0f} nodes)" if target and need == need else ""))
        if not parts:
            return ""
        tol = float(self.meta.get("bracket_tol", self.meta.get("rel_tol", 0.03)))
        return (f"Point estimates (the SLO tested on the replications' mean, to "
                f"{tol:.0%}): {'; '.join(parts)}.")

    def monotonicity_statement(self, always: bool = False) -> str:
        """A sentence naming the configurations whose probes were not monotonic (a load
        met the SLO above one that missed it) and how that was resolved; "" when all
        were monotonic, unless ``always``."""
        if "monotonic" not in self.table.columns:
            return ""
        bad = [r for r in self.table.to_dict("records")
               if r.get("monotonic") is not None and r["monotonic"] == r["monotonic"]
               and not bool(r["monotonic"])]
        if not bad:
            return ("The probes were monotonic: no load met the SLO above a load that "
                    "missed it." if always else "")
        parts = [f"{r['config']} ({_text(r, 'monotonic_detail')})" for r in bad]
        return (f"Probes were not monotonic for {'; '.join(parts)}: each capacity is the "
                "highest load that met the SLO below every load that missed it "
                "(conservative).")

    def answer(self) -> str:
        """The one-line answer: the best configuration, what it needs or carries, its
        bracket, and what limits it."""
        if self.table.empty:
            return "no configuration to plan"
        best = self.table.sort_values("rank").iloc[0].to_dict()
        slo = self.slo
        target = self.meta.get("target_rps")
        nodes = self.meta.get("nodes")
        cap = float(best["capacity_per_node_rps"])
        if not cap > 0:
            return f"No configuration meets {slo} at any load tried."
        if target is not None:
            need = best["nodes_needed"]
            low = _num(best, "nodes_needed_low")
            bracket = (f"; bracket {_range(low, float(need))} nodes"
                       if "nodes_needed_low" in best else "")
            if _text(best, "nodes_method") == "decomposed search":
                lin = _num(best, "nodes_needed_linear")
                bracket += ("; searched by the decomposed method, linear estimate "
                            + (f"{lin:,.0f}" if lin == lin else "none"))
            if need != need:
                return (f"No configuration meets {slo} at {float(target):,.0f} requests/s "
                        "on any node count tried.")
            text = (f"Best: {best['config']} needs {int(need):,} nodes for "
                    f"{float(target):,.0f} requests/s at {slo} "
                    f"({cap:,.0f} requests/s per node at the simulated size{bracket})"
                    if _text(best, "nodes_method") == "decomposed search" else
                    f"Best: {best['config']} needs {int(need):,} nodes for "
                    f"{float(target):,.0f} requests/s at {slo} "
                    f"({cap:,.0f} requests/s per node{bracket})")
        elif nodes is not None:
            high = _num(best, "capacity_high_rps")
            bracket = (f" (bracket {_range(float(best['max_total_rps']), high)})"
                       if "capacity_high_rps" in best else "")
            text = (f"Best: {best['config']} carries {float(best['max_total_rps']):,.0f} "
                    f"requests/s{bracket} on {int(nodes)} nodes at {slo}")
        else:
            high = _num(best, "capacity_per_node_high_rps")
            bracket = (f" (bracket {_range(cap, high)})"
                       if "capacity_per_node_high_rps" in best else "")
            text = (f"Best: {best['config']} carries {cap:,.0f} requests/s per node"
                    f"{bracket} at {slo}")
        cls, util = _text(best, "bottleneck"), _num(best, "bottleneck_utilisation")
        if cls and util == util:
            text += (f", limited by {describe_bottleneck(cls, _text(best, 'bottleneck_name'))}"
                     f", {util:.0%} busy at capacity")
        return text + "."

    def figure(self) -> Any:
        """The capacity chart (:func:`kperf.analysis.plots.capacity_chart`)."""
        from kperf.analysis.plots import capacity_chart

        return capacity_chart(self.table, self.probes, slo_metric=self.slo.metric,
                              slo_threshold_us=self.slo.threshold_us, slo_text=str(self.slo),
                              confidence=self.confidence)

    def statements(self) -> list[str]:
        """The sentences shown with the table in Markdown and the report: answer,
        confidence, bracket, point estimates, and monotonicity (always stated here)."""
        lines = [self.answer(), self.confidence_statement(), self.bracket_statement(),
                 self.point_estimates(), self.monotonicity_statement(always=True)]
        return [s for s in lines if s]

    def markdown(self) -> str:
        """The plan as a Markdown section body (table, answer, method)."""
        lines: list[str] = []
        for s in self.statements():
            lines += [s, ""]
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
                "bracket_statement": self.bracket_statement(),
                "monotonicity_statement": self.monotonicity_statement(always=True),
                "caption": f"Capacity for {self.slo}: loads tried per configuration "
                           f"(left) and the answer per configuration (right). "
                           f"{self.confidence_statement()}"}
        paths[2].write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str) + "\n",
                            encoding="utf-8")
        paths[3].write_text(f"## Capacity planning\n\n{self.markdown()}", encoding="utf-8")
        paths += save_figure(self.figure(), folder / "plots" / "capacity", formats)
        return paths


def _utilisation_cell(row: Mapping[Any, Any]) -> str:
    """``app 84%, core 23%, NIC 2%``: every class's utilisation at capacity, busiest
    first."""
    found = []
    for key, value in row.items():
        if not str(key).startswith("util_"):
            continue
        try:
            u = float(value)
        except (TypeError, ValueError):
            continue
        if u == u:
            cls = str(key)[5:]
            found.append((u, UTIL_SHORT.get(cls, cls)))
    found.sort(key=lambda x: -x[0])
    return ", ".join(f"{name} {u:.0%}" for u, name in found)


def display_table(plan: CapacityPlan) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted rows of a plan, for the CLI, Markdown and HTML. Columns a
    plan saved by an older kperf lacks (bracket, bottleneck) are left out."""
    t = plan.table.sort_values("rank")
    slo = plan.slo
    has_bracket = "capacity_per_node_high_rps" in t.columns
    has_util = "bottleneck" in t.columns
    headers = ["rank", "configuration", "nodes simulated", "load/client (req/s)",
               "capacity/node (req/s)"]
    if has_bracket:
        headers.append("capacity/node bracket (req/s)")
    headers.append(f"{slo.stat} at capacity (mean / upper)")
    if has_util:
        headers += ["bottleneck at capacity", "utilisation at capacity"]
    has_target = plan.meta.get("target_rps") is not None
    has_nodes = plan.meta.get("nodes") is not None
    if has_nodes:
        headers.append(f"max total on {plan.meta['nodes']} nodes (req/s)")
    if has_target:
        headers.append(f"nodes for {float(plan.meta['target_rps']):,.0f} req/s"
                       + (" (bracket)" if has_bracket else ""))
    headers.append("note")
    rows = []
    for r in t.to_dict("records"):
        cap = float(r["capacity_per_node_rps"])
        met = cap > 0
        cells = [
            str(int(r["rank"])),
            str(r["config"]),
            str(int(r["nodes"])),
            f"{float(r['rate_per_client_per_s']):,.0f}" if met else "-",
            f"{cap:,.0f}" if met else "not met",
        ]
        if has_bracket:
            cells.append(_range(cap, _num(r, "capacity_per_node_high_rps")) if met else "-")
        cells.append(f"{format_us(float(r['metric_mean_us']))} / "
                     f"{format_us(float(r['metric_upper_us']))}" if met else "-")
        if has_util:
            cls, u = _text(r, "bottleneck"), _num(r, "bottleneck_utilisation")
            name = _text(r, "bottleneck_name")
            if name.endswith(" app"):
                name = name[:-4]
            cells.append(f"{UTIL_SHORT.get(cls, cls)} {u:.0%}" + (f" ({name})" if name else "")
                         if met and cls and u == u else "-")
            cells.append(_utilisation_cell(r) if met else "-")
        if has_nodes:
            cells.append(f"{float(r['max_total_rps']):,.0f}" if met else "-")
        if has_target:
            need = r.get("nodes_needed")
            if need is None or need != need:
                cells.append("-")
            elif has_bracket:
                cells.append(f"{int(need):,} ({_range(_num(r, 'nodes_needed_low'), need)})")
            else:
                cells.append(f"{int(need):,}")
        cells.append(_text(r, "note"))
        rows.append(cells)
    return headers, rows


# --------------------------------------------------------------------------- what can be planned


def _open_loop(workloads: Sequence[Any]) -> list[int]:
    return [i for i, w in enumerate(workloads) if getattr(w, "rate_per_s", None) is not None]


OPEN_LOOP_NEEDED = ("capacity planning needs an open-loop workload: rr or crr with "
                    "rate_per_s, http, or callgraph")

EXAMPLE_PLAN = "kperf plan experiments/capacity.yaml --slo 'p99<=2ms' --target-rps 200000"
"""A plan that works on the repository's example experiment."""


def plannable(experiment: Any) -> str | None:
    """None when :func:`plan_capacity` accepts ``experiment`` (a path, a mapping or an
    ExperimentSpec), else why not in one line."""
    from kperf.spec.experiment import load_experiment

    try:
        spec = load_experiment(experiment)
    except SpecError as exc:
        return f"the experiment does not load: {exc.one_line()}"
    if not _open_loop(spec.workloads):
        return OPEN_LOOP_NEEDED
    return None


def suggest_slo(p99_us: float | None) -> str:
    """An SLO a plan can start from: twice the p99 measured at the experiment's own
    rate, rounded up to 1, 2, 3 or 5 × a power of ten (``'p99<=2ms'`` when unknown), so
    the experiment's rate meets it and the search doubles from there."""
    if p99_us is None or not p99_us > 0 or not math.isfinite(p99_us):
        return "p99<=2ms"
    want = 2 * p99_us
    exp = 10 ** math.floor(math.log10(want))
    nice = next(m * exp for m in (1, 2, 3, 5, 10) if m * exp >= want * (1 - 1e-9))
    if nice >= 1e6:
        return f"p99<={nice / 1e6:g}s"
    if nice >= 1e3:
        return f"p99<={nice / 1e3:g}ms"
    return f"p99<={nice:g}us"


def plan_hint(experiment: Any, source: str | None, folder: str | os.PathLike[str],
              p99_us: float | None = None) -> tuple[str, str | None]:
    """What a report without a plan suggests: one sentence and, when the experiment can
    be planned, the ``kperf plan`` command that plans it (None otherwise).

    ``experiment``: the folder's experiment (manifest ``experiment``); ``source``: the
    file it was run from (manifest ``source``; None when run from Python);
    ``folder``: the results folder (the command writes the plan and the report into
    it); ``p99_us``: the highest p99 measured there, for the SLO (:func:`suggest_slo`).
    """
    why = plannable(dict(experiment) if isinstance(experiment, Mapping) else experiment)
    if why == OPEN_LOOP_NEEDED:
        return ("No capacity plan in this folder: capacity planning needs an open-loop "
                "workload (rr or crr with rate_per_s, http, or callgraph), and this "
                "experiment has none; experiments/capacity.yaml has one "
                f"({EXAMPLE_PLAN}).", None)
    if why is not None:
        return f"No capacity plan in this folder; kperf plan cannot plan it: {why}.", None
    command = shlex.join(["kperf", "plan", source or "EXP.yaml", "--slo",
                          suggest_slo(p99_us), "--out", str(folder)])
    saved = "" if source else " (EXP.yaml: the experiment under Reproduce, saved to a file)"
    return ("No capacity plan in this folder. To add one (the highest load per node "
            "meeting a latency SLO, what limits it, and with --target-rps the nodes a "
            f"load needs), run the command below{saved}, whose SLO is twice the highest "
            "p99 measured here; it rewrites this report.", command)


def resize_cluster(spec: Any, nodes: int) -> Any:
    """The experiment ``spec`` (an ExperimentSpec without sweep) with ``nodes`` nodes.

    Deployments placed by ``spread`` or ``binpack`` keep their pods per node:
    replicas × nodes / current nodes (rounded, at least 1). Deployments pinned to a
    node, and explicit pods, are kept as they are. When the default address ranges
    cannot hold the nodes and the file does not set them, :data:`WIDE_CIDRS`.
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
        error = exc
    # a cluster file that leaves node_cidr and pod_cidr at their defaults (a /24 of
    # node IPs, a /16 of /24 pod subnets: 254 nodes) gets ranges for 16,000 nodes
    # instead, as kperf bench's 5,000-node cluster has; addresses set in the file stay
    given = spec.raw_data().get("cluster", {})
    if isinstance(given, dict) and not {"node_cidr", "pod_cidr"} & set(given):
        try:
            return spec.resolve({**overrides, **WIDE_CIDRS})
        except SpecError:
            pass
    raise SpecError("--nodes", nodes, f"the cluster cannot be resized: {error.one_line()}"
                    ) from None


WIDE_CIDRS = {"cluster.node_cidr": "192.168.0.0/16", "cluster.pod_cidr": "10.128.0.0/10"}
"""Address ranges :func:`resize_cluster` gives a cluster whose file leaves them at their
defaults when the defaults cannot hold the nodes (65,534 node IPs, 16,384 pod /24s)."""


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


@dataclass
class _Settings:
    """What every configuration's search shares."""

    slo: Slo
    confidence: float
    rel_tol: float
    bracket_tol: float
    max_failed_fraction: float
    max_expand: int
    simulate_fn: Callable[..., Any]
    progress: Callable[[str], None] | None
    probe_rows: list[dict[str, Any]]


GROW = 2.0
"""The search's expansion factor (doubling, halving)."""

MAX_STEPS = 40
"""At most this many loads looked at per search (probes made or reused)."""


@dataclass
class _ConfigSearch:
    """One configuration: its probes (one per load factor, each simulated once) and the
    three tests' searches over them."""

    label: str
    resolved: Any
    workloads: list[Any]
    idx: list[int]
    base: list[float]
    per_factor: float
    n_nodes: int
    seeds: list[int]
    settings: _Settings
    probes: dict[float, Probe] = field(default_factory=dict)
    simulate_fn: Callable[..., Any] | None = None  # None: the settings' (full engine)
    method: str = "full"

    def probe(self, factor: float, search: str) -> Probe:
        """The probe at ``factor`` × the base rate, simulated on first use."""
        known = self.probes.get(factor)
        if known is not None:
            return known
        st = self.settings
        scaled = list(self.workloads)
        for i, r in zip(self.idx, self.base, strict=True):
            scaled[i] = self.workloads[i].model_copy(update={"rate_per_s": r * factor})
        values: list[float] = []
        completed = failed = 0.0
        runs_failed = 0
        reason = ""
        per_run: list[dict[str, tuple[float, str]]] = []
        for seed in self.seeds:
            try:
                fn = self.simulate_fn if self.simulate_fn is not None else st.simulate_fn
                res = fn(self.resolved.resolved_testbed, self.resolved.cluster, scaled, seed)
            except (KeyboardInterrupt, SpecError):
                raise
            except Exception as exc:  # a run that fails does not meet the SLO
                runs_failed += 1
                reason = f"run failed: {type(exc).__name__}: {exc}"
                continue
            s = res.summary
            values.append(float(s.get(st.slo.metric, math.nan)))
            completed += float(s.get("completed") or 0)
            failed += float(s.get("failed") or 0)
            per_run.append(resource_utilisation(getattr(res, "resources", None)))
        iv = t_interval(values, st.confidence)
        frac = failed / (completed + failed) if completed + failed > 0 else math.nan
        admissible = False
        if runs_failed:
            pass
        elif not completed > 0:
            reason = "no request completed"
        elif frac > st.max_failed_fraction:
            reason = f"{frac:.2%} of requests failed"
        else:
            admissible = True
        geo_low = geometric_lower_us(values, st.confidence)
        verdicts = {t: admissible and st.slo.holds(tested_value(iv, geo_low, t))
                    for t in SLO_TESTS}
        if admissible and not verdicts["upper"]:
            reason = f"{st.slo.stat} upper bound {format_us(iv.upper)}"
        util, busiest = _mean_utilisation(per_run)
        total = self.per_factor * factor
        p = Probe(self.label, factor, self.base[0] * factor, total, total / self.n_nodes, iv,
                  frac, runs_failed, verdicts["upper"], reason, geo_low, verdicts, util,
                  busiest, search)
        self.probes[factor] = p
        st.probe_rows.append({**p.row(), "nodes_simulated": self.n_nodes,
                              "method": self.method})
        if st.progress is not None:
            cls, u, _ = p.bottleneck
            busy = f"; busiest: {UTIL_SHORT.get(cls, cls)} {u:.0%}" if cls else ""
            extra = "" if search == "upper" else f" [bracket: {search} test]"
            # missed for a reason other than the latency (a run failed, e.g. a resource
            # the decomposed method finds saturated; requests failed): say which
            why = ""
            if not admissible and reason:
                short = reason if len(reason) <= 160 else reason[:157] + "..."
                why = f" ({runs_failed} of {len(self.seeds)} runs: {short})" \
                    if runs_failed else f" ({short})"
            st.progress(f"{self.label}: {p.rate_per_client_per_s:,.0f} req/s per client "
                        f"({p.load_per_node_rps:,.0f} per node): {st.slo.stat} "
                        f"{format_us(iv.mean)}, upper {format_us(iv.upper)} -> "
                        f"{'meets' if p.meets_slo else 'misses'} {st.slo}{why}{busy}{extra}")
        return p

    def verdicts(self, test: str) -> dict[float, bool]:
        return {f: p.meets(test) for f, p in self.probes.items()}

    def search(self, test: str, tol: float, ceiling: float | None) -> Settled:
        """Search the highest factor meeting ``test`` (from factor 1, so every test
        walks the same grid of loads and reuses the probes made), then settle it over
        every probe, bisecting on while a pass above a miss leaves the bracket wider
        than ``tol``."""
        found = search_highest(lambda f: self.probe(f, test).meets(test), 1.0, rel_tol=tol,
                               grow=GROW, max_expand=self.settings.max_expand,
                               ceiling=ceiling)
        steps = found.steps
        while True:
            settled = settle(self.verdicts(test))
            lo, hi = settled.passed, settled.failed
            if lo is None or hi is None or hi - lo <= tol * hi or steps >= MAX_STEPS:
                return settled
            steps += 1
            self.probe((lo + hi) / 2, test)


def _mean_utilisation(per_run: Sequence[Mapping[str, tuple[float, str]]]
                      ) -> tuple[dict[str, float], dict[str, str]]:
    """Per class: the mean over runs of the busiest resource's utilisation, and the
    resource busiest in most runs."""
    util: dict[str, float] = {}
    busiest: dict[str, str] = {}
    classes = list(dict.fromkeys(c for run in per_run for c in run))
    for cls in classes:
        seen = [run[cls] for run in per_run if cls in run]
        util[cls] = sum(u for u, _ in seen) / len(seen)
        busiest[cls] = Counter(name for _, name in seen).most_common(1)[0][0]
    return util, busiest


def plan_capacity(
    experiment: Any,
    slo: str | Slo,
    *,
    target_rps: float | None = None,
    nodes: int | None = None,
    replications: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    rel_tol: float = 0.03,
    bracket_tol: float = 0.1,
    max_failed_fraction: float = 0.001,
    max_expand: int = 8,
    simulate_fn: Callable[..., Any] | None = None,
    progress: Callable[[str], None] | None = None,
    command: str | None = None,
    method: str = "auto",
    decomposed_min_nodes: int = DECOMPOSED_MIN_NODES,
    decomposed_fn: Callable[..., Any] | None = None,
) -> CapacityPlan:
    """Capacity of every configuration of an experiment's sweep (see the module doc).

    ``experiment``: a path, a mapping or an ExperimentSpec. ``slo``: e.g.
    ``'p99<=2ms'``. ``target_rps``: total requests/s to carry (adds ``nodes_needed``
    and its bracket). ``nodes``: resize the cluster to this many nodes first (adds
    ``max_total_rps``). ``replications``: runs per load (default: the experiment's,
    at least 3). ``rel_tol``: the search's relative tolerance; ``bracket_tol``: the
    tolerance of the bracket's high end (at least ``rel_tol``). ``simulate_fn``: the
    simulation (default :func:`kperf.workloads.simulate.simulate`), called as
    ``simulate_fn(testbed, cluster, workloads, seed)``. ``progress``: called with one
    line per load simulated. ``method`` (:data:`~kperf.analysis.plan_nodes.PLAN_METHODS`):
    ``auto`` computes clusters of ``decomposed_min_nodes`` nodes or more by the
    decomposed method (``decomposed_fn``, default
    :func:`kperf.workloads.decomposed.simulate_decomposed`) and, with ``target_rps``,
    searches the node count with it when the linear estimate reaches that size
    (:mod:`kperf.analysis.plan_nodes`); ``full`` never; ``decomposed`` always (a
    SpecError naming ``method`` when the workload is one it does not model).
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
    if not 0 < bracket_tol < 1:
        raise SpecError("--bracket-tolerance", bracket_tol,
                        "allowed: a number between 0 and 1")
    if simulate_fn is None:
        from kperf.workloads.simulate import simulate as simulate_fn
    assert simulate_fn is not None
    if method not in PLAN_METHODS:
        raise SpecError("--method", method, f"allowed: {', '.join(PLAN_METHODS)}")
    if decomposed_min_nodes < 1:
        raise SpecError("--decomposed-min-nodes", decomposed_min_nodes,
                        "allowed: a node count >= 1")
    if method == "auto" and spec.method == "decomposed":
        method = "decomposed"  # the experiment file asks for it
    if decomposed_fn is None:
        from kperf.workloads.decomposed import simulate_decomposed as decomposed_fn
    assert decomposed_fn is not None
    open_idx = _open_loop(spec.workloads)
    if not open_idx:
        raise SpecError("workload", [w.kind for w in spec.workloads], OPEN_LOOP_NEEDED)
    # The search varies the rate itself: a swept rate only gives the starting point.
    swept_rates = rate_keys(spec.sweep)
    start = {k: spec.sweep[k][0] for k in swept_rates}
    keys = [k for k in spec.sweep if k not in swept_rates]
    grid = [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(spec.sweep[k] for k in keys))]

    settings = _Settings(the_slo, confidence, rel_tol, max(bracket_tol, rel_tol),
                         max_failed_fraction, max_expand, simulate_fn, progress, [])
    rows: list[dict[str, Any]] = []
    for params in grid:
        resolved = spec.resolve({**params, **start}) if params or start else spec
        if nodes is not None:
            resolved = resize_cluster(resolved, nodes)
        workloads = list(resolved.workloads)
        idx = _open_loop(workloads)
        base = [float(workloads[i].rate_per_s) for i in idx]
        clients = _client_pods(resolved.cluster, workloads, idx)
        n_nodes = resolved.cluster.node_count
        unsupported = _decomposed_unsupported(resolved, workloads, method)
        dec = unsupported is None and use_decomposed(method, n_nodes, decomposed_min_nodes)
        run = _ConfigSearch(
            _config_label(params, resolved.cluster.cni), resolved, workloads, idx, base,
            sum(r * c for r, c in zip(base, clients, strict=True)), n_nodes,
            [run_seed(spec.seed, params, rep) for rep in range(reps)], settings,
            simulate_fn=decomposed_fn if dec else None,
            method="decomposed" if dec else "full")
        row = _plan_row(run, params, sum(clients), reps, target_rps, nodes)
        if target_rps is not None:
            _nodes_row(row, run, target_rps, method, decomposed_min_nodes, decomposed_fn,
                       unsupported, nodes is not None)
        rows.append(row)

    table = pd.DataFrame(rows)
    table = _rank(table, target_rps is not None)
    probes_frame = pd.DataFrame(settings.probe_rows)
    from kperf.version import __version__

    meta: dict[str, Any] = {
        "plan_format": 2,
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
        "bracket_tol": settings.bracket_tol,
        "max_failed_fraction": max_failed_fraction,
        "target_rps": target_rps,
        "nodes": nodes,
        "sweep_keys": keys,
        "rate_keys_ignored": swept_rates,
        "slo_tests": dict(SLO_TESTS),
        "util_classes": dict(UTIL_CLASSES),
        "command": command,
        "kperf_version": __version__,
        "assumptions": list(ASSUMPTIONS) + (
            [NODE_SEARCH_ASSUMPTION] if "nodes_method" in table.columns
            and (table["nodes_method"] == "decomposed search").any() else []),
        "method": method,
        "decomposed_min_nodes": decomposed_min_nodes,
    }
    return CapacityPlan(table=table, probes=probes_frame, meta=meta)


NODE_SEARCH_ASSUMPTION = (
    "Where nodes_method is 'decomposed search', nodes needed were not extrapolated: "
    "the cluster was resized to each node count tried (pods per node kept), offered the "
    "target, and simulated by the decomposed method (docs/decomposed.md: its measured "
    "errors, p50 within 5 % and p99 within 10 % for rr, http and callgraph; crr's p99 "
    "up to 11.5 % high); the fewest nodes meeting the SLO above "
    "every count that missed it is the answer.")


def _decomposed_unsupported(resolved: Any, workloads: list[Any], method: str) -> str | None:
    """None when the decomposed method models this configuration, else why not (one
    line); ``method`` ``decomposed`` raises the SpecError instead."""
    if method == "full":
        return "method full"
    from kperf.workloads.decomposed import DecomposedUnsupported
    from kperf.workloads.decomposed.traffic import check_supported

    try:
        check_supported(resolved.cluster, workloads, resolved.resolved_testbed)
    except DecomposedUnsupported as exc:
        if method == "decomposed":
            raise
        return exc.one_line()
    return None


def _nodes_row(row: dict[str, Any], run: _ConfigSearch, target_rps: float, method: str,
               min_nodes: int, decomposed_fn: Callable[..., Any], unsupported: str | None,
               resized: bool) -> None:
    """Nodes needed for ``target_rps``: the linear estimate ``_plan_row`` made, or,
    when ``method`` asks for it (:mod:`kperf.analysis.plan_nodes`), the decomposed
    method's search over node counts; sets ``nodes_method`` (``linear`` or
    ``decomposed search``), ``nodes_needed_linear`` and ``nodes_search_probes``."""
    linear = float(row["nodes_needed"])
    row["nodes_needed_linear"] = linear
    row["nodes_method"] = "linear"
    row["nodes_search_probes"] = 0
    wanted = method == "decomposed" or (method == "auto" and linear == linear
                                        and linear >= min_nodes)
    if resized or not wanted:
        return
    if unsupported is not None or not isinstance(run.resolved.cluster.nodes, int):
        why = unsupported or "cluster.nodes lists the nodes (cannot be resized)"
        row["note"] = "; ".join(s for s in (row["note"], "nodes needed extrapolated "
                                            f"linearly: decomposed method not used ({why})")
                                if s)
        return
    st = run.settings
    searches: dict[int, _ConfigSearch] = {}

    def at(n: int) -> Probe:
        cs = searches.get(n)
        if cs is None:
            spec_n = resize_cluster(run.resolved, n)
            wls = list(spec_n.workloads)
            clients = _client_pods(spec_n.cluster, wls, run.idx)
            cs = _ConfigSearch(f"{run.label} (node search)", spec_n, wls, run.idx, run.base,
                               sum(b * c for b, c in zip(run.base, clients, strict=True)),
                               spec_n.cluster.node_count, run.seeds, st,
                               simulate_fn=decomposed_fn, method="decomposed")
            searches[n] = cs
        return cs.probe(target_rps / cs.per_factor, "nodes")

    def verdicts(test: str) -> dict[int, bool]:
        return {n: next(iter(cs.probes.values())).meets(test) for n, cs in searches.items()}

    start = int(linear) if linear == linear else run.n_nodes
    def search(test: str, tol: float) -> NodeSearch:
        return fewest_nodes(lambda n: at(n).meets(test), lambda: verdicts(test), start, tol)

    found = {test: search(test, tol)
             for test, tol in (("upper", st.rel_tol), ("mean", st.bracket_tol),
                               ("lower", st.bracket_tol))}
    up, mean, low = found["upper"], found["mean"], found["lower"]
    nan = math.nan
    need = float(up.passed) if up.passed is not None else nan
    row["nodes_needed"] = row["nodes_needed_high"] = need
    row["nodes_needed_mean"] = float(mean.passed) if mean.passed is not None else nan
    row["nodes_needed_low"] = (float(low.failed + 1) if low.failed is not None
                               else float(low.passed) if low.passed is not None else nan)
    row["nodes_method"] = "decomposed search"
    row["nodes_search_probes"] = len(searches)
    lin = f"{linear:,.0f}" if linear == linear else "none"
    what = (f"nodes needed searched by the decomposed method ({len(searches)} node counts "
            f"tried; linear estimate {lin})")
    if up.passed is None:
        what += f"; SLO not met up to {max(searches):,} nodes"
    row["note"] = "; ".join(s for s in (row["note"], what) if s)


def _plan_row(run: _ConfigSearch, params: Mapping[str, Any], clients: int, reps: int,
              target_rps: float | None, nodes: int | None) -> dict[str, Any]:
    """Search one configuration (the three tests) and make its row of the plan."""
    st = run.settings
    upper = run.search("upper", st.rel_tol, None)
    # The bracket's searches go no higher than GROW² × the lowest load that missed the
    # answer's test (nor above the highest load tried when none missed).
    ceiling = (upper.failed * GROW ** 2 if upper.failed is not None
               else max(run.probes, default=1.0))
    for _ in range(5):  # settle every test over every probe, until no search adds one
        made = len(run.probes)
        mean = run.search("mean", st.bracket_tol, ceiling)
        lower = run.search("lower", st.bracket_tol, ceiling)
        upper = run.search("upper", st.rel_tol, None)
        if len(run.probes) == made:
            break
    per_node = run.per_factor / run.n_nodes
    note = ""
    if upper.passed is None:
        factor = 0.0
        lowest = min(run.probes)
        why = run.probes[lowest].reason
        note = (f"SLO not met at any load tried (down to "
                f"{run.base[0] * lowest:,.1f} req/s per client){': ' + why if why else ''}")
    else:
        factor = upper.passed
        if upper.failed is None:
            note = ("capacity is above the highest load tried; raise the workload's "
                    "rate_per_s to search higher")
    detail = ""
    if not upper.monotonic:
        assert upper.failed is not None
        above = ", ".join(f"{f * per_node:,.0f}" for f in upper.passes_above_failure)
        detail = (f"met at {above} req/s per node above a miss at "
                  f"{upper.failed * per_node:,.0f}")
        note = "; ".join(s for s in (note, f"probes not monotonic: {detail}; capacity "
                                     "taken below the lowest miss") if s)
    best = run.probes.get(factor)
    iv = best.interval if best is not None else Interval(math.nan, math.nan, math.nan,
                                                          math.nan, 0, st.confidence)
    mean_factor = mean.passed if mean.passed is not None else 0.0
    high_factor = lower.failed if upper.passed is not None and lower.failed is not None \
        else math.nan
    total = run.per_factor * factor
    cap_node = total / run.n_nodes
    cls, util, name = best.bottleneck if best is not None else ("", math.nan, "")
    row: dict[str, Any] = {
        "config": run.label,
        **params,
        "nodes": run.n_nodes,
        "clients": clients,
        "rate_per_client_per_s": run.base[0] * factor,
        "capacity_rps": total,
        "capacity_per_node_rps": cap_node,
        "capacity_per_node_low_rps": cap_node,
        "capacity_per_node_mean_rps": mean_factor * per_node,
        "capacity_per_node_high_rps": high_factor * per_node,
        "capacity_low_rps": total,
        "capacity_mean_rps": mean_factor * run.per_factor,
        "capacity_high_rps": high_factor * run.per_factor,
        "metric": st.slo.metric,
        "metric_mean_us": iv.mean,
        "metric_upper_us": iv.upper,
        "replications": reps,
        "probes": len(run.probes),
        "bracket_high_per_node_rps": (upper.failed * per_node if upper.failed is not None
                                      else math.nan),
        "bounded": upper.passed is not None and upper.failed is not None,
        "monotonic": upper.monotonic,
        "monotonic_detail": detail,
        "bottleneck": cls,
        "bottleneck_utilisation": util,
        "bottleneck_name": name,
        **util_columns(best.utilisation if best is not None else {}),
    }
    if nodes is not None:
        row["max_total_rps"] = total
    if target_rps is not None:
        row["target_rps"] = float(target_rps)
        row["nodes_needed"] = nodes_needed(target_rps, cap_node)
        row["nodes_needed_low"] = nodes_needed(target_rps, row["capacity_per_node_high_rps"])
        row["nodes_needed_mean"] = nodes_needed(target_rps, row["capacity_per_node_mean_rps"])
        row["nodes_needed_high"] = row["nodes_needed"]
        if nodes is not None:
            row["meets_target"] = bool(total >= target_rps)
    row["note"] = note
    return row


def _rank(table: pd.DataFrame, by_nodes: bool) -> pd.DataFrame:
    if table.empty:
        return table.assign(rank=pd.Series(dtype=int))
    work = table.assign(_cap=-table["capacity_per_node_rps"].astype(float))
    order = ["nodes_needed", "_cap"] if by_nodes else ["_cap"]
    work = work.sort_values(order, na_position="last", kind="stable")
    work.insert(0, "rank", range(1, len(work) + 1))
    return work.drop(columns="_cap").reset_index(drop=True)


def load_plan(folder: str | os.PathLike[str]) -> CapacityPlan | None:
    """The plan saved in ``folder`` (``plan.json`` + ``plan.csv``), or None. A plan
    saved by an older kperf (no bracket, bottleneck or monotonicity columns) loads
    too: its table and sentences just leave them out."""
    saved = read_plan(folder)
    if saved is None:
        return None
    return CapacityPlan(table=saved.table, probes=saved.probes, meta=saved.meta)

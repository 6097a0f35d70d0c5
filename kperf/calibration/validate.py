"""Run calibration cases through the engine and compare with the published values.

``validate(cases)`` simulates each case (:func:`run_case`) and returns one
:class:`CaseResult` per case; :func:`results_table` makes the tidy table that
``kperf validate`` prints and ``docs/validation.md`` shows. A case *passes* when the
simulated value is within its tolerance of the published one; a case with
``expected_fail`` is a *known gap* whatever it gives (the model documents that it
cannot meet it; if it ever does, the status says ``known gap (now passes)`` so the
marker can be removed).

Mesh cases (issue 21, ``case.mesh``) read more than one summary column: the per-proxy
CPU from the ``cpu:<proxy>`` resource rows, the added latency against the same case
with ``mesh: none`` (run once per setup and reused, :func:`_baseline`), the ratios
against the same case with the mesh ``ratio_to``. :func:`group_counts` counts each
group of cases (datapath, mesh) so that neither hides the other.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from kperf.calibration.cases import GROUPS, CalibrationCase
from kperf.profiles import get_testbed
from kperf.profiles.base import CniProfile, Testbed
from kperf.spec import ClusterSpec
from kperf.spec.loader import parse
from kperf.spec.workload import WORKLOAD_KINDS

Status = Literal["pass", "fail", "known gap", "known gap (now passes)"]


@dataclass(frozen=True)
class CaseResult:
    """A case's published and simulated value, the relative error and the verdict."""

    name: str
    setup: str
    testbed: str
    metric: str
    units: str
    published: float
    simulated: float
    error: float  # simulated / published - 1
    tolerance: float
    status: Status
    source: str
    expected_fail: str | None
    wall_s: float
    group: str = "datapath"

    @property
    def ok(self) -> bool:
        """Counts as success for the exit code (pass, or a documented known gap)."""
        return self.status != "fail"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["error_pct"] = round(self.error * 100, 2)
        return d


def cluster_spec(case: CalibrationCase) -> ClusterSpec:
    """Two nodes, a client on node-1 and a server on node-2 (pods or host-network pods);
    the case's mesh, if any."""
    data: dict[str, Any] = {"nodes": 2, "cni": case.cni, "proxy": case.effective_proxy}
    if case.mesh is not None:
        data["mesh"] = dict(case.mesh)
    if case.pod_mtu_bytes is not None:
        data["pod_mtu_bytes"] = case.pod_mtu_bytes
    if case.network == "host":
        data["pods"] = [
            {"name": "client", "node": "node-1", "host_network": True,
             "labels": {"app": "client"}},
            {"name": "server", "node": "node-2", "host_network": True,
             "labels": {"app": "server"}},
        ]
    else:
        data["deployments"] = [
            {"name": "client", "replicas": 1, "placement": "node-1"},
            {"name": "server", "replicas": 1, "placement": "node-2"},
        ]
        data["services"] = [{"name": "server", "selector": {"app": "server"}, "port": 80}]
    return parse(ClusterSpec, data, f"case {case.name}")


def build_run(
    case: CalibrationCase, testbed: Testbed | None = None, cni: CniProfile | None = None
) -> tuple[Testbed, Any, Any]:
    """(testbed, built cluster, workload) for a case; ``testbed``/``cni`` replace the
    catalog's (the fitting code passes modified profiles)."""
    from kperf.cluster import Cluster

    tb = testbed if testbed is not None else get_testbed(case.testbed)
    if case.testbed_mtu_bytes is not None:
        tb = tb.model_copy(update={"mtu_bytes": case.testbed_mtu_bytes})
    cluster = Cluster.build(cluster_spec(case))
    if cni is not None:
        cluster.cni = cni
    if case.conntrack is not None:
        # read by kperf.datapath.conntrack: the hosts' conntrack, forced on or off
        cluster.conntrack_override = case.conntrack == "on"  # type: ignore[attr-defined]
    if case.network == "host":
        # Explicit pods belong to no Deployment; name them so the workload's default
        # ``clients: client`` / ``target: server`` select them.
        for pod in cluster.pods:
            pod.deployment = pod.name
    data = case.workload_data()
    model = WORKLOAD_KINDS[data["kind"]]
    workload = parse(model, data, f"case {case.name}.workload")
    return tb, cluster, workload


def simulate_case(
    case: CalibrationCase, testbed: Testbed | None = None, cni: CniProfile | None = None
) -> float:
    """The case's metric as simulated (NaN when the run produced none)."""
    if case.mesh is not None:
        return _mesh_metric(case, testbed, cni)
    value = _run(case, testbed, cni).summary.get(case.metric, math.nan)
    return float(value) if value is not None else math.nan


def _run(case: CalibrationCase, testbed: Testbed | None = None,
         cni: CniProfile | None = None) -> Any:
    from kperf.workloads.simulate import simulate

    tb, cluster, workload = build_run(case, testbed, cni)
    return simulate(tb, cluster, [workload], seed=case.seed)


_BASELINES: dict[str, dict[str, Any]] = {}
"""Summaries of ``mesh: none`` runs, by the case's fields without its mesh (one baseline
per setup, however many cases compare with it; deterministic, so caching is exact)."""


def _baseline(case: CalibrationCase, testbed: Testbed | None = None,
              cni: CniProfile | None = None) -> dict[str, Any]:
    base = case.model_copy(update={"mesh": None, "mesh_proxy": None, "ratio_to": None,
                                   "metric": "latency_mean_us"})
    if testbed is not None or cni is not None:  # modified profiles (fitting): not cached
        return dict(_run(base, testbed, cni).summary)
    key = base.model_dump_json(exclude={"name", "setup", "published", "units", "source",
                                        "tolerance", "expected_fail"})
    if key not in _BASELINES:
        _BASELINES[key] = dict(_run(base).summary)
    return _BASELINES[key]


def _added(case: CalibrationCase, summary: dict[str, Any], pct: str,
           testbed: Testbed | None = None, cni: CniProfile | None = None) -> float:
    key = f"latency_{pct}_us"
    base = _baseline(case, testbed, cni)
    return float(summary.get(key, math.nan)) - float(base.get(key, math.nan))


def _proxy_vcpu_per_krps(case: CalibrationCase, res: Any) -> float:
    """Busy cores of the ``cpu:<proxy>`` rows per 1,000 measured requests/s, per proxy
    of that kind that served (its pool rows with busy time)."""
    rows = res.resources
    kind = case.mesh_proxy
    busy_s = float(rows[rows.resource == f"cpu:{kind}"].busy_s.sum())
    pools = int((rows[rows.resource == kind].busy_s > 0).sum())
    rate = float(res.summary.get("requests_per_s", math.nan))
    sim_s = float(res.summary.get("sim_time_s", math.nan))
    if pools == 0 or not rate > 0:
        return math.nan
    return busy_s / sim_s / (rate / 1000) / pools


def _mesh_metric(case: CalibrationCase, testbed: Testbed | None,
                 cni: CniProfile | None) -> float:
    res = _run(case, testbed, cni)
    summary = dict(res.summary)
    metric = case.metric
    if metric == "proxy_vcpu_per_krps":
        return _proxy_vcpu_per_krps(case, res)
    if metric.startswith("added_latency_") and metric.endswith("_us"):
        return _added(case, summary, metric.split("_")[2], testbed, cni)
    if metric in ("added_latency_p50_ratio", "proxy_cores_ratio"):
        other_case = case.model_copy(update={"mesh": case.ratio_to})
        other = dict(_run(other_case, testbed, cni).summary)
        if metric == "proxy_cores_ratio":
            col = "mesh_proxy_cores_per_krps"
            return float(summary.get(col, math.nan)) / float(other.get(col, math.nan))
        return (_added(case, summary, "p50", testbed, cni)
                / _added(other_case, other, "p50", testbed, cni))
    value = summary.get(metric, math.nan)
    return float(value) if value is not None else math.nan


def judge(case: CalibrationCase, simulated: float, wall_s: float = 0.0) -> CaseResult:
    """The verdict for one simulated value."""
    err = simulated / case.published - 1.0 if math.isfinite(simulated) else math.inf
    within = abs(err) <= case.effective_tolerance
    status: Status
    if case.expected_fail is not None:
        status = "known gap (now passes)" if within else "known gap"
    else:
        status = "pass" if within else "fail"
    return CaseResult(
        name=case.name, setup=case.setup_text, testbed=case.testbed, metric=case.metric,
        units=case.units, published=case.published, simulated=simulated, error=err,
        tolerance=case.effective_tolerance, status=status, source=case.source,
        expected_fail=case.expected_fail, wall_s=wall_s, group=case.group,
    )


def run_case(case: CalibrationCase) -> CaseResult:
    """Simulate one case with the catalog's profiles and judge it."""
    t0 = time.perf_counter()
    value = simulate_case(case)
    return judge(case, value, time.perf_counter() - t0)


def validate(
    cases: Iterable[CalibrationCase],
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run every case; ``progress(result)`` after each."""
    out = []
    for case in cases:
        r = run_case(case)
        out.append(r)
        if progress is not None:
            progress(r)
    return out


def results_table(results: Iterable[CaseResult]) -> pd.DataFrame:
    """One row per case: name, setup, published, simulated, error %, tolerance, status."""
    rows = [
        {
            "case": r.name,
            "setup": r.setup,
            "published": r.published,
            "simulated": r.simulated,
            "units": r.units,
            "error_pct": r.error * 100,
            "tolerance_pct": r.tolerance * 100,
            "status": r.status,
            "source": r.source,
            "group": r.group,
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=["case", "setup", "published", "simulated", "units",
                                       "error_pct", "tolerance_pct", "status", "source",
                                       "group"])


def group_counts(results: Iterable[CaseResult]) -> dict[str, dict[str, int]]:
    """Per group (datapath, mesh: :data:`GROUPS`) and in total: cases, pass, fail, known
    gaps (a gap that now passes counts as a known gap)."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        for g in (r.group, "total"):
            c = out.setdefault(g, {"cases": 0, "pass": 0, "fail": 0, "known gap": 0})
            c["cases"] += 1
            c["known gap" if r.status.startswith("known gap") else r.status] += 1
    order = [*GROUPS, "total"]
    return {g: out[g] for g in order if g in out}


def group_counts_text(results: Iterable[CaseResult]) -> list[str]:
    """One line per group and one for the total, e.g. ``mesh (service mesh, issue 21):
    31 cases, 12 pass (39 % pass), 0 fail, 19 known gaps``."""
    lines = []
    for g, c in group_counts(results).items():
        label = "total" if g == "total" else f"{g} ({GROUPS[g]})"
        share = f" ({c['pass'] / c['cases'] * 100:.0f} % pass)" if c["cases"] else ""
        lines.append(f"{label}: {c['cases']} cases, {c['pass']} pass{share}, {c['fail']} "
                     f"fail, {c['known gap']} known gaps")
    return lines


def all_ok(results: Iterable[CaseResult]) -> bool:
    """True when no case failed (known gaps do not count)."""
    return all(r.ok for r in results)


def fmt_value(value: float, units: str) -> str:
    """A value for a table: Gbit/s with two decimals, rates with thousands separators."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if units.startswith("vCPU") or units == "ratio":  # 0.060 vCPU per 1,000 req/s
        return f"{value:.3f}"
    if units == "us":  # the mesh cases' added latency
        return f"{value:.0f}"
    return f"{value:.2f}"


def results_markdown(results: Iterable[CaseResult]) -> str:
    """The results as a Markdown table (what docs/validation.md shows)."""
    lines = ["| case | setup | published | simulated | error | tolerance | result |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        err = f"{r.error * 100:+.1f} %" if math.isfinite(r.error) else "n/a"
        lines.append(f"| `{r.name}` | {r.setup} | {fmt_value(r.published, r.units)} "
                     f"{r.units} | {fmt_value(r.simulated, r.units)} | {err} | "
                     f"±{r.tolerance * 100:.0f} % | {r.status} |")
    return "\n".join(lines)

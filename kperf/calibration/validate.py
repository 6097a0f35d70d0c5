"""Run calibration cases through the engine and compare with the published values.

``validate(cases)`` simulates each case (:func:`run_case`) and returns one
:class:`CaseResult` per case; :func:`results_table` makes the tidy table that
``kperf validate`` prints and ``docs/validation.md`` shows. A case *passes* when the
simulated value is within its tolerance of the published one; a case with
``expected_fail`` is a *known gap* whatever it gives (the model documents that it
cannot meet it; if it ever does, the status says ``known gap (now passes)`` so the
marker can be removed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from kperf.calibration.cases import CalibrationCase
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

    @property
    def ok(self) -> bool:
        """Counts as success for the exit code (pass, or a documented known gap)."""
        return self.status != "fail"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["error_pct"] = round(self.error * 100, 2)
        return d


def cluster_spec(case: CalibrationCase) -> ClusterSpec:
    """Two nodes, a client on node-1 and a server on node-2 (pods or host-network pods)."""
    data: dict[str, Any] = {"nodes": 2, "cni": case.cni, "proxy": case.effective_proxy}
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
    from kperf.workloads.simulate import simulate

    tb, cluster, workload = build_run(case, testbed, cni)
    summary = simulate(tb, cluster, [workload], seed=case.seed).summary
    value = summary.get(case.metric, math.nan)
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
        expected_fail=case.expected_fail, wall_s=wall_s,
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
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=["case", "setup", "published", "simulated", "units",
                                       "error_pct", "tolerance_pct", "status", "source"])


def all_ok(results: Iterable[CaseResult]) -> bool:
    """True when no case failed (known gaps do not count)."""
    return all(r.ok for r in results)


def fmt_value(value: float, units: str) -> str:
    """A value for a table: Gbit/s with two decimals, rates with thousands separators."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
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

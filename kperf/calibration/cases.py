"""Calibration cases: published measurements kperf is checked against, read from YAML.

A case is one published number and the setup that produced it: a testbed, a CNI mode
(or host networking), a pod MTU, a tool-like workload and the metric it reported. The
cases are data (``kperf/data/calibration_cases.yaml``; a user passes their own file
with ``kperf validate --cases FILE``); ``docs/validation.md`` documents the format.

How a case becomes a simulation (:func:`build_run`):

* two nodes of the testbed; a ``client`` on node-1 and a ``server`` on node-2, as pods
  of the CNI (``network: pod``) or as host-network pods (``network: host``: the host
  stack only, the "node to node" and "bare metal" rows);
* ``conntrack: on|off`` (host networking only) says whether the hosts track the
  connections in netfilter conntrack (default: as the proxy mode and CNI decide,
  :mod:`kperf.datapath.conntrack`);
* ``testbed_mtu_bytes`` replaces the testbed's underlay MTU (a measurement at another
  MTU than the testbed's usual one);
* ``target: service`` sends to the ClusterIP of a Service ``server`` in front of the
  server pod (kube-proxy mode ``proxy``, default the CNI's own default);
* ``tool`` picks the workload: ``iperf3-tcp`` / ``iperf3-udp`` (one stream, 128 KiB
  writes or one MTU-sized datagram per write), ``netperf-tcp-stream`` (as iperf3-tcp),
  ``netperf-tcp-rr`` (1-byte request and response) or ``netperf-tcp-crr`` (a new
  connection per transaction);
  ``fortio-http`` (open-loop HTTP at ``rate_per_s``, 1 KB request and response,
  20 us of application time: the setup of Istio's published benchmarks);
  ``workload`` overrides any field of kperf's workload spec (``streams``,
  ``outstanding``, ``duration_s``, ``rate_per_s``, ``request_bytes``...);
* ``mesh`` (issue 21) puts a service mesh on the cluster (``cluster.mesh``'s fields:
  ``{mode: istio-sidecar, istio_release: "1.13"}``); its metrics are
  ``proxy_vcpu_per_krps`` (one proxy of kind ``mesh_proxy``: busy cores of its
  ``cpu:<kind>`` rows per 1,000 requests/s, per proxy that served), the
  ``added_latency_p50_us`` / ``p90`` / ``p99`` over the same case with ``mode: none``
  (validate runs that baseline too), and two ratios against the same case with the
  mesh ``ratio_to``: ``added_latency_p50_ratio`` (added p50 over added p50) and
  ``proxy_cores_ratio`` (``mesh_proxy_cores_per_krps`` over the other's).
  A case with a mesh is in the ``mesh`` group, the others in ``datapath``
  (``kperf validate`` counts each group).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kperf.errors import SpecError
from kperf.profiles import CNI_PROFILES
from kperf.spec.base import CniName, FieldProblem, ProxyName, StrictModel, TestbedName
from kperf.spec.loader import parse, read_yaml
from kperf.spec.workload import WORKLOAD_KINDS

DEFAULT_CASES_PATH = Path(__file__).resolve().parent.parent / "data" / "calibration_cases.yaml"

Tool = Literal["iperf3-tcp", "iperf3-udp", "netperf-tcp-stream", "netperf-tcp-rr",
               "netperf-tcp-crr", "fortio-http"]
Metric = Literal["throughput_gbps", "requests_per_s", "latency_mean_us",
                 "proxy_vcpu_per_krps", "added_latency_p50_us", "added_latency_p90_us",
                 "added_latency_p99_us", "added_latency_p50_ratio", "proxy_cores_ratio"]
MeshProxyKind = Literal["sidecar", "ztunnel", "waypoint", "envoy"]
MESH_METRICS = frozenset({"proxy_vcpu_per_krps", "added_latency_p50_us",
                          "added_latency_p90_us", "added_latency_p99_us",
                          "added_latency_p50_ratio", "proxy_cores_ratio"})
"""Metrics that need ``mesh`` (the ratios also ``ratio_to``)."""
RATIO_METRICS = frozenset({"added_latency_p50_ratio", "proxy_cores_ratio"})
Group = Literal["datapath", "mesh"]
GROUPS: dict[str, str] = {
    "datapath": "CNI datapath, issue 19",
    "mesh": "service mesh, issue 21",
}
"""The groups ``kperf validate`` counts separately, so neither hides the other."""
FORTIO_REQUESTS = 400
"""Requests a ``fortio-http`` case measures when it sets no ``duration_s`` (at least
0.5 s of simulated time): enough for a p99 of a few hundred samples, under a second of
wall time per run."""

DEFAULT_TOLERANCE: dict[str, float] = {
    "throughput_gbps": 0.10,
    "requests_per_s": 0.15,
    "latency_mean_us": 0.15,
    "proxy_vcpu_per_krps": 0.15,
    "added_latency_p50_us": 0.15,
    "added_latency_p90_us": 0.15,
    "added_latency_p99_us": 0.15,
    "added_latency_p50_ratio": 0.15,
    "proxy_cores_ratio": 0.15,
}
"""Relative tolerance per metric when a case gives none (issue 9: throughput 10 %,
request/response rate 15 %; issue 21: CPU per 1,000 requests/s 15 %)."""

# Simulated time per tool: short, because a single stream reaches its steady state in
# well under a millisecond of simulated time (there is no slow start in the model).
TOOL_DEFAULTS: dict[str, dict[str, Any]] = {
    "iperf3-tcp": {"kind": "stream", "protocol": "tcp", "warmup_s": 0.005, "duration_s": 0.1,
                   "window_bytes": 1 << 20},
    "iperf3-udp": {"kind": "stream", "protocol": "udp", "warmup_s": 0.002, "duration_s": 0.03},
    "netperf-tcp-stream": {"kind": "stream", "protocol": "tcp", "warmup_s": 0.005,
                           "duration_s": 0.1, "window_bytes": 1 << 20},
    "netperf-tcp-rr": {"kind": "rr", "warmup_s": 0.001, "duration_s": 0.04},
    "netperf-tcp-crr": {"kind": "crr", "warmup_s": 0.001, "duration_s": 0.06},
    "fortio-http": {"kind": "http", "rate_per_s": 1000.0, "request_bytes": {"mean": 1024},
                    "response_bytes": {"mean": 1024}, "service_us": {"mean": 20.0}},
}
"""The kperf workload each tool maps to. ``window_bytes`` 1 MiB for TCP streams: iperf3
relies on receive-buffer autotuning, which grows the window with what the receiver
drains per round trip, not at once to ``tcp_rmem``'s 4-6 MiB; kperf has neither
autotuning nor slow start, so a full 4 MiB window would be sent as one burst at t = 0
and overflow the receiver's backlog (a start-up transient real TCP does not have).
1 MiB is above the bandwidth-delay product of every testbed and within the 1,000-packet
receive backlog at MTU 1500. ``netperf-tcp-stream`` is the same stream: netperf sends
socket-buffer-sized messages, but the receiver reads what GRO has gathered, and
kperf's per-message costs (the reader's wake-up) are per read, so 128 KiB messages
model it better than 16 KiB ones."""


class CalibrationCase(StrictModel):
    """One published measurement and the setup that produced it."""

    name: str = Field(description="unique id, e.g. a-calico-ipip-tcp")
    setup: str = Field("", description="what was measured, for the table")
    testbed: TestbedName
    cni: CniName = Field(
        "none", description="CNI mode; with network: host it only names the cluster"
    )
    network: Literal["pod", "host"] = "pod"
    target: Literal["pod", "service"] = "pod"
    conntrack: Literal["on", "off"] | None = Field(
        None, description="network: host only: whether the hosts run netfilter conntrack "
        "on the connection (off: no rule needs it, as on a host without Kubernetes; on: "
        "a stateful host firewall); default: as the cluster's proxy and CNI decide "
        "(kperf.datapath.conntrack)")
    proxy: ProxyName | None = Field(None, description="proxy mode; default: the CNI's own")
    pod_mtu_bytes: int | None = Field(None, ge=576, le=65535)
    testbed_mtu_bytes: int | None = Field(
        None, ge=576, le=65535,
        description="the underlay (NIC and switch) MTU, when the measurement used another "
        "than the testbed's (CAL:C's encryption charts: 1500 and 9000)")
    tool: Tool
    workload: dict[str, Any] = Field(default_factory=dict,
                                     description="overrides of the tool's workload fields")
    metric: Metric
    published: float = Field(gt=0)
    units: str
    source: str = Field(min_length=1)
    tolerance: float | None = Field(None, gt=0, lt=1)
    expected_fail: str | None = Field(None, description="why the model cannot meet this row")
    seed: int = 1
    mesh: dict[str, Any] | None = Field(
        None, description="a service mesh on the cluster (cluster.mesh's fields, e.g. "
        "{mode: istio-sidecar, istio_release: '1.13'}); puts the case in the mesh group")
    mesh_proxy: MeshProxyKind | None = Field(
        None, description="metric proxy_vcpu_per_krps: which proxy (sidecar, ztunnel, "
        "waypoint, envoy)")
    ratio_to: dict[str, Any] | None = Field(
        None, description="ratio metrics: the mesh of the denominator run (e.g. {mode: "
        "istio-sidecar})")

    @field_validator("conntrack", mode="before")
    @classmethod
    def _on_off(cls, v: Any) -> Any:
        # YAML 1.1 reads an unquoted on/off as a boolean
        if isinstance(v, bool):
            return "on" if v else "off"
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError("allowed: a non-empty name without spaces")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> CalibrationCase:
        if self.network == "pod" and not CNI_PROFILES[self.cni].reachable_cross_node:
            raise FieldProblem("cni", self.cni,
                               "allowed: a CNI that routes between nodes (or network: host)")
        if self.conntrack is not None and self.network != "host":
            raise FieldProblem("conntrack", self.conntrack,
                               "allowed: only with network: host (pod traffic is tracked "
                               "as the CNI and proxy decide)")
        if self.network == "host" and self.target == "service":
            raise FieldProblem("target", self.target,
                               "allowed: pod with network: host (host pods back no Service)")
        if (self.testbed_mtu_bytes is not None and self.pod_mtu_bytes is not None
                and self.pod_mtu_bytes > self.testbed_mtu_bytes):
            raise FieldProblem("pod_mtu_bytes", self.pod_mtu_bytes,
                               f"allowed: at most testbed_mtu_bytes ({self.testbed_mtu_bytes})")
        if "kind" in self.workload:
            raise FieldProblem("workload.kind", self.workload["kind"],
                               "the tool sets the kind; remove it")
        # a bad workload override is an input error now, not halfway through a run
        data = self.workload_data()
        model = WORKLOAD_KINDS[data["kind"]]
        for key in self.workload:
            if key not in model.model_fields:
                raise FieldProblem(f"workload.{key}", self.workload[key],
                                   f"unknown field of a {data['kind']} workload; allowed: "
                                   f"{', '.join(sorted(model.model_fields))}")
        try:
            parse(model, data)
        except SpecError as exc:
            raise FieldProblem(f"workload.{exc.path}".rstrip("."), exc.value,
                               exc.allowed) from None
        self._check_mesh()
        if self.expected_fail is not None and not self.expected_fail.strip():
            raise FieldProblem("expected_fail", self.expected_fail,
                               "allowed: the reason the model cannot meet this row")
        return self

    def _check_mesh(self) -> None:
        from kperf.spec import ClusterSpec  # the mesh's own checks (mode, CNI, release)

        for key, mesh in (("mesh", self.mesh), ("ratio_to", self.ratio_to)):
            if mesh is None:
                continue
            if self.network == "host":
                raise FieldProblem(key, mesh, "allowed: only with network: pod")
            try:
                parse(ClusterSpec, {"nodes": 2, "cni": self.cni, "mesh": mesh})
            except SpecError as exc:
                raise FieldProblem(f"{key}.{exc.path.removeprefix('mesh.')}", exc.value,
                                   exc.allowed) from None
        if self.metric in MESH_METRICS and self.mesh is None:
            raise FieldProblem("mesh", None, f"allowed: a mesh ({{mode: ...}}) for metric "
                               f"{self.metric}")
        if (self.metric == "proxy_vcpu_per_krps") != (self.mesh_proxy is not None):
            raise FieldProblem("mesh_proxy", self.mesh_proxy,
                               "allowed: sidecar, ztunnel, waypoint or envoy with metric "
                               "proxy_vcpu_per_krps, and only with it")
        if (self.metric in RATIO_METRICS) != (self.ratio_to is not None):
            raise FieldProblem("ratio_to", self.ratio_to,
                               f"allowed: a mesh with metric {' or '.join(sorted(RATIO_METRICS))}"
                               f", and only with them")

    @property
    def group(self) -> Group:
        """``mesh`` for a case with a service mesh, else ``datapath``."""
        return "mesh" if self.mesh is not None else "datapath"

    @property
    def effective_tolerance(self) -> float:
        return self.tolerance if self.tolerance is not None else DEFAULT_TOLERANCE[self.metric]

    @property
    def effective_proxy(self) -> str:
        if self.proxy is not None:
            return self.proxy
        return "ebpf" if CNI_PROFILES[self.cni].proxy_default == "ebpf" else "iptables"

    @property
    def setup_text(self) -> str:
        """A short description for tables (``setup`` or one made from the fields)."""
        if self.setup:
            return self.setup
        where = "host network" if self.network == "host" else self.cni
        mtu = f", MTU {self.pod_mtu_bytes}" if self.pod_mtu_bytes else ""
        if self.testbed_mtu_bytes:
            mtu += f" (underlay {self.testbed_mtu_bytes})"
        svc = " to a ClusterIP" if self.target == "service" else ""
        return f"{self.testbed}: {where}{mtu}, {self.tool}{svc}"

    def workload_data(self) -> dict[str, Any]:
        """The kperf workload mapping: the tool's defaults, then the case's overrides."""
        data = dict(TOOL_DEFAULTS[self.tool])
        data.update(self.workload)
        if self.tool == "fortio-http" and "duration_s" not in self.workload:
            data["duration_s"] = max(0.5, FORTIO_REQUESTS / float(data["rate_per_s"]))
        if self.target == "service":
            data["target"] = "svc/server"
        return data


class CaseFile(StrictModel):
    """A calibration cases file: ``cases:`` (a list), an optional ``description``."""

    description: str = ""
    cases: list[CalibrationCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CaseFile:
        seen: set[str] = set()
        for i, c in enumerate(self.cases):
            if c.name in seen:
                raise FieldProblem(f"cases.{i}.name", c.name, "allowed: a unique case name")
            seen.add(c.name)
        return self


def load_cases(path: str | Path | None = None) -> list[CalibrationCase]:
    """The cases of ``path`` (default: kperf's own file), validated; SpecError names the
    file and the field of a bad one."""
    p = Path(path) if path is not None else DEFAULT_CASES_PATH
    data = read_yaml(p)
    try:
        return parse(CaseFile, data).cases
    except SpecError as exc:
        raise SpecError(f"{p}: {exc.path}", exc.value, exc.allowed) from None


def select(cases: list[CalibrationCase], name: str) -> CalibrationCase:
    """The case called ``name``; a SpecError listing the names otherwise."""
    for c in cases:
        if c.name == name:
            return c
    raise SpecError("--case", name, f"unknown case; allowed: {', '.join(c.name for c in cases)}")

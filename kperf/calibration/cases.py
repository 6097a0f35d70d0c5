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
  ``workload`` overrides any field of kperf's workload spec (``streams``,
  ``outstanding``, ``duration_s``...).
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
               "netperf-tcp-crr"]
Metric = Literal["throughput_gbps", "requests_per_s", "latency_mean_us"]

DEFAULT_TOLERANCE: dict[str, float] = {
    "throughput_gbps": 0.10,
    "requests_per_s": 0.15,
    "latency_mean_us": 0.15,
}
"""Relative tolerance per metric when a case gives none (issue 9: throughput 10 %,
request/response rate 15 %)."""

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
        if self.expected_fail is not None and not self.expected_fail.strip():
            raise FieldProblem("expected_fail", self.expected_fail,
                               "allowed: the reason the model cannot meet this row")
        return self

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

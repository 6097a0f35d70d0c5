"""Workload specs: the traffic a simulation runs, modelled on the tools users already run.

* ``rr``: netperf TCP_RR — request/response over one persistent connection, closed loop
  with ``outstanding`` requests per client, or open loop (Poisson) at ``rate_per_s``.
* ``crr``: netperf TCP_CRR — a new connection per request (handshake, conntrack insert,
  the proxy's first-packet cost, teardown).
* ``stream``: iperf3 — parallel TCP streams limited by window and CPU, or UDP at a rate
  or unlimited (sender-bound).
* ``http``: open-loop requests at a rate to a Service; size and service-time
  distributions; a worker pool per pod; keep-alive or a connection per request.
* ``callgraph``: a frontend calls several backend Services per request, in parallel
  (latency = the slowest) or in sequence (the sum).

Traffic placement: ``clients`` names the deployment whose pods send; ``target`` names a
deployment (pod to pod) or ``svc/NAME`` (through the Service's virtual IP). Clients of a
``placement: external`` deployment (hosts outside the cluster) target ``nodeport/NAME``
(a NodePort or LoadBalancer Service's NodePort on a node: ``entry_node`` picks which,
per connection) or ``lb/NAME`` (a LoadBalancer Service's external address: the
cluster's load balancer picks the node); rr, crr and http workloads only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from kperf.spec.base import (
    MAX_CV,
    MAX_MESSAGE_BYTES,
    MAX_NIC_GBPS,
    MAX_OUTSTANDING,
    MAX_SERVICE_US,
    MAX_STREAMS,
    FieldProblem,
    MessageBytes,
    Micros,
    RatePerS,
    Seconds,
    StrictModel,
    at_most,
)
from kperf.spec.dns import check_dns_name


class Distribution(StrictModel):
    """A positive random quantity: ``fixed`` at ``mean``, ``exponential`` or ``lognormal``
    with mean ``mean`` (lognormal with coefficient of variation ``cv``)."""

    dist: Literal["fixed", "exponential", "lognormal"] = "fixed"
    mean: float = Field(ge=0)
    cv: Annotated[float, at_most(MAX_CV, "")] = Field(1.0, gt=0)


def _mean_at_most(bound: float, unit: str) -> AfterValidator:
    """A :class:`Distribution` whose mean is at most ``bound`` (the error names
    ``<field>.mean``)."""

    def check(value: Any) -> Any:
        if isinstance(value, Distribution) and value.mean > bound:
            raise FieldProblem("mean", value.mean, f"allowed: at most {bound:.0f} {unit}")
        return value

    return AfterValidator(check)


SizeDistribution = Annotated[Distribution, _mean_at_most(MAX_MESSAGE_BYTES, "bytes")]
"""Message sizes in bytes: the mean at most :data:`MAX_MESSAGE_BYTES`."""
TimeDistribution = Annotated[Distribution, _mean_at_most(MAX_SERVICE_US, "microseconds")]
"""Service times in microseconds: the mean at most :data:`MAX_SERVICE_US`."""


def _dns_name(value: str | None) -> str | None:
    return None if value is None else check_dns_name(value)


ROUND_ROBIN = "round-robin"
"""``entry_node``: each new connection to the next node in turn."""


class _Workload(StrictModel):
    name: str | None = None
    clients: str = Field("client", description="deployment whose pods generate traffic")
    target: str = Field("server", description="a deployment name, svc/NAME, or (external "
                        "clients) nodeport/NAME or lb/NAME")
    entry_node: str = Field(
        ROUND_ROBIN, description="target nodeport/NAME: the node whose NodePort each new "
        "connection goes to: round-robin (the next node in turn, per client) or a node name")
    placement: Literal["pairs", "all-to-all"] = "pairs"
    locality: Literal["any", "cross-node", "same-node"] = "any"
    network: Literal["pod", "host"] = Field(
        "pod", description="host: the client and target deployments run with hostNetwork "
        "(node IPs, no CNI on the path): the baseline a CNI's overhead is measured against")
    warmup_s: Seconds = Field(0.0, ge=0)
    duration_s: Seconds = Field(0.05, gt=0, description="simulated seconds after warm-up")
    requests: int | None = Field(None, ge=1, description="stop after this many requests")
    resolve_dns: bool = Field(
        False, description="resolve the target Service's name through cluster DNS before "
        "each new connection (crr, http without keep-alive; persistent connections "
        "resolve once before measuring)",
    )
    dns_name: Annotated[str | None, AfterValidator(_dns_name)] = Field(
        None, description="the name the clients resolve before each new connection "
        "instead of the target Service's short name (implies resolve_dns): web.other, "
        "web.other.svc.cluster.local., a headless Service (the client connects straight "
        "to one of its pods), or an external name such as api.example.com (the target "
        "stands in for the server)")

    @model_validator(mode="after")
    def _dns(self) -> _Workload:
        if self.dns_name is None:
            return self
        kind = getattr(self, "kind", "")
        if kind not in ("rr", "crr", "http"):
            raise FieldProblem("dns_name", self.dns_name,
                               f"allowed: dns_name with kind rr, crr or http, not {kind}")
        return self

    @property
    def resolves(self) -> bool:
        """Whether clients resolve a name before each new connection (``dns_name``
        implies it, whatever ``resolve_dns`` says: a dumped spec holds both)."""
        return self.resolve_dns or self.dns_name is not None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        # fields added after run ids were defined: left out unless the input sets them,
        # so a file that does not use them keeps its run ids (and one that does can
        # sweep them: see kperf.spec.cluster._drop_unset)
        data = handler(self)
        if isinstance(data, dict):
            for late in ("entry_node", "network", "dns_name"):
                if late not in self.model_fields_set:
                    data.pop(late, None)
        return data


class RrWorkload(_Workload):
    """netperf TCP_RR: request/response over a persistent connection."""

    kind: Literal["rr"] = "rr"
    request_bytes: MessageBytes = Field(1, ge=0)
    response_bytes: MessageBytes = Field(1, ge=0)
    outstanding: Annotated[int, at_most(MAX_OUTSTANDING, "requests")] = Field(
        1, ge=1, description="closed loop: requests in flight per client")
    rate_per_s: RatePerS | None = Field(
        None, gt=0, description="open loop: Poisson rate per client")
    app_service_us: Micros = Field(0.0, ge=0)


class CrrWorkload(RrWorkload):
    """netperf TCP_CRR: a new connection for every request."""

    kind: Literal["crr"] = "crr"  # type: ignore[assignment]


class StreamWorkload(_Workload):
    """iperf3: TCP streams (CUBIC, Reno, DCTCP), finite TCP transfers, or UDP streams."""

    kind: Literal["stream"] = "stream"
    protocol: Literal["tcp", "udp"] = "tcp"
    streams: Annotated[int, at_most(MAX_STREAMS, "streams")] = Field(
        1, ge=1, description="parallel streams per client")
    window_bytes: MessageBytes = Field(
        4 * 1024 * 1024, ge=1024, description="socket buffer / window")
    write_bytes: MessageBytes = Field(131072, ge=1, description="bytes per write (iperf3 -l)")
    udp_rate_gbps: Annotated[float | None, at_most(MAX_NIC_GBPS, "Gb/s")] = Field(
        None, gt=0, description="UDP target; None = unlimited")
    congestion_control: Literal["cubic", "reno", "dctcp"] = Field(
        "cubic", description="TCP congestion control (Linux default: cubic; dctcp reacts "
        "to ECN marks at switch ports, Testbed.ecn_threshold_bytes)")
    rto_min_ms: Annotated[float, at_most(120_000, "ms")] = Field(
        200.0, gt=0, description="TCP's floor on the retransmission timeout (Linux 200 ms; "
        "incast studies lower it to 1 ms)")
    initial_cwnd_packets: Annotated[int, at_most(1000, "packets")] = Field(
        10, ge=1, description="TCP initial window (RFC 6928: 10)")
    tail_loss_probe: bool = Field(
        True, description="TCP tail-loss probes (Linux default since 3.10)")
    bytes: MessageBytes | SizeDistribution | None = Field(
        None, description="finite transfers: bytes per flow (a number or a distribution); "
        "None = bulk streams that send for the whole window")
    flow_rate_per_s: RatePerS | None = Field(
        None, gt=0, description="finite transfers: new flows per client per second "
        "(Poisson), each a new connection; None = each of `streams` sends one transfer "
        "at the start of the window")

    @model_validator(mode="after")
    def _udp(self) -> StreamWorkload:
        if self.udp_rate_gbps is not None and self.protocol != "udp":
            raise FieldProblem("udp_rate_gbps", self.udp_rate_gbps,
                               "allowed only with protocol: udp")
        if self.flow_rate_per_s is not None and self.bytes is None:
            raise FieldProblem("flow_rate_per_s", self.flow_rate_per_s,
                               "allowed only with bytes (finite transfers)")
        if self.bytes is not None and self.protocol != "tcp":
            raise FieldProblem("bytes", self.bytes, "allowed only with protocol: tcp")
        return self


class HttpWorkload(_Workload):
    """Open-loop HTTP requests with size and service-time distributions."""

    kind: Literal["http"] = "http"
    rate_per_s: RatePerS = Field(gt=0, description="open-loop request rate per client")
    request_bytes: SizeDistribution = Distribution(mean=300)
    response_bytes: SizeDistribution = Distribution(dist="exponential", mean=2000)
    service_us: TimeDistribution = Distribution(dist="exponential", mean=100)
    keepalive: bool = True


class CallgraphWorkload(_Workload):
    """A frontend calling several backend Services per request."""

    kind: Literal["callgraph"] = "callgraph"
    backends: list[str] = Field(min_length=1, description="Services the frontend calls")
    parallel: bool = True
    rate_per_s: RatePerS = Field(gt=0)
    request_bytes: MessageBytes = Field(200, ge=0)
    response_bytes: MessageBytes = Field(1000, ge=0)
    service_us: TimeDistribution = Distribution(dist="exponential", mean=50)


WorkloadSpec = Annotated[
    RrWorkload | CrrWorkload | StreamWorkload | HttpWorkload | CallgraphWorkload,
    Field(discriminator="kind"),
]
"""One workload; ``kind`` picks the model."""

WORKLOAD_KINDS: dict[str, type[_Workload]] = {
    "rr": RrWorkload,
    "crr": CrrWorkload,
    "stream": StreamWorkload,
    "http": HttpWorkload,
    "callgraph": CallgraphWorkload,
}

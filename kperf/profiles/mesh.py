"""Service mesh data planes (issue 21): what each proxy costs per request, per byte and
per connection, its worker pool, its mTLS costs, and how traffic is redirected to it.

A mesh puts proxies on a request's path. Per mode (``ClusterSpec.mesh.mode``):

``istio-sidecar``
    An Envoy sidecar in every pod: the client's outbound requests are redirected by
    iptables ``REDIRECT`` (nat OUTPUT, to port 15001) to its sidecar, which connects
    to the server pod, where iptables redirects the inbound connection (nat PREROUTING,
    port 15006) to the server's sidecar, which hands it to the application over
    loopback. Each direction of a request crosses the client's sidecar and the
    server's sidecar, and the loopback stack once on each node (app to sidecar,
    sidecar to app).
``istio-ambient``
    A ztunnel per node (an L4 proxy, Rust): the pod's traffic is redirected (istio-cni,
    in the pod's network namespace) to the node's ztunnel, which tunnels it to the
    server node's ztunnel over HBONE (HTTP/2 CONNECT inside mutual TLS, port 15008).
    Each direction crosses the ztunnel of both nodes. With ``waypoint: true`` an L7
    Envoy (the waypoint) proxies every request between the ztunnels as well.
``linkerd``
    A linkerd2-proxy sidecar (Rust) in every pod, redirected by iptables like Istio's:
    the same traversals as ``istio-sidecar`` with Linkerd's costs.

Costs are in reference-core microseconds (testbed A's core, ``cpu_speed_factor`` 1.0)
and divided by the testbed's factor, like every other CPU stage. A proxy's cost of one
message (a request or a response) is ``per_message_us + per_byte_ns x payload``, plus,
with mutual TLS, ``mtls_per_record_us`` per TLS record (at most 16 KiB of payload,
RFC 8446 section 5.1) and ``mtls_per_byte_ns`` per byte (one AEAD pass: each proxy
encrypts what it sends to the other proxy and decrypts what it receives from it). A
new connection to the proxy costs ``per_connection_us`` (accept, upstream pick,
filter chain set-up). The mTLS handshake (``mtls_handshake_us``, each proxy's share)
is paid when a proxy opens a pooled upstream connection to a peer proxy
(:mod:`kperf.workloads.meshpool`), not per request: a pool grows only when it has no
free connection (HTTP/1.1: one request in flight per connection; HTTP/2: one
connection multiplexes them).

Calibration (:func:`per_message_us`): the per-message cost is what is left of a
published CPU per 1,000 requests/s once the per-byte and mTLS terms of that test's
payload are taken out; the test's requests are two messages (request and response)
of ``CALIBRATION_PAYLOAD_BYTES`` each.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from kperf.profiles.base import Category, _Frozen

ISTIO_PERF_URL = "https://istio.io/docs/ops/performance-and-scalability (Istio 1.24)"
ISTIO_PERF_SOURCE = (
    f"{ISTIO_PERF_URL}, 'Sidecar and ztunnel resource usage': at 1,000 HTTP requests/s "
    "with 1 KB payloads through a proxy, a sidecar with 2 worker threads uses about 0.20 "
    "vCPU, a waypoint with 2 worker threads about 0.25 vCPU, a ztunnel about 0.06 vCPU")
CALIBRATION_PAYLOAD_BYTES = 1024
"""The Istio test's payload (1 KB; fortio's echo server returns it, so the response
carries it too)."""
TLS_RECORD_BYTES = 16384  # RFC 8446 section 5.1: TLSPlaintext.length <= 2^14
CONTROL_MESSAGES_PER_CONNECTION = 4
"""Payload-less messages a connection sends through each proxy (SYN, SYN-ACK, FIN each
way, as kperf's crr sends them): ``per_connection_us`` is spread over them."""


class MeshProxyProfile(_Frozen):
    """One kind of mesh proxy: its costs, its worker pool, and where its time counts."""

    name: str
    category: Category
    vcpu_per_krps: float = Field(gt=0)
    """Published (or estimated) vCPU per 1,000 requests/s through one proxy, at
    ``CALIBRATION_PAYLOAD_BYTES`` per message with mutual TLS."""
    per_byte_ns: float = Field(0.0, ge=0)
    per_connection_us: float = Field(0.0, ge=0)
    workers: int = Field(ge=1)
    mtls_handshake_us: float = Field(0.0, ge=0)
    mtls_per_record_us: float = Field(0.0, ge=0)
    mtls_per_byte_ns: float = Field(0.0, ge=0)
    l7: bool = True
    pins_connections: bool = False
    """Each downstream connection is bound to one worker thread for its life (Envoy);
    False: the workers share one run queue (tokio's work-stealing runtime)."""
    upstream_protocol: Literal["http1", "http2"] = "http1"
    """The protocol of its pooled upstream connections by default (``mesh.upstream_protocol``
    overrides it): http1, one request in flight per connection; http2, one connection
    multiplexes them all."""
    pools_inbound: bool = True
    """As the server's proxy, whether its connections to the application are pooled (an
    HTTP proxy's upstream pool); False: one connection to the application per connection
    it receives (an L4 proxy)."""
    connection_source: str = ""
    """Where ``pins_connections``, ``upstream_protocol`` and ``pools_inbound`` come from."""
    source: str
    source_label: str = ""
    """A few words on where ``vcpu_per_krps`` comes from (``kperf list mesh``)."""

    @property
    def per_message_us(self) -> float:
        return per_message_us(self)

    def message_us(self, payload_bytes: int, mtls: bool) -> float:
        """Reference-core µs one message of ``payload_bytes`` costs this proxy."""
        us = self.per_message_us + self.per_byte_ns * payload_bytes * 1e-3
        if mtls:
            us += self.mtls_us(payload_bytes)
        return us

    def mtls_us(self, payload_bytes: int) -> float:
        """The mutual TLS share of one message (records and AEAD bytes)."""
        records = max(1, math.ceil(payload_bytes / TLS_RECORD_BYTES))
        return self.mtls_per_record_us * records + self.mtls_per_byte_ns * payload_bytes * 1e-3


def per_message_us(p: MeshProxyProfile) -> float:
    """The per-message cost that reproduces ``p.vcpu_per_krps``: one request is two
    messages of ``CALIBRATION_PAYLOAD_BYTES`` (request and response) with mutual TLS,
    and 1,000 requests/s at ``vcpu_per_krps`` cores is ``vcpu_per_krps`` ms of CPU per
    request."""
    per_request_us = p.vcpu_per_krps * 1e3
    n = CALIBRATION_PAYLOAD_BYTES
    rest = per_request_us / 2 - p.per_byte_ns * n * 1e-3 - p.mtls_us(n)
    if rest <= 0:
        raise ValueError(f"mesh proxy {p.name}: per-byte and mTLS costs exceed the "
                         f"calibration figure")
    return rest


# Shared component estimates (not fitted):
_ENVOY_PER_BYTE = ("estimated: 0.3 ns/byte, two user-space buffer passes per message "
                   "(read into Envoy's buffer, write out) at ~7 GB/s each")
_AEAD_PER_BYTE = ("estimated: 0.3 ns/byte, one AES-128-GCM pass with AES-NI (BoringSSL/"
                  "rustls reach ~3-4 GB/s per core on a 2015-era Xeon)")
_RECORD = ("estimated: 1 us per TLS record (record framing, nonce, tag, one extra "
           "write/read)")
_HANDSHAKE = ("estimated: ~300 us per TLS 1.3 handshake with ECDSA P-256 certificates "
              "(ECDHE key share, a signature and two verifications at ~20-60 us each, "
              "certificate chain checks), charged to each of the two proxies when a pooled "
              "connection between them opens (kperf.workloads.meshpool)")

_ENVOY_PINS = (
    "pins_connections: Envoy threading model (envoyproxy.io docs, intro/arch_overview/intro/"
    "threading_model): 'Once a connection is accepted by a listener, the connection spends the "
    "rest of its lifetime bound to a single worker thread'; without a connection_balance_config "
    "(exact_balance) 'all worker threads independently attempt to accept connections on each "
    "listener and rely on the kernel' (SO_REUSEPORT listeners: the kernel picks a worker's "
    "socket by a hash of the 4-tuple, linux net/core/sock_reuseport.c reuseport_select_sock)")
_ENVOY_POOL = (
    "Envoy connection pooling (envoyproxy.io docs, intro/arch_overview/upstream/"
    "connection_pooling): the HTTP/1.1 pool 'acquires connections as needed to an upstream "
    "host', one request per connection at a time (no pipelining); the HTTP/2 pool "
    "'multiplexes multiple requests over a single connection ... With no limits, this will be "
    "only a single connection'; pools are per worker thread (threading model: workers share "
    "nothing). pools_inbound: the sidecar's inbound listener forwards to an inbound cluster "
    "(inbound|port||), an upstream cluster with its own connection pool to the application")
_TOKIO = (
    "pins_connections False: a Rust proxy on tokio's multi-threaded runtime, whose worker "
    "threads steal tasks from each other's run queues (docs.rs tokio::runtime, "
    "'multi-thread scheduler ... work-stealing'): a shared queue")

MESH_PROXIES: dict[str, MeshProxyProfile] = {
    "istio-sidecar": MeshProxyProfile(
        name="envoy sidecar", category="sidecar", vcpu_per_krps=0.20,
        source_label="Istio 1.24 Performance and Scalability page",
        per_byte_ns=0.3, per_connection_us=20.0, workers=2,
        mtls_handshake_us=300.0, mtls_per_record_us=1.0, mtls_per_byte_ns=0.3,
        pins_connections=True, upstream_protocol="http1", pools_inbound=True,
        connection_source=(f"{_ENVOY_PINS}. {_ENVOY_POOL}. upstream_protocol http1: Istio's "
                           "MeshConfig h2UpgradePolicy defaults to DO_NOT_UPGRADE (a "
                           "DestinationRule's connectionPool.http.h2UpgradePolicy: UPGRADE "
                           "turns HTTP/2 on between sidecars)"),
        source=(f"vcpu_per_krps and workers: {ISTIO_PERF_SOURCE}. per_byte: "
                f"{_ENVOY_PER_BYTE}. per_connection: estimated 20 us (accept, filter "
                f"chain match, upstream pick: a few syscalls and allocations). mTLS: "
                f"{_AEAD_PER_BYTE}; {_RECORD}; {_HANDSHAKE}")),
    "istio-ambient": MeshProxyProfile(
        name="ztunnel", category="ztunnel", vcpu_per_krps=0.06,
        source_label="Istio 1.24 Performance and Scalability page",
        per_byte_ns=0.3, per_connection_us=10.0, workers=2, l7=False,
        mtls_handshake_us=300.0, mtls_per_record_us=1.0, mtls_per_byte_ns=0.3,
        pins_connections=False, upstream_protocol="http2", pools_inbound=False,
        connection_source=(f"{_TOKIO} (ztunnel). upstream_protocol http2: HBONE (istio.io "
                           "docs/ambient/architecture/hbone): 'HTTP/2 is used to multiplex "
                           "application connection streams over that single secured and "
                           "encrypted tunnel', one tunnel connection per source and "
                           "destination identity. pools_inbound False: ztunnel is an L4 "
                           "proxy; each application connection (an HBONE stream) becomes "
                           "its own TCP connection to the destination pod"),
        source=(f"vcpu_per_krps: {ISTIO_PERF_SOURCE}. workers: ztunnel's default "
                "numWorkerThreads 2 (https://ambientmesh.io/docs/setup/advanced, 'Resource "
                "allocation & scaling'; ZTUNNEL_WORKER_THREADS). per_byte: estimated, "
                "as Envoy's (two buffer passes). per_connection: estimated 10 us (an L4 "
                f"accept and an HBONE stream open on a pooled connection). mTLS: "
                f"{_AEAD_PER_BYTE}; {_RECORD}; {_HANDSHAKE}")),
    "linkerd": MeshProxyProfile(
        name="linkerd2-proxy", category="sidecar", vcpu_per_krps=0.05,
        source_label="estimated from Linkerd's 2021 benchmarks vs Istio (no direct figure)",
        per_byte_ns=0.3, per_connection_us=15.0, workers=1,
        mtls_handshake_us=300.0, mtls_per_record_us=1.0, mtls_per_byte_ns=0.3,
        pins_connections=False, upstream_protocol="http2", pools_inbound=True,
        connection_source=(f"{_TOKIO} (linkerd2-proxy). upstream_protocol http2: "
                           "linkerd2-proxy upgrades HTTP/1 requests to HTTP/2 between "
                           "meshed proxies and downgrades them at the inbound proxy "
                           "(linkerd/linkerd2-proxy, proxy http orig_proto: 'Upgrades HTTP "
                           "requests from their original protocol to HTTP2', header "
                           "l5d-orig-proto). pools_inbound: estimated, the inbound proxy's "
                           "HTTP client (hyper) keeps its connections to the application "
                           "alive between requests"),
        source=("vcpu_per_krps: estimated 0.05. No per-proxy CPU per 1,000 requests/s "
                "was found published: Linkerd's benchmark (https://linkerd.io/2021/05/27/"
                "linkerd-vs-istio-benchmarks/, Linkerd 2.10.2 vs Istio 1.10.0, Kinvolk's "
                "harness) reports Linkerd 'consumes an order of magnitude less data plane "
                "memory and CPU' than Istio (max proxy CPU time 10 ms vs 88 ms at 2,000 "
                "RPS: 0.11), and its 2021 redux (linkerd.io/2021/11/29/linkerd-vs-istio-"
                "benchmarks-2021, Linkerd 2.11.1 vs Istio 1.12.0) 'just a fraction' (36 ms "
                "vs 67 ms: 0.54); kperf's ratio to Istio 1.24's sidecar, 0.05 / 0.20 = "
                "0.25, lies between the two (tests/test_mesh_calibration.py). Istio's page "
                "gave 0.35 vCPU per 1,000 requests/s "
                "per proxy in that period (1.12.3 as quoted in OpenShift's 'Load test "
                "results'; istio.io/v1.16 for 1.16.2): 0.035, rounded up to 0.05 (the "
                "harness mixes gRPC and HTTP and reports the whole data plane; uncertain "
                "by ~2x either way). "
                "workers: estimated 1 (linkerd2-proxy runs one worker thread unless its "
                "CPU limit/proxy-cpu-limit asks for more). per_byte, per_connection, "
                f"mTLS: estimated as Envoy's (rustls: {_AEAD_PER_BYTE})")),
}
"""Per mesh mode, the proxy on the client's and the server's side of a request."""

WAYPOINT = MeshProxyProfile(
    name="waypoint", category="waypoint", vcpu_per_krps=0.25,
    source_label="Istio 1.24 Performance and Scalability page",
    per_byte_ns=0.3, per_connection_us=20.0, workers=2,
    mtls_handshake_us=300.0, mtls_per_record_us=1.0, mtls_per_byte_ns=0.3,
    pins_connections=True, upstream_protocol="http2", pools_inbound=True,
    connection_source=(f"{_ENVOY_PINS}. upstream_protocol http2: a waypoint receives and "
                       "sends HBONE (HTTP/2 CONNECT), istio.io docs/ambient/architecture/hbone"),
    source=(f"vcpu_per_krps and workers: {ISTIO_PERF_SOURCE}. The rest as the Envoy "
            "sidecar's (a waypoint is an Envoy)"))
"""istio-ambient's optional L7 proxy (``mesh.waypoint: true``)."""

REDIRECT_SOURCE = {
    "istio-sidecar": ("iptables nat REDIRECT to the sidecar (outbound: OUTPUT to 15001; "
                      "inbound: PREROUTING to 15006; istio/tools/istio-iptables): one "
                      "loopback crossing per node and direction (app to sidecar on the "
                      "sender's node, sidecar to app on the receiver's)"),
    "istio-ambient": ("istio-cni in-pod redirection to the node's ztunnel, HBONE (HTTP/2 "
                      "CONNECT in mTLS, port 15008) between the nodes' ztunnels: one "
                      "loopback crossing per node and direction; with a waypoint, two more "
                      "on the server's node (ztunnel to waypoint and back)"),
    "linkerd": ("iptables nat REDIRECT to linkerd2-proxy (outbound 4140, inbound 4143; "
                "linkerd2-proxy-init): one loopback crossing per node and direction"),
}
"""How each mode's traffic reaches its proxies (the loopback crossings kperf adds)."""



# -- cilium-mesh (issue 21, second slice) -------------------------------------------------
CILIUM_MESH = "cilium-mesh"
"""Cilium's sidecar-less mesh: L4 in the CNI's eBPF datapath, L7 through the node's Envoy."""

CILIUM_MESH_L4_SOURCE = (
    "L4 (policy, mutual authentication, encryption) is the Cilium CNI's eBPF datapath: no "
    "proxy hop and nothing added per packet beyond what the cilium-* CNI profiles already "
    "charge (kperf.profiles.cni: the bpf_lxc/bpf_host stages, policy lookups; WireGuard or "
    "IPsec per packet and byte in cilium-wireguard / cilium-ipsec). Mutual authentication "
    "(SPIFFE) is an out-of-band handshake by the agents, once per identity pair and cached "
    "in the auth map (docs.cilium.io network/servicemesh/mutual-authentication): not "
    "charged per request. 'mTLS in Cilium Service Mesh requires both mutual auth and "
    "encryption of some form' (cilium/cilium issue 24867): kperf asks mtls: true for an "
    "encrypting CNI (cilium-wireguard, cilium-ipsec)")

CILIUM_ENVOY = MeshProxyProfile(
    name="cilium-envoy", category="envoy",
    vcpu_per_krps=MESH_PROXIES["istio-sidecar"].vcpu_per_krps,
    source_label="as Istio's Envoy sidecar (no Cilium per-proxy figure found)",
    per_byte_ns=MESH_PROXIES["istio-sidecar"].per_byte_ns,
    per_connection_us=MESH_PROXIES["istio-sidecar"].per_connection_us,
    workers=MESH_PROXIES["istio-sidecar"].workers,
    mtls_handshake_us=MESH_PROXIES["istio-sidecar"].mtls_handshake_us,
    mtls_per_record_us=MESH_PROXIES["istio-sidecar"].mtls_per_record_us,
    mtls_per_byte_ns=MESH_PROXIES["istio-sidecar"].mtls_per_byte_ns,
    pins_connections=True, upstream_protocol="http1", pools_inbound=True,
    connection_source=(f"{_ENVOY_PINS}. {_ENVOY_POOL}. upstream_protocol http1: estimated, "
                       "an Envoy cluster's default protocol (HTTP/1.1 unless the cluster's "
                       "http2_protocol_options ask for HTTP/2)"),
    source=("The per-node Envoy of Cilium (cilium-envoy DaemonSet, or in the agent pod): "
            "'That Envoy proxy instance becomes responsible for proxying all matching L7 "
            "requests on that node' (docs.cilium.io security/network/proxy/envoy, "
            "'Deployment as DaemonSet'). It is the same proxy as Istio's sidecar (Envoy, "
            "a minimal build with Cilium's policy filters); no published Cilium figure of "
            "its CPU per request was found, so every number is the Istio sidecar's "
            f"({ISTIO_PERF_SOURCE}), per_message_us included. It never charges the mTLS "
            "terms: Cilium's proxies do not terminate TLS between each other, encryption "
            "is the CNI's (WireGuard/IPsec). workers: estimated 2, as the Istio figure's "
            "Envoy (cilium-envoy's thread count is a deployment setting)"))
"""cilium-mesh's L7 proxy (``mesh.l7: true``): one per node."""

REDIRECT_SOURCE[CILIUM_MESH] = (
    "L4: none (eBPF in the datapath). L7 (l7: true): Cilium's eBPF redirects the "
    "connection to the node's Envoy (TPROXY / socket assign), on the client's node: "
    "'Cilium Ingress is implemented as L7 LB, which is an Envoy redirect on the egress "
    "packet path' (cilium/cilium commit 04f19e98); with l7_node: server (ingress L7 "
    "policy, enforced by the proxy at the destination: 'ingress proxy at destination', "
    "cilium/cilium PR 8837) on the server's node; the other end's node when the pod at "
    "the chosen end is not meshed. One loopback crossing per direction on that node; Envoy "
    "terminates the connection, so the response crosses the same Envoy")

MESH_MODES: tuple[str, ...] = ("none", *MESH_PROXIES, CILIUM_MESH)


# -- Istio per release (issue 21, calibration slice) --------------------------------------
_ISTIO_PAGE = "istio.io/v{v}/docs/ops/deployment/performance-and-scalability"
_LOAD_TEST = ("the Istio load test (istio/tools perf/load): 1,000 Services, 2,000 sidecars, "
              "70,000 requests/s mesh-wide; the traffic mix is not only 1 KB HTTP/1.1, so "
              "kperf's 1 KB calibration request is an approximation of it")
_MIXER = ("Mixer era: the istio-telemetry service's own 0.6 vCPU per 1,000 mesh-wide "
          "requests/s is listed separately, so it is not in the sidecar's figure (the "
          "page does not say how much of the sidecar's figure is its Mixer client "
          "filter's work)")


class IstioRelease(_Frozen):
    """One Istio release's published per-proxy CPU figure (``cluster.mesh.istio_release``)."""

    release: str
    version: str
    """The exact version the page's figure was measured with."""
    sidecar_vcpu_per_krps: float = Field(gt=0)
    ambient: bool = False
    """True when the page gives ztunnel and waypoint figures (istio-ambient allowed)."""
    load_test: bool
    """True when the figure is the page's load-test summary (1,000 Services, 2,000
    sidecars, 70,000 req/s mesh-wide), False when it is the 1 KB fortio benchmark's."""
    source: str


def _release(release: str, version: str, vcpu: float, *, load_test: bool = True,
             mixer: bool = False, ambient: bool = False, where: str = "",
             quote: str = "") -> IstioRelease:
    page = where or _ISTIO_PAGE.format(v=release)
    q = quote or (f"'Performance summary for Istio {version}': 'The Envoy proxy uses "
                  f"{vcpu:g} vCPU ... per 1000 requests per second going through the proxy'")
    how = _LOAD_TEST if load_test else (
        "the page's data plane section, not the load test (1.24 states 1,000 HTTP "
        "requests/s with 1 KB payloads; 1.20 and 1.22 only 'per 1000 requests per second', "
        "next to latency runs with Istio's fortio benchmark: http/1.1, 1 KB, 1,000 req/s, 2 "
        "proxy workers, mutual TLS)")
    return IstioRelease(release=release, version=version, sidecar_vcpu_per_krps=vcpu,
                        load_test=load_test, ambient=ambient,
                        source=f"{page}, {q}; {how}" + (f"; {_MIXER}" if mixer else ""))


ISTIO_RELEASES: dict[str, IstioRelease] = {r.release: r for r in (
    _release("1.2", "1.2.5", 0.6, mixer=True, where="istio.io/v1.2/docs/concepts/"
             "performance-and-scalability"),
    _release("1.3", "1.3.5", 0.6, mixer=True, where="istio.io/v1.3/docs/concepts/"
             "performance-and-scalability"),
    _release("1.4", "1.4.6", 0.5, mixer=True),
    _release("1.6", "1.6.8", 0.5, mixer=True),
    _release("1.8", "1.8.3", 0.35),
    _release("1.12", "1.12.3", 0.35),
    _release("1.13", "1.13.4", 0.35),
    _release("1.14", "1.14.3", 0.35),
    _release("1.15", "1.15.3", 0.35),
    _release("1.16", "1.16.2", 0.35),
    _release("1.20", "1.20", 0.5, load_test=False,
             where="istio/istio.io content/en/docs/ops/deployment/performance-and-scalability/"
                   "index.md (the 1.20 page)",
             quote="'In Istio 1.20, a proxy consumes about 0.5 vCPU per 1000 requests per "
                   "second' (its summary gives no CPU figure)"),
    _release("1.22", "1.22", 0.5, load_test=False,
             where="istio.io/v1.23/zh/docs/ops/deployment/performance-and-scalability (the "
                   "1.22 page)",
             quote="'Sidecar CPU and memory': at 1,000 QPS a sidecar uses about 0.5 vCPU "
                   "in Istio 1.22"),
    _release("1.24", "1.24", MESH_PROXIES["istio-sidecar"].vcpu_per_krps, load_test=False,
             ambient=True, where=ISTIO_PERF_URL,
             quote="'Sidecar and ztunnel resource usage': at 1,000 HTTP requests/s with 1 KB "
                   "payloads a sidecar with 2 worker threads about 0.20 vCPU, a waypoint "
                   "about 0.25, a ztunnel about 0.06"),
)}
"""Per Istio release (``cluster.mesh.istio_release``), the sidecar's vCPU per 1,000
requests/s from that release's Performance and Scalability page. Only 1.24 gives
ztunnel and waypoint figures (ambient's GA release): ``istio-ambient`` needs it."""

DEFAULT_ISTIO_RELEASE = "1.24"
"""Today's numbers (:data:`MESH_PROXIES`, :data:`WAYPOINT`)."""


def istio_proxy(mode: str, release: str = DEFAULT_ISTIO_RELEASE) -> MeshProxyProfile:
    """The proxy profile of ``mode`` for an Istio ``release``: the default release (and
    every non-sidecar mode) is :data:`MESH_PROXIES`'s own object; another release's
    sidecar is the same Envoy with that release's published vCPU per 1,000 req/s (its
    per-message cost re-derived from it, :func:`per_message_us`)."""
    base = MESH_PROXIES[mode]
    if mode != "istio-sidecar" or release == DEFAULT_ISTIO_RELEASE:
        return base
    r = ISTIO_RELEASES[release]
    return base.model_copy(update={
        "vcpu_per_krps": r.sidecar_vcpu_per_krps,
        "source_label": f"Istio {r.version} Performance and Scalability page",
        "source": f"vcpu_per_krps (Istio {r.version}): {r.source}. Everything else as "
                  f"Istio 1.24's sidecar: {base.source}"})

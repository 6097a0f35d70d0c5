"""Service mesh connections (issue 21): the application's connection ends at its proxy,
proxies pool their upstream connections (HTTP/1.1 or HTTP/2), Envoy pins each
connection to one worker, and the client's proxy picks the endpoint
(:mod:`kperf.workloads.meshpool`, :mod:`kperf.datapath.mesh`)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from kperf.errors import SpecError
from kperf.profiles.mesh import MESH_PROXIES
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import CrrWorkload, RrWorkload
from kperf.workloads import meshpool
from tests.helpers import two_node_spec
from tests.mesh_saturation import pinned_workers
from tests.mesh_saturation import worker_loads as _worker_loads
from tests.test_mesh import _run, _spec


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[meshpool.MeshPools]:
    """Every MeshPools a simulation makes (its ``opened`` count, its pools)."""
    made: list[meshpool.MeshPools] = []
    init = meshpool.MeshPools.__init__

    def record(self: meshpool.MeshPools, sim: Any) -> None:
        init(self, sim)
        made.append(self)

    monkeypatch.setattr(meshpool.MeshPools, "__init__", record)
    return made


def _served(res: Any, kind: str) -> dict[int, int]:
    rows = res.resources
    return {int(r.index): int(r.served) for r in rows[rows.resource == kind].itertuples()}


# -- the application's connection ends at its proxy ------------------------------------
@pytest.mark.parametrize("mode,server_per_txn", [
    ("istio-sidecar", 2), ("linkerd", 2), ("istio-ambient", 6)])
def test_crr_connection_ends_at_the_clients_proxy(mode: str, server_per_txn: int) -> None:
    """A connection per request: without a mesh each transaction sends six messages
    across the network (SYN, request, FIN one way; SYN-ACK, response, FIN the other:
    three per switch port); meshed, only the request and response cross it (plus the
    few pooled connections' handshakes). The client's proxy sees six messages per
    transaction (its four connection messages, request, response); the server's sidecar
    two (its connection to the application is pooled), the server's ztunnel six (an L4
    proxy opens a connection to the application per application connection)."""
    wl = CrrWorkload(duration_s=0.05, target="svc/server")
    plain = _run(_spec(), wl)
    ports = _served(plain, "port")
    assert all(n == 3 * plain.summary["completed"] for n in ports.values())
    res = _run(_spec(mode), wl)
    n = res.summary["completed"]
    for served in _served(res, "port").values():
        assert n <= served <= n + 6
    kind = "ztunnel" if mode == "istio-ambient" else "sidecar"
    proxies = _served(res, kind)
    client, server = proxies[0], proxies[1]  # sidecars by pod uid, ztunnels by node
    assert client == pytest.approx(6 * n, abs=12)
    assert server == pytest.approx(server_per_txn * n, abs=12)


@pytest.mark.parametrize("mtls", [True, False])
def test_pooled_connections_pay_tcp_and_tls_handshakes(
        pools: list[meshpool.MeshPools], mtls: bool) -> None:
    """The server's sidecar does nothing per connection of the application's: its CPU
    (``cpu:sidecar`` on its node) is two messages per transaction plus, per pooled
    connection opened, its share of the TCP handshake (SYN and SYN-ACK: half of
    ``per_connection_us``) and with mTLS the TLS handshake (two flights:
    ``mtls_handshake_us``). The messages it served give the transaction count."""
    p = MESH_PROXIES["istio-sidecar"]
    wl = CrrWorkload(duration_s=0.05, rate_per_s=4000, target="svc/server")
    res = _run(_spec("istio-sidecar", mtls=mtls), wl)
    opened = pools[-1].opened
    assert 1 <= opened <= 20  # grows with the requests in flight, not with the requests
    hs_msgs = 4 if mtls else 2
    txns = (_served(res, "sidecar")[1] - hs_msgs * opened) / 2
    assert txns >= 10 * opened
    rows = res.resources
    cpu_us = float(rows[(rows.resource == "cpu:sidecar") & (rows["index"] == 1)].busy_s.sum()) * 1e6
    want = (txns * (p.message_us(wl.request_bytes, mtls) + p.message_us(wl.response_bytes, mtls))
            + opened * (p.per_connection_us / 2 + (p.mtls_handshake_us if mtls else 0.0)))
    assert cpu_us == pytest.approx(want, rel=1e-6)


def test_crr_pays_the_client_proxys_connection_cost(pools: list[meshpool.MeshPools]) -> None:
    """Against keep-alive rr, a connection per request adds to the summary column (the
    measured messages: crr's FINs go unmeasured) half of the client proxy's
    ``per_connection_us`` per request (SYN, SYN-ACK), nothing at the server's proxy,
    and the pooled connections' handshakes: per connection opened, ``per_connection_us``
    over both proxies and ``mtls_handshake_us`` on each."""
    p = MESH_PROXIES["istio-sidecar"]
    rr = _run(_spec("istio-sidecar"), RrWorkload(requests=200)).summary
    crr = _run(_spec("istio-sidecar"), CrrWorkload(duration_s=0.05)).summary
    opened = pools[-1].opened
    extra_us = (crr["mesh_proxy_cores_per_krps"] - rr["mesh_proxy_cores_per_krps"]) * 1e3
    want = (p.per_connection_us / 2
            + opened * (p.per_connection_us + 2 * p.mtls_handshake_us) / crr["completed"])
    assert extra_us == pytest.approx(want, rel=1e-6)


def test_http1_pool_grows_with_requests_in_flight_http2_does_not(
        pools: list[meshpool.MeshPools]) -> None:
    """Open-loop crr near the sidecars' limit: with HTTP/1.1 between the proxies the
    pools hold as many connections as requests were ever in flight at once (more than
    one per worker), with HTTP/2 one connection per client worker (Envoy's pools are
    per worker): at most ``proxy_workers`` handshakes."""
    wl = CrrWorkload(duration_s=0.05, rate_per_s=6000, target="svc/server")
    _run(_spec("istio-sidecar", upstream_protocol="http1"), wl)
    h1 = pools[-1]
    _run(_spec("istio-sidecar", upstream_protocol="http2"), wl)
    h2 = pools[-1]
    workers = MESH_PROXIES["istio-sidecar"].workers
    assert all(len(pool) == 1 for pool in h2.pools.values())
    assert h2.opened == len(h2.pools) <= workers
    assert h1.opened == sum(len(pool) for pool in h1.pools.values()) > h2.opened


# -- Envoy pins each connection to one worker -------------------------------------------
def _groupable(parts: list[int], sums: list[int]) -> bool:
    """Whether the non-zero ``sums`` are the sums of some grouping of ``parts``."""
    target = sorted(s for s in sums if s)
    for assign in itertools.product(range(len(parts)), repeat=len(parts)):
        groups = [0] * len(parts)
        for part, g in zip(parts, assign, strict=True):
            groups[g] += part
        if sorted(s for s in groups if s) == target:
            return True
    return False


def test_envoy_pins_connections_and_http2_funnels_a_client_worker_into_one() -> None:
    """Envoy workers are separate queues (``sidecar-worker`` rows): one application
    connection keeps one worker busy on each sidecar. With HTTP/2 between the sidecars
    each client worker's requests share one pooled connection, so the server's workers
    carry whole client workers' loads (its per-worker counts are sums of the client's)
    and fewer of them are busy than with HTTP/1.1 (a pooled connection per application
    connection, each accepted by the kernel's hash)."""
    for proto in ("http1", "http2"):
        one = _run(_spec("istio-sidecar", proxy_workers=4, upstream_protocol=proto),
                   RrWorkload(requests=400, outstanding=1))
        for index in (0, 1):
            assert sum(1 for n in _worker_loads(one, index) if n) == 1
    busy = {}
    for proto in ("http1", "http2"):
        res = _run(_spec("istio-sidecar", proxy_workers=4, upstream_protocol=proto),
                   RrWorkload(requests=400, outstanding=8))
        client, server = _worker_loads(res, 0), _worker_loads(res, 1)
        assert sum(client) == sum(server)
        busy[proto] = sum(1 for n in server if n)
        if proto == "http2":
            assert busy[proto] <= sum(1 for n in client if n)
            assert _groupable([n for n in client if n], server)
    assert busy["http2"] < busy["http1"]


def test_pinned_workers_queue_like_separate_md1_queues() -> None:
    """istio-sidecar (2 pinned workers per sidecar, 4 keep-alive connections): the added
    queueing over no mesh (beyond the idle proxies' cost) matches, within 35 %, two
    visits to each sidecar whose worker is an M/D/1 queue at the load the connection
    assignment gives it (each worker's message rate, from its ``sidecar-worker`` row;
    a request's messages land on worker w with that worker's share of its sidecar's
    messages). The knee, where the queueing first exceeds the idle added latency, falls
    at the same rate in both, below the shared-queue limit of 10,000 req/s: one worker
    saturates first. The measurement is tests/mesh_saturation.py's (docs/mesh.md
    prints it)."""
    sat = pinned_workers()
    measured, model = sat.measured_us, sat.model_us
    for rate, got, want in zip(sat.rates, measured, model, strict=True):
        assert got == pytest.approx(want, rel=0.35, abs=5.0), (rate, got, want)
    assert measured == sorted(measured)
    assert sat.knee(measured) == sat.knee(model) == 5500


# -- the client's proxy picks the endpoint ------------------------------------------------
def test_meshed_client_pays_no_kube_proxy_work() -> None:
    """Through a Service, a meshed client's proxy connects to the pod IP: no kube-proxy
    Service lookup or DNAT on its connections (``cpu:proxy`` 0; crr pays the
    first-packet cost on every request without a mesh), while an opted-out client (no
    sidecar) pays it as without a mesh; the Services layer still picks the backend."""
    wl = CrrWorkload(duration_s=0.02, target="svc/server")
    res = _run(_spec("istio-sidecar"), wl)
    rows = res.resources
    assert float(rows[rows.resource == "cpu:proxy"].busy_s.sum()) == 0.0
    assert res.summary["completed"] > 0
    assert res.summary["svc_connections"] > 0
    data = two_node_spec("calico-bgp", mesh={"mode": "istio-sidecar"})
    data["deployments"][0]["mesh"] = False
    out = _run(parse(ClusterSpec, data), wl)
    plain = _run(_spec(), wl)
    per_txn = [float(r.resources[r.resources.resource == "cpu:proxy"].busy_s.sum())
               / r.summary["svc_connections"] for r in (out, plain)]
    assert per_txn[0] == pytest.approx(per_txn[1], rel=1e-9)
    assert per_txn[1] > 0


# -- the spec field ------------------------------------------------------------------------
def test_upstream_protocol_stays_out_of_the_dump_unless_set() -> None:
    spec = _spec("istio-sidecar")
    assert "upstream_protocol" not in spec.model_dump(mode="json")["mesh"]
    assert _spec("linkerd", upstream_protocol="http1").model_dump(
        mode="json")["mesh"]["upstream_protocol"] == "http1"


@pytest.mark.parametrize("mesh,allowed", [
    ({"mode": "istio-sidecar", "upstream_protocol": "h3"}, "http1"),
    ({"mode": "istio-ambient", "upstream_protocol": "http1"}, "http2 only"),
    ({"mode": "none", "upstream_protocol": "http2"}, "only with a mesh mode"),
])
def test_bad_upstream_protocol_names_the_field(mesh: dict[str, Any], allowed: str) -> None:
    data = two_node_spec("calico-bgp", mesh=mesh)
    with pytest.raises(SpecError) as err:
        parse(ClusterSpec, data)
    msg = str(err.value)
    assert "cluster.mesh.upstream_protocol" in msg or "mesh.upstream_protocol" in msg, msg
    assert allowed in msg, msg

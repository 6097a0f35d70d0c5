"""Bulk TCP streams between meshed pods cross the proxies (issue 21): goodput against
the physical bounds (the line rate times the header and framing efficiency; one proxy
worker's per-byte capacity), one worker per connection, UDP unmeshed, and no change
without a mesh."""

from __future__ import annotations

from typing import Any

import pytest

from kperf.datapath.framing import mesh_framing
from kperf.datapath.segmentation import tcp_goodput_bound_gbps
from kperf.profiles import get_testbed
from kperf.profiles.mesh import MESH_PROXIES, TLS_RECORD_BYTES
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import StreamWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")
MODES = ("istio-sidecar", "istio-ambient", "linkerd")
CHUNK = 65_536


def _spec(mode: str = "none", **mesh: Any) -> ClusterSpec:
    data = two_node_spec("calico-bgp")
    if mode != "none" or mesh:
        data["mesh"] = {"mode": mode, **mesh}
    return parse(ClusterSpec, data)


def _stream(tb: Any, spec: ClusterSpec, **kw: Any) -> Any:
    return simulate(tb, spec, [StreamWorkload(duration_s=0.1, **kw)], seed=1)


def _worker_capacity_gbps(mode: str) -> float:
    """One worker's goodput limit: 1 / (per byte + mTLS per byte + mTLS per record
    spread over its 16 KiB), on the reference core."""
    p = MESH_PROXIES[mode]
    ns_per_byte = p.per_byte_ns + p.mtls_per_byte_ns + p.mtls_per_record_us * 1e3 / (
        TLS_RECORD_BYTES)
    return 8.0 / ns_per_byte


@pytest.mark.parametrize("mode", MODES)
def test_meshed_stream_is_line_bound_on_testbed_a(mode: str) -> None:
    """10 Gbit/s, MTU 9000: one worker (~12 Gbit/s) outruns the link, so the stream
    reaches the line rate times the payload share of a frame, less the TLS/HBONE
    framing share, and no more; it crosses both proxies (their stream workers)."""
    line = tcp_goodput_bound_gbps(TB.nic_rate_gbps, TB.mtu_bytes)
    framing = mesh_framing(mode, True)
    assert framing is not None
    bound = line * CHUNK / (CHUNK + framing.overhead_bytes(CHUNK))
    assert _worker_capacity_gbps(mode) > bound
    r = _stream(TB, _spec(mode))
    got = r.summary["throughput_gbps"]
    assert _stream(TB, _spec(mode)).summary["throughput_gbps"] == got  # deterministic
    assert got <= bound * 1.001
    assert got >= 0.97 * bound
    res = r.resources
    workers = res[(res.resource == MESH_PROXIES[mode].category) & (res["index"] < 0)]
    assert len(workers) == 2 and (workers.served > 0).all()


@pytest.mark.parametrize("mode", MODES)
def test_meshed_stream_is_bound_by_one_proxy_worker_on_a_fast_link(mode: str) -> None:
    """On a 40 Gbit/s link the proxy is the bottleneck: the stream gets at most one
    worker's capacity (and most of it), and more worker threads do not help a single
    connection (Envoy binds a connection to one worker)."""
    fast = TB.model_copy(update={"nic_rate_gbps": 40.0})
    cap = _worker_capacity_gbps(mode)
    assert cap < tcp_goodput_bound_gbps(40.0, TB.mtu_bytes)
    got = _stream(fast, _spec(mode)).summary["throughput_gbps"]
    assert got <= cap * 1.001
    assert got >= 0.95 * cap
    more = _stream(fast, _spec(mode, proxy_workers=8)).summary["throughput_gbps"]
    assert more == pytest.approx(got, rel=1e-9)
    plain = _stream(fast, _spec()).summary["throughput_gbps"]
    assert plain > 1.5 * got


def test_connections_share_the_proxys_workers() -> None:
    """Each connection is bound to one of the proxy's workers: two streams through
    sidecars with one worker share its capacity (together at most one worker's);
    with two workers each stream has its own (two stream-worker rows per proxy)."""
    fast = TB.model_copy(update={"nic_rate_gbps": 40.0})
    cap = _worker_capacity_gbps("istio-sidecar")
    one = _stream(fast, _spec("istio-sidecar", proxy_workers=1), streams=2)
    got = one.summary["throughput_gbps"]
    assert 0.9 * cap <= got <= cap * 1.001
    two = _stream(fast, _spec("istio-sidecar"), streams=2).resources
    for res, rows in ((one.resources, 2), (two, 4)):
        workers = res[(res.resource == "sidecar") & (res["index"] < 0)]
        assert len(workers) == rows and (workers.served > 0).all()


def test_udp_streams_are_not_meshed_and_no_mesh_is_unchanged() -> None:
    """UDP is not captured by the meshes: the same result with or without one; a TCP
    stream with ``mesh: {mode: none}`` equals one without the key."""
    udp = {"protocol": "udp", "udp_rate_gbps": 2.0}
    a = _stream(TB, _spec(), **udp).summary
    b = _stream(TB, _spec("istio-sidecar"), **udp).summary
    assert a["throughput_gbps"] == b["throughput_gbps"]
    plain = parse(ClusterSpec, two_node_spec("calico-bgp"))
    c = _stream(TB, plain).summary
    d = _stream(TB, _spec("none")).summary
    for k in c:
        assert c[k] == d[k] or (c[k] != c[k] and d[k] != d[k]), k

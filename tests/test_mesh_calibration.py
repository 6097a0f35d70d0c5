"""Service mesh calibration against published measurements (issue 21, "Calibration").

Each test names its source. Where kperf is calibrated to a figure (Istio 1.24's vCPU per
1,000 requests/s) the test asserts it within the issue's 15 % gate. Where a published
number maps to a kperf run but kperf does not meet it (older Istio releases' CPU, the
added latency of sidecars in milliseconds), the test pins the documented gap
(``kperf / published`` inside a stated band, as tests/test_overlay_fast_nics.py does):
a change that moves kperf's numbers must revisit docs/mesh.md, "Calibration". These
are not claims that kperf meets those rows.

Testbed: ``10g-xeon-2015`` (testbed A, ``cpu_speed_factor`` 1.0), the reference core the
mesh profiles are written in. None of the sources names a CPU kperf has a profile for
(Istio's CPU figures state no hardware; its 1.24 latency runs used Equinix M3 Large
machines; Linkerd's benchmarks used Xeon 4214 at 2.2 GHz), so a faster testbed would
only rescale the costs the Istio figure fixes. Workload: one client pod on node-1, one
server pod on node-2 (calico-bgp), open-loop HTTP through the Service, 1 KB request and
response (the Istio tests' payload), 20 us of application time, a few hundred
requests per run (under a second each on one core).

Latency tolerance: none of the stored sources gives a latency kperf can be held to
within a percentage. Istio's sidecar figures are milliseconds added at P90/P99 by two
Envoys with telemetry v2 filters and fortio's connection pattern, kperf's are a few
hundred microseconds (the CPU calibration fixes ~100 us per message per proxy, and at
1,000 req/s the 2-worker pools barely queue); the gap is pinned as a band. The
Linkerd-vs-Istio latency and CPU comparisons are relative (ratios and orderings), the
only form the benchmark's authors say their numbers may be read in.
"""

from __future__ import annotations

from typing import Any

import pytest

from kperf.profiles import get_testbed
from kperf.profiles.mesh import CALIBRATION_PAYLOAD_BYTES, MESH_PROXIES, WAYPOINT
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import HttpWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")
KB = CALIBRATION_PAYLOAD_BYTES

ISTIO_124 = ("istio.io/latest/docs/ops/deployment/performance-and-scalability (Istio 1.24), "
             "'Sidecar and ztunnel resource usage': 1,000 HTTP req/s, 1 KB payload")
ISTIO_113 = ("istio.io/v1.13/docs/ops/deployment/performance-and-scalability, 'Performance "
             "summary for Istio 1.13.4' (load test: 1,000 Services, 2,000 sidecars, 70,000 "
             "mesh-wide req/s): 'The Envoy proxy uses 0.35 vCPU and 40 MB memory per 1000 "
             "requests per second going through the proxy'; 'adds 2.65 ms to the 90th "
             "percentile latency'")
ISTIO_18 = ("Istio 1.8's page (preliminary.istio.io/latest/docs/ops/deployment/performance-"
            "and-scalability, 'Performance summary for Istio 1.8': 'The Envoy proxy uses 0.5 "
            "vCPU and 50 MB memory per 1000 requests per second', 'adds 2.76 ms to the 90th "
            "percentile latency'; its source, istio/istio.io content/en/docs/ops/deployment/"
            "performance-and-scalability/index.md at commit 01eb7425: 'the two proxies add "
            "about 2.76 ms and 2.88 ms to the 90th and 99th percentile latency ... After "
            "enabling jitter, those numbers reduced to 1.72 ms and 1.91 ms'; http/1.1, 1 kB, "
            "1000 req/s, 16 client connections, 2 proxy workers, mutual TLS)")
ISTIO_1123 = ("docs.redhat.com OpenShift 4.13 Service Mesh, 'Data plane performance' (Istio "
              "1.12.3): 'a proxy consumes about 0.5 vCPU per 1000 requests per second'; "
              "'the two proxies add about 1.7 ms and 2.7 ms to the 90th and 99th percentile "
              "latency'")
ISTIO_125 = ("istio.io/v1.2/docs/concepts/performance-and-scalability, 'Performance summary "
             "for Istio 1.2.5' (the same load test): 'The Envoy proxy uses 0.6 vCPU and 50 "
             "MB memory per 1000 requests per second'")
LINKERD_MAY21 = ("linkerd.io/2021/05/27/linkerd-vs-istio-benchmarks (Linkerd 2.10.2 vs Istio "
                 "1.10.0, Kinvolk harness, Xeon 4214): median added 11 / 11 / 9 ms (Linkerd) "
                 "vs 20 / 19 / 15 ms (Istio) at 20 / 200 / 2,000 RPS; max proxy CPU time "
                 "10 ms vs 88 ms at 2,000 RPS")
LINKERD_NOV21 = ("linkerd.io/2021/11/29/linkerd-vs-istio-benchmarks-2021 (Linkerd 2.11.1 vs "
                 "Istio 1.12.0): median added 8 / 8 / 6 ms vs 20 / 20 / 17 ms at 20 / 200 / "
                 "2,000 RPS; max proxy CPU time 36 ms vs 67 ms ('55% of the CPU')")


def _spec(mode: str = "none", **mesh: Any) -> ClusterSpec:
    data = two_node_spec("calico-bgp")
    if mode != "none":
        data["mesh"] = {"mode": mode, **mesh}
    return parse(ClusterSpec, data)


def _summary(mode: str, rate: float, **mesh: Any) -> dict[str, Any]:
    """One run: ~400 requests (at least 0.5 s) at ``rate`` req/s, seed 1."""
    wl = HttpWorkload(rate_per_s=rate, duration_s=max(0.5, 400 / rate),
                      request_bytes={"mean": KB}, response_bytes={"mean": KB},
                      service_us={"mean": 20.0})
    res = simulate(TB, _spec(mode, **mesh), [wl], seed=1)
    out: dict[str, Any] = dict(res.summary)
    out["_resources"] = res.resources
    return out


def _added(mode: str, rate: float, pct: str, **mesh: Any) -> float:
    """Latency percentile ``pct`` (p50/p90/p99) added over ``mesh: none``, in us."""
    key = f"latency_{pct}_us"
    return float(_summary(mode, rate, **mesh)[key] - _summary("none", rate)[key])


# -- Istio 1.24: CPU per 1,000 req/s per proxy, within 15 % ------------------------------
@pytest.mark.parametrize("mode,waypoint,category,proxies,published", [
    ("istio-sidecar", False, "sidecar", 2, 0.20),
    ("istio-ambient", False, "ztunnel", 2, 0.06),
    ("istio-ambient", True, "waypoint", 1, 0.25),
])
def test_istio_1_24_cpu_per_krps(mode: str, waypoint: bool, category: str, proxies: int,
                                 published: float) -> None:
    """Source: ISTIO_124 (sidecar 0.20, waypoint 0.25, ztunnel 0.06 vCPU). kperf: the
    ``cpu:<category>`` busy cores per 1,000 measured req/s, per proxy, at 1,000 req/s."""
    s = _summary(mode, 1000, **({"waypoint": True} if waypoint else {}))
    rows = s["_resources"]
    busy_s = float(rows[rows.resource == f"cpu:{category}"].busy_s.sum())
    per_proxy = busy_s / s["sim_time_s"] / (s["requests_per_s"] / 1000) / proxies
    assert per_proxy == pytest.approx(published, rel=0.15), ISTIO_124


# -- older Istio releases' CPU: documented gap (kperf follows 1.24) ---------------------
@pytest.mark.parametrize("published,band,source", [
    (0.35, (0.52, 0.63), ISTIO_113),
    (0.5, (0.36, 0.44), ISTIO_1123),
    (0.5, (0.36, 0.44), ISTIO_18),
    (0.6, (0.30, 0.37), ISTIO_125),
])
def test_older_istio_cpu_is_a_documented_gap(published: float, band: tuple[float, float],
                                             source: str) -> None:
    """kperf's sidecar is Istio 1.24's (0.20 vCPU); the older releases' Envoy was costlier
    per request (and the load test's traffic mix is not 1 KB HTTP/1.1). The ratio kperf /
    published is pinned: 0.57 (1.13.4), 0.40 (1.12.3, 1.8), 0.33 (1.2.5)."""
    s = _summary("istio-sidecar", 1000)
    per_proxy = s["mesh_proxy_cores_per_krps"] / 2
    ratio = per_proxy / published
    assert band[0] <= ratio <= band[1], (ratio, source)


# -- Istio sidecar added latency at 1,000 req/s: documented gap --------------------------
@pytest.mark.parametrize("pct,published_us,source", [
    ("p90", 1700.0, ISTIO_1123),
    ("p99", 2700.0, ISTIO_1123),
    ("p90", 2650.0, ISTIO_113),
    ("p90", 2760.0, ISTIO_18 + " (no jitter)"),
    ("p99", 2880.0, ISTIO_18 + " (no jitter)"),
    ("p90", 1720.0, ISTIO_18 + " (jitter)"),
    ("p99", 1910.0, ISTIO_18 + " (jitter)"),
])
def test_sidecar_added_latency_is_a_documented_gap(pct: str, published_us: float,
                                                   source: str) -> None:
    """Sources: Istio's sidecar latency figures (two sidecars, 1 KB, 1,000 req/s, 2
    workers, mTLS). kperf adds 2.7-5x less (about 0.51 ms at P90, 0.71 ms at P99): its
    proxies cost their calibrated CPU time and queue on their workers (each connection
    pinned to one Envoy worker, tests/test_mesh_pooling.py), but kperf does not model
    telemetry work done after the response or fortio's 16-connection bursts. Pinned
    band: kperf / published in [0.15, 0.42]."""
    ratio = _added("istio-sidecar", 1000, pct) / published_us
    assert 0.15 <= ratio <= 0.42, (pct, ratio, source)


# -- ambient vs sidecars (Istio 1.24) ----------------------------------------------------
def test_ambient_l4_is_cheaper_than_sidecars_and_waypoint_in_between() -> None:
    """Source: ISTIO_124. Per request, ambient L4 crosses two ztunnels (2 x 0.06 = 0.12
    vCPU per 1,000 req/s), ambient with a waypoint two ztunnels and one waypoint (0.37),
    sidecar mode two sidecars (0.40): each within 15 %, in that order. Added latency at
    P50 follows the same order, ambient L4 lowest at P90/P99 too (the page's 1.24
    latency charts show the order, but give
    their values only as images; Lin Sun (Solo.io), cncf.io/blog/2024/08/23/ambient-mesh-
    can-sidecar-less-istio-make-your-application-faster, Istio 1.22.3, reports ambient's
    latency impact 'within the range of 0-5% increase for the average or P90')."""
    runs = {"ambient": _summary("istio-ambient", 1000),
            "waypoint": _summary("istio-ambient", 1000, waypoint=True),
            "sidecar": _summary("istio-sidecar", 1000)}
    want = {"ambient": 0.12, "waypoint": 0.37, "sidecar": 0.40}
    cores = {k: v["mesh_proxy_cores_per_krps"] for k, v in runs.items()}
    for k in want:
        assert cores[k] == pytest.approx(want[k], rel=0.15), (k, ISTIO_124)
    assert cores["ambient"] < cores["waypoint"] < cores["sidecar"]
    base = _summary("none", 1000)
    for pct in ("p50", "p90", "p99"):
        added = {k: v[f"latency_{pct}_us"] - base[f"latency_{pct}_us"] for k, v in runs.items()}
        assert 0 < added["ambient"] < min(added["waypoint"], added["sidecar"]), (pct, added)
        if pct == "p50":
            assert added["waypoint"] < added["sidecar"], (pct, added)
    # at P90/P99 the waypoint queues more than the sidecars: the client's ztunnel sends
    # every request on one HBONE connection, which one waypoint worker carries (Envoy
    # pins connections), while the sidecars' four HTTP/1.1 connections spread
    # (kperf.workloads.meshpool); a model consequence no published value checks


# -- Linkerd vs Istio sidecars (Linkerd's 2021 benchmarks) -------------------------------
@pytest.mark.parametrize("rate", [20, 200, 2000])
def test_linkerd_adds_less_median_latency_than_istio(rate: int) -> None:
    """Sources: LINKERD_MAY21 and LINKERD_NOV21: at 20, 200 and 2,000 RPS Linkerd added
    less median latency than Istio's sidecars in both. kperf, at the same rates: the same
    order. The ratio Linkerd / Istio of added median latency is a documented gap:
    published 0.35-0.60 (6/17 to 9/15), kperf about 0.29 (its Linkerd proxy cost is an
    estimate, 0.05 vCPU per 1,000 req/s); pinned in [0.2, 0.35)."""
    linkerd = _added("linkerd", rate, "p50")
    istio = _added("istio-sidecar", rate, "p50")
    assert 0 < linkerd < istio
    assert 0.2 <= linkerd / istio < 0.35, linkerd / istio


def test_linkerd_proxy_cpu_ratio_lies_between_the_two_benchmarks() -> None:
    """Sources: LINKERD_MAY21 (Linkerd's max proxy CPU time 10 ms vs Istio's 88 ms: 0.11)
    and LINKERD_NOV21 (36 ms vs 67 ms: 0.54), both at 2,000 RPS. kperf's Linkerd / Istio
    sidecar cores per 1,000 req/s at 2,000 req/s (0.25, from the estimate 0.05 vs 0.20)
    lies between them."""
    ratio = (_summary("linkerd", 2000)["mesh_proxy_cores_per_krps"]
             / _summary("istio-sidecar", 2000)["mesh_proxy_cores_per_krps"])
    assert 10 / 88 < ratio < 36 / 67, ratio
    assert ratio == pytest.approx(MESH_PROXIES["linkerd"].vcpu_per_krps
                                  / MESH_PROXIES["istio-sidecar"].vcpu_per_krps, rel=0.05)


def test_waypoint_profile_is_the_pages_figure() -> None:
    """The waypoint's profile carries ISTIO_124's 0.25 (guards the table in docs/mesh.md)."""
    assert WAYPOINT.vcpu_per_krps == 0.25


def calibration_rows() -> list[tuple[str, str, str, str, str]]:
    """The rows of docs/mesh.md's "Calibration" table, computed (run this module as a
    script to print them)."""
    rows: list[tuple[str, str, str, str, str]] = []
    for mode, wp, cat, n, pub, label in (
            ("istio-sidecar", False, "sidecar", 2, 0.20, "Istio 1.24, sidecar"),
            ("istio-ambient", False, "ztunnel", 2, 0.06, "Istio 1.24, ztunnel"),
            ("istio-ambient", True, "waypoint", 1, 0.25, "Istio 1.24, waypoint")):
        s = _summary(mode, 1000, **({"waypoint": True} if wp else {}))
        r = s["_resources"]
        got = (float(r[r.resource == f"cpu:{cat}"].busy_s.sum()) / s["sim_time_s"]
               / (s["requests_per_s"] / 1000) / n)
        rows.append((label, "vCPU/1k req/s/proxy, 1,000 req/s, 1 KB", f"{pub:.2f}",
                     f"{got:.3f}", f"{(got / pub - 1) * 100:+.0f} %"))
    side = _summary("istio-sidecar", 1000)["mesh_proxy_cores_per_krps"] / 2
    for label, pub in (("Istio 1.13.4 load test", 0.35), ("Istio 1.12.3 / 1.8", 0.5),
                       ("Istio 1.2.5 load test", 0.6)):
        rows.append((label, "vCPU/1k req/s/proxy", f"{pub:.2f}", f"{side:.3f}",
                     f"{(side / pub - 1) * 100:+.0f} % (gap)"))
    for label, pct, pub in (("Istio 1.12.3", "p90", 1700.0), ("Istio 1.12.3", "p99", 2700.0),
                            ("Istio 1.13.4", "p90", 2650.0),
                            ("Istio 1.8 page, no jitter", "p90", 2760.0),
                            ("Istio 1.8 page, no jitter", "p99", 2880.0),
                            ("Istio 1.8 page, jitter", "p90", 1720.0),
                            ("Istio 1.8 page, jitter", "p99", 1910.0)):
        got = _added("istio-sidecar", 1000, pct)
        rows.append((label, f"sidecars' added {pct.upper()} us, 1,000 req/s", f"{pub:.0f}",
                     f"{got:.0f}", f"{(got / pub - 1) * 100:+.0f} % (gap)"))
    for rate, may, nov in ((20, 11 / 20, 8 / 20), (200, 11 / 19, 8 / 20), (2000, 9 / 15, 6 / 17)):
        got = _added("linkerd", rate, "p50") / _added("istio-sidecar", rate, "p50")
        rows.append((f"Linkerd 2021 benchmarks, {rate} RPS",
                     "added p50, Linkerd / Istio", f"{may:.2f} (May), {nov:.2f} (Nov)",
                     f"{got:.2f}", "below both (gap)"))
    cpu = (_summary("linkerd", 2000)["mesh_proxy_cores_per_krps"]
           / _summary("istio-sidecar", 2000)["mesh_proxy_cores_per_krps"])
    rows.append(("Linkerd 2021 benchmarks, 2,000 RPS", "proxy CPU, Linkerd / Istio",
                 f"{10 / 88:.2f} (May), {36 / 67:.2f} (Nov)", f"{cpu:.2f}", "between"))
    return rows


if __name__ == "__main__":
    for row in calibration_rows():
        print("| " + " | ".join(row) + " |")

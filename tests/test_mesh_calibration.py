"""Service mesh calibration against published measurements (issue 21, "Calibration").

The published rows are cases of kperf/data/calibration_cases.yaml (the ``mesh`` group,
each with its source; ``kperf validate`` runs them too): the CPU per 1,000 requests/s of
each Istio release's page, run with that release (``cluster.mesh.istio_release``) and
within the issue's 15 % (the profile carries the release's own figure: a check that the
engine charges what the profile says, not a prediction); the added latency of two
sidecars, and Linkerd's ratios to Istio, as known gaps with their reasons. This module
runs those cases and keeps the orderings the sources report (ambient below sidecars,
Linkerd below Istio), each test naming its source.

Testbed: ``10g-xeon-2015`` (testbed A, ``cpu_speed_factor`` 1.0), the reference core the
mesh profiles are written in. None of the sources names a CPU kperf has a profile for
(Istio's CPU figures state no hardware; its 1.24 latency runs used Equinix M3 Large
machines; Linkerd's benchmarks used Xeon 4214 at 2.2 GHz). Workload of the orderings
tests: one client pod on node-1, one server pod on node-2 (calico-bgp), open-loop HTTP
pod to pod, 1 KB request and response, 20 us of application time, a few hundred
requests per run (the cases go through the Service, as Istio's benchmark does).

``python tests/test_mesh_calibration.py`` prints docs/mesh.md's "Calibration" table.
"""

from __future__ import annotations

from typing import Any

import pytest

from kperf.calibration.cases import CalibrationCase, load_cases
from kperf.calibration.validate import fmt_value, run_case
from kperf.errors import SpecError
from kperf.profiles import get_testbed
from kperf.profiles.mesh import (
    CALIBRATION_PAYLOAD_BYTES,
    DEFAULT_ISTIO_RELEASE,
    ISTIO_RELEASES,
    MESH_PROXIES,
    WAYPOINT,
    istio_proxy,
)
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import HttpWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")
KB = CALIBRATION_PAYLOAD_BYTES

ISTIO_124 = ("istio.io/latest/docs/ops/deployment/performance-and-scalability (Istio 1.24), "
             "'Sidecar and ztunnel resource usage': 1,000 HTTP req/s, 1 KB payload")
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


# -- the published rows: kperf/data/calibration_cases.yaml's mesh group ------------------
MESH_CASES = [c for c in load_cases() if c.group == "mesh"]


@pytest.mark.parametrize("case", MESH_CASES, ids=lambda c: c.name)
def test_mesh_case_within_tolerance_or_known_gap(case: CalibrationCase) -> None:
    """Each published row (its source in the case): the CPU rows within the issue's 15 %
    (each runs with the Istio release it cites, whose own figure the profile carries:
    fitted, docs/mesh.md "Calibration"); a row marked ``expected_fail`` must stay outside
    its tolerance (a gap that closes is noticed, as in tests/test_calibration.py)."""
    r = run_case(case)
    msg = (f"{case.name}: simulated {r.simulated:.4g} vs published {case.published:g} "
           f"({r.error * 100:+.1f} %)")
    if case.expected_fail is None:
        assert r.status == "pass", msg
    else:
        assert r.status == "known gap", msg + ": now passes; remove expected_fail"


def test_mesh_cases_hygiene() -> None:
    """Every mesh case names its source and says why a gap is one; every Istio release
    kperf carries has a CPU case quoting its figure (so the table is checked); every
    proxy kind with a published figure has a case."""
    assert len(MESH_CASES) >= 20
    for c in MESH_CASES:
        assert len(c.source) > 60, c.name
        assert c.expected_fail is None or len(c.expected_fail) > 80, c.name
    cpu = [c for c in MESH_CASES if c.metric == "proxy_vcpu_per_krps" and not c.expected_fail]
    releases = {(c.mesh or {}).get("istio_release", DEFAULT_ISTIO_RELEASE) for c in cpu
                if (c.mesh or {}).get("mode", "").startswith("istio")}
    assert releases >= set(ISTIO_RELEASES) - {"1.14", "1.15", "1.16"}, releases
    for c in cpu:
        if c.mesh_proxy == "sidecar" and c.mesh and c.mesh["mode"] == "istio-sidecar":
            release = ISTIO_RELEASES[c.mesh.get("istio_release", DEFAULT_ISTIO_RELEASE)]
            assert c.published == release.sidecar_vcpu_per_krps, c.name
    assert {c.mesh_proxy for c in cpu} == {"sidecar", "ztunnel", "waypoint"}


def test_latency_gaps_point_both_ways() -> None:
    """The documented latency gap is not one-sided: kperf adds less than the 1.8-1.13
    pages' milliseconds and more than the 1.20 page's 0.23 ms (whose own CPU figure
    puts ~1 ms of proxy CPU on each request's path in kperf). Pinned: below for the
    older releases, above for 1.20."""
    for c in MESH_CASES:
        if not c.metric.startswith("added_latency_") or not c.metric.endswith("_us"):
            continue
        err = run_case(c).error
        if (c.mesh or {}).get("istio_release") == "1.20":
            assert err > 1.0, (c.name, err)
        else:
            assert -0.85 < err < -c.effective_tolerance, (c.name, err)


# -- cluster.mesh.istio_release ------------------------------------------------------
def test_istio_release_field() -> None:
    """Default 1.24 (today's numbers, left out of the dump unless set); a release's
    sidecar costs its own figure; only Istio modes accept it; ambient needs a release
    with ztunnel figures; a YAML number is refused (1.20 would read as 1.2)."""
    assert "istio_release" not in _spec("istio-sidecar").model_dump()["mesh"]
    assert _spec("istio-sidecar", istio_release="1.24").mesh.model_dump()["istio_release"] \
        == "1.24"
    old = _summary("istio-sidecar", 1000, istio_release="1.2")["mesh_proxy_cores_per_krps"]
    assert old / 2 == pytest.approx(0.6, rel=0.02)
    for mesh, field in (({"mode": "linkerd", "istio_release": "1.24"}, "istio_release"),
                        ({"mode": "istio-ambient", "istio_release": "1.13"}, "istio_release"),
                        ({"mode": "istio-sidecar", "istio_release": 1.2}, "istio_release"),
                        ({"mode": "istio-sidecar", "istio_release": "2.0"}, "istio_release")):
        with pytest.raises(SpecError) as exc:
            parse(ClusterSpec, two_node_spec("calico-bgp", mesh=mesh))
        assert exc.value.path == f"mesh.{field}", exc.value


def test_release_profiles() -> None:
    """The default release is the catalog's own profile object (bit-identical runs);
    another release changes only the sidecar's figure (and its derived per-message
    cost); every release cites its page."""
    assert istio_proxy("istio-sidecar") is MESH_PROXIES["istio-sidecar"]
    assert istio_proxy("istio-ambient", "1.24") is MESH_PROXIES["istio-ambient"]
    base = MESH_PROXIES["istio-sidecar"]
    for name, r in ISTIO_RELEASES.items():
        p = istio_proxy("istio-sidecar", name)
        assert p.vcpu_per_krps == r.sidecar_vcpu_per_krps
        assert p.per_byte_ns == base.per_byte_ns and p.workers == base.workers
        assert "performance-and-scalability" in r.source, name
    assert [n for n, r in ISTIO_RELEASES.items() if r.ambient] == ["1.24"]


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


def test_kperf_list_mesh_shows_the_releases() -> None:
    """``kperf list mesh -v`` has a table of the releases with their sources; ``--json``
    lists them under istio-sidecar with the derived per-message cost."""
    import json

    from typer.testing import CliRunner

    from kperf.cli.app import app
    from kperf.cli.main import _register

    _register()
    runner = CliRunner()
    out = runner.invoke(app, ["list", "mesh", "-v"])
    assert out.exit_code == 0, out.stdout
    text = " ".join(out.stdout.split())
    assert "Istio releases" in text and "1.2.5" in text and "1.13.4" in text
    assert "istio.io/v1.2/docs/concepts/performance-and-scalability" in text.replace(" ", "")
    data = json.loads(runner.invoke(app, ["list", "mesh", "--json"]).stdout)
    sidecar = next(e for e in data if e["mode"] == "istio-sidecar")
    got = {r["release"]: (r["sidecar_vcpu_per_krps"], r["per_message_us"])
           for r in sidecar["istio_releases"]}
    assert set(got) == set(ISTIO_RELEASES)
    assert got["1.24"] == (0.20, pytest.approx(MESH_PROXIES["istio-sidecar"].per_message_us))
    assert got["1.2"][1] > got["1.13"][1] > got["1.24"][1]


def calibration_rows() -> list[tuple[str, str, str, str, str]]:
    """The rows of docs/mesh.md's "Calibration" table, from the mesh cases (run this
    module as a script to print them; ``kperf validate`` gives the same numbers)."""
    rows = []
    for c in MESH_CASES:
        r = run_case(c)
        pct = round(r.error * 100)
        err = (f"{pct:+d} %" if pct else "0 %") + (" (gap)" if c.expected_fail else "")
        rows.append((f"`{c.name}`", c.setup, f"{fmt_value(c.published, c.units)} {c.units}",
                     fmt_value(r.simulated, c.units), err))
    return rows


if __name__ == "__main__":
    for row in calibration_rows():
        print("| " + " | ".join(row) + " |")

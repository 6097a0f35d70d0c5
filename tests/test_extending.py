"""docs/extending.md's examples run, and do what the page says.

The page's Python blocks are executed in order in one namespace (so the page cannot
drift from the code), then their results are checked: the accelerator hop adds
exactly its service time to an idle message, shows in ``explain`` and in the resources
table, stays out of the CPU split; the ping-pong source's round trip equals the idle
paths' sum.
"""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kperf.datapath.explain import explain
from kperf.datapath.path import HOP_KINDS, Hop
from kperf.datapath.path import Path as KPath

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def _run(name: str, blocks: list[str]) -> dict[str, Any]:
    """Execute ``blocks`` as the body of a module named ``name`` (as a reader would
    paste them into one file; no __future__ flags inherited from this test)."""
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up
    try:
        for code in blocks:
            exec(compile(code, str(DOC), "exec", dont_inherit=True), module.__dict__)
    finally:
        del sys.modules[name]
    return module.__dict__


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    blocks = _blocks()
    assert len(blocks) == 3
    return {"hop": _run("docs_extending_hop", blocks[:2]),
            "ping": _run("docs_extending_ping", blocks[2:])}


def test_the_accelerator_adds_its_service_time(page: dict[str, Any]) -> None:
    ns = page["hop"]
    plain, path = ns["plain"], ns["path"]
    svc = (0.5e3 + 0.05 * 1000) * 1e-9
    assert HOP_KINDS["accelerator"] is ns["AcceleratorHop"]
    rows = explain(path, 1000)
    assert rows[rows.hop == "node-1 accelerator"].time_us.tolist() == pytest.approx(
        [svc * 1e6])
    lat = ns["latencies"]
    assert len(lat) == 100
    # idle: messages 100 us apart, each the plain idle latency plus the accelerator
    idle_plain = explain(plain, 1000).time_us.sum() * 1e-6
    assert max(lat) == pytest.approx(idle_plain + svc, rel=1e-9)
    assert min(lat) == pytest.approx(idle_plain + svc, rel=1e-9)
    res = ns["res"]
    row = res[res.resource == "accelerator"]
    assert row.served.tolist() == [100] and row.dropped.tolist() == [0]
    assert row.busy_s.tolist() == pytest.approx([100 * svc], rel=1e-9)
    # not CPU work: the node's CPU split has no crypto time
    cpu = res[res.resource.str.startswith("cpu:")]
    assert "cpu:crypto" not in set(cpu.resource)


def test_the_accelerator_queues_and_drops_at_its_capacity(page: dict[str, Any]) -> None:
    """Many chunks at once: the 64-chunk buffer overflows (a bounded server)."""
    ns = page["hop"]
    from kperf.engine.sim import Simulation

    sim = Simulation(ns["cluster"], "10g-xeon-2015", seed=1)
    hop = ns["AcceleratorHop"](name="slow", resource=("accelerator", 0), category="crypto",
                               setup_us=50.0)
    path = ns["replace"](ns["plain"], hops=(ns["plain"].hops[0], hop, *ns["plain"].hops[1:]),
                         signature=(*ns["plain"].signature, "slow accelerator"))
    flow = sim.open_flow(ns["client"], ns["server"], path=path)
    dropped: list[str] = []
    for _ in range(200):
        flow.send(100, lambda _t: None, lambda _t, where: dropped.append(where))
    sim.run()
    assert dropped and set(dropped) == {"accelerator 1"}
    c = sim.transit.counters
    assert c.chunks_sent == 200 == c.chunks_delivered + c.chunks_dropped


def test_an_unregistered_hop_kind_is_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Stray(Hop):
        kind: str = "stray"

        def cost(self, chunk: Any, upstream_rate_bps: float) -> Any:
            raise AssertionError

        def server(self, network: Any, flow_id: int) -> Any:
            raise AssertionError

    from kperf.datapath.segmentation import Segmentation

    with pytest.raises(ValueError, match="kind 'stray' is not registered"):
        KPath("cross-node", 0, 1, Segmentation(1500, 0, True), (Stray(
            name="x", resource=("stray", 0), category="wire"),), signature=("x",))


def test_the_ping_source_measures_idle_round_trips(page: dict[str, Any]) -> None:
    ns = page["ping"]
    rtts = ns["rtts"]
    assert len(rtts) == 50
    sim, flow = ns["sim"], ns["flow"]
    idle = (explain(flow.path, 64).time_us.sum() + explain(flow.reverse.path, 64).time_us.sum())
    assert sum(rtts) / len(rtts) * 1e6 == pytest.approx(idle, rel=1e-9)
    assert sim.transit.counters.chunks_delivered == 100

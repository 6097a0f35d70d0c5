"""Report tables split by workload kind (no placeholder metrics), one colour per CNI
mode in every plot, and throughput axes from zero with the single-flow bound. A tiny
real sweep like experiments/default.yaml: 2 CNIs x kind [rr, stream], 1 replication."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from kperf.analysis import plots
from kperf.analysis.report import SECTIONS, write_report
from kperf.experiments import run
from kperf.profiles import CNI_PROFILES, get_testbed
from tests.test_plots import synthetic_summary

CNIS = ["flannel-vxlan", "cilium-native"]


def _experiment(kinds: list[str] | None = None) -> dict:
    exp = {
        "name": "kinds", "seed": 1, "replications": 1, "testbed": "10g-xeon-2015",
        "cluster": {"nodes": 2, "cni": "flannel-vxlan", "proxy": "iptables",
                    "deployments": [{"name": "client", "replicas": 2, "placement": "spread"},
                                    {"name": "server", "replicas": 2, "placement": "spread"}],
                    "services": [{"name": "server", "selector": {"app": "server"},
                                  "port": 80}]},
        "workload": {"kind": "rr", "clients": "client", "target": "server",
                     "locality": "cross-node", "warmup_s": 0.001, "duration_s": 0.005},
        "sweep": {"cluster.cni": CNIS, "cluster.nodes": [2, 4]},
    }
    if kinds is not None:
        exp["sweep"]["workload.kind"] = kinds
    return exp


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kinds") / "res"
    run(_experiment(["rr", "stream"]), out, serial=True, progress=False, report=False)
    write_report(out, formats=("png",))
    return out


def _tables(md: str, section: str) -> dict[str, pd.DataFrame]:
    """The Markdown tables of a section, by the ### heading above each."""
    body = md.split(f"\n## {section}\n")[1].split("\n## ")[0]
    out: dict[str, pd.DataFrame] = {}
    heading = ""
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("### "):
            heading = line[4:]
        if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip("|").split("|")])
                i += 1
            out[heading] = pd.DataFrame(rows, columns=header)
            continue
        i += 1
    return out


def test_sections_and_one_table_per_kind(folder: Path) -> None:
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")
            and line[3:] in SECTIONS] == list(SECTIONS)
    tables = _tables(md, "Key findings")
    latency = [h for h in tables if h.startswith("Configurations ranked by p99 latency")]
    tput = [h for h in tables if h.startswith("Configurations ranked by throughput")]
    assert len(latency) == 1 and "rr workloads" in latency[0]
    assert len(tput) == 1 and "stream workloads" in tput[0]
    rr, stream = tables[latency[0]], tables[tput[0]]
    assert set(rr["workload.kind"]) == {"rr"} and len(rr) == len(CNIS) * 2
    assert set(stream["workload.kind"]) == {"stream"} and len(stream) == len(CNIS) * 2
    # the metrics that apply, and only those
    assert {"p50 (µs)", "p99 (µs)", "requests/s"} <= set(rr.columns)
    assert "throughput (Gbit/s)" not in rr.columns  # rr moves almost no bytes
    assert "throughput (Gbit/s)" in stream.columns
    assert not {"p50 (µs)", "p99 (µs)", "requests/s", "failed"} & set(stream.columns)
    # ranked: latency ascending, throughput descending
    p99 = [float(v.split(" ")[0].replace(",", "")) for v in rr["p99 (µs)"]]
    assert p99 == sorted(p99)
    gbps = [float(v.split(" ")[0].replace(",", "")) for v in stream["throughput (Gbit/s)"]]
    assert gbps == sorted(gbps, reverse=True) and min(gbps) > 1


def test_no_placeholders_in_any_findings_cell(folder: Path) -> None:
    md = (folder / "report.md").read_text(encoding="utf-8")
    for heading, table in _tables(md, "Key findings").items():
        for col in table.columns:
            for value in table[col]:
                number = value.split(" ")[0].replace(",", "")
                if col == "requests/s":
                    assert float(number) > 0, (heading, value)
                if col == "throughput (Gbit/s)":
                    assert float(number) >= 0.01, (heading, value)
    findings = md.split("\n## Key findings\n")[1].split("\n## ")[0]
    assert not re.search(r"\| 0 ± 0 \|", findings)
    assert not re.search(r"\b0\.00\d+ Gbit/s", findings)


def test_kinds_from_the_experiment_when_not_swept(tmp_path: Path) -> None:
    exp = _experiment()
    exp["workload"]["kind"] = "stream"
    exp["sweep"] = {"cluster.cni": CNIS}
    run(exp, tmp_path / "s", serial=True, progress=False, report=False)
    md = write_report(tmp_path / "s", plots=False).read_text(encoding="utf-8")
    tables = _tables(md, "Key findings")
    assert list(tables) == ["Configurations ranked by throughput (highest first)"]
    (table,) = tables.values()
    assert list(table.columns) == ["rank", "cluster.cni", "n", "throughput (Gbit/s)",
                                   "streams", "per stream (Gbit/s)", "per client (Gbit/s)"]
    summary = pd.read_csv(tmp_path / "s" / "summary.csv")
    for _, row in table.iterrows():
        runs = summary[summary["cluster.cni"] == row["cluster.cni"]]
        streams = int(row["streams"])
        assert streams == runs["streams"].iloc[0] and streams >= 1
        total = float(row["throughput (Gbit/s)"].split(" ")[0])
        per_stream = float(row["per stream (Gbit/s)"].split(" ")[0])
        # 3 significant figures in the table: aggregate = streams x per stream
        assert per_stream * streams == pytest.approx(total, rel=0.01)


def test_cni_colour_is_fixed_and_distinct_for_the_catalog() -> None:
    colours = plots.cni_colours()
    assert list(colours) == list(CNI_PROFILES)
    assert len(set(colours.values())) == len(CNI_PROFILES)  # 21 modes, 21 colours
    for name in CNI_PROFILES:
        assert plots.cni_colour(name) == colours[name]
    assert plots.cni_colour("my-own-cni") == plots.cni_colour("my-own-cni")


def _line_colours(ax) -> dict[str, str]:  # type: ignore[no-untyped-def]
    handles, labels = ax.get_legend_handles_labels()
    out = {}
    for h, label in zip(handles, labels, strict=True):
        artist = h.lines[0] if hasattr(h, "lines") and h.lines else h
        if hasattr(artist, "get_color"):
            out[label.split(" ")[0]] = to_hex(artist.get_color())
    return out


def test_same_cni_same_colour_in_every_plot() -> None:
    # different subsets and orders of CNIs: the colour follows the name, not the position
    one = synthetic_summary({"cluster.cni": ["flannel-vxlan", "calico-bgp", "cilium-native"],
                             "cluster.nodes": [2, 8]}, reps=2)
    two = synthetic_summary({"cluster.cni": ["cilium-native", "flannel-vxlan"],
                             "workload.rate_per_s": [1000, 5000]}, reps=2)
    figs = [plots.throughput_vs_cluster_size(one), plots.latency_vs_load(two),
            plots.metric_vs(two, "workload.rate_per_s", "requests_per_s")]
    samples = pd.DataFrame({"cluster.cni": ["cilium-native"] * 50 + ["calico-bgp"] * 50,
                            "latency_us": range(1, 101), "failed": False})
    figs.append(plots.latency_cdf(samples))
    seen: dict[str, set[str]] = {}
    for fig in figs:
        for name, colour in _line_colours(fig.axes[0]).items():
            if name in CNI_PROFILES:
                seen.setdefault(name, set()).add(colour)
    assert set(seen) == {"flannel-vxlan", "calico-bgp", "cilium-native"}
    for name, colours in seen.items():
        assert colours == {plots.cni_colour(name)}, name
    # bars of the CPU plot too (sorted cheapest first, so positions differ)
    fig = plots.cpu_per_10g(one)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    bars = [p for p in ax.patches][: len(names)]
    assert [to_hex(b.get_facecolor()) for b in bars] == [plots.cni_colour(n) for n in names]


def test_throughput_axes_start_at_zero_with_the_bound(folder: Path) -> None:
    s = synthetic_summary({"cluster.cni": CNIS, "cluster.nodes": [2, 8]}, reps=2)
    bound = plots.single_flow_bound_gbps(10.0, 9000)
    assert bound == pytest.approx(10.0 * 8948 / 9038)
    fig = plots.throughput_vs_cluster_size(s, bound_gbps=bound, bound_label="bound")
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= bound
    assert ax.get_yscale() == "linear"
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [bound, bound]
    assert "bound" in [t.get_text() for t in ax.get_legend().get_texts()]
    fig = plots.throughput_vs_streams(synthetic_summary({"cluster.cni": CNIS,
                                                         "workload.streams": [1, 2]}))
    assert fig.axes[0].get_ylim()[0] == 0
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    # the real sweep: the caption names the testbed's single-flow bound
    md = (folder / "report.md").read_text(encoding="utf-8")
    tb = get_testbed("10g-xeon-2015")
    expected = plots.single_flow_bound_gbps(tb.nic_rate_gbps, tb.mtu_bytes)
    assert f"single-flow bound {expected:,.2f} Gbit/s" in md
    assert (folder / "plots" / "throughput_vs_nodes.png").exists()


def test_no_bound_when_testbeds_differ() -> None:
    manifest = {"runs": {"a": {"spec": {"testbed": {"name": "x", "nic_rate_gbps": 10.0,
                                                    "mtu_bytes": 1500}}},
                         "b": {"spec": {"testbed": {"name": "y", "nic_rate_gbps": 40.0,
                                                    "mtu_bytes": 9000}}}}}
    frame = pd.DataFrame({"run_id": ["a", "b"]})
    assert plots._testbed_bound(manifest, frame) == (None, None)
    bound, label = plots._testbed_bound(manifest, frame.iloc[:1])
    assert bound == pytest.approx(10.0 * 1448 / 1538) and label and "single-flow" in label

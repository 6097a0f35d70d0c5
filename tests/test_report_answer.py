"""The report's Answer section: the experiment's question, sentences computed from the
summary (best vs worst per workload kind, the largest change each other swept key
makes) and, with ``baseline:``, the % overhead table. A tiny real sweep like
experiments/default.yaml: 2 CNIs x 2 node counts x kind [rr, stream], 1 replication.
Every number is checked against the summary, aggregated here independently.

Also: ``question:``/``baseline:`` validation (one-line errors, exit 2 from kperf run)
and that adding them to a finished experiment reruns nothing."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kperf.analysis.markdown import md_escape
from kperf.analysis.report import SECTIONS, write_report
from kperf.errors import SpecError
from kperf.experiments import run
from kperf.experiments.expand import expand
from kperf.spec.experiment import ExperimentSpec
from tests.test_cli_usage import one_error_line

CNIS = ["flannel-vxlan", "cilium-native"]
BASELINE = "cilium-native"
QUESTION = "Does <the CNI> & cluster size matter?"


def _experiment(**extra: Any) -> dict[str, Any]:
    exp: dict[str, Any] = {
        "name": "answer", "seed": 1, "replications": 1, "testbed": "10g-xeon-2015",
        "cluster": {"nodes": 2, "cni": "flannel-vxlan", "proxy": "iptables",
                    "deployments": [{"name": "client", "replicas": 2, "placement": "spread"},
                                    {"name": "server", "replicas": 2, "placement": "spread"}]},
        "workload": {"kind": "rr", "clients": "client", "target": "server",
                     "locality": "cross-node", "warmup_s": 0.001, "duration_s": 0.005},
        "sweep": {"cluster.cni": CNIS, "cluster.nodes": [2, 4],
                  "workload.kind": ["rr", "stream"]},
    }
    exp.update(extra)
    return exp


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("answer") / "res"
    run(_experiment(question=QUESTION, baseline={"cluster.cni": BASELINE}), out,
        serial=True, progress=False, report=False)
    write_report(out, formats=("png",))
    return out


@pytest.fixture(scope="module")
def means(folder: Path) -> pd.DataFrame:
    """Mean of every metric per configuration, straight from summary.csv."""
    summary = pd.read_csv(folder / "summary.csv")
    summary = summary[summary["status"] == "ok"]
    keys = ["cluster.cni", "cluster.nodes", "workload.kind"]
    metrics = ["latency_p50_us", "latency_p99_us", "requests_per_s", "throughput_gbps"]
    return summary.groupby(keys, sort=False)[metrics].mean().reset_index()


def _answer(folder: Path) -> str:
    md = (folder / "report.md").read_text(encoding="utf-8")
    return md.split("\n## Answer\n")[1].split("\n## ")[0]


def _bullets(folder: Path) -> list[str]:
    return [line[2:] for line in _answer(folder).splitlines() if line.startswith("- ")]


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _tables(body: str) -> list[pd.DataFrame]:
    out = []
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip("|").split("|")])
            out.append(pd.DataFrame(rows, columns=header))
    return out


def test_answer_is_the_first_section_with_the_question(folder: Path) -> None:
    md = (folder / "report.md").read_text(encoding="utf-8")
    titles = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert titles[0] == SECTIONS[0] == "Answer"
    body = _answer(folder)
    assert body.lstrip().startswith(f"Question: {md_escape(QUESTION)}\n")
    assert "<the CNI>" not in body
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<p>Question: Does &lt;the CNI&gt; &amp; cluster size matter?</p>" in page
    assert "<the CNI>" not in page


def test_best_versus_worst_per_kind(folder: Path, means: pd.DataFrame) -> None:
    bullets = _bullets(folder)
    rr = means[means["workload.kind"] == "rr"].reset_index(drop=True)
    p99 = rr["latency_p99_us"]
    best, worst = rr.loc[p99.idxmin()], rr.loc[p99.idxmax()]
    assert p99.max() > p99.min()  # the CNIs differ: there is a best
    line = next(b for b in bullets if b.startswith("rr workloads"))
    m = re.fullmatch(r"rr workloads \(request/response\): (.+) has the lowest p99 latency, "
                     r"([\d,.]+) µs, ([\d.]+) % below (.+) \(([\d,.]+) µs\)\.", line)
    assert m, line
    assert m.group(1) == f"cluster.cni={best['cluster.cni']}, cluster.nodes={best['cluster.nodes']}"
    assert m.group(2) == f"{best['latency_p99_us']:,.1f}"
    assert m.group(5) == f"{worst['latency_p99_us']:,.1f}"
    assert f"cluster.cni={worst['cluster.cni']}" in m.group(4)
    pct = (worst["latency_p99_us"] - best["latency_p99_us"]) / worst["latency_p99_us"] * 100
    assert _num(m.group(3)) == pytest.approx(pct, abs=0.051)

    stream = means[means["workload.kind"] == "stream"].reset_index(drop=True)
    tput = stream["throughput_gbps"]
    line = next(b for b in bullets if b.startswith("stream workloads"))
    if tput.max() == tput.min():
        assert line.endswith(f"every configuration has throughput {tput.max():,.3g} Gbit/s.")
    else:
        m = re.search(r"has the highest throughput, ([\d,.]+) Gbit/s(?: \(2 streams from 2 "
                      r"client pods, [\d.]+ Gbit/s per stream\))?, ([\d.]+) % above .+ "
                      r"\(([\d,.]+) Gbit/s\)\.$", line)
        assert m, line
        assert m.group(1) == f"{tput.max():,.3g}" and m.group(3) == f"{tput.min():,.3g}"
        pct = (tput.max() - tput.min()) / tput.min() * 100
        assert _num(m.group(2)) == pytest.approx(pct, abs=0.051)


def _largest_change(means: pd.DataFrame, key: str) -> float:
    """The largest (max - min) / min of any figure across ``key``, other keys fixed."""
    figures = {"rr": ["latency_p50_us", "latency_p99_us", "requests_per_s"],
               "stream": ["throughput_gbps"]}
    others = [k for k in ("cluster.cni", "cluster.nodes", "workload.kind") if k != key]
    largest = 0.0
    for (_, kind), sub in means.groupby(others):
        for m in figures[str(kind)]:
            largest = max(largest, (sub[m].max() - sub[m].min()) / sub[m].min() * 100)
    return largest


def test_each_other_swept_key_gets_its_largest_change(folder: Path,
                                                      means: pd.DataFrame) -> None:
    bullets = _bullets(folder)
    nodes = next(b for b in bullets if b.startswith("Going from cluster.nodes 2 to 4"))
    expected = _largest_change(means, "cluster.nodes")
    assert expected <= 0.1  # 2 or 4 nodes: the same pod-to-pod path
    m = re.search(r"changes no figure by more than 0\.1 % \(the other swept keys fixed; "
                  r"largest change ([\d.]+) %", nodes)
    assert m, nodes
    assert _num(m.group(1)) == pytest.approx(expected, abs=0.0051)

    cni = next(b for b in bullets if b.startswith("Going from cluster.cni flannel-vxlan to "
                                                  "cilium-native"))
    expected = _largest_change(means, "cluster.cni")
    assert expected > 0.1
    m = re.search(r"changes a figure by up to ([\d.]+) %", cni)
    assert m, cni
    assert _num(m.group(1)) == pytest.approx(expected, abs=0.051)
    assert not any(b.startswith("Going") and "workload.kind" in b.split(" (")[0]
                   for b in bullets), "the kind is not a dimension to compare across"


def test_overhead_table_against_the_baseline(folder: Path, means: pd.DataFrame) -> None:
    body = _answer(folder)
    assert f"### Overhead against the baseline: cluster.cni={BASELINE}" in body
    rr, stream = _tables(body)
    for table, kind, metric, name in (
        (rr, "rr", "latency_p99_us", "p99 latency"),
        (rr, "rr", "latency_p50_us", "p50 latency"),
        (stream, "stream", "throughput_gbps", "throughput"),
    ):
        assert len(table) == len(CNIS) * 2
        for row in table.to_dict("records"):
            mine = means[(means["cluster.cni"] == row["cluster.cni"])
                         & (means["cluster.nodes"] == int(row["cluster.nodes"]))
                         & (means["workload.kind"] == kind)][metric].iloc[0]
            base = means[(means["cluster.cni"] == BASELINE)
                         & (means["cluster.nodes"] == int(row["cluster.nodes"]))
                         & (means["workload.kind"] == kind)][metric].iloc[0]
            overhead = _num(row[f"{name} overhead (%)"])
            if row["cluster.cni"] == BASELINE:
                assert overhead == 0.0
            expected = ((mine - base) if metric.startswith("latency") else (base - mine)) \
                / base * 100
            assert overhead == pytest.approx(expected, abs=0.051)
            unit = "µs" if metric.startswith("latency") else "Gbit/s"
            fmt = "{:,.1f}" if unit == "µs" else "{:,.3g}"
            assert row[f"{name} ({unit})"] == fmt.format(mine)


def test_no_baseline_no_table_and_no_question(tmp_path: Path) -> None:
    exp = _experiment(sweep={"cluster.cni": CNIS})
    run(exp, tmp_path / "res", serial=True, progress=False, report=False)
    body = _answer_of(write_report(tmp_path / "res", plots=False))
    assert "Question:" not in body and "Overhead against" not in body
    assert "Add baseline:" in body
    assert any(line.startswith("- rr workloads") for line in body.splitlines())


def _answer_of(md_path: Path) -> str:
    return md_path.read_text(encoding="utf-8").split("\n## Answer\n")[1].split("\n## ")[0]


# --------------------------------------------------------------------------- the spec


@pytest.mark.parametrize(("baseline", "needles"), [
    ({"cluster.cnx": "calico-bgp"},
     ["baseline.cluster.cnx:", "not a sweep key", "cluster.cni, cluster.nodes"]),
    ({"cluster.cni": "calico-bgp"},
     ["baseline.cluster.cni: got 'calico-bgp'", "flannel-vxlan, cilium-native"]),
    ({"cluster.nodes": 8}, ["baseline.cluster.nodes: got 8", "(2, 4)"]),
    ("calico-bgp", ["baseline: got 'calico-bgp'"]),
])
def test_bad_baseline_is_a_one_line_error(baseline: Any, needles: list[str]) -> None:
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_data(_experiment(baseline=baseline))
    line = str(info.value)
    assert "\n" not in line
    for needle in needles:
        assert needle in line, (needle, line)


def test_baseline_without_a_sweep() -> None:
    with pytest.raises(SpecError, match="this experiment sweeps nothing"):
        ExperimentSpec.from_data(_experiment(sweep={}, baseline={"cluster.cni": "x"}))


@pytest.mark.parametrize(("baseline", "needle"), [
    ({"cluster.cnx": "calico-bgp"}, "baseline.cluster.cnx"),
    ({"cluster.cni": "weave-fastdp"}, "baseline.cluster.cni: got 'weave-fastdp'"),
])
def test_kperf_run_with_a_bad_baseline_exits_2(tmp_path: Path, baseline: dict[str, Any],
                                               needle: str) -> None:
    from kperf.cli.app import app
    from kperf.cli.main import _register

    _register()
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(_experiment(baseline=baseline)), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "res"),
                                      "--serial"])
    line = one_error_line(result)
    assert needle in line and "allowed" in line
    assert not (tmp_path / "res").exists()


def test_question_and_baseline_change_no_run_id() -> None:
    plain = expand(ExperimentSpec.from_data(_experiment()))
    with_both = expand(ExperimentSpec.from_data(_experiment(
        question=QUESTION, baseline={"cluster.cni": BASELINE, "cluster.nodes": 4})))
    assert [r.run_id for r in plain] == [r.run_id for r in with_both]
    assert [r.seed for r in plain] == [r.seed for r in with_both]


def test_adding_question_and_baseline_reruns_nothing(tmp_path: Path) -> None:
    exp = _experiment(sweep={"cluster.cni": CNIS})
    first = run(exp, tmp_path / "res", serial=True, progress=False, report=False)
    assert first.manifest["sessions"][-1]["ran"] == 2
    path = tmp_path / "answer.yaml"
    edited = copy.deepcopy(exp)
    edited.update(question=QUESTION, baseline={"cluster.cni": BASELINE})
    path.write_text(yaml.safe_dump(edited), encoding="utf-8")
    again = run(path, tmp_path / "res", serial=True, progress=False, report=False)
    session = again.manifest["sessions"][-1]
    assert session["skipped"] == 2 and session["ran"] == 0
    assert again.manifest["experiment"]["baseline"] == {"cluster.cni": BASELINE}
    md = write_report(tmp_path / "res", plots=False).read_text(encoding="utf-8")
    assert "Question: Does &lt;the CNI>" in md and "Overhead against the baseline" in md


def test_tradeoff_sentence_for_traffic_from_outside(tmp_path: Path) -> None:
    """With imbalance figures in the runs (clients outside the cluster), each two-valued
    swept key gets a trade-off sentence: the medians of latency, imbalance, off-node
    share and failed requests with either value, as in the summary. Endpoints on 2 of
    3 nodes: Cluster serves (n-1)/n off the entry node and fails nothing; Local serves
    nothing off-node and round-robin NodePort clients lose the third of connections
    that reach the node without an endpoint."""
    exp = yaml.safe_load((Path(__file__).resolve().parent.parent / "experiments"
                          / "external_traffic.yaml").read_text(encoding="utf-8"))
    exp["sweep"] = {"cluster.services.0.external_traffic_policy": ["Cluster", "Local"]}
    exp["baseline"] = {"cluster.services.0.external_traffic_policy": "Cluster"}
    exp["replications"] = 1
    exp["workload"].update(duration_s=0.02)
    out = tmp_path / "ext"
    run(exp, out, serial=True, progress=False, report=False)
    md = write_report(out, plots=False).read_text(encoding="utf-8")
    answer = md.split("\n## Answer\n")[1].split("\n## ")[0]
    s = pd.read_parquet(out / "summary.parquet").set_index(
        "cluster.services.0.external_traffic_policy")
    m = re.search(r"cluster\.services\.0\.external_traffic_policy Cluster -> Local, medians "
                  r"over the 1 configurations of the other keys: p50 latency ([\d.,]+) µs -> "
                  r"([\d.,]+) µs; .*share served off the entry node (\d+)% -> (\d+)%; failed "
                  r"requests ([\d.]+)% -> ([\d.]+)%\.", answer)
    assert m is not None, answer
    assert _num(m.group(1)) == pytest.approx(s.loc["Cluster", "latency_p50_us"], abs=0.05)
    assert _num(m.group(2)) == pytest.approx(s.loc["Local", "latency_p50_us"], abs=0.05)
    assert _num(m.group(2)) < _num(m.group(1))  # Local skips the extra hop
    assert int(m.group(3)) == round(s.loc["Cluster", "off_node_share"] * 100)
    assert 60 <= int(m.group(3)) <= 72 and int(m.group(4)) == 0  # (3-1)/3 and none
    local = s.loc["Local"]
    assert float(m.group(5)) == 0.0
    assert float(m.group(6)) == pytest.approx(
        local["failed"] / (local["failed"] + local["completed"]) * 100, abs=0.05)
    assert 30 <= float(m.group(6)) <= 37  # a third of connections find no endpoint

"""Reports: every section and every plot is in report.md and report.html, the HTML is
self-contained (images as data URIs, no external resources), and names and values
from user files are escaped. Synthetic results folders (no simulation)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kperf.analysis.capacity import plan_capacity
from kperf.analysis.markdown import md_escape
from kperf.analysis.plots import make_plots
from kperf.analysis.report import SECTIONS, register_post_run_hook, write_report
from kperf.cli.app import app
from kperf.cli.main import _register
from tests.test_capacity import AnalyticMM1, experiment
from tests.test_plots import make_results_dir

_register()
runner = CliRunner()

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with a hostile experiment name, a plan, and its report."""
    path = make_results_dir(tmp_path_factory.mktemp("rep") / "res", name=HOSTILE,
                            description=f"desc {HOSTILE} & <img src=x onerror=alert(1)>",
                            reps=2)
    plan = plan_capacity(experiment(), "p99<=2ms", target_rps=120_000,
                         simulate_fn=AnalyticMM1(), replications=2)
    plan.save(path)
    write_report(path)
    return path


def test_every_section_in_both_formats(folder: Path) -> None:
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"\n## {title}\n" in md
        assert f"<h2>{title}</h2>" in page
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == list(SECTIONS)
    # The answer first, then the evidence behind it.
    assert SECTIONS[:3] == ("Answer", "What was simulated", "Key findings")


def test_every_plot_is_in_the_report(folder: Path) -> None:
    index = json.loads((folder / "plots" / "index.json").read_text())
    names = [m["name"] for m in index["made"]]
    assert "capacity" in names and "latency_cdf" in names and len(names) >= 6
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    for name in names:
        assert f"](plots/{name}.png)" in md
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(names)
    embedded = {base64.b64decode(i) for i in images}
    assert embedded == {(folder / "plots" / f"{n}.png").read_bytes() for n in names}


def test_html_is_self_contained(folder: Path) -> None:
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert re.search(r'(?:src|href)\s*=\s*"(?!data:|#)', page) is None
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "http://" not in page and "https://" not in page


def test_user_names_are_escaped(folder: Path) -> None:
    page = (folder / "report.html").read_text(encoding="utf-8")
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page
    # Markdown: raw HTML is neutralised outside code blocks (code blocks are literal).
    outside_code = re.sub(r"```.*?```", "", md, flags=re.S)
    assert "<script" not in outside_code and "<img" not in outside_code
    assert "&lt;script>" in outside_code
    assert md_escape("a|b <b>x</b> p99<=2ms") == r"a\|b &lt;b>x&lt;/b> p99<=2ms"


def test_findings_provenance_capacity_and_reproduction(folder: Path) -> None:
    md = (folder / "report.md").read_text(encoding="utf-8")
    # ranked tables with confidence intervals
    assert "### Configurations ranked by p99 latency (lowest first)" in md
    assert "### Configurations ranked by throughput (highest first)" in md
    assert " ± " in md
    first = md.split("ranked by p99")[1].split("\n")[4]
    assert first.startswith("| 1 | cilium-native |")  # the synthetic fastest mode
    # provenance: calibrated vs estimated and sources
    assert "| flannel-vxlan | calibrated against published measurements" in md
    assert "Sources of the flannel-vxlan profile:" in md and "CAL:" in md
    assert "10g-xeon-2015: CAL:A synthetic" in md
    # capacity answer from the plan in the folder
    assert "Best: calico-bgp needs 16 nodes for 120,000 requests/s at p99<=2ms" in md
    assert "95% Student-t" in md
    # reproduction: the command and the experiment
    assert "kperf run &lt;script>" not in md
    assert "```\nkperf run <script>alert('x')</script>.yaml\n```" in md
    assert "sweep:" in md and "kperf report" in md


def test_estimated_profiles_are_flagged(tmp_path: Path) -> None:
    path = make_results_dir(tmp_path / "est", sweep={"cluster.cni": ["nsx-t", "calico-bgp"]},
                            samples=False, reps=2)
    # the synthetic data only knows three modes: reuse calico's numbers for nsx-t
    write_report(path)
    md = (path / "report.md").read_text(encoding="utf-8")
    assert "| nsx-t | estimated (no published pod-level measurement exists) |" in md
    assert "No capacity plan in this folder" in md


def test_report_without_replanning_plots_and_cli(folder: Path, tmp_path: Path) -> None:
    before = (folder / "plots" / "heatmap.png").stat().st_mtime_ns
    result = runner.invoke(app, ["report", str(folder), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "report.md" in result.stdout and "report.html" in result.stdout
    assert (folder / "plots" / "heatmap.png").stat().st_mtime_ns == before
    assert "![" in (folder / "report.md").read_text(encoding="utf-8")
    missing = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no kperf results" in missing.stderr


def test_plan_only_folder(tmp_path: Path) -> None:
    plan = plan_capacity(experiment(), "p99<=2ms", nodes=8, simulate_fn=AnalyticMM1(),
                         replications=2)
    plan.save(tmp_path)
    md = write_report(tmp_path).read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"## {title}" in md
    assert "capacity plan only" in md and "on 8 nodes" in md
    assert "![capacity plan](plots/capacity.png)" in md


def test_post_run_hook_registration(tmp_path: Path) -> None:
    from kperf.analysis.report import report_hook
    from kperf.experiments.runner import POST_RUN_HOOKS

    try:
        register_post_run_hook()
        register_post_run_hook()
        assert POST_RUN_HOOKS.count(report_hook) == 1
    finally:
        while report_hook in POST_RUN_HOOKS:
            POST_RUN_HOOKS.remove(report_hook)


def test_make_plots_failure_of_one_plot_is_skipped(tmp_path: Path) -> None:
    path = make_results_dir(tmp_path / "odd", sweep={"cluster.cni": ["calico-bgp"],
                                                     "cluster.nodes": [2, 4]},
                            samples=False, reps=1)
    made = make_plots(path, formats=("png",))
    assert "throughput_vs_nodes" in {p.name for p in made.made}
    write_report(path, plots=False)  # one replication: no intervals, still a report
    md = (path / "report.md").read_text(encoding="utf-8")
    assert "one replication: no interval" in md

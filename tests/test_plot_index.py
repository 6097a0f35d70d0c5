"""The plot index on a real results folder: a small latency-vs-load sweep run end to
end (a cut-down experiments/latency_vs_load.yaml, a few seconds), its plots, its
plots/index.json and report.html. Checks that every CNI mode has one colour in every
plot — the colours drawn, as the index reads them back from the figures' artists and
as they appear in the SVG files — that the report embeds every plot with its
caption, and that the knee of each p99 curve is found and reported."""

from __future__ import annotations

import base64
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from kperf.analysis import plots
from kperf.analysis.report import write_report
from kperf.experiments import run
from kperf.profiles.cni import CNI_PROFILES

EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "latency_vs_load.yaml"
RATES = [20_000, 60_000, 100_000, 200_000]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped latency-vs-load experiment with a shorter window and four rates
    (light load, the knee's neighbourhood, past every mode's saturation), samples kept
    (for the CDF), run serially and reported."""
    exp: dict[str, Any] = yaml.safe_load(EXPERIMENT.read_text(encoding="utf-8"))
    exp["workload"].update(duration_s=0.004, warmup_s=0.001)
    exp["sweep"]["workload.rate_per_s"] = RATES
    exp["replications"] = 2
    exp["keep_samples"] = True
    out = tmp_path_factory.mktemp("lvl") / "res"
    run(exp, out, serial=True, progress=False, report=False)
    write_report(out, formats=("png", "svg"))
    return out


def _index(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "plots" / "index.json").read_text(encoding="utf-8"))


class _Figures(HTMLParser):
    """(caption, embedded PNG bytes) of each <figure> of report.html."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[str, bytes]] = []
        self._png: bytes | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = dict(attrs).get("src") or ""
        if tag == "img" and src.startswith("data:image/png;base64,"):
            self._png = base64.b64decode(src.split(",", 1)[1])
        elif tag == "figcaption":
            self._caption = []

    def handle_data(self, data: str) -> None:
        if self._caption is not None:
            self._caption.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption" and self._caption is not None:
            self.figures.append((" ".join("".join(self._caption).split()), self._png or b""))
            self._caption, self._png = None, None


def test_every_plot_is_in_the_report_with_its_caption(folder: Path) -> None:
    made = _index(folder)["made"]
    names = {m["name"] for m in made}
    assert {"latency_cdf", "latency_vs_load", "by_cluster_cni", "heatmap",
            "latency_breakdown"} <= names
    parser = _Figures()
    parser.feed((folder / "report.html").read_text(encoding="utf-8"))
    figures = dict(parser.figures)
    for m in made:
        png = (folder / "plots" / f"{m['name']}.png").read_bytes()
        caption = " ".join(m["caption"].split())
        assert caption in figures, m["name"]
        assert figures[caption] == png, m["name"]


def test_one_colour_per_cni_in_every_plot(folder: Path) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for m in _index(folder)["made"]:
        svg = (folder / "plots" / f"{m['name']}.svg").read_text(encoding="utf-8").lower()
        for series, colour in m["colours"].items():
            if series in CNI_PROFILES:
                seen.setdefault(series, {})[m["name"]] = colour
                # the colour the artists carry is in the drawn file too
                assert isinstance(colour, str) and colour in svg, (m["name"], series)
    cnis = yaml.safe_load(EXPERIMENT.read_text(encoding="utf-8"))["sweep"]["cluster.cni"]
    assert set(seen) == set(cnis)
    for cni, by_plot in seen.items():
        # the CDF, latency vs load, the per-CNI bars and the CPU bars at least
        assert {"latency_cdf", "latency_vs_load", "by_cluster_cni", "cpu_per_10g"} <= set(
            by_plot), cni
        assert set(by_plot.values()) == {plots.cni_colour(cni)}, (cni, by_plot)
    # and the modes are told apart
    assert len({plots.cni_colour(c) for c in cnis}) == len(cnis)


def test_knee_of_each_p99_curve_is_found_and_reported(folder: Path) -> None:
    import pandas as pd

    entry = next(m for m in _index(folder)["made"] if m["name"] == "latency_vs_load")
    knees = entry["knee"]["by_group"]
    summary = pd.read_parquet(folder / "summary.parquet")
    p99 = summary.groupby(["cluster.cni", "workload.rate_per_s"])["latency_p99_us"].mean()
    page = html.unescape((folder / "report.html").read_text(encoding="utf-8"))
    for cni, knee in knees.items():
        # the top rate is past saturation: p99 there is many times the light-load p99
        assert p99[(cni, RATES[-1])] > 5 * p99[(cni, RATES[0])], cni
        assert knee is not None and RATES[0] < knee < RATES[-1], (cni, knee)
        assert knee == pytest.approx(plots.knee_load(
            RATES, [p99[(cni, r)] for r in RATES]), rel=1e-12)
        text = f"{cni} {float(f'{knee:.3g}'):,.0f}/s"
        assert text in entry["caption"] and text in page
    assert re.search(r"Kleinrock", entry["caption"])


def test_the_answer_quotes_the_knees_lowest_first(folder: Path) -> None:
    """The report's Answer says where each mode's p99 knee is (from the plot index),
    lowest first, and compares at the lightest load only (not a CNI at 20,000/s
    against another at 200,000/s)."""
    entry = next(m for m in _index(folder)["made"] if m["name"] == "latency_vs_load")
    knees = sorted(entry["knee"]["by_group"].items(), key=lambda kv: kv[1])
    md = (folder / "report.md").read_text(encoding="utf-8")
    answer = md.split("\n## Answer\n")[1].split("\n## ")[0]
    listed = ", ".join(f"{c} at {float(f'{k:.3g}'):,.0f}" for c, k in knees)
    assert f"offered load per client (requests/s): {listed}." in answer, answer
    ratio = knees[-1][1] / knees[0][1]
    assert f"{knees[-1][0]} keeps p99 flat to {ratio:.2f}x the load of {knees[0][0]}" \
        in answer
    assert f"at the lightest load (workload.rate_per_s={RATES[0]})" in answer

"""Plots: each function on a synthetic table makes a Figure with the expected axes,
labels and series; ``make_plots``/``kperf plot`` pick the plots that fit a results
folder. Synthetic data only (no simulation), so these run in a few seconds."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kperf.analysis import plots
from kperf.analysis.aggregate import aggregate, aggregate_long, t_interval, with_derived
from kperf.cli.app import app
from kperf.cli.main import _register

_register()
runner = CliRunner()

CNIS = ("flannel-vxlan", "calico-bgp", "cilium-native")
PROXIES = ("iptables", "ipvs", "nftables", "ebpf")
BASE_US = {"flannel-vxlan": 30.0, "calico-bgp": 25.0, "cilium-native": 20.0}


def synthetic_summary(sweep: dict[str, Sequence[Any]], reps: int = 3,
                      seed: int = 0) -> pd.DataFrame:
    """A summary table shaped like the runner's: swept keys, row keys, metrics."""
    rng = np.random.default_rng(seed)
    keys = list(sweep)
    grid = pd.MultiIndex.from_product([sweep[k] for k in keys], names=keys).to_frame(
        index=False)
    rows = []
    for i, cfg in enumerate(grid.to_dict("records")):
        for rep in range(reps):
            cni = cfg.get("cluster.cni", "calico-bgp")
            nodes = float(cfg.get("cluster.nodes", 2))
            rate = float(cfg.get("workload.rate_per_s", 1000))
            svcs = float(cfg.get("cluster.extra_services", 10))
            proxy = cfg.get("cluster.proxy", "iptables")
            p50 = BASE_US.get(cni, 28.0) * (1 + rate / 20000) * (1 + 0.02 * rep)
            if proxy == "iptables":
                p50 += svcs * 0.01
            tput = 9.0 * 20 / (20 + BASE_US.get(cni, 28.0)) * (1 + 0.01 * rng.standard_normal())
            rows.append({
                **cfg, "replication": rep, "seed": 1000 + 10 * i + rep, "status": "ok",
                "error": None, "run_id": f"run{i:03d}r{rep}",
                "latency_mean_us": p50 * 1.2, "latency_p50_us": p50,
                "latency_p90_us": p50 * 2, "latency_p99_us": p50 * 4 * (1 + rng.random() / 10),
                "latency_p999_us": p50 * 6, "latency_max_us": p50 * 9,
                "throughput_gbps": tput, "requests_per_s": rate * 2 * (1 - 0.01 * rep),
                "completed": int(rate), "failed": int(nodes // 4 + rep),
                "drops": 0, "cpu_cores_busy_max": tput / 10 * (1 + BASE_US.get(cni, 28.0) / 50),
            })
    return pd.DataFrame(rows)


def _manifest(name: str, sweep: dict[str, Sequence[Any]], summary: pd.DataFrame,
              description: str = "", rolling_updates: int = 1) -> dict[str, Any]:
    runs = {}
    for r in summary.to_dict("records"):
        params = {k: r[k] for k in sweep}
        cluster = {"nodes": int(params.get("cluster.nodes", 2)),
                   "cni": params.get("cluster.cni", "calico-bgp"),
                   "proxy": params.get("cluster.proxy", "iptables"),
                   "deployments": [{"name": "client", "replicas": 2, "placement": "spread",
                                    "app_workers": 4}],
                   "services": [{"name": "server"}],
                   "extra_services": int(params.get("cluster.extra_services", 0)),
                   "rolling_updates": [{"deployment": "server"}] * rolling_updates}
        runs[r["run_id"]] = {
            "params": params, "replication": r["replication"], "seed": r["seed"],
            "spec": {"testbed": {"name": "10g-xeon-2015", "nic_rate_gbps": 10.0,
                                 "mtu_bytes": 9000, "cores_per_node": 8,
                                 "cpu_speed_factor": 1.0, "source": "CAL:A synthetic"},
                     "cluster": cluster,
                     "workloads": [{"kind": "http", "name": None, "clients": "client",
                                    "target": "svc/server",
                                    "rate_per_s": params.get("workload.rate_per_s", 1000),
                                    "duration_s": 0.05, "warmup_s": 0.0}],
                     "seed": r["seed"]},
        }
    return {
        "name": name, "description": description, "kperf_version": "0.1.0",
        "python": "3.11", "platform": "test", "source": "synthetic.yaml",
        "experiment": {"name": name, "description": description, "replications": 3,
                       "seed": 1, "testbed": "10g-xeon-2015",
                       "cluster": {"nodes": 2}, "workload": {"kind": "http",
                                                             "rate_per_s": 1000},
                       "sweep": {k: list(v) for k, v in sweep.items()}},
        "seed": 1, "replications": 3, "keep_samples": True,
        "sweep": {k: list(v) for k, v in sweep.items()},
        "started_at": "2024-01-01T00:00:00+00:00", "finished_at": "2024-01-01T00:01:00+00:00",
        "command": f"kperf run {name}.yaml", "executor": "serial", "complete": True,
        "counts": {"runs": len(runs), "ok": len(runs), "failed": 0, "not_run": 0},
        "runs": runs,
    }


def make_results_dir(folder: Path, sweep: dict[str, Sequence[Any]] | None = None,
                     name: str = "synthetic", description: str = "",
                     samples: bool = True, reps: int = 3) -> Path:
    """A results folder as ``kperf run`` writes it, with synthetic numbers."""
    sweep = sweep if sweep is not None else {
        "cluster.cni": list(CNIS), "cluster.nodes": [2, 8, 64],
        "workload.rate_per_s": [1000, 5000, 20000]}
    summary = synthetic_summary(sweep, reps=reps)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "runs").mkdir(exist_ok=True)
    summary.to_parquet(folder / "summary.parquet", index=False)
    summary.to_csv(folder / "summary.csv", index=False)
    manifest = _manifest(name, sweep, summary, description)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    rng = np.random.default_rng(1)
    for r in summary.to_dict("records"):
        cni = r.get("cluster.cni", "calico-bgp")
        if samples:
            lat = rng.exponential(BASE_US.get(cni, 28.0), 200) + 5
            pd.DataFrame({"workload": "http", "start_s": np.linspace(0, 0.05, 200),
                          "latency_us": lat, "failed": False, "reason": ""}).to_parquet(
                folder / "runs" / f"{r['run_id']}.samples.parquet", index=False)
        pd.DataFrame({"workload": "http",
                      "category": ["stack", "veth", "encap", "app", "queueing"],
                      "time_us": [8.0, 2.0, 3.0 if cni == "flannel-vxlan" else 0.0, 10.0,
                                  1.0]}).to_parquet(
            folder / "runs" / f"{r['run_id']}.breakdown.parquet", index=False)
    return folder


def _legend_labels(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


# --------------------------------------------------------------------------- aggregate


def test_t_interval_matches_the_textbook() -> None:
    iv = t_interval([10.0, 12.0, 14.0])
    assert iv.mean == pytest.approx(12.0)
    assert iv.std == pytest.approx(2.0)
    # t(0.975, 2) = 4.3027: half-width 4.3027 * 2 / sqrt(3)
    assert iv.half_width == pytest.approx(4.3027 * 2 / 3**0.5, rel=1e-4)
    one = t_interval([5.0])
    assert one.mean == 5.0 and np.isnan(one.low) and one.upper == 5.0
    assert t_interval([]).n == 0


def test_aggregate_groups_by_swept_keys_and_skips_failed_runs() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS), "cluster.nodes": [2, 8]})
    s.loc[0, "status"] = "failed"
    agg = aggregate(s)
    assert list(agg.columns[:3]) == ["cluster.cni", "cluster.nodes", "n"]
    assert len(agg) == 6
    assert agg["n"].tolist() == [2, 3, 3, 3, 3, 3]
    assert {"latency_p99_us_mean", "latency_p99_us_ci_low", "latency_p99_us_ci_high"} <= set(
        agg.columns)
    assert (agg["latency_p99_us_ci_low"] <= agg["latency_p99_us_mean"]).all()
    long = aggregate_long(s, by=["cluster.cni"], metrics=["throughput_gbps"])
    assert len(long) == 3 and set(long["metric"]) == {"throughput_gbps"}
    derived = with_derived(s)
    assert np.allclose(derived["cpu_cores_per_10gbps"],
                       s["cpu_cores_busy_max"] / s["throughput_gbps"] * 10)


# --------------------------------------------------------------------------- plot functions


def test_latency_cdf_one_line_per_mode_log_x() -> None:
    rng = np.random.default_rng(0)
    samples = pd.concat([pd.DataFrame({"cluster.cni": c, "latency_us": rng.exponential(
        BASE_US[c], 500) + 1, "failed": False}) for c in CNIS], ignore_index=True)
    fig = plots.latency_cdf(samples)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3 + 2  # three modes, two reference lines (p50, p99)
    assert ax.get_xscale() == "log"
    assert "latency (µs" in ax.get_xlabel()
    assert "fraction of requests" in ax.get_ylabel()
    assert [t.split(" ")[0] for t in _legend_labels(ax)] == list(CNIS)
    assert ax.get_title()


def test_latency_vs_load_has_p50_and_p99_per_mode() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS),
                           "workload.rate_per_s": [1000, 5000, 20000]})
    fig = plots.latency_vs_load(s)
    (ax,) = fig.axes
    labels = _legend_labels(ax)
    assert len(labels) == 6
    assert {f"{c} {p}" for c in CNIS for p in ("p50", "p99")} == set(labels)
    assert ax.get_xlabel() == "offered load per client (requests/s)"
    assert ax.get_ylabel() == "latency (µs)"
    assert ax.get_title() == "Latency vs offered load"
    assert len(ax.containers) == 6  # one errorbar container per series


def test_throughput_vs_cluster_size_and_streams() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS), "cluster.nodes": [2, 10, 100, 1000]})
    fig = plots.throughput_vs_cluster_size(s)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "cluster size (nodes, log scale)"  # a log axis says so
    assert ax.get_ylabel() == "throughput (Gbit/s)"
    assert ax.get_xscale() == "log"  # 2 to 1000 nodes
    assert len(ax.containers) == 3
    s = synthetic_summary({"cluster.cni": list(CNIS[:2]), "workload.streams": [1, 2, 4]})
    fig = plots.throughput_vs_streams(s)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "parallel streams per client"
    assert ax.get_xscale() == "linear"
    assert _legend_labels(ax)[:2] == list(CNIS[:2])


def test_latency_breakdown_stacks_categories_per_mode() -> None:
    bd = pd.DataFrame([{"cluster.cni": c, "category": cat, "time_us": t}
                       for c in CNIS for cat, t in (("stack", 8.0), ("veth", 2.0),
                                                     ("app", 10.0), ("queueing", 1.0))])
    fig = plots.latency_breakdown(bd)
    (ax,) = fig.axes
    assert len(ax.containers) == 4  # one stacked bar series per category
    assert all(len(c) == 3 for c in ax.containers)  # one bar per mode
    assert ax.get_ylabel() == "mean time per request (µs)"
    assert ax.get_xlabel() == "CNI mode"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CNIS)
    tops = [c[0].get_y() + c[0].get_height() for c in ax.containers]
    assert tops[-1] == pytest.approx(21.0)


def test_cpu_per_10g_bars_cheapest_first() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS)})
    fig = plots.cpu_per_10g(s)
    (ax,) = fig.axes
    from matplotlib.container import BarContainer

    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = [b.get_height() for b in bars]
    assert len(heights) == 3 and heights == sorted(heights)
    assert "CPU cores per 10 Gbit/s" in ax.get_ylabel()
    ratio = with_derived(s).groupby("cluster.cni")["cpu_cores_per_10gbps"].mean()
    assert heights[0] == pytest.approx(ratio.min())


def test_services_scaling_two_panels_one_line_per_proxy() -> None:
    s = synthetic_summary({"cluster.proxy": list(PROXIES),
                           "cluster.extra_services": [10, 1000, 10000]})
    fig = plots.services_scaling(s, "cluster.extra_services")
    left, right = fig.axes
    assert left.get_xlabel() == right.get_xlabel() == "number of Services (log scale)"
    assert "first-connection latency" in left.get_ylabel()
    assert right.get_ylabel() == "requests/s"
    assert _legend_labels(left) == list(PROXIES) and _legend_labels(right) == list(PROXIES)
    assert left.get_xscale() == "log"


def test_failed_per_update_divides_by_updates() -> None:
    s = synthetic_summary({"cluster.proxy": ["iptables", "ipvs"], "cluster.nodes": [4, 16]})
    s["rolling_updates"] = 2.0
    fig = plots.failed_per_update(s, updates="rolling_updates")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "failed requests per rolling update"
    assert ax.get_xlabel() == "cluster size (nodes)"
    assert _legend_labels(ax)[:2] == ["iptables", "ipvs"]
    line = ax.containers[0].lines[0]
    expected = s[s["cluster.proxy"] == "iptables"].groupby("cluster.nodes")["failed"].mean() / 2
    assert np.allclose(line.get_ydata(), expected.to_numpy())


def test_heatmap_of_two_swept_keys() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS), "cluster.nodes": [2, 8, 32, 128]})
    fig = plots.heatmap(s, "cluster.nodes", "cluster.cni", "latency_p99_us")
    ax = fig.axes[0]
    (image,) = ax.get_images()
    assert image.get_array().shape == (3, 4)
    assert ax.get_xlabel() == "cluster size (nodes)"
    assert ax.get_ylabel() == "CNI mode"
    assert fig.axes[1].get_ylabel() == "p99 latency (µs)"  # the colour bar
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32", "128"]


def test_missing_column_is_a_clear_error() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS)})
    with pytest.raises(KeyError, match=r"workload\.rate_per_s"):
        plots.latency_vs_load(s)


def test_save_figure_writes_png_and_svg(tmp_path: Path) -> None:
    fig = plots.cpu_per_10g(synthetic_summary({"cluster.cni": list(CNIS)}))
    paths = plots.save_figure(fig, tmp_path / "sub" / "cpu")
    assert [p.name for p in paths] == ["cpu.png", "cpu.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths[1].read_text(encoding="utf-8")


def test_importing_plots_loads_no_matplotlib() -> None:
    code = ("import sys, kperf.analysis.plots, kperf.analysis.report, "
            "kperf.analysis.capacity; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- results folders


def test_make_plots_picks_what_fits(tmp_path: Path) -> None:
    folder = make_results_dir(tmp_path / "res")
    made = plots.make_plots(folder)
    names = {p.name for p in made.made}
    assert names == {"latency_cdf", "latency_vs_load", "throughput_vs_nodes",
                     "latency_breakdown", "cpu_per_10g", "failed_per_update", "heatmap",
                     # one per swept key no other plot has on x against p99 (the rate
                     # is on latency_vs_load's)
                     "by_cluster_cni", "by_cluster_nodes"}
    skipped = dict(made.skipped)
    assert set(skipped) == {"throughput_vs_streams", "services_scaling", "capacity"}
    for p in made.made:
        assert {f.suffix for f in p.files} == {".png", ".svg"}
        assert all(f.exists() and f.parent == folder / "plots" for f in p.files)
    index = json.loads((folder / "plots" / "index.json").read_text())
    assert [m["name"] for m in index["made"]] == [p.name for p in made.made]
    cdf = next(p for p in made.made if p.name == "latency_cdf")
    assert "cluster.nodes=2" in cdf.caption  # the other swept keys are held at one value


def test_make_plots_services_sweep(tmp_path: Path) -> None:
    folder = make_results_dir(tmp_path / "svc", sweep={
        "cluster.extra_services": [10, 1000, 10000], "cluster.proxy": list(PROXIES)},
        samples=False)
    made = plots.make_plots(folder, formats=("png",))
    names = {p.name for p in made.made}
    assert "services_scaling" in names and "heatmap" in names
    assert "latency_cdf" in dict(made.skipped)  # no samples stored


def test_kperf_plot_cli(tmp_path: Path) -> None:
    folder = make_results_dir(tmp_path / "res", samples=False, reps=2)
    result = runner.invoke(app, ["plot", str(folder), "--heatmap",
                                 "cluster.cni,workload.rate_per_s", "--format", "png"])
    assert result.exit_code == 0, result.output
    assert "made     heatmap" in result.stdout
    assert "skipped  latency_cdf" in result.stdout
    assert (folder / "plots" / "heatmap.png").exists()
    assert not (folder / "plots" / "heatmap.svg").exists()
    bad = runner.invoke(app, ["plot", str(folder), "--heatmap", "cluster.cni"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("kperf: error: --heatmap")
    unknown = runner.invoke(app, ["plot", str(folder), "--heatmap", "cluster.cni,nope"])
    assert unknown.exit_code == 2 and "nope" in unknown.stderr
    missing = runner.invoke(app, ["plot", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no kperf results" in missing.stderr


# --------------------------------------------------------------------------- knee


MU = 10_000.0  # M/M/1 service rate (requests/s)


def _mm1_p99_us(lam: np.ndarray, mu: float = MU, fixed_us: float = 0.0) -> np.ndarray:
    """p99 of the M/M/1 sojourn time (exponential with rate mu - lam), plus a fixed delay."""
    return fixed_us + np.log(100.0) / (mu - lam) * 1e6


def test_knee_of_mm1_is_at_half_the_service_rate() -> None:
    # Power lam * (mu - lam) / ln(100) is quadratic in lam: the vertex through the
    # sampled maximum and its neighbours is the exact maximum, mu / 2, on or off the grid.
    for rho in (np.arange(1, 20) / 20,  # 0.05 .. 0.95, 0.5 on the grid
                np.array([0.1, 0.2, 0.35, 0.45, 0.62, 0.75, 0.9])):  # 0.5 between samples
        lam = rho * MU
        assert plots.knee_load(lam, _mm1_p99_us(lam)) == pytest.approx(MU / 2, rel=1e-9)
        # the mean delay 1 / (mu - lam) (Kleinrock's own example), and explicit throughputs
        mean_us = 1e6 / (MU - lam)
        assert plots.knee_load(lam, mean_us, throughputs=lam) == pytest.approx(MU / 2,
                                                                               rel=1e-9)


def test_knee_with_a_fixed_network_delay_moves_right_as_predicted() -> None:
    # T = D + 1/(mu - lam): power lam / T peaks where D x^2 + 2x - mu = 0, x = mu - lam,
    # i.e. lam* = mu - (sqrt(1 + D mu) - 1) / D (above mu / 2: a fixed delay makes the
    # queueing part count for less).
    d_s = 30e-6
    expected = MU - (math.sqrt(1 + d_s * MU) - 1) / d_s
    lam = np.arange(1, 20) / 20 * MU
    knee = plots.knee_load(lam, _mm1_p99_us(lam, fixed_us=d_s * 1e6 * np.log(100)))
    assert knee is not None and knee > MU / 2
    # d_s * ln(100) in the p99 scales the fixed part as the queueing part: same optimum
    assert knee == pytest.approx(expected, abs=0.05 * MU)  # within one grid step


def test_no_knee_when_the_sweep_does_not_bracket_one() -> None:
    lam = np.array([1000.0, 2000.0, 4000.0, 8000.0])
    assert plots.knee_load(lam, np.full(4, 50.0)) is None  # flat: power keeps growing
    assert plots.knee_load(lam, lam / 100) is None  # latency ∝ load: power constant
    assert plots.knee_load(lam, 20 + np.sqrt(lam)) is None  # power still rising at the end
    half = np.array([0.1, 0.2, 0.3, 0.4, 0.5]) * MU  # sweep stops at the knee itself
    assert plots.knee_load(half, _mm1_p99_us(half)) is None
    past = np.array([0.6, 0.7, 0.8, 0.9]) * MU  # sweep starts past it
    assert plots.knee_load(past, _mm1_p99_us(past)) is None
    assert plots.knee_load([1.0, 2.0], [5.0, 9.0]) is None  # too few points
    # failed points (NaN latency) are left out; duplicate loads are averaged
    rho = np.array([0.1, 0.3, 0.3, 0.5, 0.7, 0.9, 0.95])
    lat = _mm1_p99_us(rho * MU)
    lat[-1] = np.nan
    assert plots.knee_load(rho * MU, lat) == pytest.approx(MU / 2, rel=1e-9)
    with pytest.raises(ValueError, match="one value each"):
        plots.knee_load([1.0, 2.0, 3.0], [1.0, 2.0])


def _mm1_summary(mus: dict[str, float], reps: int = 3) -> pd.DataFrame:
    """A summary whose p99 follows M/M/1 with service rate ``mus[cni]`` (±1 % noise)
    at loads 0.05 MU to 0.75 MU."""
    rng = np.random.default_rng(5)
    rows = []
    for cni, mu in mus.items():
        for lam in np.arange(1, 16) / 20 * MU:
            for rep in range(reps):
                p99 = float(_mm1_p99_us(np.array(lam), mu)) * (1 + 0.01 * rng.standard_normal())
                rows.append({"cluster.cni": cni, "workload.rate_per_s": lam,
                             "replication": rep, "status": "ok", "run_id": f"{cni}{lam}{rep}",
                             "latency_p50_us": p99 / 3, "latency_p99_us": p99})
    return pd.DataFrame(rows)


def test_latency_vs_load_marks_each_knee_in_its_colour() -> None:
    from matplotlib.colors import to_hex

    # loads on one grid (fractions of MU); calico saturates at 0.8 * MU
    s = _mm1_summary({"cilium-native": MU, "calico-bgp": 0.8 * MU})
    knees = plots.load_knees(s)
    assert knees["cilium-native"] == pytest.approx(MU / 2, rel=0.03)
    assert knees["calico-bgp"] == pytest.approx(0.4 * MU, rel=0.03)
    fig = plots.latency_vs_load(s)
    (ax,) = fig.axes
    labels = _legend_labels(ax)
    for cni, knee in knees.items():
        assert knee is not None
        text = f"{cni} knee {float(f'{knee:.3g}'):,.0f}/s"
        assert text in labels
        stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"
                 and ln.get_label() == text]
        assert len(stars) == 1 and np.asarray(stars[0].get_xdata())[0] == pytest.approx(knee)
        assert to_hex(stars[0].get_color()) == plots.cni_colour(cni)
        vlines = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"
                  and np.asarray(ln.get_xdata()).tolist() == [knee, knee]]
        assert len(vlines) == 1 and to_hex(vlines[0].get_color()) == plots.cni_colour(cni)
    assert plots.drawn_colours(fig) == {c: plots.cni_colour(c) for c in knees}
    # p99 from ~500 µs to 23,000 µs (calico at 0.75 MU): a log y axis, labelled so
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "latency (µs, log scale)"
    assert ax.get_xlim()[0] == 0  # linear load axis from zero


# --------------------------------------------------------------------------- axes, CIs


def test_linear_axes_start_at_zero_and_log_axes_say_so() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS), "workload.rate_per_s": [1000, 5000]})
    fig = plots.metric_vs(s, "workload.rate_per_s", "latency_p50_us")
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0
    assert ax.get_xlim()[0] == 0
    assert plots.log_label("latency (µs)") == "latency (µs, log scale)"
    assert plots.log_label("CNI mode") == "CNI mode (log scale)"
    assert plots.log_label("x (log scale)") == "x (log scale)"


def test_heatmap_cells_carry_the_ci_half_width() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS), "cluster.nodes": [2, 8]}, reps=3)
    texts = [t.get_text() for t in plots.heatmap(s, "cluster.nodes", "cluster.cni").axes[0].texts]
    assert len(texts) == 6
    cell = s[(s["cluster.cni"] == CNIS[0]) & (s["cluster.nodes"] == 2)]["latency_p99_us"]
    iv = t_interval(cell)
    assert f"{plots.significant(iv.mean)}\n± {plots.significant(iv.half_width, 2)}" in texts
    assert plots.significant(2954.2) == "2,950" and plots.significant(0.01234) == "0.0123"
    assert plots.significant(14.96, 2) == "15" and plots.significant(0.0) == "0"
    one = synthetic_summary({"cluster.cni": list(CNIS), "cluster.nodes": [2, 8]}, reps=1)
    texts = [t.get_text() for t in plots.heatmap(one, "cluster.nodes", "cluster.cni").axes[0].texts]
    assert texts and not any("±" in t for t in texts)


def test_breakdown_totals_carry_the_ci_of_the_per_run_total() -> None:
    rows = [{"cluster.cni": c, "run_id": f"{c}-{r}", "category": cat, "time_us": t + r}
            for c in CNIS[:2] for r in range(3) for cat, t in (("stack", 8.0), ("app", 10.0))]
    fig = plots.latency_breakdown(pd.DataFrame(rows))
    ax = fig.axes[0]
    totals = [18.0 + 2 * r for r in range(3)]  # stack + app per run: 18, 20, 22
    iv = t_interval(totals)
    assert f"{iv.mean:,.1f} ± {iv.half_width:,.1f}" in [t.get_text() for t in ax.texts]
    from matplotlib.container import ErrorbarContainer

    (whiskers,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert whiskers is not None


# --------------------------------------------------------------------------- by swept key


def test_metric_by_numeric_key_lines_per_cni_with_cis() -> None:
    s = synthetic_summary({"cluster.cni": list(CNIS), "cluster.nodes": [2, 4, 8]}, reps=3)
    fig = plots.metric_by_key(s, "cluster.nodes")
    (ax,) = fig.axes
    assert len(ax.containers) == 6  # p99 and p50 per mode, each with error bars
    assert {f"{c} {p}" for c in CNIS for p in ("p99", "p50")} == set(_legend_labels(ax))
    assert ax.get_xlabel() == "cluster size (nodes)" and ax.get_ylim()[0] == 0
    assert plots.drawn_colours(fig) == {c: plots.cni_colour(c) for c in CNIS}
    from matplotlib.container import ErrorbarContainer

    p99, p50 = (cast(ErrorbarContainer, c).lines[0] for c in ax.containers[:2])
    expected = s[s["cluster.cni"] == CNIS[0]].groupby("cluster.nodes")["latency_p99_us"].mean()
    assert np.allclose(p99.get_ydata(), expected.to_numpy())
    assert p99.get_linestyle() == "-" and p50.get_linestyle() == "--"


def test_metric_by_cni_bars_in_cni_colours_with_p50_ticks() -> None:
    from matplotlib.colors import to_hex

    order = ["cilium-native", "flannel-vxlan", "calico-bgp"]
    s = synthetic_summary({"cluster.cni": order}, reps=3)
    fig = plots.metric_by_key(s, "cluster.cni")
    (ax,) = fig.axes
    from matplotlib.patches import Rectangle

    bars = [cast(Rectangle, p) for p in ax.patches]
    assert [to_hex(b.get_facecolor()) for b in bars] == [plots.cni_colour(c) for c in order]
    means = s.groupby("cluster.cni", sort=False)["latency_p99_us"].mean()
    assert [b.get_height() for b in bars] == pytest.approx(means.loc[order].tolist())
    assert [t.get_text() for t in ax.get_xticklabels()] == order
    assert ax.get_ylim()[0] == 0 and ax.get_ylabel() == "latency (µs)"
    from matplotlib.container import ErrorbarContainer

    ticks = [c.lines[0] for c in ax.containers  # the p50 ticks' data lines
             if isinstance(c, ErrorbarContainer) and c.lines[0] is not None]
    p50 = s.groupby("cluster.cni", sort=False)["latency_p50_us"].mean()
    assert [float(np.asarray(t.get_ydata())[0]) for t in ticks] == pytest.approx(
        p50.loc[order].tolist())
    assert "p50 (tick)" in _legend_labels(ax)
    assert plots.drawn_colours(fig) == {c: plots.cni_colour(c) for c in order}


def test_metric_by_categorical_key_groups_by_cni() -> None:
    s = synthetic_summary({"cluster.proxy": ["iptables", "ipvs"],
                           "cluster.cni": list(CNIS)}, reps=2)
    fig = plots.metric_by_key(s, "cluster.proxy", ("throughput_gbps",),
                              bound_gbps=9.9, bound_label="bound")
    (ax,) = fig.axes
    assert len(ax.patches) == 2 * 3  # per proxy mode, a bar per CNI mode
    assert [t.get_text() for t in ax.get_xticklabels()] == ["iptables", "ipvs"]
    assert set(_legend_labels(ax)) == {*CNIS, "bound"}
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 9.9
    assert plots.drawn_colours(fig) == {c: plots.cni_colour(c) for c in CNIS}


@pytest.fixture
def no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """make_plots builds every figure (and reads its colours back) but writes no file:
    rendering PNGs is most of its time, and these tests check what it chooses."""
    monkeypatch.setattr(plots, "save_figure", lambda fig, stem, formats=(), dpi=0: [])


def _kind_results(folder: Path, sweep: dict[str, Sequence[Any]], reps: int = 2) -> Path:
    """A synthetic folder whose runs' specs run the swept ``workload.kind``."""
    make_results_dir(folder, sweep=sweep, samples=False, reps=reps)
    manifest = json.loads((folder / "manifest.json").read_text())
    for run in manifest["runs"].values():
        run["spec"]["workloads"][0]["kind"] = run["params"].get("workload.kind", "http")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_make_plots_one_plot_per_swept_dimension_and_kind(tmp_path: Path,
                                                          no_files: None) -> None:
    sweep: dict[str, Sequence[Any]] = {
        "cluster.cni": list(CNIS), "cluster.proxy": ["iptables", "ipvs"],
        "cluster.nodes": [2, 8], "workload.kind": ["rr", "stream"],
        "workload.request_bytes": [1, 1000], "cluster.extra_services": [0, 100]}
    folder = _kind_results(tmp_path / "six", sweep)
    made = plots.make_plots(folder, formats=("png",))
    by = {p.name: p for p in made.made if p.name.startswith("by_")}
    # services_scaling has cluster.extra_services on x against latency; throughput_vs_nodes
    # cluster.nodes against throughput; the kind key is never plotted against
    assert set(by) == {
        "by_cluster_cni_latency", "by_cluster_proxy_latency", "by_cluster_nodes_latency",
        "by_workload_request_bytes_latency",
        "by_cluster_cni_throughput", "by_cluster_proxy_throughput",
        "by_workload_request_bytes_throughput", "by_cluster_extra_services_throughput"}
    assert len(by) <= 2 * (len(sweep) - 1)
    for name, p in by.items():
        index = next(m for m in json.loads((folder / "plots" / "index.json").read_text())[
            "made"] if m["name"] == name)
        if name.endswith("_latency"):
            assert "request/response runs" in p.caption and "stream" not in p.caption
            assert index["metrics"] == ["latency_p99_us", "latency_p50_us"]
        else:
            assert "stream runs" in p.caption and index["metrics"] == ["throughput_gbps"]
        assert "confidence interval" in p.caption and "(n = 2 each)" in p.caption
        assert all(plots.cni_colour(c) == index["colours"][c] for c in CNIS
                   if c in index["colours"])
    # lines or bars per CNI mode; the other swept keys held at one value, said so
    nodes = by["by_cluster_nodes_latency"].caption
    assert "per CNI mode (at cluster.proxy=iptables, workload.request_bytes=1, " \
        "cluster.extra_services=0)" in nodes
    assert "p99 (solid) and p50 (dashed)" in nodes
    cni = by["by_cluster_cni_latency"].caption
    assert "p99 (bars) and p50 (black ticks)" in cni and "cluster.proxy=iptables" in cni


def test_make_plots_one_kind_needs_no_suffix_and_one_replication_says_so(
        tmp_path: Path, no_files: None) -> None:
    folder = make_results_dir(tmp_path / "one", sweep={
        "cluster.cni": list(CNIS), "cluster.nodes": [2, 8]}, samples=False, reps=1)
    made = {p.name: p for p in plots.make_plots(folder, formats=("png",)).made}
    assert {"by_cluster_cni", "by_cluster_nodes"} <= set(made)
    for name in ("by_cluster_cni", "by_cluster_nodes", "throughput_vs_nodes", "heatmap",
                 "cpu_per_10g", "latency_breakdown"):
        assert "one replication: no confidence interval" in made[name].caption.lower(), name


def test_make_plots_index_lists_colours_and_knees(tmp_path: Path, no_files: None) -> None:
    folder = make_results_dir(tmp_path / "res", reps=2)
    plots.make_plots(folder, formats=("png",))
    index = json.loads((folder / "plots" / "index.json").read_text())
    made = {m["name"]: m for m in index["made"]}
    for name in ("latency_cdf", "latency_vs_load", "throughput_vs_nodes", "cpu_per_10g",
                 "by_cluster_cni", "by_cluster_nodes"):
        assert made[name]["colours"] == {c: plots.cni_colour(c) for c in CNIS}, name
    assert set(made["latency_breakdown"]["colours"]) <= set(plots.CATEGORY_ORDER)
    knee = made["latency_vs_load"]["knee"]
    assert knee["metric"] == "latency_p99_us" and knee["load_key"] == "workload.rate_per_s"
    assert "Kleinrock" in knee["definition"]
    # the synthetic p99 grows linearly with load: power rises to the last load, no knee
    assert knee["by_group"] == {c: None for c in CNIS}
    assert "not bracketed by the sweep" in made["latency_vs_load"]["caption"]


def test_drawn_colours_reads_the_artists_and_reports_a_conflict() -> None:
    fig, (ax,) = plots.new_figure()
    (line,) = ax.plot([1, 2], [1, 2], color="#2ca02c")
    plots.tag_series(line, "calico-bgp")
    plots.tag_series(ax.scatter([1], [1], marker="x", color="#2ca02c"), "calico-bgp")
    plots.tag_series(ax.bar([1], [2], color="#1f77b4")[0], "flannel-vxlan")
    plots.tag_series(ax.bar([2], [2], color="#ff0000")[0], "flannel-vxlan")
    ax.plot([0, 1], [0, 1], color="black")  # untagged: no series
    assert plots.drawn_colours(fig) == {"calico-bgp": "#2ca02c",
                                        "flannel-vxlan": ["#1f77b4", "#ff0000"]}

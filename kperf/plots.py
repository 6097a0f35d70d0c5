"""``kperf.plots``: the plot functions (they live in :mod:`kperf.analysis.plots`).

Each takes a summary DataFrame (or samples/breakdown frames) and returns a matplotlib
Figure; nothing is drawn at import.
"""

from kperf.analysis.plots import (
    capacity_chart,
    cpu_per_10g,
    failed_per_update,
    heatmap,
    latency_breakdown,
    latency_cdf,
    latency_vs_load,
    make_plots,
    metric_vs,
    save_figure,
    services_scaling,
    throughput_vs_cluster_size,
    throughput_vs_streams,
)

__all__ = [
    "capacity_chart",
    "cpu_per_10g",
    "failed_per_update",
    "heatmap",
    "latency_breakdown",
    "latency_cdf",
    "latency_vs_load",
    "make_plots",
    "metric_vs",
    "save_figure",
    "services_scaling",
    "throughput_vs_cluster_size",
    "throughput_vs_streams",
]

"""What one simulated run returns: the summary row, optional samples, breakdown, resources.

The summary keys are a contract (the runner's summary table columns):
``latency_mean_us``, ``latency_p50_us``, ``latency_p90_us``, ``latency_p99_us``,
``latency_p999_us``, ``latency_max_us``, ``throughput_gbps``, ``requests_per_s``,
``completed``, ``failed``, ``drops``, ``cpu_cores_busy_max`` (busiest node), and more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

SUMMARY_METRICS: tuple[str, ...] = (
    "latency_mean_us",
    "latency_p50_us",
    "latency_p90_us",
    "latency_p99_us",
    "latency_p999_us",
    "latency_max_us",
    "throughput_gbps",
    "requests_per_s",
    "completed",
    "failed",
    "drops",
    "cpu_cores_busy_max",
)

FLOW_COLUMNS: tuple[str, ...] = (
    "workload",
    "flow_id",
    "client",
    "server",
    "protocol",
    "congestion_control",
    "start_s",
    "end_s",
    "size_bytes",
    "bytes_delivered",
    "goodput_gbps",
    "retransmits",
    "timeouts",
    "mean_cwnd_bytes",
    "fct_us",
    "finished",
)
"""Columns of a run's per-flow table (``runs/<id>.flows.parquet``), one row per stream
or finite transfer: ``size_bytes`` is the transfer's size (0 for a bulk stream that
sends until the window closes), ``bytes_delivered`` what arrived inside the
measurement window (bulk) or in all (finite), ``goodput_gbps`` that over the window
(bulk) or over the completion time (finite), ``mean_cwnd_bytes`` the time-average
congestion window, ``fct_us`` the completion time of a finite transfer from its
connect to its last byte's arrival (NaN for bulk or unfinished), ``finished`` whether
a finite transfer completed."""


@dataclass
class RunResult:
    """One run's results.

    ``summary``: metric name → value (one row of the sweep's summary table).
    ``samples``: per-request records (workload, start_s, latency_us, failed, reason),
    kept when asked for. ``breakdown``: per workload and stage category, mean µs per
    request spent there (and ``queueing``). ``resources``: per server busy time and drops.
    """

    summary: dict[str, Any]
    samples: pd.DataFrame | None = None
    breakdown: pd.DataFrame = field(default_factory=pd.DataFrame)
    resources: pd.DataFrame = field(default_factory=pd.DataFrame)
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)

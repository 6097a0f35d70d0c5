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

"""Layer 6 (workloads): netperf/iperf3-like traffic, HTTP mixes and call graphs.

The entry point is :func:`kperf.workloads.simulate.simulate`.
"""

from kperf.workloads.result import SUMMARY_METRICS, RunResult

__all__ = ["SUMMARY_METRICS", "RunResult"]

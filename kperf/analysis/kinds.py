"""Which metrics apply to which runs: request/response kinds against bulk streams.

A run's summary row has every metric column, but not every metric means something
for every workload: an rr run moves almost no bytes (its "0.002 Gbit/s" is noise, not
a finding) and a stream makes no requests (its "0 requests/s" is not a rate). Reports,
the answer sentences and ``kperf run``'s table leave a metric that does not apply
blank, never 0; this module decides which apply, from each row's workload kinds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

REQUEST_KINDS = frozenset({"rr", "crr", "http", "callgraph"})
"""Workload kinds made of requests: latency, requests/s and failed requests apply."""

STREAM_KINDS = frozenset({"stream"})
"""Workload kinds that move bulk data: throughput applies, request metrics do not."""

REQUEST_METRICS = frozenset({"latency_p50_us", "latency_p90_us", "latency_p99_us",
                             "latency_p999_us", "latency_mean_us", "latency_max_us",
                             "requests_per_s", "completed", "failed"})
"""Metrics of requests: blank for a configuration without a request/response kind."""

STREAM_METRICS = frozenset({"streams", "stream_clients", "throughput_per_stream_gbps",
                            "throughput_per_client_gbps", "fairness_jain"})
"""Metrics of bulk streams: blank for a configuration without a stream."""

MIN_THROUGHPUT_GBPS = 0.01
"""A request/response configuration's throughput is reported only above this (below it
the bytes of small requests make a meaningless tiny number)."""


RATE_FIELD = "rate_per_s"
"""An open-loop workload's offered rate per client (rr/crr with a rate, http, callgraph)."""


def rate_keys(keys: Iterable[str]) -> list[str]:
    """The swept keys that set an open-loop rate (``workload.rate_per_s``,
    ``workloads.0.rate_per_s``...), in order."""
    return [k for k in keys if k.rsplit(".", 1)[-1] == RATE_FIELD]


def distinct(values: Iterable[Any]) -> list[Any]:
    """``values`` without repeats (compared as canonical JSON), in first-seen order."""
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(json.dumps(v, sort_keys=True, default=str), v)
    return list(seen.values())


def run_specs(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resolved spec of every run a results manifest records (``runs.<id>.spec``)."""
    runs = manifest.get("runs") or {}
    if not isinstance(runs, Mapping):
        return []
    return [dict(r.get("spec") or {}) for r in runs.values() if isinstance(r, Mapping)]


def _joined(workloads: Any) -> str:
    if not isinstance(workloads, list):
        return ""
    return "+".join(dict.fromkeys(str(w.get("kind")) for w in workloads
                                  if isinstance(w, Mapping) and w.get("kind")))


def row_kinds(summary: pd.DataFrame, keys: Sequence[str], manifest: Mapping[str, Any],
              run_specs: Sequence[Mapping[str, Any]] = ()) -> tuple[pd.Series, str | None]:
    """Per summary row, its workload kind(s) (``rr``; ``rr+stream`` for a run with
    both; ``""`` when unknown) and the swept kind key it came from, if any.

    A swept ``...kind`` key is used as it is; otherwise the kinds of each run's
    resolved workloads in the manifest, else those of ``run_specs`` (the experiment's
    runs) when they all agree."""
    kind_key = next((k for k in keys if k.rsplit(".", 1)[-1] == "kind"
                     and k in summary.columns), None)
    if kind_key is not None:
        return summary[kind_key].astype(str), kind_key
    fallback = distinct(_joined(sp.get("workloads")) for sp in run_specs)
    default = str(fallback[0]) if len(fallback) == 1 else ""
    runs = manifest.get("runs") or {}
    if "run_id" not in summary.columns or not isinstance(runs, Mapping):
        return pd.Series(default, index=summary.index, dtype=object), None
    values = []
    for run_id in summary["run_id"].astype(str):
        run = runs.get(run_id)
        spec = run.get("spec", {}) if isinstance(run, Mapping) else {}
        values.append(_joined(spec.get("workloads")) or default)
    return pd.Series(values, index=summary.index, dtype=object), None


def metric_applies(metric: str, kinds: str, throughput_max: float = math.inf) -> bool:
    """Whether ``metric`` means something for a configuration of workload ``kinds``
    (``+``-joined; unknown kinds: every metric). Throughput of request/response
    kinds only when it reaches :data:`MIN_THROUGHPUT_GBPS` (``throughput_max``)."""
    parts = {k for k in kinds.split("+") if k}
    if not parts or parts - REQUEST_KINDS - STREAM_KINDS:
        return True
    if metric in REQUEST_METRICS:
        return bool(parts & REQUEST_KINDS)
    if metric in STREAM_METRICS:
        return bool(parts & STREAM_KINDS)
    if metric == "throughput_gbps":
        return bool(parts & STREAM_KINDS) or throughput_max >= MIN_THROUGHPUT_GBPS
    return True


def kind_title(kinds: str) -> str:
    """``rr workloads (request/response)``, ``stream workloads (bulk stream)``..."""
    parts = [k for k in kinds.split("+") if k]
    if not parts:
        return "workloads of unknown kind"
    what = ("request/response" if set(parts) <= REQUEST_KINDS else
            "bulk stream" if set(parts) <= STREAM_KINDS else "mixed")
    return f"{' + '.join(parts)} workloads ({what})"


def kind_class(kinds: str) -> str:
    """``request`` (request/response kinds only), ``stream`` (streams only) or
    ``other`` (mixed or unknown)."""
    parts = {k for k in kinds.split("+") if k}
    if parts and parts <= REQUEST_KINDS:
        return "request"
    if parts and parts <= STREAM_KINDS:
        return "stream"
    return "other"

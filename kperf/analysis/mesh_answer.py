"""The report's Answer for a sweep of ``cluster.mesh.mode`` with a ``none`` row (issue 21):
per mesh mode, what it adds to the p50 and p99 latency against ``none`` at the lightest
swept load, its proxy cores per 1,000 requests/s, and the rate from which its proxies,
not the application, are the bottleneck.

Bottleneck (docs/reports.md): the lowest swept rate at which the busiest proxy pool's
utilisation (summary column ``mesh_proxy_util_max``: its workers' busy share) is at
least :data:`BOTTLENECK_UTIL` and above the busiest application pool's
(``mesh_app_util_max``, the same measure). Means over the replications. A utilisation
rule, not a latency one: at 0.8 of an M/M/c pool's capacity the queueing is already
several service times, and the rule does not depend on how noisy a p99 is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from kperf.analysis.kinds import rate_keys

MODE_KEY = "cluster.mesh.mode"
CORES = "mesh_proxy_cores_per_krps"
PROXY_UTIL = "mesh_proxy_util_max"
APP_UTIL = "mesh_app_util_max"
BOTTLENECK_UTIL = 0.8
"""The busiest proxy pool's utilisation from which it counts as the bottleneck (when it
is also busier than the application's workers)."""

_FIGURES = ("latency_p50_us", "latency_p99_us", CORES, PROXY_UTIL, APP_UTIL)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def _mean(frame: pd.DataFrame, column: str) -> float:
    if column not in frame.columns:
        return math.nan
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else math.nan


def mesh_sentences(ok: pd.DataFrame, config: Sequence[str]) -> list[str]:
    """The sentences (module doc) for the runs that finished ok, ``config`` being the
    swept keys; none when ``cluster.mesh.mode`` is not swept or has no ``none`` row."""
    if MODE_KEY not in config or MODE_KEY not in ok.columns or ok.empty:
        return []
    rate_key = next((k for k in rate_keys(config) if k in ok.columns), None)
    others = [k for k in config if k not in (MODE_KEY, rate_key) and k in ok.columns]
    groups = ok.groupby(others, sort=False, dropna=False) if others else [((), ok)]
    out: list[str] = []
    for values, frame in groups:
        values = values if isinstance(values, tuple) else (values,)
        prefix = ", ".join(f"{k}={v}" for k, v in zip(others, values, strict=True))
        out += _group_sentences(frame, rate_key, f"{prefix}: " if prefix else "")
    return out


def _group_sentences(frame: pd.DataFrame, rate_key: str | None, prefix: str) -> list[str]:
    modes = frame[MODE_KEY].astype(str)
    none = frame[modes == "none"]
    if none.empty:
        return []
    rates = (pd.to_numeric(frame[rate_key], errors="coerce") if rate_key is not None
             else pd.Series(0.0, index=frame.index))
    light = float(rates[modes == "none"].min())
    base = none[rates[modes == "none"] == light]
    at = f" ({rate_key}={_number(light)})" if rate_key is not None else ""
    out = []
    for mode in dict.fromkeys(modes):
        if mode == "none":
            continue
        rows = frame[modes == mode]
        mode_rates = rates[modes == mode]
        here = rows[mode_rates == light]
        if here.empty:
            continue
        d50 = _mean(here, "latency_p50_us") - _mean(base, "latency_p50_us")
        d99 = _mean(here, "latency_p99_us") - _mean(base, "latency_p99_us")
        text = (f"{prefix}{MODE_KEY}={mode} against none at the lightest load{at}: "
                f"{d50:+,.1f} µs p50 and {d99:+,.1f} µs p99 latency")
        cores = _mean(here, CORES)
        if math.isfinite(cores):
            text += f", {cores:,.2f} proxy cores per 1,000 requests/s"
        out.append(text + _bottleneck(rows, mode_rates, rate_key) + ".")
    return out


def _bottleneck(rows: pd.DataFrame, rates: pd.Series, rate_key: str | None) -> str:
    if rate_key is None or PROXY_UTIL not in rows.columns or APP_UTIL not in rows.columns:
        return ""
    rule = (f"the lowest swept rate where the busiest proxy pool is at least "
            f"{_pct(BOTTLENECK_UTIL)} busy and busier than the application's workers")
    peak = math.nan
    for rate in sorted(rates.dropna().unique()):
        at = rows[rates == rate]
        proxy, app = _mean(at, PROXY_UTIL), _mean(at, APP_UTIL)
        if not math.isfinite(proxy):
            continue
        peak = proxy if not math.isfinite(peak) else max(peak, proxy)
        if proxy >= BOTTLENECK_UTIL and proxy > app:
            return (f"; its proxies are the bottleneck from {rate_key}={_number(rate)} "
                    f"({rule}: {_pct(proxy)} against {_pct(app)})")
    if not math.isfinite(peak):
        return ""
    top = _number(float(rates.max()))
    return (f"; its proxies are not the bottleneck up to {rate_key}={top} (the busiest "
            f"proxy pool at most {_pct(peak)} busy; bottleneck: {rule})")

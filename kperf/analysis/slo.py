"""Latency SLOs and the capacity search: parse ``p99<=2ms``, judge a load's
replications against it (on the Student-t interval's upper bound, the mean, or the
lower bound of the geometric mean), and find the highest load that meets it
(:func:`search_highest`: grow or shrink, then bisect; :func:`settle`: the highest
load met below every load missed). :mod:`kperf.analysis.capacity` explains how a
plan uses them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kperf.analysis.aggregate import Interval, t_interval
from kperf.errors import SpecError

# --------------------------------------------------------------------------- SLOs

SLO_STATS: dict[str, str] = {
    "p50": "latency_p50_us",
    "p90": "latency_p90_us",
    "p99": "latency_p99_us",
    "p999": "latency_p999_us",
    "p99.9": "latency_p999_us",
    "mean": "latency_mean_us",
    "max": "latency_max_us",
}
"""SLO statistic → summary metric."""

_UNITS_US = {"ns": 1e-3, "us": 1.0, "µs": 1.0, "μs": 1.0, "ms": 1e3, "s": 1e6}

_SLO_RE = re.compile(
    r"^\s*(?P<stat>p50|p90|p99\.9|p999|p99|mean|max)\s*(?P<op><=|<|≤)\s*"
    r"(?P<value>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>ns|us|µs|μs|ms|s)\s*$",
    re.IGNORECASE,
)

SLO_ALLOWED = ("allowed: STAT OP VALUE UNIT with STAT one of p50, p90, p99, p999, mean, "
               "max; OP <= or <; UNIT ns, us, ms or s (e.g. 'p99<=2ms', 'p50<500us')")


@dataclass(frozen=True)
class Slo:
    """A latency objective: ``stat`` (p99...) ``op`` (``<=`` or ``<``) a threshold."""

    stat: str
    op: str
    threshold_us: float
    text: str

    @property
    def metric(self) -> str:
        """The summary column the SLO is about (``latency_p99_us``...)."""
        return SLO_STATS[self.stat]

    def holds(self, value_us: float) -> bool:
        """True when ``value_us`` satisfies the objective (NaN never does)."""
        if value_us is None or math.isnan(value_us):
            return False
        return value_us <= self.threshold_us if self.op == "<=" else value_us < self.threshold_us

    def __str__(self) -> str:
        return self.text


def parse_slo(text: str | Slo) -> Slo:
    """Parse ``'p99<=2ms'``, ``'p50<500us'``, ``'p999<=10ms'``, ``'mean<=1ms'``.

    Raises a one-line :class:`~kperf.errors.SpecError` (path ``--slo``) otherwise.
    """
    if isinstance(text, Slo):
        return text
    m = _SLO_RE.match(str(text))
    if m is None:
        raise SpecError("--slo", text, SLO_ALLOWED)
    stat = m["stat"].lower()
    stat = "p999" if stat == "p99.9" else stat
    op = "<=" if m["op"] in ("<=", "≤") else "<"
    unit = m["unit"].lower().replace("μ", "µ")
    value = float(m["value"])
    if value <= 0 or not math.isfinite(value):
        raise SpecError("--slo", text, "allowed: a positive latency threshold")
    canonical = f"{stat}{op}{m['value']}{'us' if unit == 'µs' else unit}"
    return Slo(stat=stat, op=op, threshold_us=value * _UNITS_US[unit], text=canonical)


def format_us(value_us: float) -> str:
    """``1.5 ms``, ``250 µs``, ``2 s``."""
    if value_us is None or math.isnan(value_us):
        return "-"
    if value_us >= 1e6:
        return f"{value_us / 1e6:,.3g} s"
    if value_us >= 1e3:
        return f"{value_us / 1e3:,.3g} ms"
    return f"{value_us:,.3g} µs"


SLO_TESTS: dict[str, str] = {
    "upper": "upper bound of the confidence interval (conservative: the answer)",
    "mean": "mean of the replications (the point estimate)",
    "lower": "lower bound of the confidence interval of the metric's logarithm "
             "(optimistic: the bracket's high end)",
}
"""The three tests of a load (see the module doc): which value of the replications'
interval must be within the SLO's threshold."""


def geometric_lower_us(values: Sequence[float], confidence: float) -> float:
    """The lower bound of the two-sided ``confidence`` Student-t interval of
    ``log(values)``, back on the values' scale: a lower bound of their geometric mean
    (the value itself for one value, NaN for none; values <= 0 count as 1e-12). Never
    above the arithmetic mean (as the geometric mean is not), so that a load meeting
    the SLO on the mean meets it on this bound too, rounding included."""
    kept = [float(v) for v in values if v == v]
    if len(kept) <= 1:
        return kept[0] if kept else math.nan
    iv = t_interval([math.log(max(v, 1e-12)) for v in kept], confidence)
    return min(math.exp(iv.low), sum(kept) / len(kept))


def tested_value(interval: Interval, geometric_low_us: float, test: str) -> float:
    """The value that ``test`` (a key of :data:`SLO_TESTS`) compares with the
    threshold: the interval's upper bound, its mean, or ``geometric_low_us`` (see
    :func:`geometric_lower_us`); with one value every test reads that value."""
    if test == "upper":
        return interval.upper
    if test == "mean":
        return interval.mean
    if test == "lower":
        return geometric_low_us
    raise ValueError(f"unknown SLO test {test!r}; allowed: {', '.join(SLO_TESTS)}")


# --------------------------------------------------------------------------- search


@dataclass
class SearchResult:
    """Outcome of :func:`search_highest`: the highest value found to pass, and the
    lowest found to fail (``None`` when the search never saw one)."""

    passed: float | None
    failed: float | None
    steps: int

    @property
    def bounded(self) -> bool:
        """Both sides seen: the answer lies between ``passed`` and ``failed``."""
        return self.passed is not None and self.failed is not None


def search_highest(
    meets: Callable[[float], bool],
    start: float = 1.0,
    *,
    rel_tol: float = 0.03,
    grow: float = 2.0,
    max_expand: int = 8,
    max_steps: int = 40,
    ceiling: float | None = None,
) -> SearchResult:
    """The highest ``x > 0`` with ``meets(x)`` true, for a predicate true below a
    threshold and false above it.

    From ``start``: multiply by ``grow`` until ``meets`` fails (or divide until it
    holds), at most ``max_expand`` times and never above ``ceiling``; then bisect the
    bracket until ``(fail - pass) <= rel_tol × fail``. Every call of ``meets`` is one
    step. The search only ever tests inside its current bracket, so it cannot see a
    predicate that is not monotonic: :func:`settle` checks a set of results for that.
    """
    if start <= 0 or rel_tol <= 0 or grow <= 1:
        raise ValueError("start and rel_tol must be positive, grow > 1")
    steps = 0
    lo: float | None = None
    hi: float | None = None

    def test(x: float) -> bool:
        nonlocal steps
        steps += 1
        return meets(x)

    x = start
    if test(x):
        lo = x
        for _ in range(max_expand):
            x *= grow
            if ceiling is not None and x > ceiling * (1 + 1e-12):
                break
            if test(x):
                lo = x
            else:
                hi = x
                break
    else:
        hi = x
        for _ in range(max_expand):
            x /= grow
            if test(x):
                lo = x
                break
            hi = x
    if lo is None or hi is None:
        return SearchResult(lo, hi, steps)
    while hi - lo > rel_tol * hi and steps < max_steps:
        mid = (lo + hi) / 2
        if test(mid):
            lo = mid
        else:
            hi = mid
    return SearchResult(lo, hi, steps)


@dataclass
class Settled:
    """What a set of probe verdicts supports: the highest load that passed below the
    lowest that failed (``passed``), that lowest failure (``failed``), and the loads
    that passed above it (``passes_above_failure``: the verdicts were not monotonic)."""

    passed: float | None
    failed: float | None
    passes_above_failure: list[float] = field(default_factory=list)

    @property
    def monotonic(self) -> bool:
        return not self.passes_above_failure


def settle(verdicts: Mapping[float, bool]) -> Settled:
    """The conservative reading of load → passed: a pass counts only below every
    failure, so the answer never exceeds a load seen to fail."""
    fails = [x for x, ok in verdicts.items() if not ok]
    lowest_fail = min(fails) if fails else None
    passes = sorted(x for x, ok in verdicts.items() if ok)
    below = [x for x in passes if lowest_fail is None or x < lowest_fail]
    above = [x for x in passes if lowest_fail is not None and x > lowest_fail]
    return Settled(below[-1] if below else None, lowest_fail, above)


def nodes_needed(target_rps: float, capacity_per_node_rps: float) -> float:
    """``ceil(target / capacity per node)``; NaN when the capacity is zero or unknown."""
    if capacity_per_node_rps is None or not capacity_per_node_rps > 0:
        return math.nan
    if math.isinf(capacity_per_node_rps):
        return math.nan
    return float(math.ceil(target_rps / capacity_per_node_rps - 1e-9))

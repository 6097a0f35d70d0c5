"""Plot primitives shared by every kperf figure: figures on the Agg canvas, the
fixed colour of each CNI mode, axis scaling (log past a factor of 20, linear from
zero), series tags read back from a figure's artists, labels, legends and CI notes,
and mean-with-CI curves of a summary table.

Nothing global is touched (no ``pyplot`` state, no backend switch at import), and
matplotlib is imported only when a figure is made.
"""

from __future__ import annotations

import functools
import math
import os
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kperf.analysis.aggregate import (
    ok_rows,
    t_interval,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LOG_RATIO = 20.0
"""An axis becomes logarithmic when its positive values span more than this factor."""

CATEGORY_ORDER = ("app", "stack", "veth", "bridge", "policy", "proxy", "encap", "crypto",
                  "wire", "queueing", "sidecar", "ztunnel", "waypoint", "envoy")
"""Stack order (bottom to top) of the latency breakdown's stage categories (a service
mesh's proxies last, so the older categories keep their colours)."""


def category_colour(category: str) -> str | None:
    """The colour of a breakdown category of :data:`CATEGORY_ORDER` (None for others):
    tab10 for the first ten, then the darker tones the CNI palette adds."""
    if category not in CATEGORY_ORDER:
        return None
    return _CNI_PALETTE[CATEGORY_ORDER.index(category) % len(_CNI_PALETTE)]

MODE_KEYS = ("cluster.cni",)
PROXY_KEYS = ("cluster.proxy",)
NODES_KEYS = ("cluster.nodes",)

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")

_PERCENTILE_STYLE = {
    "latency_p50_us": ("p50", "--", "o"),
    "latency_p90_us": ("p90", "-.", "^"),
    "latency_p99_us": ("p99", "-", "s"),
    "latency_p999_us": ("p99.9", ":", "D"),
    "latency_mean_us": ("mean", (0, (1, 1)), "v"),
}


# --------------------------------------------------------------------------- basics


def new_figure(width: float = 7.0, height: float = 4.5,
               ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A Figure on the Agg canvas (no pyplot, no global backend) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def save_figure(fig: Figure, stem: str | os.PathLike[str],
                formats: Sequence[str] = ("png", "svg"), dpi: int = 120) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg`` (or ``formats``); the paths."""
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        out.append(path)
    return out


def _metadata(fmt: str) -> dict[str, Any] | None:
    # Reproducible files: no creation date (PNG) and no date/hash salt (SVG).
    if fmt == "svg":
        return {"Date": None}
    if fmt == "png":
        return {"Software": "kperf"}
    return None


def color(i: int) -> str:
    """The ``i``-th colour of the palette (tab10)."""
    return _PALETTE[i % len(_PALETTE)]


_CNI_PALETTE = (*_PALETTE, "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede")
"""Twenty-one distinct qualitative colours (tab10, then darker tab20b/tab20c tones):
one per CNI mode of the catalog."""

_CNI_COLOUR_ORDER = (
    "flannel-vxlan", "flannel-host-gw", "calico-bgp", "calico-ipip", "calico-vxlan",
    "calico-ebpf", "calico-wireguard", "canal", "cilium-vxlan", "cilium-geneve",
    "cilium-native", "cilium-wireguard", "cilium-ipsec", "weave-fastdp", "antrea-geneve",
    "kube-ovn-geneve", "cisco-aci", "nsx-t", "kube-router", "none", "weave-encrypted",
)
"""Catalog modes in the order they were given colours: a mode added to the catalog is
appended here and takes the next colour, so every older mode keeps its colour in
plots made before and after (the catalog's own order may put it anywhere)."""

CNI_GROUP_KEYS = ("cluster.cni", "mode", "cni")
"""Grouping columns whose values are CNI mode names (``mode``: the column
:func:`make_plots` adds when the CNI is not swept)."""


@functools.cache
def _cni_colours() -> dict[str, str]:
    from kperf.profiles.cni import CNI_PROFILES

    order = list(_CNI_COLOUR_ORDER)
    order += [name for name in CNI_PROFILES if name not in order]
    return {name: _CNI_PALETTE[order.index(name) % len(_CNI_PALETTE)]
            for name in CNI_PROFILES}


def cni_colours() -> dict[str, str]:
    """CNI mode name -> its colour, for every mode of the catalog (a copy)."""
    return dict(_cni_colours())


def cni_colour(name: Any) -> str:
    """The one colour of a CNI mode in every plot.

    Modes of the catalog (:data:`kperf.profiles.cni.CNI_PROFILES`) get the colour of
    their catalog position; any other name a stable colour from a CRC-32 of the name
    (the same in every process, unlike ``hash``).
    """
    key = str(name)
    known = _cni_colours().get(key)
    if known is not None:
        return known
    return _CNI_PALETTE[zlib.crc32(key.encode("utf-8")) % len(_CNI_PALETTE)]


def group_colour(by: str | None, name: Any, i: int) -> str:
    """The colour of the ``i``-th group (value ``name``) of a plot grouped by ``by``:
    the CNI's fixed colour when ``by`` names CNI modes, else the ``i``-th colour."""
    return cni_colour(name) if by in CNI_GROUP_KEYS else color(i)


def single_flow_bound_gbps(nic_rate_gbps: float, mtu_bytes: float) -> float:
    """The goodput one TCP flow can reach on a NIC: the line rate times the payload
    share of a full frame, (MTU - 52) / (MTU + 38) (IPv4 and TCP headers with
    timestamps: 52 B; Ethernet header, FCS, preamble and inter-frame gap: 38 B)."""
    from kperf.datapath.segmentation import tcp_goodput_bound_gbps

    return tcp_goodput_bound_gbps(float(nic_rate_gbps), float(mtu_bytes))


def _finite_positive(values: Iterable[Any]) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(list(values), dtype="object"), errors="coerce").to_numpy(float)
    return arr[np.isfinite(arr) & (arr > 0)]


def auto_log(ax: Axes, values: Iterable[Any], axis: str = "x", ratio: float = LOG_RATIO) -> bool:
    """Make ``axis`` logarithmic when the positive ``values`` span more than ``ratio``."""
    arr = _finite_positive(values)
    if arr.size >= 2 and arr.max() / arr.min() > ratio:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        return True
    return False


def log_label(label: str) -> str:
    """``label`` marked as on a logarithmic axis: ``latency (µs)`` becomes
    ``latency (µs, log scale)``, ``CNI mode`` becomes ``CNI mode (log scale)``."""
    if "log scale" in label:
        return label
    if label.endswith(")") and "(" in label:
        return f"{label[:-1]}, log scale)"
    return f"{label} (log scale)"


def scale_axis(ax: Axes, values: Iterable[Any], axis: str, label: str,
               ratio: float = LOG_RATIO) -> bool:
    """Label an axis and choose its scale: logarithmic when the positive ``values``
    span more than ``ratio`` (the label then says "log scale"), else linear and, when
    no value is negative, from zero, so that a difference is not blown up to fill the
    axis. Returns whether the axis is logarithmic."""
    values = list(values)
    log = auto_log(ax, values, axis, ratio)
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(log_label(label) if log else label)
    get_lim, set_lim = ((ax.get_xlim, ax.set_xlim) if axis == "x"
                        else (ax.get_ylim, ax.set_ylim))
    if log:
        # A confidence interval reaching 0 or below cannot be drawn on a log axis:
        # such a whisker runs off the bottom, which starts at half the smallest value.
        low = _finite_positive(values).min() / 2
        if get_lim()[0] < low:
            set_lim(low, None)
    else:
        arr = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(float)
        arr = arr[np.isfinite(arr)]
        if arr.size and arr.min() >= 0:
            set_lim(0, None)
    return log


_SERIES_ATTR = "_kperf_series"


def tag_series(artist: Any, name: Any) -> Any:
    """Mark ``artist`` (a line, bar, marker collection) as drawing series ``name``, so
    that :func:`drawn_colours` can read back the colour it was actually drawn in."""
    setattr(artist, _SERIES_ATTR, str(name))
    return artist


def _artist_colour(artist: Any) -> str | None:
    from matplotlib.colors import to_hex

    try:
        if hasattr(artist, "get_facecolor") and not hasattr(artist, "get_xydata"):
            for getter in (artist.get_facecolor, artist.get_edgecolor):
                arr = np.atleast_2d(np.asarray(getter(), float))  # collections: per element
                if arr.size and arr[0, 3] > 0:  # unfilled markers ("x"): the edge colour
                    return to_hex(arr[0], keep_alpha=False)
            return None
        return to_hex(artist.get_color(), keep_alpha=False)
    except (ValueError, TypeError, AttributeError):
        return None


def drawn_colours(fig: Figure) -> dict[str, str | list[str]]:
    """Series name -> the colour its artists were drawn in, read from the figure
    (every artist marked with :func:`tag_series`); a series drawn in several colours
    gets the sorted list of them (which a colour-consistency check reports)."""
    seen: dict[str, set[str]] = {}
    for ax in fig.axes:
        for artist in (*ax.lines, *ax.patches, *ax.collections):
            name = getattr(artist, _SERIES_ATTR, None)
            if name is None:
                continue
            colour = _artist_colour(artist)
            if colour is not None:
                seen.setdefault(name, set()).add(colour)
    return {name: next(iter(c)) if len(c) == 1 else sorted(c) for name, c in seen.items()}


def key_label(key: str | None) -> str:
    """A readable axis label for a swept key, with units where the name carries them."""
    if key is None:
        return ""
    known = {
        "cluster.nodes": "cluster size (nodes)",
        "cluster.cni": "CNI mode",
        "cluster.proxy": "proxy mode",
        "testbed": "testbed",
    }
    if key in known:
        return known[key]
    tail = key.rsplit(".", 1)[-1]
    if tail == "rate_per_s":
        return "offered load per client (requests/s)"
    if tail == "streams":
        return "parallel streams per client"
    units = {"_gbps": "Gbit/s", "_us": "µs", "_bytes": "bytes", "_s": "s", "_per_s": "/s"}
    for suffix in sorted(units, key=len, reverse=True):
        if tail.endswith(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} ({units[suffix]})"
    return key


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _groups(frame: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per value of ``by`` in order of appearance; one group when absent."""
    if by is None or by not in frame.columns:
        return [("all", frame)]
    return [(_label(k), sub) for k, sub in frame.groupby(by, sort=False, dropna=False)]


def _numeric(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce").astype(float)


def _curve(frame: pd.DataFrame, x: str, metric: str,
           confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct ``x`` (sorted): mean of ``metric`` and the CI half-widths (lo, hi)."""
    xs, ys, lo, hi = [], [], [], []
    work = frame.assign(_x=_numeric(frame, x))
    for xv, sub in work.groupby("_x", dropna=True, sort=True):
        iv = t_interval(sub[metric], confidence)
        if math.isnan(iv.mean):
            continue
        xs.append(xv)
        ys.append(iv.mean)
        lo.append(0.0 if math.isnan(iv.low) else iv.mean - iv.low)
        hi.append(0.0 if math.isnan(iv.high) else iv.high - iv.mean)
    return np.array(xs, float), np.array(ys, float), np.array(lo, float), np.array(hi, float)


def _legend(ax: Axes, title: str | None = None, confidence: float | None = None,
            bars: str = "bars") -> None:
    """A legend (when there are labelled artists); with ``confidence``, its title says
    what the error ``bars`` (or whiskers) are."""
    handles, _ = ax.get_legend_handles_labels()
    if confidence is not None:
        note = f"{bars}: {confidence:.0%} CI of the mean"
        title = f"{title}\n({note})" if title else note
    if handles:
        ax.legend(title=title, fontsize="small", title_fontsize="small")


def _ci_note(confidence: float, reps: int | None = None, points: str = "points",
             bars: str = "error bars") -> str:
    """What a point (or bar: ``points``) and its error bar (or whisker: ``bars``) are,
    for a caption; ``reps``: replications per point (with fewer than two there is no
    interval, and the note says so)."""
    if reps is not None and reps < 2:
        return f"{points}: one run each (one replication: no confidence interval)"
    n = f" (n = {reps} each)" if reps is not None else ""
    return (f"{points}: mean over replications; {bars}: {confidence:.0%} Student-t "
            f"confidence interval of the mean{n}")


def replications_per_point(frame: pd.DataFrame, keys: Sequence[str]) -> int:
    """The most ``ok`` runs any configuration (combination of ``keys``) has in
    ``frame``: how many replications a point of a plot of ``frame`` averages."""
    ok = ok_rows(frame)
    cols = [k for k in keys if k in ok.columns]
    if ok.empty:
        return 0
    if not cols:
        return len(ok)
    return int(ok.groupby(cols, sort=False, dropna=False).size().max())


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what} needs the column(s) {', '.join(missing)}; the table has "
                       f"{', '.join(map(str, frame.columns))}")

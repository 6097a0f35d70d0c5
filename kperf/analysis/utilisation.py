"""Utilisation at capacity: a run's ``resources`` table reduced to one utilisation
per resource class (app workers, a CPU core, a node's cores, a NIC, a switch port, an
uplink) and the bottleneck among them; see :mod:`kperf.analysis.capacity`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

# --------------------------------------------------------------------------- resources

UTIL_CLASSES: dict[str, str] = {
    "app": "app workers",
    "cpu_core": "a CPU core",
    "cpu_node": "a node's CPU cores",
    "nic": "a NIC transmit queue",
    "port": "a switch port",
    "uplink": "a leaf uplink or spine port",
}
"""Resource classes of the bottleneck analysis (see the module doc) → what they are."""

UTIL_SHORT: dict[str, str] = {
    "app": "app", "cpu_core": "core", "cpu_node": "node CPU", "nic": "NIC", "port": "port",
    "uplink": "uplink",
}
"""Short names of the classes, for table cells."""

UTILISATION_NOTE = ("utilisation at capacity: busy fraction over the whole run (warm-up "
                    "and drain included), mean over the replications, of the busiest "
                    "resource of each class: app = a pod's app workers, core = one CPU "
                    "core, node CPU = a node's cores on average, NIC = a NIC transmit "
                    "queue, port = a switch port towards a node, uplink = a leaf uplink "
                    "or spine port; the bottleneck is the busiest class")
"""What the utilisation columns of a plan's table mean (a bullet of the report)."""

_KIND_CLASS = {"app": "app", "nic": "nic", "port": "port", "uplink": "uplink",
               "spine": "uplink"}


def _class_of(kind: str) -> str | None:
    """The class of a ``resources`` row kind (None for the ``cpu:`` splits)."""
    if kind.startswith("cpu:"):
        return None
    known = _KIND_CLASS.get(kind)
    if known is not None:
        return known
    return re.sub(r"[^0-9a-z]+", "_", kind.lower()).strip("_") or "other"


def resource_utilisation(resources: pd.DataFrame | None) -> dict[str, tuple[float, str]]:
    """Per resource class, the utilisation of its busiest resource in one run and that
    resource's name: ``{"app": (0.84, "web-2 app"), "cpu_core": (0.06, "node-3 core
    5"), ...}``; empty when the run has no ``resources`` table."""
    need = {"resource", "index", "name", "utilisation"}
    if resources is None or len(resources) == 0 or not need <= set(resources.columns):
        return {}
    out: dict[str, tuple[float, str]] = {}
    util = pd.to_numeric(resources["utilisation"], errors="coerce")
    frame = resources.assign(utilisation=util)
    for kind, sub in frame.groupby(frame["resource"].astype(str), sort=True):
        sub = sub[sub["utilisation"].notna()]
        cls = _class_of(str(kind))
        if cls is None or sub.empty:
            continue
        at = int(sub["utilisation"].to_numpy().argmax())
        u, name = float(sub["utilisation"].iloc[at]), str(sub["name"].iloc[at])
        if kind == "cpu":
            cls = "cpu_core"
            per_node = sub.groupby("index")["utilisation"].mean()
            node = per_node.index.to_numpy()[per_node.to_numpy().argmax()]
            out["cpu_node"] = (float(per_node.max()), f"node-{int(node) + 1}")
        if cls not in out or u > out[cls][0]:
            out[cls] = (u, name)
    return out


def bottleneck_of(utilisation: Mapping[str, float]) -> tuple[str, float]:
    """The class with the highest utilisation and that utilisation (``("", NaN)``
    when none is known); ties go to the first in :data:`UTIL_CLASSES` order."""
    order = {c: i for i, c in enumerate(UTIL_CLASSES)}
    known = [(c, float(u)) for c, u in utilisation.items() if u is not None and u == u]
    if not known:
        return "", math.nan
    cls, u = max(known, key=lambda cu: (cu[1], -order.get(cu[0], len(order))))
    return cls, u


def _pods_of(name: str) -> str:
    """``web-2 app`` → ``web`` (a deployment's pods are ``<deployment>-<n>``)."""
    pod = name[:-4] if name.endswith(" app") else name
    return re.sub(r"-\d+$", "", pod)


def describe_bottleneck(cls: str, name: str) -> str:
    """``the app workers of the web pods (busiest: web-2)``, ``a CPU core (node-3
    core 5)``: the bottleneck in words, for sentences."""
    if cls == "app":
        pod = name[:-4] if name.endswith(" app") else name
        return f"the app workers of the {_pods_of(name)} pods (busiest: {pod})"
    what = UTIL_CLASSES.get(cls, f"{cls.replace('_', ' ')}")
    return f"{what} ({name})" if name else what

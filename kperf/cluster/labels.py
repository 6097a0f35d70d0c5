"""Label index: which pods carry a label, so a selector is a set intersection.

A Service selects the pods of its namespace whose labels include every
``key: value`` of its selector (equality-based selectors,
kubernetes.io/docs/concepts/overview/working-with-objects/labels/). With 150,000
pods and 10,000 Services a scan per Service would be 1.5e9 comparisons; the index
keeps one set of pod uids per ``(namespace, key, value)`` and intersects them,
smallest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ZONE_LABEL = "topology.kubernetes.io/zone"
"""Nodes with different values of this label are in different subnets (cross-subnet modes)."""


class LabelIndex:
    """Pod uids by ``(namespace, key, value)``."""

    __slots__ = ("_idx",)

    def __init__(self) -> None:
        self._idx: dict[tuple[str, str, str], set[int]] = {}

    def add(self, uids: Iterable[int], namespace: str, labels: Mapping[str, str]) -> None:
        """Index ``uids`` (pods sharing one label set, e.g. a deployment's replicas)."""
        uid_list = list(uids)
        for k, v in labels.items():
            key = (namespace, k, v)
            s = self._idx.get(key)
            if s is None:
                self._idx[key] = set(uid_list)
            else:
                s.update(uid_list)

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[int]:
        """Uids matching every pair of ``selector``, ascending; [] for an empty selector
        (a Service without a selector has no automatic endpoints)."""
        if not selector:
            return []
        sets = []
        for k, v in selector.items():
            s = self._idx.get((namespace, k, v))
            if not s:
                return []
            sets.append(s)
        sets.sort(key=len)
        hit = sets[0].intersection(*sets[1:]) if len(sets) > 1 else sets[0]
        return sorted(hit)


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """True when ``labels`` satisfy the equality ``selector`` (empty selects nothing)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

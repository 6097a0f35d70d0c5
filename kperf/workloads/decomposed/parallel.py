"""Step 3 of the decomposed method on other processes: one slim payload per group.

:func:`group_payloads` cuts, for each representative of a :class:`~.groups.Grouping`,
what :func:`~.queueing.trace_model` reads out of the run's :class:`~.traffic.Traffic`
into a picklable :class:`GroupPayload`; :func:`model_group` (a top-level function, so
spawned processes and Dask workers import it by reference) computes that group's
``(waits, joint)`` from it. What a payload holds:

* the representative :class:`~.traffic.Resource` (its cached rate and moments, its
  classes, servers, ``rate_scale``) with its ``visits`` renumbered to the payload's
  connections;
* the connections that visit it, in their original order (renumbered 0, 1, ...: the
  order :func:`~.queueing.trace_model` walks them, ``sorted`` by index, is kept), each
  with its rate, its two message tables (renumbered) and its app pool (renumbered,
  or -1); their routes (``fwd``, ``back``) are left empty, as trace_model does not
  read them;
* the message tables those connections use, whole;
* the app pools those connections use, as resources carrying only ``servers`` (all
  trace_model reads of them), and ``app_service_s`` when any connection has an app
  (an empty array otherwise: trace_model draws from it only for such connections);
* (a callgraph: the whole traffic instead of a cut, since its calls tie connections
  and resources together: :func:`~.queueing.sibling_delays`, the waits upstream)
* the seed and the group's random-stream key: the group's generator is the one
  :func:`~.run.simulate_decomposed` gives it in process (``1 + g`` under
  :data:`~.traffic.DECOMPOSED_SEED_KEY`), built where the group is computed.

So the results are bit-identical to the in-process loop whichever process computes
them (tests/test_decomposed_parallel.py checks serial, two spawned processes and a
Dask LocalCluster).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from kperf.workloads.decomposed.groups import Grouping
from kperf.workloads.decomposed.queueing import trace_model
from kperf.workloads.decomposed.traffic import (
    DECOMPOSED_SEED_KEY,
    ConnLoad,
    MsgTable,
    Resource,
    Traffic,
)


@dataclass(frozen=True)
class GroupPayload:
    """Everything :func:`model_group` needs for one representative (see the module
    doc): ``resource`` and ``traffic`` as trace_model takes them, cut to this group,
    and the random stream (``seed``, ``key``)."""

    resource: Resource
    traffic: Traffic
    seed: int
    key: int


def group_rng(seed: int, key: int) -> np.random.Generator:
    """The decomposed method's random stream ``key`` (the same construction as
    :func:`kperf.workloads.decomposed.run._rng`)."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=(DECOMPOSED_SEED_KEY, key))))


def group_payloads(traffic: Traffic, grouping: Grouping, seed: int) -> list[GroupPayload]:
    """One :class:`GroupPayload` per representative, in group order."""
    return [_payload(traffic, traffic.resources[r], seed, 1 + g)
            for g, r in enumerate(grouping.representatives)]


def _payload(traffic: Traffic, res: Resource, seed: int, key: int) -> GroupPayload:
    res.moments()  # fill the caches the copy carries (trace_model reads rate and moments)
    if traffic.calls is not None:
        # a callgraph's calls are tied across connections and resources (its frontends'
        # pools, the resources they share, the routes and waits upstream): the whole
        # traffic goes, not a cut
        return GroupPayload(res, traffic, seed, key)
    conn_ids = sorted({c for c, _way, _hop in res.visits})
    conn_of = {c: i for i, c in enumerate(conn_ids)}  # increasing: trace_model's order kept
    table_of: dict[int, int] = {}
    app_of: dict[int, int] = {}
    tables: list[MsgTable] = []
    apps: list[Resource] = []

    def table(t: int) -> int:
        got = table_of.get(t)
        if got is None:
            got = table_of[t] = len(tables)
            tables.append(traffic.tables[t])
        return got

    def app(a: int) -> int:
        if a < 0:
            return -1
        got = app_of.get(a)
        if got is None:
            pool = traffic.resources[a]
            got = app_of[a] = len(apps)
            apps.append(Resource(pool.name, pool.kind, pool.index, pool.servers))
        return got

    conns = []
    for c in conn_ids:
        conn = traffic.conns[c]
        conns.append(ConnLoad(conn.rate_per_s, (), table(conn.fwd_table), app(conn.app), (),
                              table(conn.back_table), conn.measured))
    slim = dataclasses.replace(res, visits=[(conn_of[c], way, hop)
                                            for c, way, hop in res.visits])
    app_s = traffic.app_service_s if apps else np.zeros(0)
    cut = Traffic(apps, tables, conns, app_s, traffic.payload_bytes_per_request,
                  traffic.window_s, traffic.active_s, traffic.nodes)
    return GroupPayload(slim, cut, seed, key)


def model_group(payload: GroupPayload) -> tuple[np.ndarray, np.ndarray]:
    """One representative's ``(waits, joint)`` (:func:`~.queueing.trace_model`), in
    whichever process runs it."""
    return trace_model(payload.resource, payload.traffic,
                       group_rng(payload.seed, payload.key))

"""``kperf paths``: where the microseconds go for one message on an idle cluster.

The engine moves a message as chunks of at most one GSO segment (about 64 KiB): the
table breaks down one chunk (:func:`kperf.datapath.explain.explain`). A larger message
is labelled as the first chunk of N, followed by the whole message's idle latency,
measured by sending it through a fresh simulation (the later chunks pipeline behind the
first, so it is less than N times the table's total).

From a host outside the cluster (``--from`` an external host, a replica of a
``placement: external`` deployment) the destination is ``nodeport/NAME`` or
``lb/NAME``: the message enters at node ``--via`` (default: the first node the
Service's traffic may enter at: its load balancer's first target, or node-1) and goes
to ``--endpoint`` (default: what the entry node's kube-proxy may pick first: a local
endpoint, else under ``Cluster`` the first endpoint, through the extra hop). The
table shows the extra hop (category ``extra-hop``) and the load balancer (``lb``);
``--reverse`` shows the reply's way back.

Through a Service (``--to svc/NAME``) the table is the message to the Service's first
endpoint, and a second table shows what opening the connection costs on the client's
core, part by part (:func:`kperf.services.proxycost.first_packet_parts`): the proxy
mode's base or socket-LB work, the service lookup with its chain or table size
(``service lookup (iptables, KUBE-SERVICES 20,012 rules, expected 10,006 walked)``,
``service lookup (eBPF, lb4 maps 60,002 entries, 3 lookups)``), paid once per
connection. ``--json`` adds them as ``connection_stages`` (the same columns as
``stages``) with their sum ``connection_us``, and ``established_message_us``, the
proxy's cost per message of an established connection.

In a cluster with a service mesh (``mesh.mode`` other than none) a message between
two pods crosses the mesh's proxies (:mod:`kperf.datapath.mesh`): the table has their
hops (categories ``sidecar``, ``ztunnel``, ``waypoint``) and the loopback crossings
that redirect to them, as a request/response connection's messages cross them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kperf.cli.app import app, fail, handles_errors
from kperf.errors import SpecError

MAX_MESSAGE_BYTES = 1 << 30
"""The largest ``--bytes`` (1 GiB, about 16,000 chunks to simulate)."""


@app.command("paths")
@handles_errors
def paths_cmd(
    cluster_file: Annotated[Path, typer.Argument(metavar="CLUSTER_OR_EXPERIMENT",
                                               help="cluster or experiment YAML")],
    src: Annotated[str, typer.Option("--from", help="source pod (or node-N: host network)")],
    dst: Annotated[str, typer.Option("--to", help="destination pod, node-N, or svc/NAME")],
    nbytes: Annotated[
        int, typer.Option("--bytes", min=1, max=MAX_MESSAGE_BYTES,
                          help="message size in bytes (1 to 1 GiB)")
    ] = 1,
    testbed: Annotated[str, typer.Option(help="named testbed")] = "10g-xeon-2015",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    via: Annotated[str | None, typer.Option(
        "--via", help="external --from: the node whose NodePort the message enters at")] = None,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", help="external --from: the endpoint pod the entry node sends to")] = None,
    reverse: Annotated[bool, typer.Option(
        "--reverse", help="external --from: the reply's way back (pod to client)")] = False,
) -> None:
    """Print the stages one message crosses and the time each adds (idle cluster).

    Example: kperf paths experiments/clusters/two_nodes_flannel.yaml --from web-0 --to web-1
    """
    from kperf.cluster import Cluster
    from kperf.datapath.explain import connection_rows, explain, message_chunks
    from kperf.engine.sim import Simulation
    from kperf.spec import load_cluster

    cluster = Cluster.build(load_cluster(cluster_file))
    sim = Simulation(cluster, testbed)

    def endpoint_of(name: str, flag: str) -> Any:
        if name.startswith("node-"):
            try:
                return cluster.node(name).index
            except KeyError:
                raise SpecError(flag, name, "allowed: a node name of the cluster") from None
        try:
            return cluster.pod(name)
        except KeyError:
            raise SpecError(flag, name, "allowed: a pod name of the cluster (see kperf "
                            "inspect), node-N, or svc/NAME") from None

    if src in getattr(cluster, "_external_names", {}):
        _external_paths(cluster, testbed, src, dst, nbytes, as_json, via, endpoint, reverse)
        return
    if dst.startswith(("nodeport/", "lb/")):
        raise SpecError("--from", src, "allowed: an external host (a replica of a "
                        "placement: external deployment) with a nodeport/ or lb/ --to")
    for flag, value in (("--via", via), ("--endpoint", endpoint)):
        if value is not None:
            raise SpecError(flag, value, "allowed: only with an external host as --from")
    source = endpoint_of(src, "--from")
    note = ""
    target: Any
    proxy_rows: list[dict[str, Any]] = []
    established_us: float | None = None
    if dst.startswith("svc/"):
        try:
            svc = cluster.service(dst[4:])
        except KeyError:
            raise SpecError("--to", dst, "allowed: svc/ and a Service of the cluster") from None
        if not svc.endpoints:
            raise fail(f"--to: Service {svc.name} has no endpoints")
        target = next(p for p in cluster.pods if p.uid == svc.endpoints[0])
        note = f" via Service {svc.name} (first endpoint {target.name})"
        path = sim.paths.service_path(source, target)  # with a CNI's hairpin, if any
        proxy_rows, established_us = _connection_rows(cluster, sim, source, svc)
    else:
        target = endpoint_of(dst, "--to")
        path = sim.path(source, target)
    meshed = sim.paths.meshed(path, source, target)  # the service mesh's proxies, if any
    if meshed is not path:
        path = meshed
        note += f", mesh {getattr(sim.paths.mesh, 'mode', '')}"
    df = explain(path, nbytes)
    total = float(df.time_us.sum())
    chunks = message_chunks(path, nbytes)
    message_us, dropped_at = ((None, None) if path.unreachable
                              else idle_message(cluster, testbed, source, target, nbytes,
                                                path if meshed is path else None))
    conn_rows = [] if path.unreachable else connection_rows(cluster, sim.testbed, source,
                                                            target)
    if as_json:
        print(json.dumps({"kind": path.kind, "from": src, "to": dst, "bytes": nbytes,
                          "chunks": len(chunks), "chunk_bytes": chunks[0],
                          "stages": df.to_dict(orient="records"), "total_us": total,
                          "message_us": message_us, "message_dropped_at": dropped_at,
                          "new_connection": conn_rows,
                          **({"connection_stages": proxy_rows,
                              "connection_us": sum(r["time_us"] for r in proxy_rows),
                              "established_message_us": established_us}
                             if dst.startswith("svc/") else {})}))
        return
    console = Console()
    if len(chunks) == 1:
        title = f"{src} -> {dst}{note}: {path.kind}, {nbytes} B, testbed {testbed}"
    else:
        title = (f"{src} -> {dst}{note}: {path.kind}, {nbytes:,} B in {len(chunks):,} chunks; "
                 f"stages of the first chunk ({chunks[0]:,} B of {nbytes:,}), "
                 f"testbed {testbed}")
    table = Table(title=title)
    for col in ("hop", "stage", "category", "time (µs)"):
        table.add_column(col, justify="right" if col.startswith("time") else "left")
    for row in df.itertuples():
        table.add_row(str(row.hop), str(row.stage), str(row.category), f"{row.time_us:.3f}")
    table.add_row("", "total" if len(chunks) == 1 else "total, first chunk", "",
                  f"{total:.3f}")
    console.print(table)
    if len(chunks) > 1 and not path.unreachable:
        last = f", the last {chunks[-1]:,} B" if chunks[-1] != chunks[0] else ""
        whole = (f"{message_us:.3f} µs on the idle path (simulated: the later chunks "
                 "pipeline behind the first)" if message_us is not None else
                 f"dropped at {dropped_at} on the idle path (simulated: the engine queues "
                 "all the chunks of one send at once, more than it holds)")
        console.print(f"whole message: {len(chunks):,} chunks of {chunks[0]:,} B{last}; "
                      f"{whole}", highlight=False, soft_wrap=True)
    if conn_rows:
        console.print(_connection_table(conn_rows))
    if proxy_rows:
        ctable = Table(title=f"new connection to Service {dst[4:]} ({cluster.proxy.name}): "
                       "once per connection, on the client's core")
        for col in ("hop", "stage", "category", "time (µs)"):
            ctable.add_column(col, justify="right" if col.startswith("time") else "left")
        for r in proxy_rows:
            ctable.add_row(str(r["hop"]), str(r["stage"]), str(r["category"]),
                           f"{r['time_us']:.3f}")
        ctable.add_row("", "total, per connection", "",
                       f"{sum(r['time_us'] for r in proxy_rows):.3f}")
        console.print(ctable)
        console.print(f"established connection: {established_us:.3f} µs of proxy work per "
                      "message (not in the tables above)", highlight=False)
    if path.unreachable:
        raise typer.Exit(1)


def _connection_table(rows: list[dict[str, Any]]) -> Table:
    """The per-new-connection parts (:func:`kperf.datapath.explain.connection_rows`)."""
    table = Table(title="once per new TCP connection (with the SYN and the SYN-ACK; "
                  "a Service's proxy work is in its own table)")
    for col in ("end", "node", "stage", "category", "time (µs)"):
        table.add_column(col, justify="right" if col.startswith("time") else "left")
    for r in rows:
        table.add_row(r["end"], r["node"], r["stage"], r["category"], f"{r['time_us']:.3f}")
    table.add_row("", "", "total", "", f"{sum(r['time_us'] for r in rows):.3f}")
    return table


def _connection_rows(cluster: Any, sim: Any, source: Any, svc: Any
                     ) -> tuple[list[dict[str, Any]], float]:
    """The parts of a new connection's proxy cost from ``source`` to ``svc`` (rows like
    :func:`kperf.datapath.explain.explain_rows`, category ``proxy``, on the client's
    node) and the proxy's µs per established message. The Service sits at its expected
    place in KUBE-SERVICES; a pod's TCP connection uses socket LB where the mode has
    it."""
    from kperf.cluster.dataplane import proxy_entries
    from kperf.services.proxycost import established_us, first_packet_parts

    mode = cluster.proxy
    testbed = sim.testbed
    node = source if isinstance(source, int) else source.node
    parts = first_packet_parts(mode, testbed, proxy_entries(cluster),
                               services=len(cluster.services),
                               socket_lb=mode.socket_lb and svc.protocol != "UDP")
    hop = cluster.nodes[node].name
    rows = [{"hop": hop, "stage": p.stage, "category": "proxy", "time_us": p.us}
            for p in parts]
    return rows, established_us(mode) / testbed.cpu_speed_factor


def _external_paths(cluster: Any, testbed: str, src: str, dst: str, nbytes: int,
                    as_json: bool, via: str | None, endpoint: str | None,
                    reverse: bool) -> None:
    """``kperf paths --from <external host> --to nodeport/NAME|lb/NAME``."""
    from kperf.datapath.explain import explain
    from kperf.engine.sim import Simulation
    from kperf.profiles import get_load_balancer
    from kperf.services.external import EntryChooser

    host = cluster.external_host(src)
    if not dst.startswith(("nodeport/", "lb/")):
        raise SpecError("--to", dst, "allowed: nodeport/NAME or lb/NAME from an external "
                        "host (ClusterIPs and pod IPs are not reachable from outside)")
    lb_via = dst.startswith("lb/")
    name = dst.split("/", 1)[1]
    try:
        svc = cluster.service(name)
    except KeyError:
        svc = None
    if svc is None or (svc.type != "LoadBalancer" if lb_via else svc.node_port is None):
        kinds = "a LoadBalancer Service" if lb_via else "a NodePort or LoadBalancer Service"
        raise SpecError("--to", dst, f"allowed: {dst.split('/')[0]}/ and {kinds} of the "
                        "cluster")
    if not svc.endpoints:
        raise fail(f"--to: Service {svc.name} has no endpoints")
    profile = get_load_balancer(cluster.spec.load_balancer) if lb_via else None
    if via is not None:
        try:
            entry = cluster.node(via).index
        except KeyError:
            raise SpecError("--via", via, "allowed: a node name of the cluster") from None
    elif profile is not None:
        nodes, _ok = EntryChooser(cluster, profile).targets(svc)
        entry = nodes[0] if nodes else 0
    else:
        entry = 0
    pods = [cluster.pods[u] for u in svc.endpoints]
    local = [p for p in pods if p.node == entry]
    if endpoint is not None:
        target = next((p for p in pods if p.name == endpoint), None)
        if target is None:
            raise SpecError("--endpoint", endpoint,
                            f"allowed: an endpoint of Service {svc.name} "
                            f"({', '.join(p.name for p in pods[:8])})")
    elif local:
        target = local[0]
    elif svc.external_traffic_policy == "Local":
        raise fail(f"--via: {cluster.nodes[entry].name} has no endpoint of Service "
                   f"{svc.name} and its policy is Local: kube-proxy drops the traffic "
                   "(a load balancer's health check keeps it away)")
    else:
        target = pods[0]
    if svc.external_traffic_policy == "Local" and target.node != entry:
        raise SpecError("--endpoint", target.name,
                        f"allowed: an endpoint on {cluster.nodes[entry].name} (policy Local "
                        "sends only to the entry node's own endpoints)")
    sim = Simulation(cluster, testbed)
    path = sim.paths.external(host, entry, target, inbound=not reverse, lb=profile,
                              service_index=svc.index,
                              router_latency_us=cluster.spec.external_clients.router_latency_us)
    # a meshed endpoint's proxy (the external client is not meshed)
    path = (sim.paths.meshed(path, target, host, reverse=True) if reverse
            else sim.paths.meshed(path, host, target))
    df = explain(path, nbytes)
    total = float(df.time_us.sum())
    extra = float(df.time_us[df.category == "extra-hop"].sum())
    hop = ("no extra hop: the endpoint is on the entry node" if target.node == entry else
           f"extra hop (SNAT) {cluster.nodes[entry].name} -> "
           f"{cluster.nodes[target.node].name}: {extra:.3f} µs")
    if as_json:
        print(json.dumps({"kind": path.kind, "from": src, "to": dst, "bytes": nbytes,
                          "entry_node": cluster.nodes[entry].name, "endpoint": target.name,
                          "reverse": reverse, "stages": df.to_dict(orient="records"),
                          "total_us": total, "extra_hop_us": extra}))
        return
    direction = f"{target.name} -> {src}" if reverse else f"{src} -> {dst}"
    title = (f"{direction} via {cluster.nodes[entry].name}'s NodePort"
             f"{' (load balancer ' + profile.name + ')' if profile else ''}, endpoint "
             f"{target.name}: {path.kind}, {nbytes} B, testbed {testbed}; proxy costs not "
             "shown")
    table = Table(title=title)
    for col in ("hop", "stage", "category", "time (µs)"):
        table.add_column(col, justify="right" if col.startswith("time") else "left")
    for row in df.itertuples():
        table.add_row(str(row.hop), str(row.stage), str(row.category), f"{row.time_us:.3f}")
    table.add_row("", "total", "", f"{total:.3f}")
    console = Console()
    console.print(table)
    console.print(hop, highlight=False)
    if path.unreachable:
        raise typer.Exit(1)


def idle_message(cluster: Any, testbed: str, source: Any, target: Any,
                 nbytes: int, path: Any = None) -> tuple[float | None, str | None]:
    """The engine's latency for one ``nbytes`` message from ``source`` to ``target`` on
    an otherwise idle cluster, in µs, sent through a fresh :class:`Simulation` as
    ``tests/test_datapath.py`` measures it (on ``path`` when given: a path through a
    service mesh's proxies); or (None, where) when a chunk is dropped."""
    from kperf.engine.sim import Simulation

    sim = Simulation(cluster, testbed)
    done: list[float] = []
    dropped: list[str] = []
    t0 = 1e-3

    def start() -> None:
        if path is not None:
            sim.open_flow(source, target, flow_id=0, path=path).send(
                nbytes, lambda t: done.append(t - t0), lambda t, where: dropped.append(where))
            return
        sim.send(source, target, nbytes, lambda t: done.append(t - t0),
                 lambda t, where: dropped.append(where))

    sim.at(t0, start)
    sim.run()
    if done:
        return done[0] * 1e6, None
    return None, dropped[0] if dropped else "an unknown hop"

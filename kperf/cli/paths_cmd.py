"""``kperf paths``: where the microseconds go for one message on an idle cluster.

The engine moves a message as chunks of at most one GSO segment (about 64 KiB): the
table breaks down one chunk (:func:`kperf.datapath.explain.explain`). A larger message
is labelled as the first chunk of N, followed by the whole message's idle latency,
measured by sending it through a fresh simulation (the later chunks pipeline behind the
first, so it is less than N times the table's total).
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
) -> None:
    """Print the stages one message crosses and the time each adds (idle cluster).

    Example: kperf paths experiments/clusters/two_nodes_flannel.yaml --from web-0 --to web-1
    """
    from kperf.cluster import Cluster
    from kperf.datapath.explain import explain, message_chunks
    from kperf.engine.sim import Simulation
    from kperf.spec import load_cluster

    cluster = Cluster.build(load_cluster(cluster_file))
    sim = Simulation(cluster, testbed)

    def endpoint(name: str, flag: str) -> Any:
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

    source = endpoint(src, "--from")
    via = ""
    target: Any
    if dst.startswith("svc/"):
        try:
            svc = cluster.service(dst[4:])
        except KeyError:
            raise SpecError("--to", dst, "allowed: svc/ and a Service of the cluster") from None
        if not svc.endpoints:
            raise fail(f"--to: Service {svc.name} has no endpoints")
        target = next(p for p in cluster.pods if p.uid == svc.endpoints[0])
        via = f" via Service {svc.name} (first endpoint {target.name}; proxy costs not shown)"
    else:
        target = endpoint(dst, "--to")
    path = sim.path(source, target)
    df = explain(path, nbytes)
    total = float(df.time_us.sum())
    chunks = message_chunks(path, nbytes)
    message_us, dropped_at = ((None, None) if path.unreachable
                              else idle_message(cluster, testbed, source, target, nbytes))
    if as_json:
        print(json.dumps({"kind": path.kind, "from": src, "to": dst, "bytes": nbytes,
                          "chunks": len(chunks), "chunk_bytes": chunks[0],
                          "stages": df.to_dict(orient="records"), "total_us": total,
                          "message_us": message_us, "message_dropped_at": dropped_at}))
        return
    console = Console()
    if len(chunks) == 1:
        title = f"{src} -> {dst}{via}: {path.kind}, {nbytes} B, testbed {testbed}"
    else:
        title = (f"{src} -> {dst}{via}: {path.kind}, {nbytes:,} B in {len(chunks):,} chunks; "
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
    if path.unreachable:
        raise typer.Exit(1)


def idle_message(cluster: Any, testbed: str, source: Any, target: Any,
                 nbytes: int) -> tuple[float | None, str | None]:
    """The engine's latency for one ``nbytes`` message from ``source`` to ``target`` on
    an otherwise idle cluster, in µs, sent through a fresh :class:`Simulation` as
    ``tests/test_datapath.py`` measures it; or (None, where) when a chunk is dropped."""
    from kperf.engine.sim import Simulation

    sim = Simulation(cluster, testbed)
    done: list[float] = []
    dropped: list[str] = []
    t0 = 1e-3

    def start() -> None:
        sim.send(source, target, nbytes, lambda t: done.append(t - t0),
                 lambda t, where: dropped.append(where))

    sim.at(t0, start)
    sim.run()
    if done:
        return done[0] * 1e6, None
    return None, dropped[0] if dropped else "an unknown hop"

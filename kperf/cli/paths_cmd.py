"""``kperf paths``: where the microseconds go for one message on an idle cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kperf.cli.app import app, fail, handles_errors
from kperf.errors import SpecError


@app.command("paths")
@handles_errors
def paths_cmd(
    cluster_file: Annotated[Path, typer.Argument(help="cluster or experiment YAML")],
    src: Annotated[str, typer.Option("--from", help="source pod (or node-N: host network)")],
    dst: Annotated[str, typer.Option("--to", help="destination pod, node-N, or svc/NAME")],
    nbytes: Annotated[int, typer.Option("--bytes", min=0, help="message size in bytes")] = 1,
    testbed: Annotated[str, typer.Option(help="named testbed")] = "10g-xeon-2015",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the stages one message crosses and the time each adds (idle cluster).

    Example: kperf paths experiments/clusters/two_nodes_flannel.yaml --from web-0 --to web-1
    """
    from kperf.cluster import Cluster
    from kperf.datapath.explain import explain
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
    if as_json:
        print(json.dumps({"kind": path.kind, "from": src, "to": dst, "bytes": nbytes,
                          "stages": df.to_dict(orient="records"), "total_us": total}))
        return
    console = Console()
    table = Table(title=f"{src} -> {dst}{via}: {path.kind}, {nbytes} B, testbed {testbed}")
    for col in ("hop", "stage", "category", "time (µs)"):
        table.add_column(col, justify="right" if col.startswith("time") else "left")
    for row in df.itertuples():
        table.add_row(str(row.hop), str(row.stage), str(row.category), f"{row.time_us:.3f}")
    table.add_row("", "total", "", f"{total:.3f}")
    console.print(table)
    if path.unreachable:
        raise typer.Exit(1)

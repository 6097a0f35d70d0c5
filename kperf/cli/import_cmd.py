"""``kperf import``: a cluster spec from ``kubectl get nodes,pods,services -A -o json``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kperf.cli.app import app, handles_errors
from kperf.errors import SpecError


@app.command("import")
@handles_errors
def import_cluster(
    file: Annotated[
        Path,
        typer.Argument(metavar="KUBECTL_JSON",
                       help="JSON printed by `kubectl get nodes,pods,services -A -o json`."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="CLUSTER",
                     help="Write the cluster YAML here (default: stdout)."),
    ] = None,
    cni: Annotated[str | None, typer.Option(help="CNI mode (default: guessed).")] = None,
    proxy: Annotated[str | None, typer.Option(help="Proxy mode (default: guessed).")] = None,
) -> None:
    """Write a cluster spec that reproduces a real cluster's nodes, pods and Services.

    Nodes keep their IPs and pod CIDRs, pods their IPs and labels, Services their
    ClusterIPs and selectors. Check the result with `kperf inspect OUT.yaml`.

    Example: kubectl get nodes,pods,services -A -o json > c.json; kperf import c.json -o c.yaml
    """
    from kperf.cluster.importer import import_file  # the cluster package loads pandas

    result = import_file(file, cni=cni, proxy=proxy)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    text = result.to_yaml()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SpecError("--output", str(output), f"cannot write ({exc.strerror})") from None
    data = result.data
    print(f"wrote {output}: {len(data['nodes'])} nodes, {len(data['pods'])} pods, "
          f"{len(data['services'])} Services (cni {data['cni']}, proxy {data['proxy']})")

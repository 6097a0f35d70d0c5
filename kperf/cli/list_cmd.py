"""``kperf list``: the catalogs, with descriptions and sources."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kperf.cli.app import app, handles_errors


class Catalog(StrEnum):
    cni = "cni"
    proxy = "proxy"
    testbeds = "testbeds"
    workloads = "workloads"


@app.command("list")
@handles_errors
def list_cmd(
    what: Annotated[Catalog, typer.Argument(help="cni | proxy | testbeds | workloads")],
) -> None:
    """List CNI modes, proxy modes, testbeds or workload kinds.

    Example: kperf list cni
    """
    from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS

    console = Console(width=160)
    table = Table(show_lines=False)
    if what is Catalog.cni:
        for col in ("name", "plugin", "routing", "encap", "bytes", "ipam", "proxy", "costs"):
            table.add_column(col)
        for p in CNI_PROFILES.values():
            table.add_row(p.name, p.plugin, p.routing, p.encapsulation, str(p.encap_bytes),
                          p.ipam, p.proxy_default,
                          "estimated (no published pod-level data)" if p.estimated
                          else "calibrated")
    elif what is Catalog.proxy:
        for col in ("name", "lookup", "first packet", "description"):
            table.add_column(col)
        for m in PROXY_MODES.values():
            cost = (f"{m.first_packet_base_us:g} µs + {m.per_rule_ns:g} ns/rule"
                    if m.lookup == "linear" else f"{m.first_packet_base_us:g} µs")
            table.add_row(m.name, m.lookup, cost, m.description)
    elif what is Catalog.testbeds:
        for col in ("name", "NIC Gbit/s", "MTU", "cores", "CPU factor", "description"):
            table.add_column(col)
        for t in TESTBEDS.values():
            table.add_row(t.name, f"{t.nic_rate_gbps:g}", str(t.mtu_bytes),
                          str(t.cores_per_node), f"{t.cpu_speed_factor:g}", t.description)
    else:
        from kperf.spec.workload import WORKLOAD_KINDS  # the specs (pydantic models)

        table.add_column("kind")
        table.add_column("description")
        for kind, model in WORKLOAD_KINDS.items():
            doc = (model.__doc__ or "").strip().splitlines()
            table.add_row(kind, doc[0] if doc else "")
    console.print(table)

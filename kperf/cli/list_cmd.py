"""``kperf list``: the catalogs, with descriptions and sources.

Default: one short table. ``-v/--verbose``: every number with its source (for CNI
modes one table per mode, with its per-stage CPU costs). ``--json``: a list of
objects, one per catalog entry, with every field of the entry (sources included).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kperf.cli.app import app, handles_errors

if TYPE_CHECKING:
    from pydantic import BaseModel

    from kperf.profiles.base import CniProfile, StageCost


class Catalog(StrEnum):
    cni = "cni"
    proxy = "proxy"
    testbeds = "testbeds"
    workloads = "workloads"
    loadbalancers = "loadbalancers"
    mesh = "mesh"


@app.command("list")
@handles_errors
def list_cmd(
    what: Annotated[
        Catalog, typer.Argument(metavar="CATALOG",
                                help="cni | proxy | testbeds | workloads | loadbalancers | mesh")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list: every field of every entry, "
                           "sources included.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="A fuller table: every number with its "
                           "source (CNI modes: per-stage CPU costs).")
    ] = False,
) -> None:
    """List CNI modes, proxy modes, testbeds, workload kinds, load balancers or service
    mesh modes.

    Example: kperf list cni -v
    """
    if as_json:
        print(json.dumps(catalog_entries(what), indent=2, ensure_ascii=False))
        return
    console = Console(width=160)
    if verbose:
        for table in _verbose_tables(what):
            console.print(table)
        return
    console.print(_short_table(what))


# --------------------------------------------------------------------------- JSON

def catalog_entries(what: Catalog) -> list[dict[str, Any]]:
    """The entries of one catalog as JSON-ready dicts (every field, sources included)."""
    from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS

    if what is Catalog.cni:
        return [p.model_dump(mode="json") for p in CNI_PROFILES.values()]
    if what is Catalog.proxy:
        return [m.model_dump(mode="json") for m in PROXY_MODES.values()]
    if what is Catalog.testbeds:
        return [t.model_dump(mode="json") for t in TESTBEDS.values()]
    if what is Catalog.loadbalancers:
        from kperf.profiles import LOAD_BALANCERS

        return [b.model_dump(mode="json") for b in LOAD_BALANCERS.values()]
    if what is Catalog.mesh:
        return _mesh_entries()
    from kperf.spec.workload import WORKLOAD_KINDS

    return [{"kind": kind, "description": _doc(model), "fields": _fields(model)}
            for kind, model in WORKLOAD_KINDS.items()]


def _mesh_entries() -> list[dict[str, Any]]:
    """One entry per mesh mode: its proxy (and ambient's waypoint) with every number and
    source, and how traffic is redirected to it."""
    from kperf.profiles.mesh import (
        CILIUM_ENVOY,
        CILIUM_MESH,
        CILIUM_MESH_L4_SOURCE,
        MESH_MODES,
        MESH_PROXIES,
        REDIRECT_SOURCE,
        WAYPOINT,
    )

    out: list[dict[str, Any]] = []
    for mode in MESH_MODES:
        if mode == "none":
            out.append({"mode": mode, "description": "no service mesh (the default)"})
            continue
        if mode == CILIUM_MESH:  # no proxy at L4; the node's Envoy with l7: true
            out.append({"mode": mode, "l4": CILIUM_MESH_L4_SOURCE,
                        "l7_proxy": CILIUM_ENVOY.model_dump(mode="json"),
                        "l7_per_message_us": CILIUM_ENVOY.per_message_us,
                        "redirect": REDIRECT_SOURCE[mode]})
            continue
        p = MESH_PROXIES[mode]
        entry: dict[str, Any] = {"mode": mode, "proxy": p.model_dump(mode="json"),
                                 "per_message_us": p.per_message_us,
                                 "redirect": REDIRECT_SOURCE[mode]}
        if mode == "istio-sidecar":
            from kperf.profiles.mesh import ISTIO_RELEASES, istio_proxy

            entry["istio_releases"] = [
                {**r.model_dump(mode="json"),
                 "per_message_us": istio_proxy(mode, r.release).per_message_us}
                for r in ISTIO_RELEASES.values()]
        if mode == "istio-ambient":
            entry["waypoint"] = WAYPOINT.model_dump(mode="json")
            entry["waypoint_per_message_us"] = WAYPOINT.per_message_us
        out.append(entry)
    return out


def _istio_releases_table() -> Table:
    """``cluster.mesh.istio_release``: each release's sidecar figure and its source."""
    from kperf.profiles.mesh import DEFAULT_ISTIO_RELEASE, ISTIO_RELEASES, istio_proxy

    table = Table(title="Istio releases (cluster.mesh.istio_release; default "
                  f"{DEFAULT_ISTIO_RELEASE}): the sidecar's vCPU per 1,000 req/s per proxy",
                  title_justify="left")
    for col in ("release", "measured", "vCPU", "per message", "figure from", "ambient",
                "source"):
        table.add_column(col, no_wrap=col != "source")
    for name, r in ISTIO_RELEASES.items():
        table.add_row(name, r.version, f"{r.sidecar_vcpu_per_krps:g}",
                      f"{istio_proxy('istio-sidecar', name).per_message_us:.1f} µs",
                      "load test" if r.load_test else "data plane section", _yes(r.ambient),
                      Text(r.source))
    return table


def _mesh_rows() -> list[tuple[str, Any]]:
    """(mode, proxy profile or None) per mesh mode; ambient's waypoint as a row."""
    from kperf.profiles.mesh import CILIUM_ENVOY, CILIUM_MESH, MESH_MODES, MESH_PROXIES, WAYPOINT

    rows: list[tuple[str, Any]] = [(m, MESH_PROXIES.get(m)) for m in MESH_MODES]
    at = next(i for i, (m, _p) in enumerate(rows) if m == "istio-ambient")
    rows.insert(at + 1, ("istio-ambient (waypoint: true)", WAYPOINT))
    rows.append((f"{CILIUM_MESH} (l7: true)", CILIUM_ENVOY))
    return rows


def _doc(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def _fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A workload model's fields: name, type, whether required, default, description."""
    from pydantic_core import PydanticUndefined, to_jsonable_python

    rows: list[dict[str, Any]] = []
    for name, info in model.model_fields.items():
        required = info.is_required()
        if required:
            default: Any = None
        elif info.default is not PydanticUndefined:
            default = to_jsonable_python(info.default)
        else:
            default = to_jsonable_python(info.get_default(call_default_factory=True))
        rows.append({
            "name": name,
            "type": _type_name(info.annotation),
            "required": required,
            "default": default,
            "description": info.description or "",
        })
    return rows


def _type_name(annotation: Any) -> str:
    """A field's type as a reader writes it: ``int | None``, ``Literal['tcp', 'udp']``."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "None"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(dict.fromkeys(_type_name(a) for a in args))
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


# --------------------------------------------------------------------------- tables

def _short_table(what: Catalog) -> Table:
    """The default output (unchanged): one row per entry."""
    from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS

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
    elif what is Catalog.loadbalancers:
        from kperf.profiles import LOAD_BALANCERS

        for col in ("name", "spread", "capacity", "added one way", "description"):
            table.add_column(col)
        for b in LOAD_BALANCERS.values():
            cap = (f"{b.forwarders} x {b.forwarder_gbps:g} Gbit/s" if b.is_device
                   else "the leader node's NIC")
            table.add_row(b.name, b.spread, cap, f"{b.added_latency_us:g} µs", b.description)
    elif what is Catalog.mesh:
        for col in ("mode", "proxy", "workers", "vCPU per 1k req/s", "per message", "source"):
            table.add_column(col)
        for mode, p in _mesh_rows():
            if p is None:
                what_ = ("no service mesh (the default)" if mode == "none" else
                         "L4 in the Cilium CNI's eBPF datapath: no proxy hop")
                table.add_row(mode, "-", "-", "-", "-", what_)
                continue
            table.add_row(mode, p.name, str(p.workers), f"{p.vcpu_per_krps:g}",
                          f"{p.per_message_us:.1f} µs", p.source_label)
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
            table.add_row(kind, _doc(model))
    return table


def _verbose_tables(what: Catalog) -> list[Table]:
    from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS

    if what is Catalog.cni:
        return [_cni_table(p) for p in CNI_PROFILES.values()]
    if what is Catalog.proxy:
        return [_fields_table(f"{m.name}: {m.description}", [
            ("lookup", m.lookup),
            ("first packet", f"{m.first_packet_base_us:g} µs"),
            ("per rule walked", f"{m.per_rule_ns:g} ns"),
            ("rules per Service", f"{m.rules_per_service:g}"),
            ("established packet", f"{m.established_per_packet_us:g} µs"),
            ("socket LB", _yes(m.socket_lb)),
            ("schedulers", ", ".join(m.schedulers)),
            ("resync per rule", f"{m.resync_per_rule_us:g} µs"),
            ("source", m.source),
        ]) for m in PROXY_MODES.values()]
    if what is Catalog.loadbalancers:
        from kperf.profiles import LOAD_BALANCERS

        return [_fields_table(f"{b.name}: {b.description}", [
            ("spread", b.spread),
            ("forwarders", str(b.forwarders)),
            ("forwarder rate", f"{b.forwarder_gbps:g} Gbit/s"),
            ("added latency (one way)", f"{b.added_latency_us:g} µs"),
            ("direct return", _yes(b.direct_return)),
            ("fails open", _yes(b.fails_open)),
            ("source", b.source),
        ]) for b in LOAD_BALANCERS.values()]
    if what is Catalog.mesh:
        from kperf.profiles.mesh import REDIRECT_SOURCE

        return [_fields_table(f"{mode}: {p.name}", [
            ("category (cpu:<category>)", p.category),
            ("vCPU per 1,000 req/s (one proxy)", f"{p.vcpu_per_krps:g}"),
            ("per message (calibrated)", f"{p.per_message_us:.2f} µs"),
            ("per byte", f"{p.per_byte_ns:g} ns"),
            ("per connection", f"{p.per_connection_us:g} µs"),
            ("worker threads", f"{p.workers} ("
             + ("each connection pinned to one: a queue per worker" if p.pins_connections
                else "one shared queue") + ")"),
            ("pooled upstream connections (default)", p.upstream_protocol),
            ("to the server's application",
             "pooled connections" if p.pools_inbound else "a connection per client connection"),
            ("mTLS handshake (pooled, not per request)", f"{p.mtls_handshake_us:g} µs"),
            ("mTLS per record", f"{p.mtls_per_record_us:g} µs"),
            ("mTLS per byte", f"{p.mtls_per_byte_ns:g} ns"),
            ("redirect", REDIRECT_SOURCE[mode.split(" ")[0]]),
            ("source", p.source + (f" {p.connection_source}" if p.connection_source else "")),
        ]) for mode, p in _mesh_rows() if p is not None] + [_istio_releases_table()]
    if what is Catalog.testbeds:
        tables = []
        for t in TESTBEDS.values():
            ecn = (f"{t.ecn_threshold_bytes:,} B" if t.ecn_threshold_bytes is not None
                   else f"default: {t.ecn_mark_bytes:,.0f} B")
            tables.append(_fields_table(f"{t.name}: {t.description}", [
                ("NIC rate", f"{t.nic_rate_gbps:g} Gbit/s"),
                ("MTU", f"{t.mtu_bytes} B"),
                ("cores per node", str(t.cores_per_node)),
                ("CPU speed factor", f"{t.cpu_speed_factor:g}"),
                ("switch buffer", f"{t.switch_buffer_bytes:,} B"),
                ("tcp_limit_output_bytes", f"{t.tcp_limit_output_bytes:,} B"),
                ("tcp_timestamps", _yes(t.tcp_timestamps)),
                ("ecn_threshold_bytes", ecn),
                ("link_loss_rate", f"{t.link_loss_rate:g}"),
                ("source", t.source),
            ]))
        return tables
    from kperf.spec.workload import WORKLOAD_KINDS

    tables = []
    for kind, model in WORKLOAD_KINDS.items():
        table = Table(title=f"{kind}: {_doc(model)}")
        table.add_column("field", no_wrap=True)
        table.add_column("type")
        table.add_column("default")
        table.add_column("description")
        for f in _fields(model):
            default = "(required)" if f["required"] else json.dumps(f["default"])
            table.add_row(f["name"], Text(f["type"]), Text(default), Text(f["description"]))
        tables.append(table)
    return tables


def _fields_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """One catalog entry as a two-column table: field, value (the source last)."""
    table = Table(title=title, title_justify="left")
    table.add_column("field", no_wrap=True)
    table.add_column("value")
    for name, value in rows:
        table.add_row(name, Text(value))
    return table


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def stage_cost(stage: StageCost) -> str:
    """A stage's reference-core cost in words: ``0.3 µs/seg + 0.026 ns/B``."""
    parts = [f"{v:g} {unit}" for v, unit in (
        (stage.per_message_us, "µs/msg"), (stage.per_segment_us, "µs/seg"),
        (stage.per_packet_us, "µs/pkt"), (stage.per_byte_ns, "ns/B")) if v]
    return " + ".join(parts) if parts else "0"


def _cni_table(p: CniProfile) -> Table:
    """One CNI mode: its datapath properties and per-stage costs, each with its source."""
    costs = "estimated (no published pod-level data)" if p.estimated else "calibrated"
    table = Table(title=f"{p.name}: {p.description} ({costs})", title_justify="left")
    table.add_column("item", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("source")
    encap = (f"{p.encapsulation}, {p.encap_bytes} B header" if p.encapsulation != "none"
             else "none")
    mtu = (f"underlay MTU - {p.mtu_overhead_bytes}" if p.mtu_overhead_bytes
           else "underlay MTU")
    table.add_row("plugin / mode", f"{p.plugin} / {p.mode}", "")
    table.add_row("routing", p.routing, "")
    table.add_row("encapsulation", encap, Text(p.encap_source))
    table.add_row("pod MTU", mtu, "")
    table.add_row("offloads survive", "TSO/GSO/GRO" if p.tunnel_offload else "no", "")
    table.add_row("IPAM", p.ipam, "")
    table.add_row("same node", p.same_node, "")
    table.add_row("proxy", p.proxy_default, "")
    table.add_row("new flow", f"{p.new_flow_us:g} µs", Text(p.new_flow_source))
    table.add_row("netfilter conntrack", "yes" if p.netfilter_conntrack else
                  "only with kube-proxy",
                  Text("each node whose netfilter tracks a connection pays a "
                       "'conntrack new' (kperf.datapath.conntrack)"))
    for where, stages in (("tx", p.tx), ("rx", p.rx), ("tx overlay", p.tx_overlay),
                          ("rx overlay", p.rx_overlay),
                          ("Service via host (kube-proxy)", p.service_hairpin)):
        for s in stages:
            table.add_row(f"{where} {s.name} ({s.category})", stage_cost(s), Text(s.source))
    if p.notes:
        table.add_row("notes", "", Text(p.notes))
    return table

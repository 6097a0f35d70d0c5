"""``kperf list``: ``--json`` and ``-v`` for every catalog; ``--help`` shows no ``<bool>``.

* ``--json`` prints a list with one object per catalog entry holding every field of the
  entry (stage costs and their sources for CNI modes; defaults and descriptions of
  workload fields).
* ``-v`` names the sources and the per-stage costs.
* A bad catalog name is one line on stderr, exit 2; the default table is unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from kperf.cli.app import app
from kperf.cli.list_cmd import stage_cost
from kperf.cli.main import _register
from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS
from kperf.spec.workload import WORKLOAD_KINDS

_register()
runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def squeezed(text: str) -> str:
    """``text`` without whitespace or table rules: a cell wrapped over lines reads whole."""
    return re.sub(r"[\s│┃]+", "", text)


def listed(what: str) -> list[dict[str, Any]]:
    result = invoke("list", what, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def test_json_cni_has_every_profile_with_every_field_and_source() -> None:
    data = {d["name"]: d for d in listed("cni")}
    assert list(data) == list(CNI_PROFILES)
    for name, profile in CNI_PROFILES.items():
        assert data[name] == profile.model_dump(mode="json")
        assert set(data[name]) == set(type(profile).model_fields)
        assert data[name]["encap_source"] and data[name]["new_flow_source"]
        for side in ("tx", "rx", "tx_overlay", "rx_overlay"):
            assert [s["source"] for s in data[name][side]] == [
                s.source for s in getattr(profile, side)]
    assert data["flannel-vxlan"]["encap_bytes"] == 50


def test_json_proxy_and_testbeds_have_every_entry_with_source() -> None:
    proxy = {d["name"]: d for d in listed("proxy")}
    assert list(proxy) == list(PROXY_MODES)
    for name, mode in PROXY_MODES.items():
        assert proxy[name] == mode.model_dump(mode="json")
        assert proxy[name]["source"] == mode.source
    testbeds = {d["name"]: d for d in listed("testbeds")}
    assert list(testbeds) == list(TESTBEDS)
    for name, tb in TESTBEDS.items():
        assert testbeds[name] == tb.model_dump(mode="json")
        for key in ("source", "tcp_limit_output_bytes", "tcp_timestamps",
                    "ecn_threshold_bytes", "link_loss_rate", "switch_buffer_bytes"):
            assert key in testbeds[name]


def test_json_workloads_have_fields_with_defaults_and_descriptions() -> None:
    data = {d["kind"]: d for d in listed("workloads")}
    assert list(data) == list(WORKLOAD_KINDS)
    for kind, model in WORKLOAD_KINDS.items():
        fields = {f["name"]: f for f in data[kind]["fields"]}
        assert list(fields) == list(model.model_fields)
        assert data[kind]["description"]
    stream = {f["name"]: f for f in data["stream"]["fields"]}
    assert stream["write_bytes"]["default"] == 131072
    assert stream["write_bytes"]["description"] == "bytes per write (iperf3 -l)"
    assert stream["congestion_control"]["type"] == "Literal['cubic', 'reno', 'dctcp']"
    http = {f["name"]: f for f in data["http"]["fields"]}
    assert http["rate_per_s"]["required"] is True
    assert http["response_bytes"]["default"]["dist"] == "exponential"


def test_verbose_cni_names_sources_and_stage_costs() -> None:
    result = invoke("list", "cni", "-v")
    assert result.exit_code == 0, result.stderr
    out = squeezed(result.stdout)
    for profile in CNI_PROFILES.values():
        assert squeezed(profile.encap_source) in out
        assert squeezed(profile.new_flow_source) in out
        for stage in (*profile.tx, *profile.rx, *profile.tx_overlay, *profile.rx_overlay):
            assert squeezed(stage.source) in out, (profile.name, stage.name)
            row = f"{stage.name} ({stage.category}) {stage_cost(stage)} {stage.source}"
            assert squeezed(row) in out, (profile.name, stage.name)
    assert "vxlan, 50 B header" in result.stdout
    assert "underlay MTU - 50" in result.stdout


@pytest.mark.parametrize("what", ["proxy", "testbeds"])
def test_verbose_proxy_and_testbeds_name_sources(what: str) -> None:
    result = invoke("list", what, "--verbose")
    assert result.exit_code == 0, result.stderr
    out = squeezed(result.stdout)
    entries = PROXY_MODES if what == "proxy" else TESTBEDS
    for entry in entries.values():
        assert squeezed(entry.source) in out
    if what == "testbeds":
        for field in ("tcp_limit_output_bytes", "tcp_timestamps", "ecn_threshold_bytes",
                      "link_loss_rate", "switch buffer", "NIC rate"):
            assert field in result.stdout
    else:
        assert "13.5 ns" in result.stdout


def test_verbose_workloads_show_defaults_and_descriptions() -> None:
    result = invoke("list", "workloads", "-v")
    assert result.exit_code == 0, result.stderr
    out = squeezed(result.stdout)
    for kind in WORKLOAD_KINDS:
        assert f"{kind}:" in result.stdout
    assert squeezed("write_bytes int 131072 bytes per write (iperf3 -l)") in out
    assert "(required)" in result.stdout


def test_default_table_unchanged() -> None:
    result = invoke("list", "cni")
    assert result.exit_code == 0
    assert "estimated (no published pod-level data)" in result.stdout
    assert "source" not in result.stdout.split("\n", 3)[1]  # no verbose columns
    assert not result.stdout.lstrip().startswith("[")


def test_bad_what_is_one_line_exit_2() -> None:
    for args in (["list", "routers"], ["list", "routers", "--json"], ["list", "nope", "-v"]):
        result = invoke(*args)
        assert result.exit_code == 2, result.stdout
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("kperf: error: kperf list CATALOG"), lines
        assert "allowed: cni, proxy, testbeds, workloads" in lines[0]
        assert result.stdout == ""


@pytest.mark.parametrize("command", [[], ["run"], ["list"], ["paths"], ["inspect"]])
def test_help_shows_no_bool_metavar(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout and "Show this message and exit." in result.stdout


def test_help_keeps_types_of_options_with_values() -> None:
    result = invoke("run", "--help")
    assert "<path>" in result.stdout and "<int>" in result.stdout and "ADDR" in result.stdout
    listing = invoke("list", "--help").stdout
    assert "--json" in listing and "--verbose" in listing and "-v" in listing


def test_load_balancers_listed_with_sources() -> None:
    """kperf list loadbalancers: every profile, every field in --json, its source and
    its added latency in -v, and a short table naming each."""
    from kperf.profiles import LOAD_BALANCERS

    data = {d["name"]: d for d in listed("loadbalancers")}
    assert list(data) == list(LOAD_BALANCERS) == ["cloud-l4", "metallb-l2"]
    for name, lb in LOAD_BALANCERS.items():
        assert data[name] == lb.model_dump(mode="json") and data[name]["source"]
    verbose = invoke("list", "loadbalancers", "-v")
    assert verbose.exit_code == 0, verbose.stderr
    for lb in LOAD_BALANCERS.values():
        assert squeezed(lb.source) in squeezed(verbose.stdout)
        assert f"{lb.added_latency_us:g} µs" in verbose.stdout
    short = invoke("list", "loadbalancers")
    assert "cloud-l4" in short.stdout and "8 x 10 Gbit/s" in short.stdout

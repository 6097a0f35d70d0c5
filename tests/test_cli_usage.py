"""Usage errors, exit codes, ``--version`` and ``kperf paths`` for large messages (issue 18).

* Every usage error (unknown command or option, missing argument, a value of the wrong
  type or out of range) is one line on stderr, ``kperf: error: ...``, naming the option
  or argument, the value and what is allowed; exit code 2. Click's boxed usage text
  never shows.
* ``--help`` exits 0, ``--version`` prints ``kperf X.Y.Z``, ``typer.Exit(n)`` exits n,
  Ctrl-C exits 130, through ``CliRunner`` and through the console script's ``main()``.
* ``kperf paths --bytes N``: the table breaks down the first chunk (labelled so when
  there are several), and a line gives the whole message's idle latency, which is what
  the engine computes for that message; sizes outside 1 B to 1 GiB are refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kperf.cli.app import KperfGroup, app, fail
from kperf.cli.main import _register
from kperf.cli.paths_cmd import MAX_MESSAGE_BYTES

_register()
runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent
FLANNEL = str(REPO / "experiments" / "clusters" / "two_nodes_flannel.yaml")
PATHS = ["paths", FLANNEL, "--from", "web-0", "--to", "web-1"]


def one_error_line(result: Any) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert "╭" not in result.stderr and "Usage:" not in result.stderr  # no boxed usage text
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr
    assert lines[0].startswith("kperf: error: "), lines[0]
    assert result.stdout == ""
    return lines[0]


USAGE_CASES: list[tuple[list[str], list[str]]] = [
    (["list", "foo"], ["kperf list CATALOG", "got 'foo'", "allowed: cni, proxy, testbeds, "
                                                         "workloads"]),
    (["list"], ["kperf list CATALOG", "missing"]),
    (["list", "cni", "extra"], ["kperf list", "unexpected extra argument", "extra"]),
    (["nope"], ["command: got 'nope'; allowed: ", "inspect", "validate"]),
    (["lsit", "cni"], ["got 'lsit'", "did you mean list?"]),
    (["--bogus"], ["got unknown option '--bogus'", "allowed: --version, --help"]),
    (["inspect"], ["kperf inspect CLUSTER_OR_EXPERIMENT: missing", "required argument",
                   "kperf inspect --help"]),
    (["inspect", "--bogus", "x"], ["kperf inspect: got unknown option '--bogus'",
                                   "allowed: --json, --recreate, --max-rows, --help"]),
    (["inspect", FLANNEL, "--max-rows", "many"], ["--max-rows: got 'many'",
                                                  "allowed: a valid integer"]),
    (["inspect", FLANNEL, "--json=1"], ["--json: got a value", "a flag"]),
    ([*PATHS, "--bytes", "lots"], ["--bytes: got 'lots'",
                                   "allowed: an integer from 1 to 1,073,741,824"]),
    ([*PATHS, "--bytes", "-5"], ["--bytes: got '-5'", "from 1 to 1,073,741,824"]),
    ([*PATHS, "--bytes", "0"], ["--bytes: got '0'", "from 1 to 1,073,741,824"]),
    ([*PATHS, "--bytes", "1e14"], ["--bytes: got '1e14'", "from 1 to 1,073,741,824"]),
    ([*PATHS, "--bytes", str(MAX_MESSAGE_BYTES + 1)],
     [f"--bytes: got '{MAX_MESSAGE_BYTES + 1}'", "from 1 to 1,073,741,824"]),
    ([*PATHS, "--bytes"], ["--bytes: got no value", "--bytes followed by its value"]),
    (["paths", FLANNEL, "--to", "web-1"], ["--from: missing", "required option",
                                           "source pod"]),
    (["run", "x.yaml", "-j", "abc"], ["--workers: got 'abc'"]),
    (["run", "x.yaml", "--out"], ["--out: got no value"]),
]


@pytest.mark.parametrize(("argv", "needles"), USAGE_CASES,
                         ids=[" ".join(Path(a).name for a in argv) for argv, _ in USAGE_CASES])
def test_usage_errors_are_one_line(argv: list[str], needles: list[str]) -> None:
    line = one_error_line(runner.invoke(app, argv))
    for needle in needles:
        assert needle in line, (needle, line)


@pytest.mark.parametrize("argv", [["--help"], ["list", "--help"], ["paths", "--help"],
                                  ["run", "--help"]])
def test_help_exits_0(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.stderr
    assert "Usage" in result.stdout and result.stderr == ""


def test_version() -> None:
    from kperf.version import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"kperf {__version__}\n"


def test_no_arguments_prints_help_and_exits_2() -> None:
    """As before: ``kperf`` alone shows the help (it ran no command, exit 2)."""
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "Commands" in result.stdout and "inspect" in result.stdout
    assert result.stderr == ""


def _toy() -> typer.Typer:
    toy = typer.Typer(cls=KperfGroup, add_completion=False)

    @toy.command()
    def ok() -> None:
        print("fine")

    @toy.command()
    def nonconformant() -> None:
        raise typer.Exit(3)

    @toy.command()
    def interrupted() -> None:
        raise KeyboardInterrupt

    @toy.command()
    def invalid() -> None:
        raise fail("--x: got 'two\nlines'; allowed: one")

    @toy.command()
    def bad_parameter() -> None:
        raise typer.BadParameter("must be even", param_hint="'--n'")

    return toy


@pytest.mark.parametrize(("command", "code"), [("ok", 0), ("nonconformant", 3),
                                               ("interrupted", 130), ("invalid", 2),
                                               ("bad-parameter", 2)])
def test_exit_codes_pass_through(command: str, code: int) -> None:
    result = runner.invoke(_toy(), [command])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    if code == 2:
        one_error_line(result)
    else:
        assert result.stderr == ""


def test_not_standalone_raises_clicks_errors() -> None:
    """A caller that asks for ``standalone_mode=False`` gets Click's exceptions."""
    from kperf.cli.app import click_exc

    command = typer.main.get_command(app)
    with pytest.raises(click_exc.UsageError):
        command.main(["list", "foo"], prog_name="kperf", standalone_mode=False)


def test_console_script_main() -> None:
    """The real entry point (``kperf.cli.main:main``, standalone, sys.exit)."""
    def kperf(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kperf.cli.main", *argv], cwd=REPO,
                              capture_output=True, text=True, timeout=60, check=False)

    bad = kperf("list", "foo")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == ("kperf: error: kperf list CATALOG: got 'foo'; allowed: cni, proxy, "
                          "testbeds, workloads, loadbalancers, mesh\n")
    version = kperf("--version")
    assert version.returncode == 0 and version.stdout.startswith("kperf ")


# --------------------------------------------------------------------------- kperf paths

def _paths_json(nbytes: int) -> dict[str, Any]:
    result = runner.invoke(app, [*PATHS, "--bytes", str(nbytes), "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def _engine_message_us(nbytes: int) -> float:
    """One message through a fresh Simulation, as tests/test_datapath.py measures it."""
    from kperf.cluster import Cluster
    from kperf.engine.sim import Simulation
    from kperf.spec import load_cluster

    cluster = Cluster.build(load_cluster(FLANNEL))
    sim = Simulation(cluster, "10g-xeon-2015")
    flow = sim.open_flow(cluster.pod("web-0"), cluster.pod("web-1"))
    out: list[float] = []
    t0 = 1e-3

    def start() -> None:
        flow.send(nbytes, lambda t: out.append(t - t0))

    sim.at(t0, start)
    sim.run()
    assert len(out) == 1
    return out[0] * 1e6


def test_paths_one_chunk_is_unchanged() -> None:
    result = runner.invoke(app, [*PATHS, "--bytes", "1000"])
    assert result.exit_code == 0
    assert "web-0 -> web-1: cross-node, 1000 B, testbed 10g-xeon-2015" in result.stdout
    assert "chunk" not in result.stdout and "whole message" not in result.stdout
    data = _paths_json(1000)
    assert (data["chunks"], data["chunk_bytes"]) == (1, 1000)
    assert data["message_us"] == pytest.approx(data["total_us"], abs=1e-9)
    assert data["message_dropped_at"] is None


@pytest.mark.parametrize("nbytes", [65536, 1_000_000])
def test_paths_large_message_is_labelled_and_timed(nbytes: int) -> None:
    from kperf.cluster import Cluster
    from kperf.datapath.explain import explain, message_chunks
    from kperf.engine.sim import Simulation
    from kperf.spec import load_cluster

    cluster = Cluster.build(load_cluster(FLANNEL))
    path = Simulation(cluster, "10g-xeon-2015").path(cluster.pod("web-0"),
                                                     cluster.pod("web-1"))
    chunks = message_chunks(path, nbytes)
    assert len(chunks) > 1
    first_total = float(explain(path, nbytes).time_us.sum())

    data = _paths_json(nbytes)
    assert (data["bytes"], data["chunks"], data["chunk_bytes"]) == (nbytes, len(chunks),
                                                                    chunks[0])
    assert data["total_us"] == pytest.approx(first_total, abs=1e-9)  # the table: one chunk
    want = _engine_message_us(nbytes)
    assert data["message_us"] == pytest.approx(want, abs=1e-6)
    assert first_total < data["message_us"] < len(chunks) * first_total  # pipelined

    text = runner.invoke(app, [*PATHS, "--bytes", str(nbytes)]).stdout
    flat = " ".join(text.split())
    assert f"{nbytes:,} B in {len(chunks)} chunks" in flat
    assert f"stages of the first chunk ({chunks[0]:,} B of {nbytes:,})" in flat
    assert "total, first chunk" in flat
    assert f"whole message: {len(chunks)} chunks of {chunks[0]:,} B" in flat
    assert f"{data['message_us']:.3f} µs on the idle path" in flat


def test_paths_message_the_engine_drops_says_so() -> None:
    # 128 MiB on cloud-vm: the receiver's core (about 290 us per 64 KB chunk) falls
    # behind the wire (52 us) and its backlog (netdev_max_backlog, 1000) overflows
    size = str(128 << 20)
    result = runner.invoke(app, [*PATHS, "--bytes", size, "--testbed", "cloud-vm", "--json"])
    data = json.loads(result.stdout)
    assert data["message_us"] is None and data["message_dropped_at"] == "node-2 core 1"
    text = " ".join(runner.invoke(app, [*PATHS, "--bytes", size, "--testbed",
                                        "cloud-vm"]).stdout.split())
    assert "dropped at node-2 core 1 on the idle path" in text


def test_paths_tcp_message_is_not_dropped_at_the_senders_nic() -> None:
    """More chunks at once than the NIC ring holds: TCP's NIC queue pushes back
    (TCP Small Queues and the qdisc), it does not drop (issue 17)."""
    data = _paths_json(8 << 20)
    assert data["message_dropped_at"] is None and data["message_us"] > 0


@pytest.mark.parametrize("offset", [-1, 0, 1])
@pytest.mark.parametrize("multiple", [0, 1, 10])
def test_message_chunks_are_the_engines(offset: int, multiple: int) -> None:
    from kperf.cluster import Cluster
    from kperf.datapath.explain import explain_rows, message_chunks
    from kperf.engine.sim import Simulation
    from kperf.spec import load_cluster

    cluster = Cluster.build(load_cluster(FLANNEL))
    sim = Simulation(cluster, "10g-xeon-2015")
    src, dst = cluster.pod("web-0"), cluster.pod("web-1")
    path = sim.path(src, dst)
    size = path.seg.chunk_payload_bytes
    nbytes = max(1, multiple * size + offset)
    chunks = message_chunks(path, nbytes)
    assert sum(chunks) == nbytes and all(0 < c <= size for c in chunks)
    assert chunks[0] == min(nbytes, size)
    assert explain_rows(path, nbytes) == explain_rows(path, chunks[0])  # unchanged

    def start() -> None:
        sim.send(src, dst, nbytes, lambda t: None)

    sim.at(1e-3, start)
    sim.run()
    assert sim.transit.counters.chunks_sent == len(chunks)

"""Results folders and the run lifecycle (issue 18): a bad --out, a damaged folder,
configurations checked before anything runs, another experiment's folder, two runs
into one folder at once, file modes, and a sweep SIGKILLed at random points.

Real simulations of a tiny experiment (2 nodes, rr with 300 requests: well under a
second per run). Processes are real where the point is a process (the lock, SIGKILL):
``python -m kperf.cli.main``, i.e. the ``kperf`` console script.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.errors import SpecError
from kperf.experiments import load_results, run
from kperf.experiments.lock import LOCK_NAME, acquire
from kperf.experiments.store import RunDataMissing

_register()
runner = CliRunner()

EXPERIMENT = """\
name: faults
seed: 4
replications: 2
testbed: 10g-xeon-2015
cluster:
  nodes: 2
  deployments:
    - {name: client, replicas: 1, placement: node-1}
    - {name: server, replicas: 1, placement: node-2}
  services:
    - {name: server, selector: {app: server}, port: 80}
workload: {kind: rr, target: server, requests: 300, duration_s: 10}
sweep:
  cluster.cni: [flannel-vxlan, calico-bgp]
"""
N_RUNS = 4
KEYS = ["cluster.cni", "replication"]


def kperf(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kperf: error: "), err
    return lines[0]


@pytest.fixture
def exp(tmp_path: Path) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished results folder of EXPERIMENT (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "exp.yaml").write_text(EXPERIMENT)
    res = run(folder / "exp.yaml", folder / "res", progress="off", report=False)
    assert res.ok and len(res.summary) == N_RUNS
    return folder / "res"


@pytest.fixture
def folder(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "res"))


# --------------------------------------------------------------------------- 1. --out


@pytest.mark.parametrize(("out", "needle"), [
    ("afile", "'afile'; is a file, not a folder; allowed: a folder"),
    ("afile/sub", "'afile/sub'; afile is a file, so no folder can be created under it"),
])
def test_out_that_is_a_file_or_under_one_is_one_line(
    exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    code, _, err = kperf("run", str(exp), "--out", out, "--serial", "--no-report")
    line = one_error_line(err)
    assert code == 2 and line.startswith("kperf: error: --out: got ") and needle in line
    assert (tmp_path / "afile").read_text() == "not a folder"


@pytest.mark.parametrize("out", ["/sys/kperf-test-out", "/proc/kperf-test-out/deeper"])
def test_out_that_cannot_be_created_is_one_line(exp: Path, out: str) -> None:
    if not Path("/" + out.split("/")[1]).is_dir():
        pytest.skip("no /sys or /proc here")
    code, _, err = kperf("run", str(exp), "--out", out, "--serial", "--no-report")
    line = one_error_line(err)
    assert code == 2 and line.startswith(f"kperf: error: --out: got {out!r}; cannot create")
    assert "allowed: a folder you can create and write to" in line


# --------------------------------------------------------------------------- 2. damage


def test_a_damaged_summary_is_rebuilt_by_report_and_plot(folder: Path) -> None:
    original = pd.read_parquet(folder / "summary.parquet")
    os.truncate(folder / "summary.parquet", 100)
    # the Python API rebuilds it in memory...
    pd.testing.assert_frame_equal(load_results(folder).summary, original)
    # ...and kperf report writes it back, with summary.csv
    code, out, err = kperf("report", str(folder), "--no-plots")
    assert code == 0 and "report.md" in out
    assert "summary.parquet was unreadable (ArrowInvalid); rebuilt it" in err
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "summary.parquet"), original)
    os.truncate(folder / "summary.parquet", 100)
    (folder / "summary.csv").write_text("garbage")
    code, out, err = kperf("plot", str(folder), "--format", "png")
    assert code == 0 and "latency_breakdown" in out and "rebuilt it" in err
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "summary.parquet"), original)
    assert list(pd.read_csv(folder / "summary.csv").run_id) == list(original.run_id)


def test_a_damaged_summary_that_runs_cannot_rebuild_is_refused(folder: Path) -> None:
    os.truncate(folder / "summary.parquet", 100)
    shutil.rmtree(folder / "runs")
    for args in (["report", str(folder), "--no-plots"], ["plot", str(folder)]):
        code, _, err = kperf(*args)
        line = one_error_line(err)
        assert code == 2 and f"{folder / 'summary.parquet'}: got 'unreadable (ArrowInvalid)'" \
            in line
        assert f"runs/ holds 0 of the {N_RUNS} finished runs" in line and "--out" in line
    with pytest.raises(SpecError, match="cannot be rebuilt"):
        load_results(folder)
    assert not (folder / "report.md").exists()


def test_a_deleted_or_damaged_run_table_is_a_one_line_error_and_reruns(
    folder: Path, tmp_path: Path
) -> None:
    res = load_results(folder)
    first, second = res.summary.run_id[0], res.summary.run_id[1]
    (folder / "runs" / f"{first}.breakdown.parquet").unlink()
    os.truncate(folder / "runs" / f"{second}.resources.parquet", 100)
    with pytest.raises(RunDataMissing) as info:
        res.breakdown(0)
    assert isinstance(info.value, SpecError) and isinstance(info.value, FileNotFoundError)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"breakdown: got {first!r}; ")
    assert f"runs/{first}.breakdown.parquet in {folder} is missing" in text
    with pytest.raises(RunDataMissing, match=r"resources\.parquet .* is damaged"):
        res.resources(second)
    with pytest.raises(RunDataMissing, match="keep_samples"):
        res.samples(0)
    with pytest.raises(SpecError, match=r"run: got 99; allowed: a row of the summary \(0 to 3\)"):
        res.record(99)
    # both runs count as unfinished: the next kperf run recomputes exactly them
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    code, _, err = kperf("run", str(tmp_path / "exp.yaml"), "--out", str(folder), "--serial",
                         "--no-report")
    assert code == 0 and f"{N_RUNS} runs ({N_RUNS - 2} already done)" in err
    again = load_results(folder)
    assert len(again.breakdown(0)) and len(again.resources(1))
    pd.testing.assert_frame_equal(again.summary, res.summary)


# --------------------------------------------------------------------------- 3. checks first


@pytest.mark.parametrize(("edit", "needle"), [
    (("replicas: 1, placement: node-2", "replicas: 500"),
     "cluster.deployments.1.replicas: got 500; 500 pods do not fit"),
    (("target: server", "target: svc/nope"),
     "workload.target: got 'svc/nope'; allowed: svc/ and a Service of the cluster"),
    (("kind: rr,", "kind: rr, clients: nope,"),
     "workload.clients: got 'nope'; allowed: a deployment of the cluster (client, server)"),
    (("target: server", "target: ghost"),
     "workload.target: got 'ghost'; allowed: a deployment of the cluster"),
    (("cluster.cni: [flannel-vxlan, calico-bgp]",
      "cluster.cni: [flannel-vxlan]\n  workload.locality: [cross-node, same-node]"),
     "workload.locality: got 'same-node'; no target pod is same-node for client client-0"),
    (("cluster.cni: [flannel-vxlan, calico-bgp]", "cluster.deployments.1.replicas: [1, 300]"),
     "(in sweep configuration cluster.deployments.1.replicas=300)"),
])
def test_every_configuration_is_checked_before_anything_runs(
    exp: Path, tmp_path: Path, edit: tuple[str, str], needle: str
) -> None:
    assert edit[0] in EXPERIMENT
    exp.write_text(EXPERIMENT.replace(*edit))
    code, _, err = kperf("run", str(exp), "--out", str(tmp_path / "r"), "--serial")
    line = one_error_line(err)
    assert code == 2 and needle in line
    assert not (tmp_path / "r").exists()  # nothing ran, nothing was created

    calls: list[int] = []

    def simulate(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        raise AssertionError("nothing may run")

    with pytest.raises(SpecError) as info:
        run(exp, tmp_path / "api", progress="off", simulate_fn=simulate)
    assert needle in str(info.value) and calls == [] and not (tmp_path / "api").exists()


# --------------------------------------------------------------------------- 4. another experiment


def test_another_experiments_folder_is_refused_unless_force(
    folder: Path, tmp_path: Path
) -> None:
    (folder / "plots").mkdir()
    (folder / "plots" / "latency_breakdown.png").write_bytes(b"png")
    (folder / "report.md").write_text("A's report")
    (folder / "notes.txt").write_text("the user's own")
    before = pd.read_parquet(folder / "summary.parquet")
    other = tmp_path / "other.yaml"
    other.write_text(EXPERIMENT.replace("name: faults", "name: other").replace(
        "[flannel-vxlan, calico-bgp]", "[cilium-native]"))
    args = ("run", str(other), "--out", str(folder), "--serial", "--no-report")
    code, _, err = kperf(*args)
    line = one_error_line(err)
    assert code == 2 and "holds the results of experiment 'faults'" in line
    assert "not 'other'" in line and "--force" in line
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "summary.parquet"), before)
    assert len(list((folder / "runs").glob("*.json"))) == N_RUNS

    code, _, err = kperf(*args, "--force")
    assert code == 0, err
    assert (f"kperf: --force: {folder} held experiment 'faults'; removed its results "
            f"({N_RUNS} runs, 1 plot file, report.md, summary.csv, summary.parquet, "
            "manifest.json; left in place (not written by kperf run): notes.txt); running "
            "'other' there") in err
    res = load_results(folder)
    assert res.name == "other" and list(res.summary["cluster.cni"]) == ["cilium-native"] * 2
    assert sorted(p.name for p in (folder / "runs").glob("*.json")) == sorted(
        f"{r}.json" for r in res.summary.run_id)
    assert not (folder / "plots").exists() and not (folder / "report.md").exists()
    assert (folder / "notes.txt").read_text() == "the user's own"
    assert [s.get("replaced", {}).get("experiment") for s in res.manifest["sessions"]] == [
        "faults"]


# --------------------------------------------------------------------------- 5. the lock


def test_a_held_lock_is_refused_and_a_stale_one_taken_over(exp: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    args = ("run", str(exp), "--out", str(out), "--serial", "--no-report")
    with acquire(out, "held by the test"):
        code, _, err = kperf(*args)
        line = one_error_line(err)
        assert code == 2 and f"another kperf run (pid {os.getpid()} on " in line
        assert f"({out / LOCK_NAME})" in line and "use another --out" in line
    assert not (out / LOCK_NAME).exists()  # released and removed
    # a lock file left by a process that died (SIGKILL): taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                             "started_at": "2026-01-01T00:00:00+00:00"}))
    code, _, err = kperf(*args)
    assert code == 0, err
    assert f"kperf: took over the stale lock {out / LOCK_NAME} of pid {dead.pid}" in err
    assert not (out / LOCK_NAME).exists()


def _cli(*args: str, cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kperf.cli.main", *args], cwd=cwd,
                            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL, SIGSTOP, sessions")


@pytest.mark.slow
@POSIX_ONLY
def test_two_runs_into_one_folder_at_once(exp: Path, tmp_path: Path) -> None:
    exp.write_text(EXPERIMENT.replace("requests: 300", "requests: 3000"))
    args = ("run", str(exp), "--out", "r", "--serial", "--no-report")
    first = _cli(*args, cwd=tmp_path)
    lines = _Lines(first)
    lock, holder = tmp_path / "r" / LOCK_NAME, None
    deadline = time.monotonic() + 60
    while holder != first.pid and first.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            holder = json.loads(lock.read_text()).get("pid")
        time.sleep(0.002)
    # it holds the lock (its pid is in the file once it does): stop it there, for as
    # long as the second one takes
    first.send_signal(signal.SIGSTOP)
    try:
        assert holder == first.pid, lines.lines
        second = subprocess.run([sys.executable, "-m", "kperf.cli.main", *args], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=120) == 0, lines.lines
    lines.join()
    assert second.returncode == 2
    line = one_error_line(second.stderr)
    assert (f"--out: got 'r'; another kperf run (pid {first.pid} on {socket.gethostname()} "
            "since ") in line and "is writing to this folder (r/kperf.lock)" in line
    res = load_results(tmp_path / "r")
    assert res.ok and len(res.summary) == N_RUNS and not res.summary[KEYS].duplicated().any()
    assert [(s["skipped"], s["ran"]) for s in res.manifest["sessions"]] == [(0, N_RUNS)]
    assert not (tmp_path / "r" / LOCK_NAME).exists()


# --------------------------------------------------------------------------- 6. file modes


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_result_files_follow_the_umask(exp: Path, tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        run(exp, tmp_path / "r", progress="off", report=False)
    finally:
        os.umask(old)
    files = [tmp_path / "r" / n for n in ("summary.csv", "summary.parquet", "manifest.json")]
    files += sorted((tmp_path / "r" / "runs").iterdir())
    assert len(files) == 3 + 3 * N_RUNS  # record, breakdown and resources of each run
    modes = {f.name: oct(f.stat().st_mode & 0o777) for f in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "manifest.json", "runs", "summary.csv", "summary.parquet"]


# --------------------------------------------------------------------------- 7. SIGKILL


class _Lines:
    """Collects a process's stderr lines as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def finished_runs(self) -> int:
        return sum(1 for line in list(self.lines) if line.startswith("["))

    def started(self) -> bool:
        return any(line.startswith("kperf: ") and " runs" in line for line in list(self.lines))

    def join(self) -> None:
        self._thread.join(timeout=30)


def _kill_at(proc: subprocess.Popen[str], lines: _Lines, after: int, delay: float) -> None:
    """SIGKILL ``proc`` ``delay`` s after its ``after``-th finished run (0: after it
    announced the sweep; -1: ``delay`` s after it started, i.e. anywhere from the
    imports and checks on)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if after < 0 or (lines.started() and lines.finished_runs() >= after):
            break
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


SWEEP = EXPERIMENT.replace("[flannel-vxlan, calico-bgp]",
                           "[flannel-vxlan, calico-bgp, cilium-native]\n"
                           "  workload.outstanding: [1, 3]")
SWEEP_RUNS = 12


@pytest.mark.slow
@POSIX_ONLY
def test_sigkill_at_random_points_then_rerun_gives_the_uninterrupted_summary(
    tmp_path: Path,
) -> None:
    (tmp_path / "exp.yaml").write_text(SWEEP)
    clean = run(tmp_path / "exp.yaml", tmp_path / "clean", progress="off", report=False)
    assert clean.ok and len(clean.summary) == SWEEP_RUNS
    keys = ["cluster.cni", "workload.outstanding", "replication"]
    killed_with_work_done = took_over = 0
    for seed, extra in ((1, ()), (2, ()), (3, ("--workers", "2"))):
        rng = np.random.default_rng(seed)
        out = f"r{seed}"
        args = ("run", "exp.yaml", "--out", out, "--no-report", *(extra or ("--serial",)))
        for kill in range(2):
            # first at a random time from start-up on (imports, checks, lock...), then
            # a few ms after a random one of the runs still to do (while the next one
            # runs or is written) or after the last one (summary, manifest)
            done = len(list((tmp_path / out / "runs").glob("*.json")))
            after = -1 if kill == 0 else int(rng.integers(0, SWEEP_RUNS - done + 1))
            delay = float(rng.uniform(0.3, 2.5) if after < 0 else rng.uniform(0.0, 0.1))
            proc = _cli(*args, cwd=tmp_path, start_new_session=True)
            lines = _Lines(proc)
            _kill_at(proc, lines, after, delay)
            lines.join()
            took_over += any("took over the stale lock" in line for line in lines.lines)
            if proc.returncode == -signal.SIGKILL and (tmp_path / out / "runs").is_dir():
                killed_with_work_done += any((tmp_path / out / "runs").glob("*.json"))
            assert _group_gone(proc.pid)  # pool processes lose their parent, then exit
        proc = _cli(*args, cwd=tmp_path)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        took_over += "took over the stale lock" in err
        res = load_results(tmp_path / out)
        pd.testing.assert_frame_equal(res.summary, clean.summary)  # same rows, same numbers
        assert res.ok and not res.summary[keys].duplicated().any()
        assert sorted(p.name for p in (tmp_path / out / "runs").iterdir()) == sorted(
            f"{r}.{t}" for r in clean.summary.run_id
            for t in ("json", "breakdown.parquet", "resources.parquet"))
        assert not (tmp_path / out / LOCK_NAME).exists()
        assert not list((tmp_path / out).glob(".*.tmp"))
    assert killed_with_work_done >= 2  # kills did land mid-sweep...
    assert took_over >= 1  # ...holding the lock, which the next run took over


def _group_gone(pgid: int, timeout: float = 30.0) -> bool:
    """Whether every process of the process group ``pgid`` (a killed ``kperf run``
    started in its own session, and the workers it spawned) ends within ``timeout``
    (zombies waiting to be reaped count as ended); any left then are killed."""
    deadline = time.monotonic() + timeout
    while (left := _running_in_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return not left


def _running_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (Linux /proc; [] elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found

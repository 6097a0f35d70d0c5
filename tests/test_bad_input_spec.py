"""Bad input at the spec and loader level (issue 18): every case is one SpecError line
naming the field (or the file, line and column), the value and what is allowed.

1. non-finite numbers in every spec model; 2. upper bounds that keep a run finite;
3. YAML alias bombs and bounded error text; 4. non-UTF-8 files and deep nesting;
5. booleans are not numbers; 6. duplicate keys, Kubernetes names and labels.
Plus what already worked: malformed YAML with file:line:col, folder-escaping names.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

import kperf.calibration.cases  # noqa: F401  (its models are spec models too)
import kperf.cli.main as cli_main
from kperf.calibration.cases import load_cases
from kperf.errors import SpecError
from kperf.profiles import base as profile_models
from kperf.spec import ClusterSpec, load_cluster, parse, read_yaml
from kperf.spec.base import (
    MAX_DURATION_S,
    MAX_MESSAGE_BYTES,
    MAX_NODES,
    MAX_RATE_PER_S,
    StrictModel,
)
from kperf.spec.experiment import ExperimentSpec, resolve_testbed
from kperf.spec.loader import MAX_ALIAS_EXPANSION, MAX_FILE_BYTES, MAX_NESTING

ROOT = Path(__file__).resolve().parent.parent

BASE: dict[str, Any] = {
    "name": "t",
    "cluster": {
        "nodes": 2,
        "deployments": [{"name": "client"}, {"name": "server"}],
        "services": [{"name": "server", "selector": {"app": "server"}}],
    },
    "workload": {"kind": "rr", "target": "server"},
}

HTTP = {"kind": "http", "target": "svc/server", "rate_per_s": 100.0,
        "request_bytes": {"mean": 300}, "response_bytes": {"dist": "exponential", "mean": 2000},
        "service_us": {"dist": "lognormal", "mean": 100, "cv": 2}}


def experiment(**changes: Any) -> dict[str, Any]:
    """BASE with top-level keys replaced (``workload``, ``testbed``, ``cluster``...)."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


def with_value(path: str, value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """``data`` (default BASE) with ``value`` at the dotted ``path``."""
    data = copy.deepcopy(BASE if data is None else data)
    *parents, last = path.split(".")
    cur: Any = data
    for part in parents:
        cur = cur[int(part)] if isinstance(cur, list) else cur.setdefault(part, {})
    cur[int(last) if isinstance(cur, list) else last] = value
    return data


def exp_error(data: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_data(data)
    assert "\n" not in str(info.value)
    return info.value


def yaml_error(tmp_path: Path, content: str | bytes, name: str = "spec.yaml") -> SpecError:
    f = tmp_path / name
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        read_yaml(f)
    assert str(f) in info.value.path, "the error names the file"
    assert len(str(info.value).splitlines()) == 1
    return info.value


# ------------------------------------------------------------------- the CLI promise

cli_main._register()
runner = CliRunner()


def cli_error(*args: str) -> str:
    """``kperf ARGS`` must exit 2 with exactly one line on stderr and no traceback."""
    result = runner.invoke(cli_main.app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kperf: error: "), result.stderr
    return lines[0]


def write_yaml(tmp_path: Path, data: Any, name: str = "exp.yaml") -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(data))  # JSON is YAML; ".inf" is written below where needed
    return f


# ------------------------------------------------------------------- 1. non-finite numbers

NON_FINITE_PATHS = [
    ("workload.duration_s", BASE),
    ("workload.warmup_s", BASE),
    ("workload.rate_per_s", BASE),
    ("workload.app_service_us", BASE),
    ("workload.rate_per_s", experiment(workload=HTTP)),
    ("workload.service_us.mean", experiment(workload=HTTP)),
    ("workload.response_bytes.mean", experiment(workload=HTTP)),
    ("workload.request_bytes.mean", experiment(workload=HTTP)),
    ("workload.service_us.cv", experiment(workload=HTTP)),
    ("testbed.cpu_speed_factor", experiment(testbed={"base": "10g-xeon-2015"})),
    ("testbed.nic_rate_gbps", experiment(testbed={"base": "10g-xeon-2015"})),
    ("testbed.link_delay_us", experiment(testbed={})),
    ("testbed.crypto_speed_factors.wireguard", experiment(testbed={})),
    ("cluster.nodes", BASE),
]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
@pytest.mark.parametrize(("path", "data"), NON_FINITE_PATHS,
                         ids=[p for p, _ in NON_FINITE_PATHS])
def test_non_finite_numbers_are_rejected_at_load(path: str, data: dict[str, Any],
                                                 value: float) -> None:
    e = exp_error(with_value(path, value, data))
    assert e.path == path
    assert "allowed: a finite number" in e.allowed


def test_inf_from_yaml_text_is_rejected(tmp_path: Path) -> None:
    for key in ("duration_s", "warmup_s"):
        f = tmp_path / f"{key}.yaml"
        f.write_text(f"name: t\nworkload:\n  kind: rr\n  {key}: .inf\n")
        with pytest.raises(SpecError) as info:
            ExperimentSpec.load(f)
        assert info.value.path == f"workload.{key}"
        assert str(info.value) == f"workload.{key}: got inf; allowed: a finite number"
    # a float literal too large for a double is inf as well
    f = tmp_path / "overflow.yaml"
    f.write_text("name: t\nworkload: {kind: http, rate_per_s: 1.0e+999}\n")
    with pytest.raises(SpecError, match="rate_per_s: got inf; allowed: a finite number"):
        ExperimentSpec.load(f)


def test_non_finite_in_sweep_and_cluster_and_testbed_override() -> None:
    e = exp_error(experiment(sweep={"workload.duration_s": [0.01, math.inf]}))
    assert e.path == "sweep.workload.duration_s" and "finite" in e.allowed
    with pytest.raises(SpecError, match="start_s: got inf; allowed: a finite number"):
        parse(ClusterSpec, {"deployments": [{"name": "web"}],
                            "rolling_updates": [{"deployment": "web", "start_s": math.inf}]})
    with pytest.raises(SpecError, match=r"testbed\.nic_rate_gbps: got inf"):
        resolve_testbed({"base": "10g-xeon-2015", "nic_rate_gbps": math.inf})


def _all_subclasses(cls: type) -> list[type]:
    out: list[type] = []
    sub: type
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def test_every_spec_and_profile_model_refuses_non_finite_numbers() -> None:
    models = _all_subclasses(StrictModel)
    assert len(models) >= 15  # cluster, workload, experiment and calibration models
    models += [profile_models.StageCost, profile_models.CniProfile, profile_models.Testbed,
               profile_models.ProxyMode]
    for model in models:
        assert issubclass(model, BaseModel)
        assert model.model_config.get("allow_inf_nan") is False, model


# ------------------------------------------------------------------- 2. upper bounds

BOUNDS = [
    # (path, data, too big, the bound text)
    ("workload.rate_per_s", BASE, 1e12, "at most 10000000 per second"),
    ("workload.rate_per_s", experiment(workload=HTTP), 1e12, "at most 10000000 per second"),
    ("workload.rate_per_s",
     experiment(workload={"kind": "callgraph", "backends": ["server"], "rate_per_s": 10}),
     1e12, "at most 10000000 per second"),
    ("workload.request_bytes", BASE, 10**15, "at most 1073741824 bytes"),
    ("workload.request_bytes", BASE, 1e15, "at most 1073741824 bytes"),
    ("workload.response_bytes", BASE, MAX_MESSAGE_BYTES + 1, "at most 1073741824 bytes"),
    ("workload.request_bytes.mean", experiment(workload=HTTP), 1e15,
     "at most 1073741824 bytes"),
    ("workload.response_bytes.mean", experiment(workload=HTTP), 2**31,
     "at most 1073741824 bytes"),
    ("workload.service_us.mean", experiment(workload=HTTP), 1e12,
     "at most 3600000000 microseconds"),
    ("workload.service_us.cv", experiment(workload=HTTP), 1000, "at most 10"),
    ("workload.write_bytes", experiment(workload={"kind": "stream"}), 2**40,
     "at most 1073741824 bytes"),
    ("workload.window_bytes", experiment(workload={"kind": "stream"}), 2**40,
     "at most 1073741824 bytes"),
    ("workload.streams", experiment(workload={"kind": "stream"}), 10**6, "at most 1024"),
    ("workload.duration_s", BASE, 1e9, "at most 3600 seconds"),
    ("workload.warmup_s", BASE, MAX_DURATION_S * 2, "at most 3600 seconds"),
    ("workload.outstanding", BASE, 10**9, "at most 10000 requests"),
    ("workload.app_service_us", BASE, 1e300, "at most 3600000000 microseconds"),
    ("cluster.nodes", BASE, 10**9, f"at most {MAX_NODES} nodes"),
    ("cluster.max_pods_per_node", BASE, 10**12, "at most 2048 pods"),
    ("cluster.deployments.0.replicas", BASE, 10**12, "at most 1000000 pods"),
    ("cluster.deployments.0.app_workers", BASE, 10**12, "at most 10000 workers"),
    ("replications", BASE, 10**9, "at most 10000 replications"),
    ("testbed.cores_per_node", experiment(testbed={"base": "10g-xeon-2015"}), 10**9,
     "at most 1024 cores"),
    ("testbed.nic_rate_gbps", experiment(testbed={}), 1e12, "at most 10000 Gb/s"),
    ("testbed.cpu_speed_factor", experiment(testbed={}), 1e12, "at most 10000"),
]


@pytest.mark.parametrize(("path", "data", "value", "bound"), BOUNDS,
                         ids=[f"{p}={v:g}" for p, _, v, _ in BOUNDS])
def test_huge_values_are_rejected_naming_the_bound(path: str, data: dict[str, Any],
                                                   value: float, bound: str) -> None:
    start = time.perf_counter()
    e = exp_error(with_value(path, value, data))
    assert time.perf_counter() - start < 1.0
    assert e.path == path
    assert f"allowed: {bound}" in e.allowed


def test_bounds_themselves_are_accepted() -> None:
    ok = ExperimentSpec.from_data(with_value("workload.request_bytes", MAX_MESSAGE_BYTES))
    assert ok.workloads[0].request_bytes == MAX_MESSAGE_BYTES
    ok = ExperimentSpec.from_data(with_value("workload.rate_per_s", MAX_RATE_PER_S))
    assert ok.workloads[0].rate_per_s == MAX_RATE_PER_S
    ok = ExperimentSpec.from_data(with_value("workload.duration_s", MAX_DURATION_S))
    assert ok.workloads[0].duration_s == MAX_DURATION_S


def test_total_pods_and_sweep_runs_are_bounded() -> None:
    e = exp_error(with_value("cluster.deployments", [{"name": "a", "replicas": 600_000},
                                                     {"name": "b", "replicas": 600_000}]))
    assert e.path == "cluster.deployments.1.replicas"
    assert "allowed: at most 1000000 pods" in e.allowed
    e = exp_error(experiment(replications=1000, sweep={"workload.request_bytes":
                                                       list(range(1, 201))}))
    assert e.path == "sweep.workload.request_bytes" and "at most 100000 runs" in e.allowed


def test_shipped_experiments_and_cases_still_validate() -> None:
    for f in sorted((ROOT / "experiments").glob("*.yaml")):
        ExperimentSpec.load(f)
    for f in sorted((ROOT / "experiments" / "clusters").glob("*.yaml")):
        load_cluster(f)
    assert load_cases()


def test_cli_huge_rate_exits_2(tmp_path: Path) -> None:
    f = write_yaml(tmp_path, with_value("workload.rate_per_s", 1e12))
    line = cli_error("run", str(f), "--out", str(tmp_path / "out"), "--serial", "--no-report")
    assert "workload.rate_per_s: got 1000000000000.0; allowed: at most 10000000" in line


# ------------------------------------------------------------------- 3. alias bombs

BILLION_LAUGHS = (  # the classic 342-byte document: 9 levels of 9 aliases (9**9 'lol')
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
              for p, n in zip("abcdefgh", "bcdefghi", strict=True))
)


def test_the_bomb_is_342_bytes() -> None:
    assert len(BILLION_LAUGHS.encode()) == 342


def test_alias_bomb_fails_fast_naming_file_and_line(tmp_path: Path) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    e = yaml_error(tmp_path, BILLION_LAUGHS)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 2.0 and peak < 20 * 2**20, (seconds, peak)
    assert e.path.endswith(":6:14")  # the alias that passes the limit, in line f
    assert f"allowed: at most {MAX_ALIAS_EXPANSION}" in e.allowed


_MEASURE = """
import sys, time
start = time.perf_counter()
from kperf.errors import SpecError
from kperf.spec.experiment import ExperimentSpec
try:
    ExperimentSpec.load(sys.argv[1])
except SpecError as exc:
    message = str(exc)
else:
    message = ""
# VmHWM: this address space's peak resident set (ru_maxrss would include the peak of
# the process that forked us, which Linux carries across exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(time.perf_counter() - start, hwm)
print(message)
"""


@pytest.mark.parametrize("where", ["top", "in-a-field"])
def test_alias_bomb_in_a_subprocess_under_2s_and_200mb(tmp_path: Path, where: str) -> None:
    text = BILLION_LAUGHS if where == "top" else (
        BILLION_LAUGHS + "name: *i\nworkload: {kind: rr, target: *i}\n")
    f = tmp_path / "bomb.yaml"
    f.write_text(text)
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(f)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    first, message = proc.stdout.splitlines()[:2]
    seconds, maxrss_kb = (float(x) for x in first.split())
    assert seconds < 2.0, seconds
    assert maxrss_kb < 200 * 1024, maxrss_kb
    assert str(f) in message and "aliases expand the document" in message


def test_alias_bomb_through_the_cli(tmp_path: Path) -> None:
    f = tmp_path / "bomb.yaml"
    f.write_text(BILLION_LAUGHS)
    assert str(f) in cli_error("inspect", str(f))
    assert str(f) in cli_error("run", str(f), "--out", str(tmp_path / "o"), "--serial")


def test_a_long_string_repeated_by_aliases_is_a_bomb_too(tmp_path: Path) -> None:
    text = f"s: &s {'x' * 1000}\nl: [{', '.join(['*s'] * 2000)}]\n"
    e = yaml_error(tmp_path, text)
    assert "aliases expand the document" in e.allowed


def test_modest_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    f = tmp_path / "anchors.yaml"
    f.write_text(
        "name: t\n"
        "cluster:\n"
        "  deployments:\n"
        "    - &dep {name: client, replicas: 2, app_workers: 2}\n"
        "    - {<<: *dep, name: server}\n"
        "workload: {kind: rr, target: server}\n"
    )
    spec = ExperimentSpec.load(f)
    assert [(d.name, d.replicas, d.app_workers) for d in spec.cluster.deployments] == [
        ("client", 2, 2), ("server", 2, 2)]


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "name: t\nnodes: &n [1, *n]\n")
    assert e.path.endswith(":2:15") and "recursive" in e.allowed


def test_error_text_of_a_huge_value_is_bounded_and_fast() -> None:
    value: Any = ["lol"] * 9
    for _ in range(8):
        value = [value] * 9  # shared, as YAML aliases are: 9**9 leaves when expanded
    start = time.perf_counter()
    e = SpecError("name", value, "allowed: a string")
    assert time.perf_counter() - start < 0.1
    assert len(str(e)) < 200
    one = SpecError("a\nb", "x\ny" * 1000, "allowed:\u2028this")
    assert len(str(one).splitlines()) == 1 and len(str(one)) < 300
    assert "<int>" in str(SpecError("seed", 10**5000, "allowed: a number"))


def test_files_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_bytes(b"a: " + b"x" * MAX_FILE_BYTES + b"\n")
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        read_yaml(f)
    assert time.perf_counter() - start < 1.0
    assert info.value.path == str(f)
    assert info.value.value == f"{MAX_FILE_BYTES + 4} bytes"
    assert f"allowed: at most {MAX_FILE_BYTES} bytes" in info.value.allowed
    if Path("/dev/zero").exists():  # a device: no size, endless bytes
        with pytest.raises(SpecError, match="got 'more than 10485760 bytes'; file too large"):
            read_yaml("/dev/zero")


# ------------------------------------------------------------------- 4. encoding, nesting

def test_non_utf8_file_names_file_line_and_column(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "name: t\ndescription: caf\u00e9\n".encode("latin-1"))
    assert e.path.endswith("spec.yaml:2:17")
    assert e.value == b"\xe9" and "UTF-8" in e.allowed
    e = yaml_error(tmp_path, "nodes: 2\n".encode("utf-16"))  # a BOM, then UTF-16
    assert e.path.endswith(":1:1")


def test_control_characters_name_file_line_and_column(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "nodes: 2\ncni: fl\x00annel\n")
    assert e.path.endswith(":2:8") and "malformed YAML" in e.allowed


@pytest.mark.parametrize("text", [
    "nodes: " + "[" * 5000 + "\n",
    "nodes: " + "{a: " * 5000 + "\n",
    "nodes: " + "[\n" * 5000,
    "nodes:\n" + "".join(" " * i + "-\n" for i in range(1, 1000)),
], ids=["brackets", "flow-mappings", "brackets-on-lines", "block-sequences"])
def test_5000_nested_collections_are_one_line(tmp_path: Path, text: str) -> None:
    start = time.perf_counter()
    e = yaml_error(tmp_path, text)
    assert time.perf_counter() - start < 2.0
    assert e.allowed == (f"collections nested more than {MAX_NESTING} deep; allowed: at "
                         f"most {MAX_NESTING} levels")


def test_nesting_limit_points_at_the_collection_past_it(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "a:\n  b: " + "[" * 70 + "]" * 70 + "\n")
    assert e.path.endswith(f":2:{6 + MAX_NESTING - 2}")  # a and b's mappings are 2 levels
    assert e.value.startswith("[[[")
    ok = "a: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "\n"
    (tmp_path / "ok.yaml").write_text(ok)
    assert read_yaml(tmp_path / "ok.yaml")["a"]


def test_deep_nesting_and_non_utf8_through_the_cli(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("nodes: " + "[" * 5000 + "\n")
    assert "allowed: at most 64 levels" in cli_error("inspect", str(deep))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("# caf\u00e9\nnodes: 2\n".encode("latin-1"))
    assert f"{latin}:1:6" in cli_error("inspect", str(latin))


def test_values_python_cannot_convert_are_one_line(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "name: t\nseed: " + "1" * 5000 + "\n")
    assert e.path.endswith(":2:7") and "cannot read this value" in e.allowed
    e = yaml_error(tmp_path, "name: t\ndescription: 2024-13-45\n")
    assert e.path.endswith(":2:14") and "month must be in 1..12" in e.allowed


# ------------------------------------------------------------------- 5. booleans

BOOLEANS = [
    ("cluster.nodes", BASE, "a whole number"),
    ("cluster.deployments.0.replicas", BASE, "a whole number"),
    ("cluster.services.0.port", BASE, "a whole number"),
    ("cluster.max_pods_per_node", BASE, "a whole number"),
    ("workload.request_bytes", BASE, "a whole number"),
    ("workload.duration_s", BASE, "a finite number"),
    ("workload.rate_per_s", BASE, "a finite number"),
    ("workload.service_us.mean", experiment(workload=HTTP), "a finite number"),
    ("workload.0.outstanding", experiment(workload=[{"kind": "rr"}]), "a whole number"),
    ("replications", BASE, "a whole number"),
    ("seed", BASE, "a whole number"),
    ("testbed.cores_per_node", experiment(testbed={"base": "10g-xeon-2015"}),
     "a whole number"),
    ("testbed.host_tx", experiment(testbed={}), "a finite number"),
]


@pytest.mark.parametrize(("path", "data", "allowed"), BOOLEANS, ids=[b[0] for b in BOOLEANS])
def test_booleans_are_not_numbers(path: str, data: dict[str, Any], allowed: str) -> None:
    value: Any = True
    if path == "testbed.host_tx":
        value = [{"name": "x", "category": "stack", "per_message_us": True}]
    e = exp_error(with_value(path, value, data))
    expected = path + (".0.per_message_us" if path == "testbed.host_tx" else "")
    assert e.path == expected
    assert e.allowed == f"allowed: {allowed}"


def test_booleans_still_fill_boolean_fields() -> None:
    spec = ExperimentSpec.from_data(experiment(
        keep_samples=True, workload={**HTTP, "keepalive": False},
        testbed={"base": "10g-xeon-2015", "tso": False}))
    assert spec.keep_samples is True and spec.resolved_testbed.tso is False


def test_nodes_true_through_the_cli(tmp_path: Path) -> None:
    f = tmp_path / "cluster.yaml"
    f.write_text("nodes: true\n")
    assert cli_error("inspect", str(f)).endswith(
        "nodes: got True; allowed: a whole number")


# ------------------------------------------------------------------- 6. accepted but wrong

@pytest.mark.parametrize(("text", "where", "key", "first"), [
    ("nodes: 2\ncni: flannel-vxlan\nnodes: 3\n", ":3:1", "nodes", 1),
    ("deployments:\n  - name: web\n    replicas: 2\n    replicas: 3\n", ":4:5", "replicas", 3),
    ("services: [{name: a, port: 80, port: 81}]\n", ":1:32", "port", 1),
])
def test_duplicate_keys_name_the_key_and_line(tmp_path: Path, text: str, where: str,
                                              key: str, first: int) -> None:
    e = yaml_error(tmp_path, text)
    assert e.path.endswith(where) and e.value == key
    assert f"duplicate key (first on line {first})" in e.allowed


def test_duplicate_key_through_the_cli(tmp_path: Path) -> None:
    f = tmp_path / "cluster.yaml"
    f.write_text("nodes: 2\ncni: flannel-vxlan\ncni: calico-bgp\n")
    line = cli_error("inspect", str(f))
    assert f"{f}:3:1: got 'cni'; duplicate key (first on line 2)" in line


@pytest.mark.parametrize("name", ["example.com", "Web", "1web", "web-", "-web", "w_b",
                                  "", "a" * 64, "web\n"])
def test_service_names_are_dns_1035_labels(name: str) -> None:
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, {"services": [{"name": name}]})
    assert info.value.path == "services.0.name"
    assert info.value.allowed == (
        "allowed: a Service name (DNS-1035 label): at most 63 lower-case letters, digits "
        "and '-', starting with a letter and ending with a letter or digit")


def test_valid_service_names_pass() -> None:
    spec = parse(ClusterSpec, {"services": [{"name": "web"}, {"name": "a" * 63},
                                            {"name": "x-1-y"}]})
    assert len(spec.services) == 3


@pytest.mark.parametrize(("field", "name", "needle"), [
    ("deployments", "a..b", "deployment name (DNS-1123 subdomain)"),
    ("deployments", "a.-b", "deployment name (DNS-1123 subdomain)"),
    ("deployments", "c" * 254, "at most 253 characters"),
    ("pods", "../x", "pod name (DNS-1123 subdomain)"),
    ("nodes", "Node-1", "node name (DNS-1123 subdomain)"),
])
def test_other_names_say_exactly_what_is_allowed(field: str, name: str, needle: str) -> None:
    item: dict[str, Any] = {"name": name}
    if field == "pods":
        item["node"] = "node-1"
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, {field: [item]})
    assert info.value.path == f"{field}.0.name"
    assert needle in info.value.allowed
    assert "'.' separates parts that each start and end with a letter or digit" in (
        info.value.allowed)


def test_namespaces_are_dns_1123_labels() -> None:
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, {"deployments": [{"name": "web", "namespace": "a.b"}]})
    assert info.value.path == "deployments.0.namespace"
    assert info.value.allowed.startswith("allowed: a namespace name (DNS-1123 label)")
    assert parse(ClusterSpec, {"deployments": [{"name": "web.v2", "namespace": "team-a"}]})


GOOD_LABELS = {"app": "web", "app.kubernetes.io/name": "web", "tier": "",
               "node-role.kubernetes.io/control-plane": "", "k8s_app": "Web_1.2-x",
               "example.com/A": "a" * 63}


@pytest.mark.parametrize(("labels", "shown", "needle"), [
    ({"": "x"}, "", "a label key"),
    ({"a/b/c": "x"}, "a/b/c", "a label key"),
    ({"-app": "x"}, "-app", "a label key"),
    ({"k" * 64: "x"}, "k" * 64, "a label key"),
    ({"example.com/": "x"}, "example.com/", "a label key"),
    ({"Example.com/app": "x"}, "Example.com/app", "a label key"),
    ({"p" * 254 + "/a": "x"}, "p" * 254 + "/a", "a label key"),
    ({"app": "v" * 64}, "v" * 64, "a label value"),
    ({"app": "-web"}, "-web", "a label value"),
    ({"app": "a b"}, "a b", "a label value"),
])
def test_label_keys_and_values_follow_kubernetes(labels: dict[str, str], shown: str,
                                                 needle: str) -> None:
    for where, data in (
        ("deployments.0.labels", {"deployments": [{"name": "web", "labels": labels}]}),
        ("services.0.selector", {"services": [{"name": "web", "selector": labels}]}),
        ("nodes.0.labels", {"nodes": [{"name": "n1", "labels": labels}]}),
        ("extra_services_selector", {"extra_services_selector": labels}),
    ):
        with pytest.raises(SpecError) as info:
            parse(ClusterSpec, data)
        assert info.value.path.startswith(where), info.value
        assert info.value.value == shown
        assert f"allowed: {needle}" in info.value.allowed


def test_valid_labels_pass() -> None:
    spec = parse(ClusterSpec, {"deployments": [{"name": "web", "labels": GOOD_LABELS}],
                               "services": [{"name": "web", "selector": GOOD_LABELS}]})
    assert spec.deployments[0].labels == GOOD_LABELS


def test_experiment_name_dot_message_says_what_is_allowed() -> None:
    e = exp_error(experiment(name="."))
    assert e.path == "name" and e.value == "."
    assert e.allowed == ("allowed: at most 128 letters, digits, '.', '_' and '-', starting "
                         "with a letter or digit (it names a folder)")


@pytest.mark.parametrize("name", ["../../..", "..", "a/b", "", "/tmp/x", "x\n", "x" * 129])
def test_names_that_escape_or_break_the_results_folder_are_rejected(name: str) -> None:
    assert exp_error(experiment(name=name)).path == "name"


def test_experiment_name_through_the_cli(tmp_path: Path) -> None:
    f = write_yaml(tmp_path, experiment(name="../../.."))
    line = cli_error("run", str(f), "--out", str(tmp_path / "o"), "--serial")
    assert "name: got '../../..'; allowed: at most 128 letters" in line


# ------------------------------------------------------------------- what already worked

def test_malformed_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "nodes: 2\ncni: [flannel-vxlan\nproxy: iptables\n")
    assert e.path.endswith("spec.yaml:3:6")
    assert e.allowed.startswith("malformed YAML: ")
    f = tmp_path / "bad.yaml"
    f.write_text("nodes: 2\n\tcni: x\n")
    assert f"{f}:2:1: " in cli_error("inspect", str(f))


def test_two_documents_and_top_level_list(tmp_path: Path) -> None:
    e = yaml_error(tmp_path, "nodes: 2\n---\nnodes: 3\n")
    assert "expected a single document in the stream, but found another document" in (
        e.allowed)
    e = yaml_error(tmp_path, "- a\n- b\n")
    assert "a YAML mapping" in e.allowed

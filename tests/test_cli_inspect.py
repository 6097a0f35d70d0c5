"""``kperf inspect``: output, exit codes, and every bad-input case of issue 2.

Invalid input: exit 2, exactly one line on stderr naming the field path, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kperf.cli.import_cmd
import kperf.cli.inspect_cmd  # noqa: F401  (registers the commands)
from kperf.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "experiments" / "clusters"
runner = CliRunner()


def inspect(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["inspect", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str, name: str = "cluster.yaml") -> str:
    f = tmp_path / name
    f.write_text(text)
    return str(f)


BAD_INPUT = [
    # (yaml text, text the one stderr line must contain)
    ("nodes: 2\ncni: [flannel-vxlan\nproxy: iptables\n", "malformed YAML"),
    ("nodes: 2\nnods: 3\n", "nods: got 3; unknown key"),
    ("nodes: 2\ndeployments:\n  - {name: web, replica: 2}\n", "deployments.0.replica:"),
    ("nodes: 2\ncni: flannel-vxlan-typo\n", "cni: got 'flannel-vxlan-typo'; unknown CNI mode"),
    ("nodes: 2\nproxy: userspace\n", "proxy: got 'userspace'; unknown proxy mode"),
    ("nodes: 20\nnode_cidr: 192.168.1.0/28\n", "node_cidr: got '192.168.1.0/28'"),
    ("nodes: 2\npod_cidr: 10.96.0.0/16\n", "service_cidr: got '10.96.0.0/12'; overlaps pod_cidr"),
    ("nodes: 2\nnode_cidr: 10.244.3.0/24\n", "pod_cidr: got '10.244.0.0/16'; overlaps node_cidr"),
    ("nodes: 2\nnode_pod_prefix: 8\n", "node_pod_prefix: got 8"),
    ("nodes: 9\npod_cidr: 10.244.0.0/21\n", "pod_cidr: got '10.244.0.0/21'; holds 8 per-node"),
    ("nodes: 2\ndeployments:\n  - {name: web, replicas: 300}\n",
     "deployments.0.replicas: got 300; 300 pods do not fit: 2 nodes × 110 max_pods_per_node"),
    ("nodes: 2\nmax_pods_per_node: 5\ndeployments:\n  - {name: web, replicas: 11}\n",
     "deployments.0.replicas: got 11; 11 pods do not fit: 2 nodes × 5 max_pods_per_node"),
    ("nodes: 2\nnode_pod_prefix: 28\ndeployments:\n  - {name: web, replicas: 30}\n",
     "deployments.0.replicas: got 30; 30 pods do not fit: 2 nodes × 13 pods each"),
    ("nodes: 2\ndeployments:\n  - {name: web, replicas: 120, placement: node-1}\n",
     "deployments.0.replicas: got 120"),
    ("nodes: 2\ndeployments:\n  - {name: web, placement: node-3}\n",
     "deployments.0.placement: got 'node-3'; unknown node"),
    ("nodes: 0\n", "nodes: got 0"),
    ("nodes: -2\n", "nodes: got -2"),
    ("nodes: 2\ndeployments:\n  - {name: web, replicas: 0}\n", "deployments.0.replicas: got 0"),
    ("nodes: 2\ndeployments:\n  - {name: web, replicas: -1}\n", "deployments.0.replicas: got -1"),
    ("nodes: 2\nmax_pods_per_node: 0\n", "max_pods_per_node: got 0"),
    ("cluster:\n  nodes: 2\n  cni: nope\n", "cluster.cni: got 'nope'"),
    ("- just\n- a list\n", "YAML mapping"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_INPUT)
def test_bad_input_exit_2_one_line(tmp_path: Path, text: str, needle: str) -> None:
    code, out, err = inspect(write(tmp_path, text))
    assert code == 2
    assert err.count("\n") == 1, err
    assert needle in err, err
    assert "Traceback" not in err + out


def test_missing_file(tmp_path: Path) -> None:
    code, _, err = inspect(str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err and err.count("\n") == 1


def test_unknown_recreate_pod(tmp_path: Path) -> None:
    code, _, err = inspect(str(EXAMPLES / "service_pod_recreate.yaml"), "--recreate", "web-9")
    assert code == 2 and err.startswith("kperf: error: --recreate: got 'web-9'")
    assert err.count("\n") == 1


def test_selector_matching_nothing_is_a_warning(tmp_path: Path) -> None:
    f = write(tmp_path, "nodes: 2\ndeployments:\n  - {name: web}\nservices:\n"
                        "  - {name: api, selector: {app: api}}\n")
    code, out, err = inspect(f)
    assert code == 0
    assert err.startswith("warning: services.0.selector: {app=api} matches no pod")
    assert err.count("\n") == 1
    assert "api" in out


def test_subprocess_bad_input_has_no_traceback(tmp_path: Path) -> None:
    f = write(tmp_path, "nodes: 2\ncni: bogus\n")
    proc = subprocess.run([sys.executable, "-m", "kperf.cli.main", "inspect", f],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "cni: got 'bogus'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- the examples


def test_example_one_node_three_pods() -> None:
    code, out, _ = inspect(str(EXAMPLES / "one_node_three_pods.yaml"))
    assert code == 0
    for ip in ("10.244.0.2", "10.244.0.3", "10.244.0.4"):
        assert ip in out
    assert "conformant" in out


def test_example_two_nodes_no_cni_exits_3_and_lists_the_conflict() -> None:
    code, out, _ = inspect(str(EXAMPLES / "two_nodes_no_cni.yaml"), "--json")
    assert code == 3
    data = json.loads(out)
    assert {n["pod_ranges"][0] for n in data["nodes"]} == {"10.244.0.0/24"}
    dup = [v for v in data["conformance"]["violations"] if v["check"] == "pod-ips-unique"]
    assert dup[0]["subject"] == "10.244.0.2"
    assert "web-0 (node-1)" in dup[0]["detail"] and "web-1 (node-2)" in dup[0]["detail"]
    code, text, _ = inspect(str(EXAMPLES / "two_nodes_no_cni.yaml"))
    assert code == 3 and "NOT conformant" in text and "10.244.0.2" in text


def test_example_two_nodes_flannel_is_conformant() -> None:
    code, out, _ = inspect(str(EXAMPLES / "two_nodes_flannel.yaml"), "--json")
    assert code == 0
    data = json.loads(out)
    assert [n["pod_ranges"] for n in data["nodes"]] == [["10.244.0.0/24"], ["10.244.1.0/24"]]
    pods = {p["name"]: p["ip"] for p in data["pods"]}
    assert pods["web-0"] == "10.244.0.2" and pods["web-1"] == "10.244.1.2"
    assert data["conformance"]["ok"]
    routes = {m["metric"]: m for m in data["dataplane"]["per_node"]}
    assert routes["routes"]["max"] == routes["arp_entries"]["max"] == 1


def test_example_service_pod_recreate() -> None:
    f = str(EXAMPLES / "service_pod_recreate.yaml")
    code, out, _ = inspect(f, "--recreate", "web-0", "--json")
    assert code == 0
    data = json.loads(out)
    (r,) = data["recreated"]
    assert (r["pod"], r["old_ip"], r["new_ip"]) == ("web-0", "10.244.0.2", "10.244.0.4")
    assert r["services"] == [{"name": "web", "cluster_ip": "10.96.0.2",
                              "endpoints_version": 1}]
    web = next(s for s in data["services"] if s["name"] == "web")
    assert web["cluster_ip"] == "10.96.0.2" and "10.244.0.4" in web["endpoint_ips"]
    code, text, _ = inspect(f, "--recreate", "web-0")
    assert "10.244.0.2" in text and "10.244.0.4" in text and "ClusterIP stays" in text


def test_big_cluster_tables_are_truncated_but_counts_exact(tmp_path: Path) -> None:
    f = write(tmp_path, "nodes: 20\ndeployments:\n  - {name: web, replicas: 300}\n")
    code, out, _ = inspect(f, "--max-rows", "10")
    assert code == 0
    assert "Pods (300)" in out and "290 more pods not shown" in out
    assert "10 more nodes not shown" in out
    code, out, _ = inspect(f, "--max-rows", "10", "--json")
    data = json.loads(out)
    assert len(data["pods"]) == 10 and data["pods_elided"] == 290
    assert data["cluster"]["pods"] == 300
    assert data["dataplane"]["totals"]["routes"] == 20 * 19

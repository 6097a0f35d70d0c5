"""``kperf import``: kubectl JSON → cluster spec → a cluster that reproduces it.

And importing kperf: ``import kperf`` loads nothing else, ``kperf --help`` and
``kperf list cni`` load neither pandas nor matplotlib, the public names resolve lazily.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import kperf.cli.import_cmd
import kperf.cli.inspect_cmd  # noqa: F401  (registers the commands)
from kperf.cli.app import app
from kperf.cluster import Cluster
from kperf.cluster.importer import covering, import_file, import_kubectl
from kperf.errors import SpecError
from kperf.spec import load_cluster

FIXTURE = Path(__file__).parent / "fixtures" / "kubectl_get_all.json"
runner = CliRunner()


def raw() -> dict:
    return json.loads(FIXTURE.read_text())


def kind(k: str) -> list[dict]:
    return [i for i in raw()["items"] if i["kind"] == k]


def expected_endpoints(svc: dict) -> list[str]:
    """Pod IPs a Service selects, straight from the kubectl objects."""
    sel = svc["spec"].get("selector") or {}
    out = []
    for p in kind("Pod"):
        labels = p["metadata"].get("labels") or {}
        if (p["metadata"].get("namespace", "default") == svc["metadata"]["namespace"]
                and sel and all(labels.get(k) == v for k, v in sel.items())
                and p["status"]["phase"] == "Running"):
            out.append(p["status"]["podIP"])
    return sorted(out)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Cluster]:
    out = tmp_path_factory.mktemp("imp") / "cluster.yaml"
    result = runner.invoke(app, ["import", str(FIXTURE), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stdout
    return out, Cluster.build(load_cluster(out))


def test_nodes_are_reproduced(imported: tuple[Path, Cluster]) -> None:
    _, c = imported
    want = {n["metadata"]["name"]: n for n in kind("Node")}
    assert [n.name for n in c.nodes] == list(want)
    for node in c.nodes:
        src = want[node.name]
        ip = next(a["address"] for a in src["status"]["addresses"] if a["type"] == "InternalIP")
        assert node.ip_str == ip
        assert [str(r) for r in node.pod_ranges] == [src["spec"]["podCIDR"]]
        assert node.labels == src["metadata"]["labels"]


def test_pods_and_ips_are_reproduced(imported: tuple[Path, Cluster]) -> None:
    _, c = imported
    running = [p for p in kind("Pod") if p["status"]["phase"] == "Running"]
    assert len(c.pods) == len(running) == 8
    for src in running:
        meta = src["metadata"]
        pod = c.pod(f"{meta['namespace']}/{meta['name']}")
        assert pod.ip_str == src["status"]["podIP"]
        assert c.nodes[pod.node].name == src["spec"]["nodeName"]
        assert pod.labels == meta["labels"]
        assert pod.host_network == src["spec"].get("hostNetwork", False)
        assert pod.containers == tuple(x["name"] for x in src["spec"]["containers"])
    assert c.pod("kube-system/etcd-cp-1").host_network


def test_container_ports_are_reproduced(imported: tuple[Path, Cluster]) -> None:
    _, c = imported
    for src in kind("Pod"):
        if src["status"]["phase"] != "Running":
            continue
        meta = src["metadata"]
        pod = c.pod(f"{meta['namespace']}/{meta['name']}")
        want = [(x["name"], p["containerPort"], p.get("protocol", "TCP"), p.get("hostPort", 0))
                for x in src["spec"]["containers"] for p in x.get("ports") or []]
        assert [(p.container, p.port, p.protocol, p.host_port) for p in pod.ports] == want
    dns = c.pod("kube-system/coredns-76f75df574-8qzrm")
    assert [(p.port, p.protocol) for p in dns.ports] == [(53, "UDP"), (53, "TCP"),
                                                          (9153, "TCP")]


def test_services_cluster_ips_and_endpoints_are_reproduced(
        imported: tuple[Path, Cluster]) -> None:
    _, c = imported
    for src in kind("Service"):
        meta = src["metadata"]
        svc = c.service(f"{meta['namespace']}/{meta['name']}")
        assert svc.cluster_ip_str == src["spec"]["clusterIP"]
        got = sorted(c.pods[u].ip_str for u in svc.endpoints)
        if meta["name"] != "kubernetes":
            assert got == expected_endpoints(src)
    web = c.service("web")
    assert (web.type, web.node_port, web.port, web.target_port) == ("NodePort", 30080, 80, 8080)
    assert c.service("redis").session_affinity == "ClientIP"
    dns = c.service("kube-system/kube-dns")
    assert (dns.port, dns.protocol) == (53, "UDP")


def test_imported_cluster_conforms_and_guesses(imported: tuple[Path, Cluster]) -> None:
    path, c = imported
    data = yaml.safe_load(path.read_text())
    assert data["cni"] == "flannel-vxlan"  # kube-flannel-ds pods
    assert data["proxy"] == "iptables"
    assert data["node_cidr"] == "192.168.56.0/24"
    assert data["pod_cidr"] == "10.244.0.0/16"  # the default contains every address
    assert data["service_cidr"] == "10.96.0.0/12"
    assert path.read_text().startswith("# Imported by `kperf import`")
    assert c.conformance().ok
    code = runner.invoke(app, ["inspect", str(path)]).exit_code
    assert code == 0


def test_import_warns_about_dropped_items() -> None:
    result = import_file(FIXTURE)
    text = "\n".join(result.warnings)
    assert "db-migrate-xk2lp (Succeeded)" in text
    assert "kube-dns" in text and "9153/TCP" in text


def test_import_to_stdout_and_cni_override() -> None:
    result = runner.invoke(app, ["import", str(FIXTURE), "--cni", "calico-bgp"])
    assert result.exit_code == 0
    data = yaml.safe_load(result.stdout)
    assert data["cni"] == "calico-bgp"
    assert all("pod_cidr" not in n for n in data["nodes"])  # Calico ignores node podCIDRs
    c = Cluster.build(load_cluster_text(result.stdout))
    assert c.pod("kube-system/coredns-76f75df574-8qzrm").ip_str == "10.244.0.2"
    assert c.conformance().ok


def load_cluster_text(text: str) -> object:
    from kperf.spec import ClusterSpec, parse

    return parse(ClusterSpec, yaml.safe_load(text))


def test_cidrs_outside_the_defaults_are_covered() -> None:
    doc = raw()
    for item in doc["items"]:
        if item["kind"] == "Node":
            for a in item["status"]["addresses"]:
                if a["type"] == "InternalIP":
                    a["address"] = a["address"].replace("192.168.56.", "172.31.7.")
        if item["kind"] == "Service" and item["spec"].get("clusterIP") not in (None, "None"):
            item["spec"]["clusterIP"] = item["spec"]["clusterIP"].replace("10.96.", "10.43.")
            item["spec"]["clusterIP"] = item["spec"]["clusterIP"].replace("10.101.", "10.43.")
    result = import_kubectl(doc, "edited")
    assert result.data["node_cidr"] == "172.31.7.0/24"
    assert result.data["service_cidr"] == "10.43.0.0/16"
    c = Cluster.build(result.spec())
    assert c.service("web").cluster_ip_str == "10.43.112.40"
    assert c.services[0].cluster_ip_str == "10.43.0.1"


def test_covering() -> None:
    from ipaddress import IPv4Address

    net = covering([IPv4Address("10.0.0.11"), IPv4Address("10.0.0.13")], 32, hosts_only=True)
    assert str(net) == "10.0.0.8/29"
    assert str(covering([IPv4Address("10.0.0.11")], 24)) == "10.0.0.0/24"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"kind": "List", "items": [', "malformed JSON"),
        ("not json at all", "malformed JSON"),
        ("[1, 2]", "kind: List"),
        ('{"kind": "ConfigMap"}', "kind: got 'ConfigMap'"),
        ('{"kind": "List", "items": []}', "at least one Node"),
    ],
)
def test_bad_json_is_one_line_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "in.json"
    f.write_text(content)
    result = runner.invoke(app, ["import", str(f)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    with pytest.raises(SpecError):
        import_file(f)


def test_missing_import_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "file not found" in result.stderr


# --------------------------------------------------------------------------- importing kperf
# (The module's other subject: what importing kperf costs. Checked in fresh
# interpreters, on sys.modules rather than on time, so the checks do not flake.)

HEAVY = ("pandas", "matplotlib", "pydantic", "numpy")

_PROBE = """
import json, sys
{body}
print("\\n" + json.dumps({{"loaded": [m for m in {heavy!r} if m in sys.modules],
                         "kperf": sorted(m for m in sys.modules if m.split(".")[0] == "kperf")}}))
"""

_RUN_CLI = """
sys.argv = ["kperf", *{argv!r}]
from kperf.cli.main import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def probe(body: str) -> tuple[str, dict[str, list[str]]]:
    """Run ``body`` in a fresh interpreter; its output and which modules it loaded."""
    code = _PROBE.format(body=body, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out, _, last = proc.stdout.rstrip("\n").rpartition("\n")
    return out, json.loads(last)


def test_import_kperf_loads_nothing_else() -> None:
    _, got = probe("import kperf")
    assert got == {"loaded": [], "kperf": ["kperf"]}


def test_engine_queues_load_no_pandas_pydantic_or_matplotlib() -> None:
    _, got = probe("import kperf.engine.queues")
    assert not {"pandas", "pydantic", "matplotlib"} & set(got["loaded"]), got


@pytest.mark.parametrize("argv", [["--help"], ["list", "cni"]])
def test_cli_help_and_list_load_no_pandas_or_matplotlib(argv: list[str]) -> None:
    out, got = probe(_RUN_CLI.format(argv=argv))
    assert not {"pandas", "matplotlib"} & set(got["loaded"]), got
    assert not {"kperf.experiments", "kperf.analysis", "kperf.workloads",
                "kperf.cluster"} & set(got["kperf"]), got["kperf"]
    assert ("calico-bgp" if argv[0] == "list" else "inspect") in out


def test_public_names_resolve_lazily() -> None:
    """``__all__``, the lazy table and the TYPE_CHECKING imports name the same things,
    and every name resolves to the object its module defines."""
    import importlib

    import kperf

    lazy: dict[str, str] = kperf._LAZY
    assert sorted(kperf.__all__) == sorted(lazy)
    tree = ast.parse(Path(kperf.__file__).read_text(encoding="utf-8"))
    typed = {alias.asname or alias.name: node.module
             for block in tree.body if isinstance(block, ast.If)
             for node in block.body if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert typed == lazy
    for name, module in lazy.items():
        assert getattr(kperf, name) is getattr(importlib.import_module(module), name)
    assert set(lazy) <= set(dir(kperf))
    with pytest.raises(AttributeError, match="no_such_name"):
        kperf.no_such_name  # noqa: B018


def test_version_comes_from_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    import kperf
    import kperf.version

    assert kperf.__version__ == metadata.version("kperf-sim") == kperf.version.__version__

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert kperf.version.installed_version() == "0.0.0+unknown"

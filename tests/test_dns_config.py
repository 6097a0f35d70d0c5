"""DNS as Kubernetes configures it (issue 19, item 7): dnsPolicy, dnsConfig, the nodes'
search domains, the name a workload resolves, and the queries each lookup sends.

The query table is derived row by row from glibc's documented behaviour, resolv.conf(5):

* ``search``: "Resolver queries having fewer than ndots dots (default is 1) in them
  will be attempted using each component of the search path in turn until a match is
  found";
* ``options ndots:n``: "the number of dots which must appear in a name given to
  res_query(3) before an initial absolute query will be made ... The default for n is
  1, meaning that if there are any dots in a name, the name will be tried first as an
  absolute name before any search list elements are appended to it";
* a name with a trailing dot is absolute: no search (``res_search``, resolver(3));

and ``getaddrinfo(AF_UNSPEC)`` sends an A and an AAAA query for each candidate tried.
What kubelet writes is from k8s.io/kubernetes pkg/kubelet/network/dns/dns.go
(``GetPodDNS``); the dnsConfig example is the one of kubernetes.io "DNS for Services
and Pods" (Pod's DNS Config).
"""

from __future__ import annotations

from typing import Any

import pytest

from kperf.cluster import Cluster
from kperf.errors import SpecError
from kperf.profiles import get_testbed
from kperf.services.resolvconf import (
    HOST_NAMESERVER,
    Zone,
    plan,
    pod_resolv_conf,
    search_list,
)
from kperf.spec import ClusterSpec, parse
from kperf.spec.cluster import with_host_network
from kperf.spec.dns import DnsConfig
from kperf.spec.workload import CrrWorkload, HttpWorkload, RrWorkload, StreamWorkload
from kperf.workloads.context import check_targets, targets_of
from kperf.workloads.simulate import simulate

GCE = ("c.proj.internal", "google.internal")
"""GKE nodes' search line after the cluster domains (cloud.google.com, "Using
kube-dns": ``search default.svc.cluster.local svc.cluster.local cluster.local
c.my-project-id.internal google.internal``)."""
AWS = ("ec2.internal",)
"""An EC2 node in us-east-1 (AWS VPC user guide, DHCP option sets: domain-name
``ec2.internal`` in us-east-1, ``<region>.compute.internal`` elsewhere)."""
CF = search_list("default")
EXISTS_OUTSIDE = {"api.example.com.", "example.com."}
ZONE = Zone({("default", "web"), ("other", "web"), ("other", "db")},
            external_exists=EXISTS_OUTSIDE.__contains__, private_domains=GCE + AWS)

# name, ndots, search list, nameserver is the cluster DNS, candidates tried, answer
TABLE: list[tuple[str, int, tuple[str, ...], bool, int, str | None]] = [
    # ClusterFirst (ndots 5, the three cluster domains)
    ("web", 5, CF, True, 1, "web.default.svc.cluster.local."),
    ("web.other", 5, CF, True, 2, "web.other.svc.cluster.local."),
    ("db.other", 5, CF, True, 2, "db.other.svc.cluster.local."),
    ("web.other.svc.cluster.local.", 5, CF, True, 1, "web.other.svc.cluster.local."),
    ("web.other.svc.cluster.local", 5, CF, True, 4, "web.other.svc.cluster.local."),
    ("api.example.com", 5, CF, True, 4, "api.example.com."),
    ("api.example.com.", 5, CF, True, 1, "api.example.com."),
    ("nope", 5, CF, True, 4, None),
    # + the node's cloud search domains: each one more NXDOMAIN before the name itself
    ("web", 5, CF + GCE, True, 1, "web.default.svc.cluster.local."),
    ("api.example.com", 5, CF + GCE, True, 6, "api.example.com."),  # (3+2+1) x 2 = 12
    ("api.example.com", 5, CF + AWS, True, 5, "api.example.com."),
    ("web.other.svc.cluster.local", 5, CF + GCE, True, 6, "web.other.svc.cluster.local."),
    ("api.example.com.", 5, CF + GCE, True, 1, "api.example.com."),
    ("nope", 5, CF + GCE, True, 6, None),
    # ndots from dnsConfig: as-is first once the name has ndots dots
    ("api.example.com", 1, CF + GCE, True, 1, "api.example.com."),
    ("api.example.com", 2, CF + GCE, True, 1, "api.example.com."),
    ("api.example.com", 3, CF + GCE, True, 6, "api.example.com."),
    ("web.other", 1, CF, True, 3, "web.other.svc.cluster.local."),  # web.other. first
    ("web", 0, CF, True, 2, "web.default.svc.cluster.local."),  # 0 dots >= 0: web. first
    # dnsPolicy Default: the node's resolv.conf (no ndots option: glibc's 1), the node's
    # resolver knows no cluster names
    ("web", 1, GCE, False, 3, None),
    ("api.example.com", 1, GCE, False, 1, "api.example.com."),
    ("web.default.svc.cluster.local.", 1, GCE, False, 1, None),
    # dnsPolicy None, nameservers [10.96.0.10] (the cluster DNS), searches
    # [default.svc.cluster.local], ndots 2
    ("web", 2, ("default.svc.cluster.local",), True, 1, "web.default.svc.cluster.local."),
    ("web.other", 2, ("default.svc.cluster.local",), True, 2, None),
    ("api.example.com", 2, ("default.svc.cluster.local",), True, 1, "api.example.com."),
]


@pytest.mark.parametrize(("name", "ndots", "search", "cluster_dns", "tried", "answer"), TABLE,
                         ids=[f"{r[0]}-ndots{r[1]}-{len(r[2])}dom-{'cl' if r[3] else 'ext'}"
                              for r in TABLE])
def test_queries_per_lookup_follow_resolv_conf(name: str, ndots: int, search: tuple[str, ...],
                                               cluster_dns: bool, tried: int,
                                               answer: str | None) -> None:
    p = plan(name, "default", ZONE, ndots=ndots, search=search, cluster_dns=cluster_dns)
    assert (len(p.tried), p.answer) == (tried, answer)
    assert p.queries == 2 * tried  # A and AAAA per candidate
    # the order itself: absolute first iff a trailing dot or at least ndots dots
    bare = name.removesuffix(".")
    if name.endswith("."):
        assert p.tried == (name,)
    elif bare.count(".") >= ndots:
        assert p.tried[0] == f"{bare}."
    else:
        assert p.tried[: len(search)] == tuple(f"{bare}.{s}." for s in search)[: len(p.tried)]


def test_external_name_on_a_gce_node_costs_twelve_queries() -> None:
    p = plan("api.example.com", "default", ZONE, search=CF + GCE)
    assert p.queries == (3 + 2 + 1) * 2 == 12
    assert p.tried[3:5] == ("api.example.com.c.proj.internal.",
                            "api.example.com.google.internal.")


# -- what kubelet writes ------------------------------------------------------------------
def _config(**kw: Any) -> DnsConfig:
    return DnsConfig.model_validate(kw)


def test_cluster_first_gets_cluster_domains_then_the_nodes() -> None:
    rc = pod_resolv_conf("team", "ClusterFirst", False, None, cluster_dns_ip="10.96.0.10",
                         host_search=GCE)
    assert rc.nameservers == ("10.96.0.10",)
    assert rc.search == (*search_list("team"), *GCE)
    assert rc.options == ("ndots:5",) and rc.ndots == 5
    plain = pod_resolv_conf("team", "ClusterFirst", False, None, cluster_dns_ip="10.96.0.10")
    assert plain.search == search_list("team")


def test_host_network_cluster_first_falls_back_to_default() -> None:
    rc = pod_resolv_conf("team", "ClusterFirst", True, None, cluster_dns_ip="10.96.0.10",
                         host_search=AWS)
    assert rc.nameservers == (HOST_NAMESERVER,) and rc.search == AWS and rc.ndots == 1
    with_net = pod_resolv_conf("team", "ClusterFirstWithHostNet", True, None,
                               cluster_dns_ip="10.96.0.10", host_search=AWS)
    assert with_net.nameservers == ("10.96.0.10",) and with_net.ndots == 5
    assert with_net.search == (*search_list("team"), *AWS)
    default = pod_resolv_conf("team", "Default", False, None, cluster_dns_ip="10.96.0.10",
                              host_search=GCE)
    assert default.nameservers == (HOST_NAMESERVER,) and default.search == GCE


def test_none_policy_is_exactly_the_dns_config() -> None:
    """kubernetes.io's example: nameserver 1.2.3.4, its two searches, ndots:2 edns0."""
    cfg = _config(nameservers=["1.2.3.4"],
                  searches=["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
                  options=[{"name": "ndots", "value": "2"}, {"name": "edns0"}])
    rc = pod_resolv_conf("default", "None", False, cfg, cluster_dns_ip="10.96.0.10",
                         host_search=GCE)
    assert rc.nameservers == ("1.2.3.4",)
    assert rc.search == ("ns1.svc.cluster-domain.example", "my.dns.search.suffix")
    assert rc.options == ("ndots:2", "edns0") and rc.ndots == 2


def test_dns_config_merges_as_kubelet_does() -> None:
    cfg = _config(nameservers=["1.1.1.1", "8.8.8.8", "9.9.9.9"],
                  searches=["svc.cluster.local", "corp.example"],
                  options=[{"name": "ndots", "value": 2}, {"name": "single-request"}])
    rc = pod_resolv_conf("default", "ClusterFirst", False, cfg, cluster_dns_ip="10.96.0.10")
    # appended without duplicates, then cut to 3 nameservers
    assert rc.nameservers == ("10.96.0.10", "1.1.1.1", "8.8.8.8")
    assert rc.search == (*search_list("default"), "corp.example")
    assert rc.options == ("ndots:2", "single-request") and rc.ndots == 2


def test_search_line_is_cut_to_kubelets_limits() -> None:
    many = tuple(f"d{i}.example" for i in range(31))
    rc = pod_resolv_conf("default", "ClusterFirst", False, None, cluster_dns_ip="x",
                         host_search=many)
    assert len(rc.search) == 32 and rc.search[:3] == search_list("default")
    long = tuple(f"{'a' * 60}.{'b' * 60}.{'c' * 60}.d{i}" for i in range(12))  # 186 chars
    rc = pod_resolv_conf("default", "ClusterFirst", False, None, cluster_dns_ip="x",
                         host_search=long)
    assert len(" ".join(rc.search)) <= 2048
    assert len(" ".join((*rc.search, long[len(rc.search) - 3]))) > 2048  # one more: over


# -- the spec -----------------------------------------------------------------------------
def _spec(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodes": 2, "cni": "calico-bgp",
        "deployments": [{"name": "client", "replicas": 1, "placement": "node-1"},
                        {"name": "web", "replicas": 2},
                        {"name": "web", "namespace": "other", "replicas": 2},
                        {"name": "db", "namespace": "other", "replicas": 3}],
        "services": [{"name": "web", "selector": {"app": "web"}},
                     {"name": "web", "namespace": "other", "selector": {"app": "web"}},
                     {"name": "db", "namespace": "other", "selector": {"app": "db"},
                      "cluster_ip": "None"}],
    }
    spec.update(extra)
    return spec


def _client(**dns: Any) -> dict[str, Any]:
    return {"name": "client", "replicas": 1, "placement": "node-1", **dns}


def _with_client(**dns: Any) -> dict[str, Any]:
    s = _spec()
    s["deployments"][0] = _client(**dns)
    return s


def test_new_fields_stay_out_of_run_ids_until_set() -> None:
    plain = parse(ClusterSpec, _spec()).model_dump(mode="json")
    assert "host_search" not in plain
    assert all("dns_policy" not in d and "dns_config" not in d for d in plain["deployments"])
    set_ = parse(ClusterSpec, _with_client(dns_policy="Default") | {"host_search": list(GCE)})
    dump = set_.model_dump(mode="json")
    assert dump["host_search"] == list(GCE) and dump["deployments"][0]["dns_policy"] == "Default"
    assert "dns_name" not in CrrWorkload().model_dump(mode="json")
    assert CrrWorkload(dns_name="Web.Other").model_dump(mode="json")["dns_name"] == "web.other"


def test_headless_service_has_no_cluster_ip_and_no_proxy_rules() -> None:
    c = Cluster.build(parse(ClusterSpec, _spec()))
    assert [s.key for s in c.services] == ["default/kubernetes", "default/web", "other/web"]
    (db,) = c.headless_services
    assert db.key == "other/db" and db.cluster_ip == 0 and len(db.endpoints) == 3


BAD = [
    (_with_client(dns_policy="None"), "deployments.0.dns_config", "at least one nameserver"),
    (_with_client(dns_policy="None", dns_config={"searches": ["a.example"]}),
     "deployments.0.dns_config.nameservers", "at least one nameserver"),
    (_with_client(dns_config={"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "9.9.9.9"]}),
     "deployments.0.dns_config.nameservers", "at most 3 nameservers"),
    (_with_client(dns_config={"nameservers": ["one.one"]}),
     "deployments.0.dns_config.nameservers.0", "allowed: an IP address"),
    (_with_client(dns_config={"searches": [f"d{i}.example" for i in range(33)]}),
     "deployments.0.dns_config.searches", "at most 32 search domains"),
    (_with_client(dns_config={"searches": [f"{'a' * 60}.{'b' * 60}.d{i}" for i in range(17)]}),
     "deployments.0.dns_config.searches", "at most 2048 characters"),
    (_with_client(dns_config={"searches": ["Bad_Domain"]}),
     "deployments.0.dns_config.searches.0", "DNS-1123 subdomain"),
    (_with_client(dns_config={"options": [{"name": "ndots", "value": "16"}]}),
     "deployments.0.dns_config.options.0.value", "from 0 to 15"),
    (_with_client(dns_config={"options": [{"name": "ndots"}]}),
     "deployments.0.dns_config.options.0.value", "from 0 to 15"),
    (_with_client(dns_config={"options": [{"name": ""}]}),
     "deployments.0.dns_config.options.0.name", "at least 1 character"),
    (_with_client(dns_policy="ClusterLast"), "deployments.0.dns_policy", "ClusterFirstWithHostNet"),
    (_with_client(placement="external", dns_policy="Default"), "deployments.0.dns_policy",
     "placement: external"),
    (_spec(host_search=["c.proj.internal", "under_score"]), "host_search.1", "DNS-1123"),
    (_spec(host_search=[f"d{i}.example" for i in range(33)]), "host_search",
     "at most 32 search domains"),
    (_spec(services=[{"name": "db", "cluster_ip": "None", "type": "NodePort"}]),
     "services.0.cluster_ip", "only with type: ClusterIP"),
    (_spec(services=[{"name": "db", "cluster_ip": "none"}]), "services.0.cluster_ip",
     "or None (the string"),
]


@pytest.mark.parametrize(("data", "path", "allowed"), BAD, ids=[f"{b[1]}-{i}" for i, b in
                                                              enumerate(BAD)])
def test_bad_dns_fields_are_one_line_errors(data: dict[str, Any], path: str,
                                            allowed: str) -> None:
    with pytest.raises(SpecError) as e:
        parse(ClusterSpec, data)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and allowed in msg and "\n" not in msg


@pytest.mark.parametrize(("wl", "path", "allowed"), [
    ({"kind": "stream", "dns_name": "web"}, "dns_name", "with kind rr, crr or http"),
    ({"kind": "crr", "dns_name": "bad name"}, "dns_name", "a DNS name such as"),
    ({"kind": "crr", "dns_name": "a" * 64 + ".example"}, "dns_name", "a DNS name such as"),
])
def test_bad_dns_name_fields(wl: dict[str, Any], path: str, allowed: str) -> None:
    from kperf.spec.experiment import ExperimentSpec

    data = {"name": "t", "cluster": _spec(), "workload": wl}
    with pytest.raises(SpecError) as e:
        parse(ExperimentSpec, data)
    assert str(e.value).startswith(f"workload.{path}: ") and allowed in str(e.value)


# -- the workload's name, against the cluster ---------------------------------------------
def _check(cluster: dict[str, Any], wl: Any) -> None:
    check_targets(Cluster.build(parse(ClusterSpec, cluster)), [wl])


@pytest.mark.parametrize(("cluster", "wl", "path", "allowed"), [
    (_spec(), CrrWorkload(target="svc/web", dns_name="nosuch"), "workload.dns_name",
     "does not resolve from default pods of client"),
    (_spec(), CrrWorkload(target="svc/web", dns_name="db.default"), "workload.dns_name",
     "names Service db in namespace default"),
    (_spec(), CrrWorkload(target="svc/web", dns_name="10-244-1-5.default.pod"),
     "workload.dns_name", "not a Service of the cluster"),  # a pod A record
    (_spec(), CrrWorkload(target="svc/web", dns_name="cache.other.svc"), "workload.dns_name",
     "names Service cache in namespace other"),
    (_spec(), CrrWorkload(target="svc/db", dns_name="web.other"), "workload.target",
     "allowed: svc/web"),
    (_spec(), CrrWorkload(target="svc/db"), "workload.target", "headless Service"),
    (_with_client(dns_policy="Default"), CrrWorkload(target="svc/web", dns_name="web"),
     "workload.dns_name", "does not resolve"),
    (_with_client(dns_policy="Default"), CrrWorkload(target="svc/web", dns_name="web.other"),
     "workload.dns_name", "dns_policy Default or a nameserver outside the cluster"),
])
def test_names_of_services_the_cluster_lacks_are_spec_errors(
        cluster: dict[str, Any], wl: Any, path: str, allowed: str) -> None:
    with pytest.raises(SpecError) as e:
        _check(cluster, wl)
    assert str(e.value).startswith(f"{path}: ") and allowed in str(e.value)


def test_external_names_and_service_names_are_accepted() -> None:
    for wl in (CrrWorkload(target="svc/web", dns_name="api.example.com"),
               CrrWorkload(target="svc/web", dns_name="web.other"),
               CrrWorkload(target="svc/web", dns_name="web.default.svc.cluster.local."),
               CrrWorkload(target="svc/web", dns_name="web.other.svc"),
               CrrWorkload(target="svc/db", dns_name="db.other")):
        _check(_spec(), wl)
    # a headless target's short name, from a client in its namespace
    spec = _spec()
    spec["deployments"].append({"name": "probe", "namespace": "other"})
    _check(spec, CrrWorkload(target="svc/db", resolve_dns=True, clients="probe"))


def test_the_name_picks_the_namespace_and_headless_goes_to_the_pods() -> None:
    c = Cluster.build(parse(ClusterSpec, _spec()))
    _, svc, _ = targets_of(c, CrrWorkload(target="svc/web", dns_name="web.other"), "workload")
    assert svc.key == "other/web"
    _, svc, _ = targets_of(c, CrrWorkload(target="svc/web"), "workload")
    assert svc.key == "default/web"  # the short name: the client's own namespace
    _, svc, choices = targets_of(c, CrrWorkload(target="svc/db", dns_name="db.other"),
                                 "workload")
    db = {p.uid for p in c.pods if p.deployment == "db"}
    assert svc is None and {p.uid for p in choices[0]} == db  # any of the answered pods


# -- over the engine ----------------------------------------------------------------------
TB = get_testbed("10g-xeon-2015")


def _run(cluster: dict[str, Any], wl: Any) -> dict[str, Any]:
    return simulate(TB, parse(ClusterSpec, cluster), [wl], seed=1).summary


@pytest.mark.parametrize(("cluster", "name", "per_lookup"), [
    (_spec(), "web", 2.0),
    (_spec(), "web.other", 4.0),
    (_spec(), "web.other.svc.cluster.local.", 2.0),
    (_spec(), "api.example.com", 8.0),
    (_spec(host_search=list(GCE)), "api.example.com", 12.0),
    (_spec(host_search=list(AWS)), "api.example.com", 10.0),
    (_spec(host_search=list(GCE)), "api.example.com.", 2.0),
    (_with_client(dns_config={"options": [{"name": "ndots", "value": 2}]})
     | {"host_search": list(GCE)}, "api.example.com", 2.0),
    (_with_client(dns_policy="Default") | {"host_search": list(GCE)}, "api.example.com", 2.0),
])
def test_engine_counts_the_table_s_queries(cluster: dict[str, Any], name: str,
                                           per_lookup: float) -> None:
    target = "svc/web"
    s = _run(cluster, CrrWorkload(target=target, dns_name=name, duration_s=0.005))
    assert s["completed"] > 0 and s["failed"] == 0
    assert s["dns_queries_per_lookup"] == per_lookup
    assert s["svc_dns_queries"] == per_lookup * s["svc_dns_lookups"]


def test_default_policy_pods_ask_the_nodes_resolver_not_coredns() -> None:
    """A Default-policy pod's lookup of an external name skips CoreDNS: one upstream
    round trip (1 ms, estimated) instead of the cluster path plus the forward."""
    cf = _run(_spec(), CrrWorkload(target="svc/web", dns_name="api.example.com.",
                                    duration_s=0.01))
    dflt = _run(_with_client(dns_policy="Default"),
                CrrWorkload(target="svc/web", dns_name="api.example.com.", duration_s=0.01))
    assert cf["dns_queries_per_lookup"] == dflt["dns_queries_per_lookup"] == 2.0
    # CoreDNS caches the forwarded answer for 30 s: later lookups are in-cluster fast
    assert cf["latency_p50_us"] < 1000 < dflt["latency_p50_us"]


def test_headless_target_connects_to_pods_without_the_proxy() -> None:
    via_svc = _run(_spec(), CrrWorkload(target="svc/web", dns_name="web.other",
                                         duration_s=0.005))
    headless = _run(_spec(), CrrWorkload(target="svc/db", dns_name="db.other",
                                          duration_s=0.005))
    assert headless["completed"] > 0 and headless["failed"] == 0
    assert headless["dns_queries_per_lookup"] == 4.0  # db.other: the second suffix
    # through the Service layer: each DNS round (one UDP flow to kube-dns) and, via a
    # ClusterIP, each request; headless: the DNS rounds only
    rounds = headless["svc_dns_queries"] // 2
    assert headless["svc_connections"] == rounds
    assert via_svc["svc_connections"] == via_svc["svc_dns_queries"] // 2 + via_svc["completed"]


def test_http_without_keepalive_resolves_each_request() -> None:
    s = _run(_spec(host_search=list(GCE)),
             HttpWorkload(target="svc/web", dns_name="api.example.com", keepalive=False,
                          rate_per_s=5000, duration_s=0.005))
    assert s["svc_dns_lookups"] >= s["completed"] > 0
    assert s["dns_queries_per_lookup"] == 12.0


def test_host_network_baseline_keeps_the_cluster_dns() -> None:
    spec = parse(ClusterSpec, _spec())
    host = with_host_network(spec, [RrWorkload(network="host", target="svc/web")])
    assert host.deployments[0].dns_policy == "ClusterFirstWithHostNet"
    s = _run(_spec(), CrrWorkload(network="host", target="svc/web", resolve_dns=True,
                                  duration_s=0.005))
    assert s["failed"] == 0 and s["dns_queries_per_lookup"] == 2.0


def test_stream_and_runs_without_lookups_have_no_dns_column() -> None:
    s = _run(_spec(), StreamWorkload(target="web", duration_s=0.002))
    assert "dns_queries_per_lookup" not in s


# -- kperf import -------------------------------------------------------------------------
def test_import_keeps_dns_policy_config_and_headless_services() -> None:
    import copy
    import json
    from pathlib import Path

    from kperf.cluster.importer import import_kubectl

    doc = json.loads((Path(__file__).parent / "fixtures" / "kubectl_get_all.json").read_text())
    doc = copy.deepcopy(doc)
    pod = next(i for i in doc["items"] if i["kind"] == "Pod"
               and i["status"].get("phase") == "Running" and not i["spec"].get("hostNetwork"))
    pod["spec"]["dnsPolicy"] = "None"
    pod["spec"]["dnsConfig"] = {"nameservers": ["10.96.0.10"], "searches": ["corp.example"],
                                "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}
    labels = pod["metadata"].get("labels") or {"app": "x"}
    pod["metadata"]["labels"] = labels
    doc["items"].append({"kind": "Service", "metadata": {"name": "peers", "namespace":
                                                          pod["metadata"].get("namespace",
                                                                              "default")},
                         "spec": {"clusterIP": "None", "type": "ClusterIP", "selector": labels,
                                  "ports": [{"port": 7000}]}})
    result = import_kubectl(doc, "edited")
    entry = next(p for p in result.data["pods"] if p["name"] == pod["metadata"]["name"])
    assert entry["dns_policy"] == "None"
    assert entry["dns_config"]["options"] == [{"name": "ndots", "value": "2"}, {"name": "edns0"}]
    svc = next(s for s in result.data["services"] if s["name"] == "peers")
    assert svc["cluster_ip"] == "None"
    c = Cluster.build(result.spec())
    (peers,) = c.headless_services
    assert c.pods[peers.endpoints[0]].name == pod["metadata"]["name"]
    assert all(p.get("dns_policy") is None for p in result.data["pods"] if p is not entry)

"""Kube-OVN's UDP on testbed A (issue 19): the four known gaps are downstream of the sender.

The raw iperf3 logs behind the cases (InfraBuilder benchmark-k8s-cni-2020-08,
``results/doc-kube-ovn.u18.04-default`` and ``results/tuning-kube-ovn-wo-mirror.u18.04-default``,
the ``knb-client-udp-p2p-*.log`` files inside each run's ``.knbdata``) print both ends: the
pod-to-pod client *sent* 8382 / 8745 / 8969 Mbit/s (mirror on) and 9376 / 9615 / 9341
(mirror off), while the server *received* 5.0-6.8 with 22-59 % of the datagrams lost. The
cases' published values are the received rates. kperf has no OVN conntrack pass on the
receiving node (see the cases' ``expected_fail``), so its UDP rate is its sender's: these
tests check that it lies inside the measured sender rates, that the UDP rows stay known
gaps, and that Kube-OVN's TCP rows still pass.
"""

from __future__ import annotations

import pytest

from kperf.calibration.cases import load_cases
from kperf.calibration.validate import run_case

BY_NAME = {c.name: c for c in load_cases()}

P2P_SENDER_MBPS = (8382, 8745, 8969, 9376, 9615, 9341)
"""Client-side ("sender") rates of the six pod-to-pod UDP runs, mirror on then off."""

UDP_GAPS = (
    "a-kube-ovn-geneve-udp",
    "a-kube-ovn-geneve-clusterip-udp",
    "a-kube-ovn-geneve-nomirror-udp",
    "a-kube-ovn-geneve-nomirror-clusterip-udp",
)
TCP_CASES = (
    "a-kube-ovn-geneve-tcp",
    "a-kube-ovn-geneve-clusterip-tcp",
    "a-kube-ovn-geneve-nomirror-tcp",
    "a-kube-ovn-geneve-nomirror-clusterip-tcp",
    "b-kube-ovn-geneve-tcp",
)


@pytest.mark.parametrize("name", ["a-kube-ovn-geneve-udp", "a-kube-ovn-geneve-nomirror-udp"])
def test_pod_to_pod_udp_is_the_measured_sender_rate(name: str) -> None:
    r = run_case(BY_NAME[name])
    assert min(P2P_SENDER_MBPS) / 1000 <= r.simulated <= max(P2P_SENDER_MBPS) / 1000
    # the published (received) rate is far below it: the gap is receiver-side loss
    assert r.simulated > BY_NAME[name].published * 1.3


@pytest.mark.parametrize("name", UDP_GAPS)
def test_udp_rows_stay_known_gaps_with_the_raw_evidence(name: str) -> None:
    case = BY_NAME[name]
    assert case.expected_fail is not None
    assert "ct_lb" in case.expected_fail and "Mbit/s" in case.expected_fail
    assert run_case(case).status == "known gap"


@pytest.mark.parametrize("name", TCP_CASES)
def test_kube_ovn_tcp_rows_pass(name: str) -> None:
    assert run_case(BY_NAME[name]).status == "pass"

"""Layer 2 (specs): typed, validated descriptions loaded from YAML."""

from kperf.spec.cluster import (
    ClusterSpec,
    ContainerSpec,
    DeploymentSpec,
    NodeEntry,
    PodEntry,
    ServiceSpec,
)
from kperf.spec.loader import load_cluster, parse, read_yaml

__all__ = [
    "ClusterSpec",
    "ContainerSpec",
    "DeploymentSpec",
    "NodeEntry",
    "PodEntry",
    "ServiceSpec",
    "load_cluster",
    "parse",
    "read_yaml",
]

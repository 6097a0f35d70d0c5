"""Transport protocols over the engine's flows: TCP as Linux runs it (:mod:`.tcp`),
its congestion controls (:mod:`.cc`) and its round-trip estimator (:mod:`.rtt`)."""

from kperf.transport.cc import CONGESTION_CONTROLS, Cubic, Dctcp, Reno, make_congestion_control
from kperf.transport.options import TcpOptions
from kperf.transport.rtt import RttEstimator
from kperf.transport.tcp import TcpSender

__all__ = [
    "CONGESTION_CONTROLS",
    "Cubic",
    "Dctcp",
    "Reno",
    "RttEstimator",
    "TcpOptions",
    "TcpSender",
    "make_congestion_control",
]

"""kperf: a discrete-event network performance simulator for Kubernetes clusters."""

from kperf.experiments import load_results, run

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_results",
    "run",
]

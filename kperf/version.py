"""The installed kperf version (layer 1: imports nothing from kperf).

Runs, manifests and reports record which kperf produced them, and they live in layers
9 and 10. Reading the version from the root package would import upward (the root is
the public API on top of every layer), so it lives here, at the bottom.

The number comes from the distribution's metadata (``kperf-sim``, set in
``pyproject.toml``), so there is one place to bump it. A source tree that was never
installed has no metadata and reports ``0.0.0+unknown`` rather than failing. The
metadata is read when this module is first imported, which ``import kperf`` does not
do: ``kperf.__version__`` imports it on first access.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "kperf-sim"
"""The name kperf is installed under (``pip install kperf-sim``)."""

UNKNOWN_VERSION = "0.0.0+unknown"
"""Reported when kperf runs from a source tree that was never installed."""


def installed_version(distribution: str = DISTRIBUTION) -> str:
    """The version of ``distribution`` from its installed metadata, or
    :data:`UNKNOWN_VERSION` when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


__version__: str = installed_version()

"""Layer 10 (analysis): summaries with confidence intervals, capacity planning, plots
and reports.

Modules, one idea each, in import order (each imports only those above it):

* :mod:`~kperf.analysis.aggregate` — mean and 95 % t-confidence interval of every
  metric across replications, grouped by the swept keys;
* :mod:`~kperf.analysis.markdown` — Markdown escaping and tables;
* :mod:`~kperf.analysis.planfile` — reading a saved capacity plan's files;
* :mod:`~kperf.analysis.plots` — matplotlib figures from summary, samples and
  breakdown tables (each function returns a ``Figure``; nothing global is touched);
* :mod:`~kperf.analysis.capacity` — SLO parsing, the highest load meeting an SLO,
  nodes needed for a target load, the reverse for a fixed node count;
* :mod:`~kperf.analysis.report` — ``report.md`` and a self-contained ``report.html``
  for a results folder.

Importing this package imports none of them (matplotlib loads only when a plot is
made); import the module you need, e.g. ``from kperf.analysis import plots``.
"""

from __future__ import annotations

__all__ = ["aggregate", "capacity", "markdown", "planfile", "plots", "report"]

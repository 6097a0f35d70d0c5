"""Calibration against published measurements, and ``kperf validate``.

* :mod:`kperf.calibration.cases`: the cases (published value + setup), loaded from
  ``kperf/data/calibration_cases.yaml`` or a user's file of the same format;
* :mod:`kperf.calibration.validate`: simulate each case with the engine and judge it
  (pass, fail, known gap);
* :mod:`kperf.calibration.fit`: refit profile costs to the cases (used by
  ``scripts/fit_calibration.py``; needs scipy).

See docs/validation.md.
"""

from __future__ import annotations

from kperf.calibration.cases import CalibrationCase, load_cases
from kperf.calibration.validate import CaseResult, results_table, run_case, validate

__all__ = ["CalibrationCase", "CaseResult", "load_cases", "results_table", "run_case",
           "validate"]

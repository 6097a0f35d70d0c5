"""The results of an experiment, as a notebook sees them: a tidy summary DataFrame,
the manifest, and per-run tables loaded on demand.

``kperf.run(...)`` returns a :class:`Results`; ``kperf.load_results(DIR)`` reloads
one from a results folder (also a partial or damaged one: if ``summary.parquet`` is
missing because the process was killed, or unreadable because it was damaged, the
summary is rebuilt from ``runs/`` exactly as ``kperf run`` gathers it, unless
``runs/`` lacks runs the manifest says were finished; then a one-line SpecError says
so). :func:`repair_summary` also writes the rebuilt table back (``kperf report`` and
``kperf plot`` call it first).

Per-run accessors (:meth:`Results.samples`, ``breakdown``, ``resources``,
``flows``, ``record``) raise :class:`~kperf.experiments.store.RunDataMissing`, a
one-line SpecError that is also a ``FileNotFoundError``, for a table that was never
stored, was deleted or is damaged. :meth:`Results.tables` concatenates one of these tables
over every ok run (rows tagged with the run's swept values), leaving out runs
without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kperf.errors import SpecError
from kperf.experiments.store import (
    TABLES,
    RunDataMissing,
    RunStore,
    summary_frame,
    summary_row,
)


@dataclass(eq=False)
class Results:
    """One experiment's results folder, loaded (compared by identity: DataFrames
    have no single truth value)."""

    path: Path
    summary: pd.DataFrame
    """One row per configuration and replication, in sweep order (see store.py)."""
    manifest: dict[str, Any] = field(repr=False)
    """Experiment, resolved spec and seed of every run (by run id), versions, times."""

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def sweep_keys(self) -> list[str]:
        """The swept dotted keys (the first columns of the summary)."""
        return list(self.manifest.get("sweep", {}))

    @property
    def n_failed(self) -> int:
        return int((self.summary["status"] == "failed").sum()) if len(self.summary) else 0

    @property
    def complete(self) -> bool:
        """Every run of the experiment has a row (the sweep was not interrupted)."""
        return len(self.summary) == len(self.manifest.get("runs", {}))

    @property
    def ok(self) -> bool:
        """Complete and no run failed."""
        return self.complete and self.n_failed == 0

    def _run_id(self, run: str | int) -> str:
        """A run id from a run id or a summary row position."""
        if isinstance(run, str):
            return run
        try:
            return str(self.summary["run_id"].iloc[run])
        except (IndexError, TypeError):
            n = len(self.summary)
            raise SpecError("run", run, f"allowed: a row of the summary (0 to {n - 1}) or a "
                            "run id" if n else "the summary has no rows") from None

    def record(self, run: str | int) -> dict[str, Any]:
        """The stored JSON record of one run (status, error, traceback, timing...)."""
        run_id = self._run_id(run)
        record = RunStore(self.path).load_record(run_id)
        if record is None:
            raise RunDataMissing("run", run_id, f"runs/{run_id}.json in {self.path} is "
                                 "missing or unreadable; allowed: a run id (or row) of its "
                                 "summary; rerun kperf run into this folder to recompute it")
        return record

    def samples(self, run: str | int) -> pd.DataFrame:
        """Per-request samples of one run (by run id or summary row position).

        Stored only when the experiment ran with ``keep_samples``.
        """
        return RunStore(self.path).load_table(self._run_id(run), "samples")

    def breakdown(self, run: str | int) -> pd.DataFrame:
        """Latency breakdown of one run (time per stage category, per workload)."""
        return RunStore(self.path).load_table(self._run_id(run), "breakdown")

    def resources(self, run: str | int) -> pd.DataFrame:
        """Per-resource busy time and drops of one run."""
        return RunStore(self.path).load_table(self._run_id(run), "resources")

    def flows(self, run: str | int) -> pd.DataFrame:
        """Per-flow table of one run: one row per TCP/UDP stream or finite transfer,
        columns :data:`kperf.workloads.result.FLOW_COLUMNS` (goodput, retransmits,
        congestion window, completion time...).

        Stored when the run had flows; a run written before kperf stored flows
        tables has none (:class:`~kperf.experiments.store.RunDataMissing`).
        """
        return RunStore(self.path).load_table(self._run_id(run), "flows")

    def tables(self, table: str) -> pd.DataFrame:
        """One per-run table (``samples``, ``breakdown``, ``resources`` or ``flows``) of
        every ``ok`` run, concatenated in summary order.

        Each row is tagged with its run's swept values, ``replication`` and ``run_id``
        (these columns first). Runs without the table (never stored, written before
        kperf stored it, deleted or damaged) are left out: use the per-run accessors
        to learn why. An empty DataFrame when no run has it.
        """
        if table not in TABLES:
            raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
        store = RunStore(self.path)
        summary = self.summary
        if "status" in summary.columns:
            summary = summary[summary["status"].astype(str) == "ok"]
        tags = [*(k for k in self.sweep_keys if k in summary.columns), "replication", "run_id"]
        tags = [t for t in tags if t in summary.columns]
        parts: list[pd.DataFrame] = []
        for row in summary[tags].to_dict("records"):
            run_id = str(row.get("run_id", ""))
            path = store.table_path(run_id, table)
            if not run_id or not path.is_file():
                continue
            try:
                part = pd.read_parquet(path)
            except Exception:  # ArrowInvalid, OSError...: a damaged file is left out
                continue
            tagged = pd.DataFrame({t: [row[t]] * len(part) for t in tags
                                   if t not in part.columns}, index=part.index)
            parts.append(pd.concat([tagged, part], axis=1))
        filled = [p for p in parts if len(p)]
        if filled:
            return pd.concat(filled, ignore_index=True)
        return parts[0].reset_index(drop=True) if parts else pd.DataFrame()

    def run_spec(self, run: str | int) -> dict[str, Any]:
        """The resolved spec of one run (testbed, cluster, workloads, seed) as JSON types."""
        run_id = self._run_id(run)
        try:
            return dict(self.manifest["runs"][run_id]["spec"])
        except KeyError:
            raise KeyError(f"run {run_id!r} is not in the manifest of {self.path}") from None

    def rerun(self, run: str | int, simulate_fn: Any = None, keep_samples: bool = False) -> Any:
        """Run one row again from the manifest alone and return its RunResult.

        This is the reproducibility check: the manifest holds everything a run needs
        (the resolved testbed, cluster, workloads and seed).
        """
        from kperf.experiments.expand import models_from_spec
        from kperf.experiments.worker import default_simulate

        fn = simulate_fn if simulate_fn is not None else default_simulate()
        testbed, cluster, workloads, seed = models_from_spec(self.run_spec(run))
        return fn(testbed, cluster, workloads, seed, keep_samples=keep_samples)

    def __repr__(self) -> str:
        total = len(self.manifest.get("runs", {}))
        state = "" if self.complete else f", {total - len(self.summary)} not run"
        return (f"Results({str(self.path)!r}: {len(self.summary)} of {total} runs, "
                f"{self.n_failed} failed{state})")


def load_results(path: str | os.PathLike[str]) -> Results:
    """Reload a results folder written by ``kperf run`` / ``kperf.run``.

    A missing or unreadable ``summary.parquet`` is rebuilt from ``runs/`` (in memory;
    :func:`repair_summary` writes it back); a SpecError when it cannot be.
    """
    store = RunStore(path)
    manifest = _manifest_of(store, path)
    summary, _ = read_summary(store, manifest)
    return Results(path=store.root, summary=summary, manifest=manifest)


def _manifest_of(store: RunStore, path: str | os.PathLike[str]) -> dict[str, Any]:
    manifest = store.read_manifest()
    if manifest is None:
        raise SpecError(str(path), str(path), "no kperf results here (manifest.json is missing "
                        "or unreadable)")
    return manifest


def read_summary(store: RunStore, manifest: dict[str, Any]) -> tuple[pd.DataFrame, str | None]:
    """``(summary, None)`` from ``summary.parquet``, or ``(rebuilt summary, why)`` when
    it is missing or unreadable and ``runs/`` can rebuild it.

    ``runs/`` can rebuild it unless the manifest's counts (written when the last
    invocation ended) name more finished runs than ``runs/`` still holds: then the
    rebuilt table would silently lose rows, and a SpecError says what to do.
    """
    path = store.root / "summary.parquet"
    try:
        return pd.read_parquet(path), None
    except FileNotFoundError:
        why = "missing"
    except Exception as exc:  # ArrowInvalid, OSError...: a damaged file
        why = f"unreadable ({type(exc).__name__})"
    summary = rebuild_summary(store, manifest)
    counts = manifest.get("counts")
    if isinstance(counts, dict):
        try:
            expected = int(counts.get("ok", 0)) + int(counts.get("failed", 0))
        except (TypeError, ValueError):
            expected = 0
        if len(summary) < expected:
            source = manifest.get("source") or "EXP.yaml"
            raise SpecError(
                str(path), why,
                f"cannot be rebuilt: runs/ holds {len(summary)} of the {expected} finished "
                f"runs it listed; allowed: run its experiment into this folder again "
                f"(kperf run {source} --out {store.root}) to recompute the missing runs and "
                "rewrite the summary",
            )
    return summary, why


def repair_summary(path: str | os.PathLike[str]) -> str | None:
    """Rewrite a results folder's ``summary.parquet``/``.csv`` from ``runs/`` if the
    Parquet file is missing or unreadable; say what was done (None: nothing to do,
    or no manifest here). Raises a SpecError when it cannot be rebuilt."""
    store = RunStore(path)
    manifest = store.read_manifest()
    if manifest is None:
        return None
    summary, why = read_summary(store, manifest)
    if why is None:
        return None
    store.write_summary(summary)
    return (f"{store.root / 'summary.parquet'} was {why}; rebuilt it and summary.csv from "
            f"runs/ ({len(summary)} runs)")


def rebuild_summary(store: RunStore, manifest: dict[str, Any]) -> pd.DataFrame:
    """The summary from ``runs/`` and the manifest (for a folder whose run was killed)."""
    keys = list(manifest.get("sweep", {}))
    rows = []
    for run_id, entry in manifest.get("runs", {}).items():
        record = store.load_record(run_id)
        if record is not None:
            rows.append(summary_row(entry.get("params", {}), record))
    return summary_frame(rows, keys)

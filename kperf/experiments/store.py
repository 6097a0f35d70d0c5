"""The results store: one folder per experiment, one file per finished run.

Layout of a results folder ``DIR``::

    DIR/manifest.json                  experiment, every run's resolved spec, seeds, times
    DIR/summary.parquet, summary.csv   one row per configuration and replication
    DIR/runs/<run_id>.json             one finished run: status, error, summary, timing
    DIR/runs/<run_id>.samples.parquet  per-request samples (when keep_samples)
    DIR/runs/<run_id>.breakdown.parquet, <run_id>.resources.parquet  (when not empty)

Every file is written atomically: to a temporary file in the same folder (named
``.<name>.<random>.tmp``), flushed and fsynced, then renamed over the final name
with ``os.replace``, which is atomic on POSIX and Windows. A reader (or a resumed
sweep) therefore sees either the whole file or none of it, never half a run. A
run's Parquet files are written before its JSON file; the JSON file is the commit
marker, so a run counts as finished only once everything it needs is on disk.

Resume: a run is *finished* when ``runs/<run_id>.json`` exists with status ``ok``
(and, when samples are requested, its samples file exists too). The run id is a
hash of the run's fully resolved inputs (:mod:`kperf.experiments.expand`), so a
finished file can only belong to the very same computation. Runs recorded as
failed are tried again by the next invocation: the failure may have been a lost
worker, or a bug fixed since.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kperf.experiments.expand import RunSpec
from kperf.experiments.worker import RunOutcome
from kperf.spec.experiment import canonical_json
from kperf.workloads.result import SUMMARY_METRICS

ROW_KEYS = ("replication", "seed", "status", "error", "run_id")
"""Columns between the swept keys and the metrics in the summary table."""

TABLES = ("samples", "breakdown", "resources")


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def to_json(data: Any) -> str:
    """Readable JSON (one key per line); numpy scalars unwrapped."""
    return json.dumps(data, indent=1, ensure_ascii=False, default=_json_default) + "\n"


# --------------------------------------------------------------------------- atomic writes


def _temp_path(path: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_frame(path: Path, frame: pd.DataFrame, fmt: str = "parquet") -> None:
    """Write a DataFrame as Parquet (or CSV) to ``path`` atomically."""
    buf = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buf, index=False)
    else:
        frame.to_csv(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------- the store


class RunStore:
    """Reads and writes one results folder (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    # paths
    def run_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    def table_path(self, run_id: str, table: str) -> Path:
        return self.runs_dir / f"{run_id}.{table}.parquet"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def prepare(self) -> None:
        """Create the folders and remove temporary files a killed process left behind."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.root, self.runs_dir):
            for leftover in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    # runs
    def load_record(self, run_id: str) -> dict[str, Any] | None:
        """The stored record of a run, or None if it has not finished (or is unreadable)."""
        try:
            data = json.loads(self.run_path(run_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def is_finished(self, run_id: str, keep_samples: bool = False) -> bool:
        """True when the run finished ``ok`` (with samples on disk if they are wanted)."""
        record = self.load_record(run_id)
        if record is None or record.get("status") != "ok":
            return False
        return not keep_samples or self.table_path(run_id, "samples").exists()

    def record(self, run: RunSpec, outcome: RunOutcome) -> dict[str, Any]:
        """Write a finished run: its tables first, then its JSON record (the commit)."""
        from kperf.version import __version__

        files: dict[str, str] = {}
        for table in TABLES:
            frame = getattr(outcome, table)
            if isinstance(frame, pd.DataFrame):
                path = self.table_path(run.run_id, table)
                atomic_write_frame(path, frame)
                files[table] = path.name
        finished = datetime.now(UTC).isoformat(timespec="milliseconds")
        record = {
            "run_id": run.run_id,
            "status": outcome.status,
            "error": outcome.error,
            "params": run.params,
            "replication": run.replication,
            "seed": run.seed,
            "summary": outcome.summary,
            "files": files,
            "timing": {
                "started_at": outcome.started_at,
                "finished_at": finished,
                "elapsed_s": outcome.elapsed_s,
            },
            "worker": outcome.worker,
            "kperf_version": __version__,
            "spec": run.spec,
        }
        if outcome.traceback:
            record["traceback"] = outcome.traceback
        atomic_write_text(self.run_path(run.run_id), to_json(record))
        return record

    def load_table(self, run_id: str, table: str = "samples") -> pd.DataFrame:
        """One run's samples, breakdown or resources table."""
        if table not in TABLES:
            raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
        path = self.table_path(run_id, table)
        if not path.exists():
            hint = " (run with keep_samples: true or --keep-samples)" if table == "samples" else ""
            raise FileNotFoundError(f"no {table} stored for run {run_id}{hint}: {path}")
        return pd.read_parquet(path)

    # manifest
    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        atomic_write_text(self.manifest_path, to_json(dict(manifest)))

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # summary
    def gather(self, runs: Iterable[RunSpec], sweep_keys: Iterable[str]) -> pd.DataFrame:
        """The summary table of the finished runs among ``runs``, in their order."""
        keys = list(sweep_keys)
        rows: list[dict[str, Any]] = []
        for run in runs:
            record = self.load_record(run.run_id)
            if record is None:
                continue
            rows.append(summary_row(run.params, record))
        return summary_frame(rows, keys)

    def write_summary(self, frame: pd.DataFrame) -> None:
        atomic_write_frame(self.root / "summary.parquet", frame)
        atomic_write_frame(self.root / "summary.csv", frame, fmt="csv")


def summary_row(params: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """One summary row: swept values, replication, seed, status, error, run id, metrics."""
    row: dict[str, Any] = {k: _param_value(v) for k, v in params.items()}
    row.update(
        replication=record.get("replication"),
        seed=record.get("seed"),
        status=record.get("status"),
        error=record.get("error"),
        run_id=record.get("run_id"),
    )
    for name, value in (record.get("summary") or {}).items():
        if name not in row:
            row[name] = value
    return row


def _param_value(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else (
        canonical_json(value)
    )


def summary_frame(rows: list[dict[str, Any]], sweep_keys: list[str]) -> pd.DataFrame:
    """Rows as a typed DataFrame with the contract's column order.

    Swept keys, then ``replication, seed, status, error, run_id``, then
    SUMMARY_METRICS (always present, NaN where a run has no value), then any other
    metric in order of first appearance. Integer metrics are always nullable
    ``Int64`` (a failed run has no value, and the dtype should not depend on whether
    one failed), floats ``float64``; a swept column whose values mix types is text.
    """
    extra: list[str] = []
    fixed = {*sweep_keys, *ROW_KEYS, *SUMMARY_METRICS}
    for row in rows:
        for name in row:
            if name not in fixed and name not in extra:
                extra.append(name)
    columns = [*sweep_keys, *ROW_KEYS, *SUMMARY_METRICS, *extra]
    data = {c: [row.get(c) for row in rows] for c in columns}
    dtypes = {c: _dtype(v, nullable_int=c not in sweep_keys) for c, v in data.items()}
    dtypes.update(status="object", error="object", run_id="object")
    if rows:
        dtypes.update(replication="int64", seed="int64")
    frame = pd.DataFrame({c: pd.Series(v, dtype=dtypes[c], name=c) for c, v in data.items()},
                         columns=columns)
    for key in sweep_keys:
        kinds = {type(v) for v in data[key] if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            frame[key] = [None if v is None else (v if isinstance(v, str) else canonical_json(v))
                          for v in data[key]]
    return _as_stored(frame)


def _as_stored(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame exactly as reading ``summary.parquet`` gives it back (dtypes
    included), so the table ``kperf.run`` returns equals what ``load_results`` loads,
    whichever pandas version (pandas 3 reads text columns as its string dtype)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    buffer.seek(0)
    return pd.read_parquet(buffer)


def _dtype(values: list[Any], nullable_int: bool) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "float64"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Int64" if nullable_int or len(present) < len(values) else "int64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float64"
    return "object"

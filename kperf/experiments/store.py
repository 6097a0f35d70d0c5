"""The results store: one folder per experiment, one file per finished run.

Layout of a results folder ``DIR``::

    DIR/manifest.json                  experiment, every run's resolved spec, seeds, times
    DIR/summary.parquet, summary.csv   one row per configuration and replication
    DIR/runs/<run_id>.json             one finished run: status, error, summary, timing
    DIR/runs/<run_id>.samples.parquet  per-request samples (when keep_samples)
    DIR/runs/<run_id>.breakdown.parquet, <run_id>.resources.parquet  (when not empty)
    DIR/runs/<run_id>.flows.parquet    per TCP/UDP stream or finite transfer (when not
                                       empty; columns: kperf.workloads.result.FLOW_COLUMNS)

Every file is written atomically: to a temporary file in the same folder (named
``.<name>.<random>.tmp``), flushed and fsynced, then renamed over the final name
with ``os.replace``, which is atomic on POSIX and Windows. A reader (or a resumed
sweep) therefore sees either the whole file or none of it, never half a run. A
run's Parquet files are written before its JSON file; the JSON file is the commit
marker, so a run counts as finished only once everything it needs is on disk. The
temporary file is created with mode ``0o666`` and the process umask applied (as
``open()`` does for reports and plots), so results get the same permissions as
every other file the user writes (0644 under the usual umask 022), not 0600.

Resume: a run is *finished* when ``runs/<run_id>.json`` exists with status ``ok``,
every table file its record lists is still there and intact (Parquet magic bytes
at both ends), and, when samples are requested, its samples file too. Anything
less (a deleted or truncated ``.breakdown.parquet`` or ``.flows.parquet``, say)
makes the run unfinished, so the next invocation recomputes it. Which tables a run
has is what its record's ``files`` lists, so a folder written before a table
existed (no ``flows`` entry, no flows file) still counts as finished. The run id
is a hash of the run's fully resolved inputs (:mod:`kperf.experiments.expand`), so
a finished file can only belong to the very same computation. Runs recorded as
failed are tried again by the next invocation: the failure may have been a lost
worker, or a bug fixed since.

The folder itself: :meth:`RunStore.check_location` refuses an ``--out`` that is (or
lies under) a file before anything is written, :meth:`RunStore.create` turns an
``OSError`` creating it into a one-line SpecError, :meth:`RunStore.held_experiment`
says which experiment a folder holds (from its manifest), and
:meth:`RunStore.clear` removes another experiment's results for ``--force``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kperf.errors import SpecError
from kperf.experiments.expand import RunSpec
from kperf.experiments.lock import LOCK_NAME
from kperf.experiments.worker import RunOutcome
from kperf.spec.experiment import canonical_json
from kperf.workloads.result import SUMMARY_METRICS

ROW_KEYS = ("replication", "seed", "status", "error", "run_id")
"""Columns between the swept keys and the metrics in the summary table."""

TABLES = ("samples", "breakdown", "resources", "flows")
"""The per-run tables, each ``runs/<run_id>.<table>.parquet`` when stored."""


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


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _open_temp(path: Path) -> tuple[int, Path]:
    """A new, empty temporary file next to ``path``: (descriptor, its path).

    Created like ``open(name, "w")`` creates a file (mode 0o666 less the umask),
    unlike ``tempfile.mkstemp`` (always 0600), and exclusively (``O_EXCL``), so
    two writers never share one.
    """
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(path)
    try:
        with open(fd, "wb") as fh:
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


def intact_parquet(path: Path) -> bool:
    """True when ``path`` looks like a whole Parquet file: the ``PAR1`` magic at both
    ends (a truncated or half-copied file lacks the footer). Two small reads."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(0, os.SEEK_END)
            if fh.tell() < 12:
                return False
            fh.seek(-4, os.SEEK_END)
            return head == fh.read(4) == b"PAR1"
    except OSError:
        return False


def _os_reason(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{type(exc).__name__}: {exc.strerror or exc}{where}"


class RunDataMissing(SpecError, FileNotFoundError):
    """A run's record or table is not on disk (never computed, not kept, deleted or
    damaged): a one-line SpecError that is also a FileNotFoundError."""


_RUN_FILE = re.compile(
    r"^[0-9a-f]{16}(?:\.json|\.(?:samples|breakdown|resources|flows)\.parquet)$")
_PLOT_FILE = re.compile(r"^(?:[\w.-]+\.(?:png|svg|pdf)|index\.json)$")
_RESULT_FILES = ("report.md", "report.html", "summary.csv", "summary.parquet")
_PLAN_FILES = ("plan.csv", "plan_probes.csv", "plan.md", "plan.json")  # kperf plan --out


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

    # the folder
    def _stat(self, path: Path) -> os.stat_result | None:
        try:
            return path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise SpecError("--out", str(self.root), f"cannot look at {path} "
                            f"({_os_reason(exc)}); allowed: a folder you can create and "
                            "write to") from None

    def check_location(self) -> None:
        """Refuse (one-line SpecError on ``--out``) a results path that is a file or
        lies under one, before anything is created."""
        st = self._stat(self.root)
        if st is not None:
            if not os.path.isdir(self.root):
                raise SpecError("--out", str(self.root), "is a file, not a folder; allowed: "
                                "a folder (a new one, or one holding this experiment's "
                                "results)")
            return
        for parent in self.root.parents:
            if self._stat(parent) is None:
                continue
            if not os.path.isdir(parent):
                raise SpecError("--out", str(self.root), f"{parent} is a file, so no folder "
                                "can be created under it; allowed: a path whose existing "
                                "parents are folders")
            return

    def create(self) -> None:
        """Create the folder and ``runs/``; an OSError becomes a SpecError on ``--out``."""
        self.check_location()
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError("--out", str(self.root), "cannot create the results folder "
                            f"({_os_reason(exc)}); allowed: a folder you can create and "
                            "write to") from None
        for folder in (self.root, self.runs_dir):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise SpecError("--out", str(self.root), f"cannot write into {folder} "
                                "(permission denied); allowed: a folder you can create and "
                                "write to")

    def prepare(self) -> None:
        """Create the folders and remove temporary files a killed process left behind."""
        self.create()
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
        """True when the run finished ``ok`` and every table its record lists (and its
        samples, if they are wanted) is on disk and intact; otherwise it is redone."""
        record = self.load_record(run_id)
        if record is None or record.get("status") != "ok":
            return False
        files = record.get("files")
        names = {str(n) for n in files.values()} if isinstance(files, dict) else set()
        if keep_samples:
            names.add(self.table_path(run_id, "samples").name)
        return all(intact_parquet(self.runs_dir / name) for name in names)

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
        """One run's samples, breakdown, resources or flows table.

        A table that is not on disk (not kept, deleted) or damaged raises
        :class:`RunDataMissing`: one line saying which, and what to do.
        """
        if table not in TABLES:
            raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
        path = self.table_path(run_id, table)
        where = f"runs/{path.name} in {self.root}"
        redo = f"rerun kperf run with its experiment and --out {self.root} to recompute it"
        if not path.exists():
            record = self.load_record(run_id)
            if record is None:
                raise RunDataMissing("run", run_id, f"no finished run with this id in "
                                     f"{self.root}; allowed: a run id (or row) of its summary")
            files = record.get("files")
            listed = isinstance(files, dict) and table in files
            if listed:
                allowed = f"{where} is missing (deleted?); {redo}"
            elif table == "samples":
                allowed = ("no samples stored for this run; samples are kept only with "
                           "keep_samples: true or --keep-samples")
            elif table == "flows":
                allowed = ("this run stored no flows table (its simulation reported no "
                           "streams or transfers, or a kperf without flows tables wrote it)")
            else:
                allowed = f"this run stored no {table} table (its simulation reported none)"
            raise RunDataMissing(table, run_id, allowed)
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # ArrowInvalid, OSError...: a damaged file
            raise RunDataMissing(table, run_id, f"{where} is damaged "
                                 f"({type(exc).__name__}); {redo}") from None

    # manifest
    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        atomic_write_text(self.manifest_path, to_json(dict(manifest)))

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def held_experiment(self) -> str | None:
        """The name of the experiment this folder holds results of (from its manifest),
        or None (no folder, no manifest, or one that cannot be read)."""
        manifest = self.read_manifest()
        name = manifest.get("name") if manifest is not None else None
        return None if name is None else str(name)

    def clear(self, experiment: str) -> str:
        """Remove the results of ``experiment`` (the one this folder holds) for
        ``kperf run --force``; say what was removed.

        Removed: its run files in ``runs/``, plots in ``plots/``, ``report.md``/
        ``.html``, a capacity plan of the same experiment, the summary and, last, the
        manifest (so an interrupted clear still names the experiment, and the next
        ``--force`` finishes it). Files kperf did not write stay where they are.
        """
        runs = plots = 0
        for folder, pattern in ((self.runs_dir, _RUN_FILE), (self.root / "plots", _PLOT_FILE)):
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                temp = entry.name.startswith(".") and entry.name.endswith(".tmp")
                if entry.is_file() and (temp or pattern.match(entry.name)):
                    entry.unlink()
                    runs += folder == self.runs_dir and entry.suffix == ".json"
                    plots += folder != self.runs_dir and not temp
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if nothing else is left in it
        removed = [f"{runs} run{'s' if runs != 1 else ''}"]
        if plots:
            removed.append(f"{plots} plot file{'s' if plots != 1 else ''}")
        plan = self.root / "plan.json"
        try:
            plan_of = json.loads(plan.read_text(encoding="utf-8")).get("experiment_name")
        except (OSError, ValueError, AttributeError):
            plan_of = None
        names = [*_RESULT_FILES, *(_PLAN_FILES if plan_of == experiment else ())]
        for name in names:
            path = self.root / name
            if path.is_file():
                path.unlink()
                removed.append(name)
        self.manifest_path.unlink(missing_ok=True)
        removed.append("manifest.json")
        kept = sorted(e.name for e in self.root.iterdir() if e.name != LOCK_NAME
                      and not (e.name == "runs" and not any(self.runs_dir.iterdir())))
        text = ", ".join(removed)
        if kept:
            shown = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
            text += f"; left in place (not written by kperf run): {shown}"
        return text

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

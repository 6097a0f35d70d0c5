"""Time every notebook top to bottom, at full settings and at the test suite's small
ones (``KPERF_NB_SMALL=1``), so that the run times the notebooks state are measured.

    .venv/bin/python scripts/time_notebooks.py            # both settings, every notebook
    .venv/bin/python scripts/time_notebooks.py --small    # small settings only

Each notebook runs in a temporary folder (its ``results/`` land there) with nbclient
in a ``python3`` kernel, as ``tests/test_notebooks.py`` runs them. Prints one line per
notebook and setting: wall seconds (the kernel's start included).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_one(path: Path, small: bool, timeout_s: int = 1800) -> float:
    """Wall seconds to execute ``path`` in a fresh kernel."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("KPERF_NB_SMALL")
    os.environ["KPERF_NB_SMALL"] = "1" if small else "0"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            client = nbclient.NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                                             resources={"metadata": {"path": tmp}})
            start = time.perf_counter()
            client.execute()
            return time.perf_counter() - start
    finally:
        if old is None:
            os.environ.pop("KPERF_NB_SMALL", None)
        else:
            os.environ["KPERF_NB_SMALL"] = old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="small settings only")
    args = parser.parse_args()
    settings = [True] if args.small else [False, True]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for small in settings:
            seconds = run_one(path, small)
            print(f"{path.name}: {'small' if small else 'full'} settings {seconds:.1f} s",
                  flush=True)


if __name__ == "__main__":
    main()

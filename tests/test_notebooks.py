"""The notebooks run top to bottom on small settings (KPERF_NB_SMALL=1), and are
committed with their outputs stripped.

They execute with nbclient in a ``python3`` kernel: ipykernel installed in the venv
(``pip install -e .[dev]``) provides it for ``sys.executable``, so a fresh clone needs
no ``jupyter kernelspec install``. Each notebook runs in a temporary folder, so its
``results/`` land there.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TIME_BUDGET_S = 120  # each takes well under a minute on small settings


def test_the_three_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb", "02_cni_comparison.ipynb", "03_capacity_planning.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_are_stripped(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPERF_NB_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no display; %matplotlib inline still renders
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=TIME_BUDGET_S, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, "the notebook shows at least one plot"
    assert elapsed < TIME_BUDGET_S

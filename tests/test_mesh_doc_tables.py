"""scripts/mesh_doc_tables.py (docs/mesh.md's numbers) keeps running: its cheapest table,
and its refusal of an unknown section."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "mesh_doc_tables.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mesh_doc_tables", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_cilium_table_prints_and_matches_the_docs_claims(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--only cilium`` prints the cilium-mesh table: five modes; without L7 the same
    latencies as no mesh and 0 proxy cores; with L7 cheaper than istio-sidecar
    (docs/mesh.md, "cilium-mesh")."""
    _script().main(["--only", "cilium"])
    out = capsys.readouterr().out
    assert out.startswith("## cilium\n")
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("mode",):
            rows[cells[0]] = cells[1:]
    assert list(rows) == ["none", "cilium-mesh", "cilium-mesh, `l7: true`", "istio-ambient",
                          "istio-sidecar"]
    assert rows["cilium-mesh"][:2] == rows["none"][:2]
    assert rows["none"][2] == "-" and float(rows["cilium-mesh"][2]) == 0.0
    l7, sidecar = rows["cilium-mesh, `l7: true`"], rows["istio-sidecar"]
    assert float(l7[0].replace(",", "")) < float(sidecar[0].replace(",", ""))
    assert 0 < float(l7[2]) < float(sidecar[2])


def test_unknown_section_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _script().main(["--only", "cilium,tables"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--only: got tables; allowed: cilium" in err

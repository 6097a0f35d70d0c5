"""The layer order of README.md ("Architecture") holds for every import in ``kperf/``.

Each module's imports are read with :mod:`ast`, wherever they are: at the top, inside
functions (lazy imports still tie the layers together), under ``TYPE_CHECKING``
(mypy follows them) and ``importlib.import_module("kperf...")`` calls with a literal
name. The rules, from the README:

* a package imports only packages of lower layers, and itself;
* two packages of one layer (``analysis``, ``calibration``, ``bench``) do not import
  each other: none needs the other, and keeping them apart keeps each one usable
  alone;
* ``kperf/__init__.py`` is the public API on top of every layer: nothing in kperf
  imports it, and it imports the layers only for type checkers (its names resolve
  lazily at run time, so ``import kperf`` stays cheap);
* no two modules import each other, directly or round a longer circle.

The table is parsed from the README, so the README and this test cannot drift apart:
a new top-level module or package must get a row (or join one) before it passes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kperf"
README = ROOT / "README.md"
TOP = "kperf"

ALLOWED: dict[tuple[str, str], str] = {}
"""(importing file, imported module) -> why this upward import is accepted.

Empty: every import follows the layers. An entry needs a reason a reviewer accepts;
moving code down or passing a value in is the usual fix instead.
"""


@dataclass(frozen=True)
class Import:
    """One import of a kperf module: where it is and what it names."""

    file: str  # relative to the repository, e.g. kperf/cluster/build.py
    line: int
    module: str  # the kperf module imported, e.g. kperf.cluster.conformance
    type_only: bool  # under ``if TYPE_CHECKING:``


def layer_table() -> dict[str, int]:
    """Top-level module or package of kperf -> its layer, from the README's table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Architecture", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    for m in re.finditer(r"^\|\s*(\d+)\s*\|([^|]*)\|", section, re.MULTILINE):
        for name in re.findall(r"`([a-z_][a-z0-9_]*)`", m[2]):
            assert name not in layers, f"README Architecture table lists {name!r} twice"
            layers[name] = int(m[1])
    assert layers, "no layer table found under '## Architecture' in README.md"
    return layers


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


MODULES = {module_name(p) for p in sources()}


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else (
                test.attr if isinstance(test, ast.Attribute) else "")
            if name == "TYPE_CHECKING":
                for stmt in node.body:
                    lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of ``from ... import``, relative forms included."""
    if not node.level:
        return node.module or ""
    base = module_name(path).split(".")
    if not _is_package(path):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imported_by_call(call: ast.Call) -> list[str]:
    """The module of ``importlib.import_module("...")`` or ``__import__("...")``."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else (
        func.id if isinstance(func, ast.Name) else "")
    if name not in ("import_module", "__import__") or not call.args:
        return []
    arg = call.args[0]
    return [arg.value] if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else []


def imports_of(path: Path) -> Iterator[Import]:
    """Every import of a kperf module in ``path``; ``from a import b`` names ``a.b``
    when that is a module, else ``a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    type_only = _type_checking_lines(tree)
    rel = path.relative_to(ROOT).as_posix()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(path, node)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        elif isinstance(node, ast.Call):
            names = _imported_by_call(node)
        else:
            continue
        for name in dict.fromkeys(names):
            if name == TOP or name.startswith(TOP + "."):
                yield Import(rel, node.lineno, name, node.lineno in type_only)


def package_of(module: str) -> str:
    """``kperf.cluster.build`` -> ``cluster``; the root package -> ``kperf``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else TOP


def all_imports() -> list[Import]:
    return [imp for path in sources() for imp in imports_of(path)]


# --------------------------------------------------------------------------- tests


def test_every_module_has_a_layer() -> None:
    layers = layer_table()
    present = {package_of(m) for m in MODULES} - {TOP}
    missing = sorted(present - layers.keys())
    stale = sorted(layers.keys() - present)
    assert not missing, (f"kperf/{', kperf/'.join(missing)} in no layer: add to the table "
                         "under '## Architecture' in README.md")
    assert not stale, f"README's layer table lists {stale}, which kperf/ does not have"


def test_imports_follow_the_layers() -> None:
    layers = layer_table()
    problems = []
    used: set[tuple[str, str]] = set()
    for imp in all_imports():
        src = package_of(module_name(ROOT / imp.file))
        dst = package_of(imp.module)
        if src in (TOP, dst):
            continue  # the root is on top; a package may import itself
        src_layer, dst_layer = layers.get(src), layers.get(dst)
        if src_layer is None or (dst_layer is not None and dst_layer < src_layer):
            continue  # a module in no layer is reported by the test above
        if (imp.file, imp.module) in ALLOWED:
            used.add((imp.file, imp.module))
            continue
        what = ("the root package, the public API on top of every layer" if dst == TOP
                else f"{dst}, layer {dst_layer}")
        why = "same layer, another package" if dst_layer == src_layer else "upward"
        problems.append(f"{imp.file}:{imp.line}: {src} (layer {src_layer}) imports "
                        f"{imp.module} ({what}): {why}")
    assert not problems, "imports against the layer order of README.md:\n" + "\n".join(
        problems)
    stale = sorted(ALLOWED.keys() - used)
    assert not stale, f"allow-list entries no longer needed (remove them): {stale}"


def test_root_package_imports_lazily() -> None:
    """``kperf/__init__.py`` imports kperf modules only for type checkers."""
    eager = [f"{imp.file}:{imp.line}: {imp.module}"
             for imp in imports_of(PACKAGE / "__init__.py") if not imp.type_only]
    assert not eager, ("kperf/__init__.py must resolve public names lazily (add them to "
                       "_LAZY and the TYPE_CHECKING block), not import:\n" + "\n".join(eager))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, edges = work[-1]
            w = next(edges, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_no_import_circles() -> None:
    """No module imports one that imports it back (lazily or for types included):
    a circle means neither can be understood, tested or loaded without the other."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    where: dict[tuple[str, str], str] = {}
    for imp in all_imports():
        src = module_name(ROOT / imp.file)
        if imp.module in MODULES and imp.module != src:
            graph[src].add(imp.module)
            where.setdefault((src, imp.module), f"{imp.file}:{imp.line}")
    lines = []
    for comp in _cycles(graph):
        members = set(comp)
        edges = [f"  {where[(a, b)]}: {a} -> {b}" for a in comp for b in sorted(graph[a])
                 if b in members]
        lines.append(f"circle {', '.join(comp)}:\n" + "\n".join(edges))
    assert not lines, "import circles in kperf/:\n" + "\n".join(lines)

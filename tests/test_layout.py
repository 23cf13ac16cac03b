"""The package layout: dependencies run one way, with no import cycles between packages.

Every hubscape import in the sources is read with ``ast`` (deferred imports inside functions
too, since a cycle hidden by a deferred import is still a cycle) and checked against the layers
in docs/ARCHITECTURE.md. A higher layer may import a lower one, never the reverse.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Top to bottom. Packages on one line are independent of each other.
LAYERS = [
    ["hubscape"],  # the notebook facade (hubscape/__init__.py)
    ["hubscape.viewer"],  # its __init__ and __main__ (python -m hubscape.viewer)
    ["hubscape.viewer.cli"],
    ["hubscape.viewer.server"],
    ["hubscape.viewer.export", "hubscape.viewer.reports"],
    ["hubscape.viewer.render"],
    ["hubscape.viewer.sources"],
    ["hubscape.viewer.scene"],
    ["hubscape.analytics"],
    ["hubscape.core", "hubscape.shaders", "hubscape.static"],
]


def _package_dirs() -> dict[str, Path]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: REPO / folder for name, folder in config["package-dir"].items()}


def _modules() -> dict[str, Path]:
    """Every module of the distribution: dotted name -> file."""
    found = {}
    for package, folder in _package_dirs().items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def _imports(name: str, path: Path, is_package: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    base = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("hubscape"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("hubscape"):
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for target in _imports(name, path, path.name == "__init__.py"):
            while target and target not in modules:  # "pkg.mod.attr" -> "pkg.mod"
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def _layer(module: str) -> tuple[int, str]:
    best = None
    for level, group in enumerate(LAYERS):
        for prefix in group:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (level, prefix)
    assert best is not None, f"{module} is in no layer of tests/test_layout.py"
    return best


def test_every_package_folder_is_in_the_distribution():
    """A subpackage missing from pyproject's list works in an editable install but not in the wheel."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {name for name, path in _modules().items() if path.name == "__init__.py"}
    assert found == listed, (
        f"missing from pyproject: {sorted(found - listed)}; listed but absent: {sorted(listed - found)}"
    )


def test_every_module_has_a_layer():
    for module in _modules():
        _layer(module)


def test_dependencies_run_one_way():
    wrong = []
    for module, targets in _graph().items():
        level, group = _layer(module)
        for target in targets:
            t_level, t_group = _layer(target)
            if t_level < level or (t_level == level and t_group != group):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layers of docs/ARCHITECTURE.md:\n" + "\n".join(sorted(wrong))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package_of(module: str, modules: dict[str, Path]) -> str:
    path = modules[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def test_no_import_cycles_between_packages():
    modules, graph = _modules(), _graph()
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        src = _package_of(module, modules)
        for target in targets:
            dst = _package_of(target, modules)
            # A package may use its own subpackages; a cycle needs a way back up.
            if dst != src and not dst.startswith(src + "."):
                packages.setdefault(src, set()).add(dst)
    assert not _cycles(packages), f"package import cycles: {_cycles(packages)}"


def test_no_import_cycles_between_modules():
    assert not _cycles(_graph()), f"module import cycles: {_cycles(_graph())}"


def test_import_hubscape_is_light():
    """The facade imports nothing heavy (Pyodide has no torch or pygfx; notebooks start fast)."""
    code = "import sys, hubscape; dir(hubscape); print(sorted(m for m in ('numpy', 'torch', 'pygfx', 'wgpu', 'matplotlib', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

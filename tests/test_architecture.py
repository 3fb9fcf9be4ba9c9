"""The package's shape, read from its source: imports flow one way through the layers DEVELOPERS.md
lists, no file imports another that (directly or not) imports it back, no package takes another's
private (``_name``) names, no module grows past ~300 lines, and ``import ghostedge`` (and the
Python API's names) load neither torch nor TensorFlow."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ghostedge"

# Lowest first. A unit may import units of its own layer index or below, never above.
LAYERS: List[Tuple[str, ...]] = [
    ("errors", "fileio", "progress", "text", "scores", "stderr_capture"),
    ("android_runner", "data"),
    ("tflite",),
    ("models",),
    ("model_report",),
    ("armcheck",),
    ("quantize",),
    ("convert",),
    ("accuracy", "appexport"),
    ("device_bench",),
    ("api",),
    ("cli", "__main__"),
]
LAYER_OF = {unit: i for i, units in enumerate(LAYERS) for unit in units}
MAX_LINES = 310
GENERATED = {"tflite/_metadata_schema_generated.py"}


def _modules() -> Dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> List[Tuple[str, List[str], int]]:
    """(imported module, names taken from it, line) for every import in the file, functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_pkg else anchor[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            out.append((base, [a.name for a in node.names], node.lineno))
    return [(m, names, line) for m, names, line in out if m == "ghostedge" or m.startswith("ghostedge.")]


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _resolve(importer: str, target: str, names: List[str], modules: Dict[str, Path]) -> List[str]:
    """The project modules an import statement depends on: ``from pkg import submodule`` is the
    submodule; other names are the module itself. A package's own ``__init__`` (run for any of its
    submodules anyway) is no dependency of the modules inside it."""
    subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
    found = subs + ([target] if target in modules and (not names or len(subs) < len(names)) else [])
    return [m for m in found if m != importer and not importer.startswith(m + ".")]


def _graph(modules: Dict[str, Path]) -> Dict[str, Set[str]]:
    return {n: {m for t, names, _ in _imports(n, p) for m in _resolve(n, t, names, modules)}
            for n, p in modules.items()}


def find_cycles(graph: Dict[str, Set[str]]) -> List[str]:
    """Every circle found by a depth-first walk, as ``a -> b -> a``."""
    cycles: List[str] = []
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif not state.get(nxt):
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node)
    return cycles


MODULES = _modules()
GRAPH = _graph(MODULES)


def test_every_unit_has_a_layer():
    units = {_unit(m) for m in MODULES if m != "ghostedge"}
    assert units <= set(LAYER_OF), f"add these to LAYERS (and DEVELOPERS.md): {sorted(units - set(LAYER_OF))}"


def test_imports_flow_one_way():
    upward = []
    for name, path in MODULES.items():
        if name == "ghostedge":  # the package face re-exports the API lazily
            continue
        mine = LAYER_OF[_unit(name)]
        for target, _, line in _imports(name, path):
            unit = _unit(target)
            if unit and LAYER_OF.get(unit, -1) > mine:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} "
                              f"(layer {LAYER_OF[unit]} above {mine})")
    assert upward == [], "\n".join(upward)


def test_no_circles():
    graph = {n: deps for n, deps in GRAPH.items() if n != "ghostedge"}
    cycles = find_cycles(graph)
    assert cycles == [], "\n".join(cycles)


def test_no_private_names_across_packages():
    bad = []
    for name, path in MODULES.items():
        for target, names, line in _imports(name, path):
            same_unit = _unit(target) == _unit(name)
            private_module = any(p.startswith("_") for p in target.split(".")[2:])
            private_names = [n for n in names if n.startswith("_") and not n.endswith("__")]
            if not same_unit and (private_module or private_names):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} takes {target} {private_names}")
    assert bad == [], "\n".join(bad)


def test_modules_stay_small():
    big = [f"{p.relative_to(PACKAGE)}: {n} lines" for p in PACKAGE.rglob("*.py")
           if str(p.relative_to(PACKAGE)) not in GENERATED
           and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert big == [], "\n".join(big)


@pytest.mark.parametrize("code", [
    "import ghostedge",
    "import ghostedge; ghostedge.convert, ghostedge.bench, ghostedge.evaluate, ghostedge.predict, "
    "ghostedge.inspect, ghostedge.check",
    "import ghostedge.cli.main; ghostedge.cli.main.build_parser()",
])
def test_importing_loads_no_heavy_library(code):
    check = (f"{code}; import sys; heavy = {{'torch', 'tensorflow', 'onnx', 'cv2', 'onnx2tf'}} & set(sys.modules); "
             "print(sorted(heavy)); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_detector_sees_an_upward_import_and_a_circle(tmp_path):
    """The checks above can fail: fed a tiny package with a data → cli import and an a ↔ b circle,
    they report both."""
    fake = tmp_path / "ghostedge"
    (fake / "data").mkdir(parents=True)
    (fake / "cli").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "data" / "__init__.py").write_text("")
    (fake / "cli" / "__init__.py").write_text("")
    (fake / "data" / "a.py").write_text("from ghostedge.cli import main\nfrom ghostedge.data import b\n")
    (fake / "data" / "b.py").write_text("def f():\n    from ghostedge.data.a import x\n")
    (fake / "cli" / "main.py").write_text("")
    imports = _imports("ghostedge.data.a", fake / "data" / "a.py")
    assert ("ghostedge.cli", ["main"], 1) in imports
    assert LAYER_OF[_unit("ghostedge.cli")] > LAYER_OF[_unit("ghostedge.data.a")]
    modules = {"ghostedge.data.a": fake / "data" / "a.py", "ghostedge.data.b": fake / "data" / "b.py"}
    graph = _graph(modules)
    assert graph == {"ghostedge.data.a": {"ghostedge.data.b"}, "ghostedge.data.b": {"ghostedge.data.a"}}
    assert find_cycles(graph) == ["ghostedge.data.a -> ghostedge.data.b -> ghostedge.data.a"]

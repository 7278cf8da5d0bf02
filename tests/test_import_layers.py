"""Imports point one way (docs/architecture.md): a module imports its own package and the
layers below it, never a layer above it nor a sibling of its own layer, and no modules import each
other while they load.

The layers, lowest first, as today's imports have them:

    0  taostream (the root package: __version__ only), taostream.plugins (plugin references, when present)
    1  converter           the model in; imports only layer 0
    2  parsers             bbox parsers and their numpy references; imports converter (errors, fileio, registry)
    3  deepstream_configs  configs, bundles, check  |  training   TAO wrappers, specs, datasets
       (siblings: neither imports the other)
    4  inference           runs what deepstream_configs wrote (bundles, labels, ini, specs) and reads
                           training's datasets (image headers)
    5  taostream.cli       the command line over all of them (6: taostream.__main__, which runs it)

Every import is read statically (ast), at module level and inside functions: a lazy import is as
much a dependency as one at the top, so both must point down. Imports under ``if TYPE_CHECKING:``
count for the layers too.

Cycles are looked for among the imports that run while a module loads: module level (including
inside top-level if/try blocks and class bodies) and inside a function the module calls at its own
top level. An import inside any other function runs when the function is called, after both modules
have loaded, so it cannot make a half-initialised module visible and is not a cycle edge here;
``if TYPE_CHECKING:`` imports never run and are not either.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "taostream": 0,
    # converter: its root modules (errors, files, keys, registry, specs, labels) under its stages,
    # which point one way along the model's path: uff -> model -> plugins -> int8 -> modernize -> engine
    "taostream.converter": 1,
    "taostream.converter.uff": 1.1,
    "taostream.converter.model": 1.2,
    "taostream.plugins": 1.3,
    "taostream.converter.int8": 1.4,
    "taostream.converter.modernize": 1.5,
    "taostream.converter.engine": 1.6,
    "taostream.converter.samples": 1.7,
    "taostream.converter.cli": 1.8,
    "taostream.parsers": 2,
    "taostream.deepstream_configs": 3,
    "taostream.training": 3,
    "taostream.inference": 4,
    "taostream.cli": 5,
    "taostream.__main__": 6,
}


# A module named in a string: one of the layers' packages, a module path, an optional ":function".
# (Other "taostream.*" strings are ONNX metadata keys and domains.)
MODULE_NAME = re.compile("(?:" + "|".join(re.escape(name) for name in LAYERS if name != "taostream") + r")"
                         r"(\.[a-z_][a-z0-9_]*)*(:[A-Za-z_]\w*)?")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    file: Path
    line: int
    target: str  # the imported module (or package)
    in_function: bool  # inside a def or lambda that the module does not call while it loads
    type_checking: bool  # under `if TYPE_CHECKING:`
    dynamic: bool = False  # a module name in a string ("taostream.converter.int8.qdq:insert_qdq_from_cache")

    def where(self, root: Path) -> str:
        return f"{self.file.relative_to(root)}:{self.line}"


def package_dirs(root: Path) -> dict[str, Path]:
    """The packages the distribution installs and their source folders ([tool.setuptools.package-dir])."""
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = setuptools.get("package-dir", {})

    def folder(name: str) -> Path:  # as setuptools maps it: the nearest mapped parent, plus the rest
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            parent = ".".join(parts[:cut])
            if parent in folders:
                return root / folders[parent] / "/".join(parts[cut:])
        return root / "/".join(parts)

    return {name: folder(name) for name in setuptools["packages"]}


def modules_of(packages: dict[str, Path]) -> dict[str, Path]:
    """Module name -> file, for every .py file directly in each package's folder."""
    modules = {}
    for package, folder in packages.items():
        for file in sorted(folder.glob("*.py")):
            modules[package if file.stem == "__init__" else f"{package}.{file.stem}"] = file
    return modules


def _called_at_load(tree: ast.Module) -> set[str]:
    """Names of the module's functions that its top-level statements call (`_register()`)."""
    called = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.add(node.func.id)
    return called


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, file: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of a project module in ``file``, resolved to the module it loads."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    package = module if file.stem == "__init__" else module.rpartition(".")[0]
    at_load = _called_at_load(tree)
    found: list[Import] = []

    def targets(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:  # relative: from . import x, from ..converter import y
            parts = package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        # `from package import module` loads the module; `from module import name` the module
        loaded = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        return list(dict.fromkeys(loaded))  # once per module, however many names come from it

    def visit(node, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in targets(child):
                    if target == "taostream" or target.startswith("taostream."):
                        found.append(Import(module, file, child.lineno, target, in_function, type_checking))
                continue
            if isinstance(child, ast.Constant) and isinstance(child.value, str) and MODULE_NAME.fullmatch(child.value):
                # importlib.import_module(name), "module:function" tables, __name__ checks: loaded when
                # the code runs, so a dependency for the layers but no load-time cycle edge
                target = child.value.partition(":")[0]
                found.append(Import(module, file, child.lineno, target, True, type_checking, dynamic=True))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                deferred = in_function or node is not tree or child.name not in at_load
                visit(child, deferred, type_checking)
            elif isinstance(child, ast.Lambda):
                visit(child, True, type_checking)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), in_function, True)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), in_function, type_checking)
            else:
                visit(child, in_function, type_checking)

    visit(tree, False, False)
    return found


def layer_of(name: str) -> str | None:
    """The LAYERS key a module belongs to: the longest one it is or is inside of."""
    keys = [key for key in LAYERS if name == key or name.startswith(key + ".")]
    return max(keys, key=len) if keys else None


def layer_violations(imports: list[Import], root: Path) -> list[str]:
    problems = []
    for imp in imports:
        source, target = layer_of(imp.module), layer_of(imp.target)
        if source is None or target is None:
            problems.append(f"{imp.where(root)}: {imp.module} or {imp.target} is in no layer; add its package to "
                            "LAYERS in tests/test_import_layers.py (and to docs/architecture.md)")
        elif source != target and LAYERS[target] >= LAYERS[source]:
            how = "a sibling layer" if LAYERS[target] == LAYERS[source] else "a higher layer"
            lazy = (" (by name, in a string)" if imp.dynamic else
                    " (inside a function: a lazy import is a dependency too)" if imp.in_function else "")
            problems.append(f"{imp.where(root)}: {imp.module} ({source}, layer {LAYERS[source]}) imports {imp.target} "
                            f"from {how} ({target}, layer {LAYERS[target]}){lazy}; move what it needs down a layer or "
                            "pass it in")
    return problems


def import_cycles(imports: list[Import], root: Path) -> list[str]:
    """One line per cycle among the imports that run at load time, each edge as file:line."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if not imp.in_function and not imp.type_checking and imp.target != imp.module:
            edges.setdefault(imp.module, {}).setdefault(imp.target, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def strongconnect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in edges.get(node, {}):
            if successor not in index:
                strongconnect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strongconnect(node)
    cycles = []
    for component in components:
        # One concrete cycle through the component's first module, by breadth-first search back to it.
        start, members = component[0], set(component)
        paths = {start: [start]}
        queue = [start]
        cycle = None
        while queue and cycle is None:
            node = queue.pop(0)
            for successor in sorted(edges.get(node, {})):
                if successor == start:
                    cycle = paths[node] + [start]
                    break
                if successor in members and successor not in paths:
                    paths[successor] = paths[node] + [successor]
                    queue.append(successor)
        steps = [f"{edges[a][b].where(root)} imports {b}" for a, b in zip(cycle, cycle[1:])]
        others = sorted(members - set(cycle))
        also = f" (and {', '.join(others)} in cycles with these)" if others else ""
        cycles.append("import cycle: " + "; ".join(steps) + also)
    return cycles


def project_imports() -> tuple[list[Import], dict[str, Path]]:
    modules = modules_of(package_dirs(ROOT))
    return [imp for name, file in modules.items() for imp in imports_of(name, file, modules)], modules


def test_every_installed_package_has_a_layer():
    assert [name for name in package_dirs(ROOT) if layer_of(name) is None] == []


def test_every_folder_of_modules_is_an_installed_package():
    """A sub-package (converter/uff/, deepstream_configs/check/ ...) must be listed in pyproject's
    packages: otherwise it is neither installed nor read by these tests."""
    packages = package_dirs(ROOT)
    listed = {folder.resolve() for folder in packages.values()}
    unlisted = sorted({str(path.parent.relative_to(ROOT)) for folder in packages.values() if folder != ROOT / "taostream"
                       for path in folder.rglob("*.py") if "__pycache__" not in path.parts
                       and path.parent.resolve() not in listed})
    assert unlisted == []


def test_no_module_imports_from_a_higher_or_sibling_layer():
    imports, modules = project_imports()
    assert len(modules) > 100 and len(imports) > 300  # the whole tree was read
    assert layer_violations(imports, ROOT) == []


def test_every_module_named_in_a_string_exists():
    """Modules imported by name (COMMAND_MODULES, modernize's REWRITES, engine_prep's optional steps,
    the Triton CPU model's reference copies) must follow a module when it moves."""
    imports, modules = project_imports()
    named = [imp for imp in imports if imp.dynamic]
    assert len(named) > 10
    assert [f"{imp.where(ROOT)}: {imp.target}" for imp in named if imp.target not in modules] == []


def test_no_import_cycles_at_load_time():
    imports, _ = project_imports()
    assert import_cycles(imports, ROOT) == []


# The checker itself, on small trees shaped like taostream's.

def _tree(tmp_path: Path, files: dict[str, str]) -> tuple[list[Import], Path]:
    packages = {"taostream": tmp_path / "taostream"}
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.parent != tmp_path / "taostream":
            packages["taostream." + ".".join(path.parent.relative_to(tmp_path).parts)] = path.parent
    (tmp_path / "taostream").mkdir()
    (tmp_path / "taostream" / "__init__.py").write_text('__version__ = "0"\n')
    for folder in packages.values():
        (folder / "__init__.py").touch()
    modules = modules_of(packages)
    return [imp for name, file in modules.items() for imp in imports_of(name, file, modules)], tmp_path


def test_checker_names_upward_and_sibling_imports_at_any_depth(tmp_path):
    imports, root = _tree(tmp_path, {
        "converter/engine/prep.py": 'STEP = "taostream.inference.run:main"  # imported by name later\n',
        "converter/registry.py": "import os\n\ndef labels():\n    from taostream.deepstream_configs import labels\n",
        "converter/samples/write.py": "from taostream.deepstream_configs.labels import label_file_text\n",
        "deepstream_configs/labels.py": "from taostream.converter import registry\n",
        "training/dataset.py": "from ..deepstream_configs.labels import x\n",
        "inference/run.py": "from taostream.deepstream_configs import labels\nfrom taostream.training import dataset\n",
    })
    problems = layer_violations(imports, root)
    assert [p.split(": ", 1)[0] for p in problems] == [
        "converter/engine/prep.py:1", "converter/registry.py:4", "converter/samples/write.py:1", "training/dataset.py:1"]
    assert "imports taostream.inference.run from a higher layer (taostream.inference, layer 4) (by name" in problems[0]
    assert "imports taostream.deepstream_configs.labels from a higher layer" in problems[1]
    assert "(inside a function: a lazy import is a dependency too)" in problems[1]
    assert "inside a function" not in problems[2]
    assert "from a sibling layer (taostream.deepstream_configs, layer 3)" in problems[3]


def test_checker_orders_the_converter_stages(tmp_path):
    imports, root = _tree(tmp_path, {
        "converter/errors.py": "class TaostreamError(Exception):\n    pass\n",
        "converter/int8/qdq.py": "from taostream.converter.errors import TaostreamError\n"
                                 "from taostream.converter.modernize.apply import modernize\n",
        "converter/modernize/apply.py": "from taostream.converter.int8.qdq import insert_qdq_from_cache\n"
                                        "from taostream.plugins.reference import reference_for\n",
        "plugins/reference.py": "from taostream.converter.errors import TaostreamError\n",
        "converter/uff/reader.py": "from taostream.converter.model.etlt import read_etlt\n",
    })
    problems = layer_violations(imports, root)
    assert [p.split(": ", 1)[0] for p in problems] == ["converter/int8/qdq.py:2", "converter/uff/reader.py:1"]
    assert "(taostream.converter.int8, layer 1.4) imports taostream.converter.modernize.apply from a higher layer" \
        in problems[0]


def test_package_init_files_import_nothing_of_the_project():
    """docs/architecture.md: loading one module of a stage does not load its siblings, and no import can
    close a cycle through a half-loaded package __init__."""
    imports, _ = project_imports()
    loaded_by_init = [f"{imp.where(ROOT)}: {imp.target}" for imp in imports
                      if imp.file.name == "__init__.py" and imp.module != "taostream"]
    assert loaded_by_init == []


def test_checker_finds_load_time_cycles_only(tmp_path):
    imports, root = _tree(tmp_path, {
        "converter/a.py": "import json\n\nfrom taostream.converter import b\n",
        "converter/b.py": "X = 1\nif True:\n    from taostream.converter.a import Y\n",
        # c <-> d only through a function nobody calls while loading: not a cycle
        "converter/c.py": "from taostream.converter import d\n",
        "converter/d.py": "def later():\n    from taostream.converter import c\n",
        # e <-> f through a function f calls at its top level: a cycle
        "converter/e.py": "from taostream.converter import f\n",
        "converter/f.py": "def _register():\n    from taostream.converter.e import g\n\n_register()\n",
        # TYPE_CHECKING imports never run
        "converter/g.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from taostream.converter import h\n",
        "converter/h.py": "from taostream.converter import g\n",
    })
    assert import_cycles(imports, root) == [
        "import cycle: converter/a.py:3 imports taostream.converter.b; converter/b.py:3 imports taostream.converter.a",
        "import cycle: converter/e.py:1 imports taostream.converter.f; converter/f.py:2 imports taostream.converter.e",
    ]


# Lazy imports (issue 16): an import inside a function is kept there only for a reason, said on its
# line or the line above, so that cheap, cycle-free imports are visible at the module's top.

LAZY_REASONS = (
    r"optional \([^)]+\)",  # an extra or environment that may be absent: tensorrt, cuda, pyds, gi, tritonclient ...
    r"heavy\b",  # onnx, onnxruntime, onnx_graphsurgeon, cv2, tqdm ... where the module rarely needs it
    r"CLI start-up",  # a command module: `taostream --help` loads it and must stay fast
    r"cycle \([^)]+\)",  # hoisting it would make a load-time import cycle
    r"not in the Triton CPU model's copy",  # TRITON_COPIES: the copies beside model.py import only numpy at the top
)
LAZY_COMMENT = re.compile(r"#\s*lazy: (?:" + "|".join(LAZY_REASONS) + ")")
TRITON_COPIES = ("plugins/reference.py", "plugins/maskrcnn.py", "plugins/pipeline.py", "plugins/host_calls.py",
                 "parsers/reference.py", "deepstream_configs/triton/python_model.py")


def function_level_imports(file: Path) -> list[tuple[int, str]]:
    """(line, the comment that says why) for each import inside a def or lambda; '' where none does."""
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []

    def visit(node, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if in_function:
                    own = lines[child.lineno - 1:child.end_lineno]
                    above = lines[child.lineno - 2].strip() if child.lineno > 1 else ""
                    said = [line for line in own if LAZY_COMMENT.search(line)]
                    if above.startswith("#") and LAZY_COMMENT.search(above):
                        said.append(above)
                    found.append((child.lineno, said[0] if said else ""))
            else:
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(text, filename=str(file)), False)
    return found


def unexplained_lazy_imports(files: list[Path], root: Path) -> list[str]:
    return [f"{file.relative_to(root)}:{line}: an import inside a function without `# lazy: <reason>` "
            "(move it to the module's top, or say why it is lazy: see LAZY_REASONS in tests/test_import_layers.py)"
            for file in files for line, said in function_level_imports(file) if not said]


def test_every_function_level_import_says_why_it_is_lazy():
    files = sorted(set(modules_of(package_dirs(ROOT)).values()))
    lazy = [(file, line) for file in files for line, _ in function_level_imports(file)]
    assert len(lazy) > 50  # the optional and heavy ones are there to check
    assert unexplained_lazy_imports(files, ROOT) == []


def test_the_triton_copy_reason_is_only_used_where_it_is_true():
    """The Triton CPU model carries copies of a few files that must import only numpy (and the standard
    library) at their top; no other file may give that reason."""
    files = sorted(set(modules_of(package_dirs(ROOT)).values()))
    misused = [f"{file.relative_to(ROOT)}:{line}" for file in files for line, said in function_level_imports(file)
               if "Triton CPU model's copy" in said and str(file.relative_to(ROOT)) not in TRITON_COPIES]
    assert misused == []
    for name in TRITON_COPIES:
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        tops = [alias.name if isinstance(node, ast.Import) else node.module
                for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else node.names[:1])]
        assert [top for top in tops if top.split(".")[0] not in sys.stdlib_module_names and top != "numpy"] == [], name


def test_checker_names_lazy_imports_without_a_reason(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import json\n\n"
        "def a():\n    import os\n"  # no reason: line 4
        "def b():\n    import onnxruntime  # lazy: heavy\n"
        "def c():\n    # lazy: optional (gpu)\n    import tensorrt\n"
        "def d():\n    from x import (  # lazy: because\n        y,\n    )\n"  # not a reason of the list: line 11
        "def e():\n    f = lambda: __import__('os')\n    from taostream.converter import (\n"
        "        errors,  # lazy: cycle (converter.errors imports this one)\n    )\n"
        "class K:\n    def g(self):\n        import cv2  # lazy: heavy (only for --plots)\n"
        "    import numpy\n")  # class body, not a function: not lazy
    problems = unexplained_lazy_imports([module], tmp_path)
    assert [p.split(": ", 1)[0] for p in problems] == ["m.py:4", "m.py:11"]


def test_cli_start_up_loads_no_heavy_runtime():
    """`taostream --help` (build_parser: every command module) loads none of the heavy or optional
    runtimes, nor onnx; the commands import them when they run. (numpy does load.)"""
    code = "import sys; from taostream.cli import build_parser; build_parser(); print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert "taostream.cli" in loaded and "taostream.inference.cli" in loaded
    heavy = ("onnxruntime", "onnx", "cv2", "onnx_graphsurgeon", "tensorrt", "tritonclient", "polygraphy",
             "pycocotools", "matplotlib", "tqdm", "cuda")
    assert sorted(name for name in loaded if name.split(".")[0] in heavy) == []

"""The layout's rules, checked on the code itself (docs/ARCHITECTURE.md gives the reasons for each boundary).

Dependencies point one way (ui -> review -> editor / db, and everything may use the shared `errors`), the pipeline
reaches editors only through their small interface, no module borrows another's private names, and functions and
modules stay a size a newcomer can read. Each rule names what broke it, so a failure says where to look.
"""
import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("editor", "review", "db", "ui", "bench", "scripts")
MAX_FUNCTION_LINES = 100
MAX_MODULE_LINES = 400
# String tables and migrations are long by nature; tests are aside too (they live in tests/, not checked here).
SIZE_EXEMPT = {"ui/strings.py"}
# What each top-level package may import from the project (the composition root and the CLI wire everything).
MAY_IMPORT = {
    "errors": set(),
    "db": {"errors", "db"},
    "editor": {"errors", "editor"},
    "review": {"errors", "editor", "db", "review"},
    "ui": {"errors", "editor", "db", "review", "ui"},
}
# The pipeline talks to editors through editor/base.py; only the composition root picks the backend by name.
PIPELINE_EDITOR_IMPORTS = {"editor.base"}
COMPOSITION_ROOT = {"review/pipeline/runtime.py": {"editor.registry"}}


def modules() -> list[Path]:
    found = [REPO / "app.py", REPO / "errors.py"]
    for pkg in PACKAGES:
        found += [p for p in sorted((REPO / pkg).rglob("*.py")) if "migrations" not in p.parts]
    return found


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names) for every absolute import, at any depth (imports inside functions count too)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, [a.name for a in node.names]))
    return out


PARSED = {rel(p): ast.parse(p.read_text(), filename=str(p)) for p in modules()}
TOP = {"errors", *MAY_IMPORT}


def test_every_package_says_what_it_holds():
    for init in sorted(REPO.glob("*/**/__init__.py")):
        if ".venv" in init.parts or "tests" in init.parts or "migrations" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text()))
        summary = (doc or "").strip().split("\n")[0]
        assert summary.endswith("."), f"{rel(init)} needs a docstring whose first line says what the package holds"


@pytest.mark.parametrize("path", sorted(PARSED))
def test_dependencies_point_one_way(path):
    layer = path.split("/")[0].removesuffix(".py")
    allowed = MAY_IMPORT.get(layer)
    if allowed is None:  # app.py, bench/, scripts/: they sit on top and may use anything
        return
    for module, _ in imports(PARSED[path]):
        top = module.split(".")[0]
        if top in TOP:
            assert top in allowed, f"{path} imports {module}: {layer} must not depend on {top}"


@pytest.mark.parametrize("path", sorted(p for p in PARSED if p.startswith("review/pipeline/")))
def test_the_pipeline_reaches_editors_only_through_their_interface(path):
    allowed = PIPELINE_EDITOR_IMPORTS | COMPOSITION_ROOT.get(path, set())
    for module, _ in imports(PARSED[path]):
        if module.split(".")[0] == "editor":
            assert module in allowed, f"{path} imports {module}; the pipeline uses editor.base only"


@pytest.mark.parametrize("path", sorted(PARSED))
def test_no_module_borrows_private_names(path):
    for module, names in imports(PARSED[path]):
        if module.split(".")[0] not in TOP:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path} imports {module}.{', '.join(private)}: give shared helpers public names"


@pytest.mark.parametrize("path", sorted(PARSED))
def test_functions_and_modules_stay_readable(path):
    tree = PARSED[path]
    lines = (REPO / path).read_text().count("\n")
    if path not in SIZE_EXEMPT:
        assert lines <= MAX_MODULE_LINES, f"{path} has {lines} lines (at most {MAX_MODULE_LINES})"
    long = [(f.name, f.end_lineno - f.lineno + 1) for f in ast.walk(tree)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_one_class_per_name_across_layers():
    """The record of an edit, the editor's input and a guard's verdict each have one name of their own."""
    seen: dict[str, list[str]] = {}
    for path, tree in PARSED.items():
        if path.startswith(("bench/", "scripts/")):
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(path)
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"classes defined twice under one name: {clashes}"


def test_the_rules_catch_what_they_claim(tmp_path):
    """The checks themselves can fail: a module that breaks each rule is caught."""
    bad = ast.parse("from ui.page import build_page\nfrom review.pipeline.flow import _helper\n"
                    "def f():\n" + "    x = 1\n" * 120)
    found = imports(bad)
    assert ("ui.page", ["build_page"]) in found and "ui" not in MAY_IMPORT["review"]
    assert any(n.startswith("_") for _, names in found for n in names)
    assert max(f.end_lineno - f.lineno + 1 for f in ast.walk(bad) if isinstance(f, ast.FunctionDef)) > MAX_FUNCTION_LINES

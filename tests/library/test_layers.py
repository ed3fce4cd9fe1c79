"""The import rule of docs/architecture.md, for what import-linter cannot see: the root modules
(it takes packages only), and cycles counted with the imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lowest first; a module may import its own layer's package and the layers below it.
LAYERS = [{"slidecast"}, {"infra"}, {"celery_config"}, {"models"}, {"job_storage"}, {"jobs"},
          {"tasks", "api"}, {"app"}, {"worker"}]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
SERVICE = ["app.py", "worker.py", "tasks.py", "celery_config.py", "models.py", "job_storage.py",
           "api", "jobs", "infra"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def service_files() -> list[Path]:
    found = []
    for entry in SERVICE:
        path = ROOT / entry
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def project_imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of a project module."""
    tree = ast.parse(path.read_text(), str(path))
    inside = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(fn)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(name, node.lineno, id(node) in inside) for name in names if name.split(".")[0] in RANK]
    return found


def test_imports_run_one_way():
    wrong = []
    for path in service_files():
        own = RANK[module_name(path).split(".")[0]]
        for name, line, _ in project_imports(path):
            if RANK[name.split(".")[0]] > own:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name} (a layer above it)")
    assert wrong == []


def test_no_project_import_inside_a_function():
    inside = [f"{path.relative_to(ROOT)}:{line} {name}" for path in service_files()
              for name, line, in_function in project_imports(path) if in_function]
    assert inside == []


def test_no_import_cycle_among_the_service_modules():
    modules = {module_name(path): path for path in service_files()}
    def target(imported: str) -> str:  # `from a.b import c`: the module a.b.c, else a.b itself
        return imported if imported in modules else imported.rsplit(".", 1)[0]

    graph = {name: {target(imported) for imported, _, _ in project_imports(path)} & set(modules) - {name}
             for name, path in modules.items()}
    cycles = []

    def visit(name, trail):
        for target in sorted(graph[name]):
            if target in trail:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in done:
                visit(target, trail + [target])
        done.add(name)

    done: set[str] = set()
    for name in sorted(modules):
        if name not in done:
            visit(name, [name])
    assert cycles == []

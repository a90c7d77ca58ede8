"""Finding every service that writes the audit log by reading the source (see
test_atomic_writes.py): public functions and methods that call the chain's `record`
directly or through functions or methods of their own module. Views, middleware and
management commands are the edge, listed apart."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genchi

GENCHI = Path(genchi.__file__).parent
LOG_MODULES = {"audit/chain.py", "audit/refusals.py"}
EDGE_FILES = {"views.py", "middleware.py"}
ORM_WRITES = {
    "save",
    "create",
    "bulk_create",
    "bulk_update",
    "update",
    "update_or_create",
    "get_or_create",
    "delete",
}


def _is_edge(relative: Path) -> bool:
    # views.py and the views modules split from it (e.g. slip_views.py, plan_views.py)
    return (
        relative.name in EDGE_FILES
        or relative.name.endswith("_views.py")
        or "commands" in relative.parts[:-1]
    )


def _units(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions by name, and methods as `Class.method`."""
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                    found[f"{node.name}.{sub.name}"] = sub
    return found


def _calls(unit: ast.AST, owner: str | None) -> set[str]:
    """Names a unit calls: `f(...)`, `chain.record(...)` as `record`, and `self.m(...)` as
    `Owner.m` (so that a method's helpers of the same class count)."""
    names: set[str] = set()
    for node in ast.walk(unit):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            names.add(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "chain" and func.attr == "record":
                names.add("record")
            elif func.value.id in ("self", "cls") and owner:
                names.add(f"{owner}.{func.attr}")
    return names


def _recording_units(tree: ast.Module) -> dict[str, ast.AST]:
    """Units that reach `record` directly or through other units of the same module."""
    units = _units(tree)
    calls = {
        name: _calls(unit, name.split(".")[0] if "." in name else None)
        for name, unit in units.items()
    }
    recording = {name for name, names in calls.items() if "record" in names}
    grew = True
    while grew:
        grew = False
        for name, names in calls.items():
            if name not in recording and names & recording:
                recording.add(name)
                grew = True
    return {name: units[name] for name in recording}


def _public(name: str) -> bool:
    return not any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


def _walk() -> Iterator[tuple[Path, str, ast.AST]]:
    for path in sorted(GENCHI.rglob("*.py")):
        relative = path.relative_to(GENCHI)
        if "migrations" in relative.parts or relative.as_posix() in LOG_MODULES:
            continue
        for name, unit in _recording_units(ast.parse(path.read_text(encoding="utf-8"))).items():
            if _public(name):
                yield relative, name, unit


def _dotted(relative: Path, name: str) -> str:
    module = ".".join(("genchi", *relative.with_suffix("").parts))
    return f"{module.removesuffix('.__init__')}.{name}"


def logging_services() -> set[str]:
    """Dotted names of every service that writes the log (see the module docstring)."""
    return {_dotted(rel, name) for rel, name, _unit in _walk() if not _is_edge(rel)}


def edge_loggers() -> dict[str, ast.AST]:
    return {_dotted(rel, name): unit for rel, name, unit in _walk() if _is_edge(rel)}


def _orm_write(call: ast.AST) -> bool:
    """`x.save()`, `x.delete()`, or a write method on a chain through a manager
    (`Model.objects.filter(...).update(...)`)."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return False
    if call.func.attr in ("save", "delete"):
        return True
    through_manager = any(
        isinstance(node, ast.Attribute) and node.attr == "objects" for node in ast.walk(call.func)
    )
    return call.func.attr in ORM_WRITES and through_manager


def writes_through_the_orm(unit: ast.AST) -> bool:
    return any(_orm_write(node) for node in ast.walk(unit))

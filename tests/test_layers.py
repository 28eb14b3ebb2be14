"""The layering holds: no import circle inside src/edgemcp (counting imports under
TYPE_CHECKING and inside functions), a protocol core that imports nothing from the layers
above it and touches no I/O, and no module over 400 lines."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "edgemcp"
MAX_LINES = 400
# What the pure core may use from the standard library and its dependencies.
CORE_MAY_IMPORT = {"base64", "binascii", "collections", "dataclasses", "enum", "hashlib", "json", "logging",
                   "typing", "pydantic"}
# Words that mean I/O, the clock or the environment in the core's source.
CORE_MUST_NOT_SAY = ("os.environ", "open(", "asyncio.sleep", "time.time(", "time.monotonic(", "redis",
                     "socket", "httpx")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Every module of the package that ``name`` imports, wherever the import statement is."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(c for c in candidates if c in MODULES and c != name and not name.startswith(c + "."))
    return found


def external_imports_of(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots - {"edgemcp"}


def test_no_import_circles() -> None:
    graph = {name: imports_of(name) for name in MODULES}
    circles: list[list[str]] = []

    def visit(name: str, trail: list[str], done: set[str]) -> None:
        for target in graph[name]:
            if target in trail:
                circles.append([*trail[trail.index(target):], target])
            elif target not in done:
                visit(target, [*trail, target], done)
        done.add(name)

    finished: set[str] = set()
    for name in sorted(graph):
        if name not in finished:
            visit(name, [name], finished)
    assert circles == []


def test_the_protocol_core_is_pure() -> None:
    core = {name for name in MODULES if name.startswith("edgemcp.protocol")}
    assert core, "edgemcp.protocol is missing"
    for name in sorted(core):
        outside = {t for t in imports_of(name) if not t.startswith("edgemcp.protocol")}
        assert outside == set(), f"{name} imports {outside}"
        foreign = external_imports_of(MODULES[name]) - CORE_MAY_IMPORT
        assert foreign == set(), f"{name} imports {foreign}"
        source = MODULES[name].read_text()
        said = [word for word in CORE_MUST_NOT_SAY if word in source]
        assert said == [], f"{name} says {said}"


def test_no_module_is_over_400_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}

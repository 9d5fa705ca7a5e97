"""The package's import graph: no cycles, layers that import only from the layers above them,
and a CLI and a plugin that use only public modules. Function-local imports count."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "aircore_mock"
PLUGIN = ROOT / "pytest_plugin" / "aircore_mock_pytest"

# Each top-level part of the package and its layer: a part may import from lower layers only
# (and from itself). This is the picture of the design: schemas, model, generation, sending,
# then what is built on them, then the shells.
LAYERS = {
    "_version": 0,
    "errors": 0,
    "seeds": 0,
    "schemas": 1,
    "files": 1,
    "validation": 2,
    "model": 2,
    "results": 3,
    "captured": 3,  # capture logs read back (send --from, validate, replay, receive --resume)
    "generation": 3,
    "sending": 4,
    "server": 4,  # what every server shares; imports nothing of capture or the fake
    "strategies": 4,
    "capture": 5,
    "contract": 5,
    "_hypothesis": 5,
    "fake": 6,
    "load": 6,  # the runner runs Locust in a child process; `users` alone imports Locust
    "openapi": 7,
    "reporting": 7,
    "cli": 8,
    "_entry": 9,  # the console script: signal handlers first, then the CLI
    "__main__": 10,
}


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _imports(path: Path, module: str, known: set[str] | None = None) -> set[str]:
    """Every module `path` imports, anywhere in it (function bodies included).

    `from pkg import name` imports the module `pkg.name` when there is one (in `known`),
    else the package `pkg` itself.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                # a package's own __init__ is level 1 of itself; a module's, of its package
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if known is None or submodule in known else target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path, PACKAGE, "aircore_mock"): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _imports(path, name, set(modules))
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {_part(m) for m in _graph()} - {"__init__"}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS: {parts - set(LAYERS)}"


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node)


def test_each_layer_imports_only_from_the_layers_above_it() -> None:
    wrong = []
    for module, targets in _graph().items():
        source = _part(module)
        if source == "__init__":
            continue  # the curated public face names everything (lazily)
        for target in targets:
            part = _part(target)
            if part == "__init__":
                if LAYERS[source] < LAYERS["cli"]:  # the shells may use the public face
                    wrong.append(f"{module} imports the package root (import the module)")
            elif part != source and LAYERS[part] >= LAYERS[source]:
                wrong.append(f"{module} ({source}, layer {LAYERS[source]}) imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def _private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split(".")[1:])


@pytest.mark.parametrize(
    ("paths", "package"),
    [
        (sorted((PACKAGE / "cli").glob("*.py")), "aircore_mock.cli"),
        (sorted(PLUGIN.glob("*.py")), "aircore_mock_pytest"),
    ],
    ids=["cli", "plugin"],
)
def test_the_cli_and_the_plugin_use_only_public_modules(paths: list[Path], package: str) -> None:
    root = PACKAGE / "cli" if package == "aircore_mock.cli" else PLUGIN
    used = set()
    for path in paths:
        module = _module_name(path, root, package)
        imported = _imports(path, module, set(_graph()))
        # the CLI's own modules are its business; what it uses of the library must be public
        used |= {
            m
            for m in imported
            if (m == "aircore_mock" or m.startswith("aircore_mock."))
            and not m.startswith("aircore_mock.cli")
        }
    private = sorted(m for m in used if _private(m))
    assert not private, f"{package} imports private modules: {private}"
    assert used, "the graph found no imports at all: the parser is broken"


def test_the_graph_sees_function_local_imports() -> None:
    # The CLI imports its heavy parts inside its commands; the graph must see them.
    graph = _graph()
    assert "aircore_mock.sending" in graph["aircore_mock.cli.send"]
    assert "aircore_mock.generation" in graph["aircore_mock.cli.generate"]
    assert "aircore_mock.load" in graph["aircore_mock.cli.load"]


def test_no_module_of_the_cli_is_over_300_lines() -> None:
    # A command is parse, build, run, report: anything longer is library code in the wrong
    # place (see DESIGN.md).
    sizes = {
        p.name: len(p.read_text(encoding="utf-8").splitlines())
        for p in (PACKAGE / "cli").glob("*.py")
    }
    assert sizes, "no cli package"
    assert not {name: n for name, n in sizes.items() if n > 300}


def test_every_public_name_resolves_to_the_module_the_list_names() -> None:
    import importlib

    import aircore_mock

    assert sorted(aircore_mock.__all__) == aircore_mock.__all__
    for name in aircore_mock.__all__:
        if name == "__version__":
            continue
        module, attribute = (
            aircore_mock._PUBLIC[name]
            if isinstance(aircore_mock._PUBLIC[name], tuple)
            else (aircore_mock._PUBLIC[name], name)
        )
        expected = getattr(importlib.import_module(f"aircore_mock.{module}"), attribute)
        assert getattr(aircore_mock, name) is expected, name
    with pytest.raises(AttributeError):
        _ = aircore_mock.not_a_public_name


def test_the_fake_imports_nothing_from_capture() -> None:
    # What both servers share lives in `server`; the fake must not need the capture server.
    graph = _graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if _part(module) == "fake"
        for target in targets
        if _part(target) == "capture"
    )
    assert not wrong, "\n".join(wrong)
    assert any(_part(t) == "server" for m, ts in graph.items() if _part(m) == "fake" for t in ts)


def test_the_readme_table_names_every_module() -> None:
    # "Where things are": every module and package of aircore_mock is named in it.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("Where things are") :]
    end = table.find("\n\n", table.index("| module |"))
    table = table if end < 0 else table[:end]
    named = set(re.findall(r"`([\w/]+)`", table))
    named |= {n.rstrip("/") for n in named}
    from aircore_mock.cli import cli

    commands = set(cli.commands)  # `cli/`'s row: "one module per command"
    missing = []
    for path in PACKAGE.rglob("*.py"):
        if "locustfile" in path.parts or (path.parent.name == "cli" and path.stem in commands):
            continue
        name = path.parent.name if path.name == "__init__.py" else path.stem
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue
        if name not in named:
            missing.append(str(path.relative_to(PACKAGE)))
    assert not missing, f"not in the README's table: {sorted(missing)}"


def test_no_test_module_imports_another_test_module() -> None:
    # What several test modules share lives in tests/helpers.py (or a fixture), not in one
    # of them.
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("test_"):
                offenders.append(f"{path.name}: from .{node.module}")
    assert not offenders, offenders

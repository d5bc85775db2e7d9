"""The layers, checked on every module's imports (function-level imports included).

`accounts`/`activities` (domain) ← `marketo_sync.sync` (engine) → `marketo_sync.salesforce`
(client). The sandbox is "Salesforce": it knows nothing of the product, and the product reaches
it only through the client. The development tools may import everything; nothing imports them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "activities", "marketo_sync")

ENGINE_INTERNALS = (
    "marketo_sync.sync.engine",
    "marketo_sync.sync.writers",
    "marketo_sync.sync.cycle",
    "marketo_sync.sync.crashpoints",
    "marketo_sync.sync.faults",
)
PRODUCT = ("accounts", "activities", "marketo_sync.sync", "marketo_sync.devtools")

# (modules under this prefix, may not import these)
RULES = [
    ("accounts", ENGINE_INTERNALS),
    ("activities", ENGINE_INTERNALS),
    ("marketo_sync.sync", ("marketo_sync.sandbox",)),
    ("marketo_sync.salesforce", ("marketo_sync.sandbox",)),
    ("marketo_sync.sandbox", PRODUCT),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import statement names: `from a import b` gives `a` and `a.b`."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def project_modules() -> dict[str, set[str]]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = module_name(path)
            modules[name] = imported_names(
                path.read_text(), name, is_package=path.name == "__init__.py"
            )
    return modules


MODULES = project_modules()


def test_every_package_is_scanned():
    for prefix, _ in RULES:
        assert any(within(module, prefix) for module in MODULES), prefix
    assert "marketo_sync.devtools.management.commands.demo" in MODULES


@pytest.mark.parametrize(("prefix", "forbidden"), RULES, ids=[rule[0] for rule in RULES])
def test_layer_imports(prefix, forbidden):
    offending = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if within(module, prefix)
        for name in names
        if any(within(name, target) for target in forbidden)
    )
    assert offending == []


def test_nothing_imports_the_development_tools():
    offending = sorted(
        module
        for module, names in MODULES.items()
        if not within(module, "marketo_sync.devtools")
        and any(within(name, "marketo_sync.devtools") for name in names)
    )
    assert offending == []


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("from marketo_sync.sync import cycle", "accounts.x", False, "marketo_sync.sync.cycle"),
        ("def f():\n    import marketo_sync.sandbox.app", "marketo_sync.sync.x", False,
         "marketo_sync.sandbox.app"),
        ("from ..sync import writers", "marketo_sync.sandbox.app", False,
         "marketo_sync.sync.writers"),
        ("from . import engine", "marketo_sync.sync", True, "marketo_sync.sync.engine"),
    ],
)
def test_imports_are_found_in_every_form(source, module, is_package, expected):
    assert expected in imported_names(source, module, is_package)

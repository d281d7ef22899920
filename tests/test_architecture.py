"""The structure ARCHITECTURE.md describes. The layering itself (which package may import
which, no import cycles) is import-linter's, in pyproject.toml, checked by `make lint`;
here, what it cannot see: a name whose owner marked it private (a leading underscore)
imported from another package."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.engines("once")

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ["tracker", "core", "partners", "projects"]


def _modules():
    for package in PRODUCTION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield package, path


def _private_imports(package, path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            owner = node.module.split(".")[0]
            if owner in PRODUCTION and owner != package:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        yield f"{path.name}:{node.lineno} imports {node.module}.{alias.name}"


def test_no_package_imports_another_packages_private_names():
    found = [f"{path.parent.name}/{line}" for package, path in _modules() for line in _private_imports(package, path)]
    assert found == []


def test_the_check_sees_a_private_import(tmp_path):
    """The rule above can fail: a module that does it is reported."""
    module = tmp_path / "views.py"
    module.write_text("from projects.views import _stable\nfrom partners.models import Partner\n")
    assert list(_private_imports("partners", module)) == ["views.py:1 imports projects.views._stable"]

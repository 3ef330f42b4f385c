"""The test suite's own house: test modules never import each other, in CI the
property-based tests draw the same examples every run, and the PostgreSQL pass leaves
out only tests that reach no database.

Code shared by several test modules lives in ``tests/helpers/`` (plain functions and
constants) or in a ``conftest.py`` (fixtures). A test module or a conftest may import
test code only from ``tests.helpers``; importing from another ``test_*.py`` runs that
module a second time under another name, and importing from a conftest or from a
helper file beside the tests (``from conftest import ...``, ``from citizen_helpers
import ...``) works only through the folder pytest happens to put on ``sys.path``.

Every import statement is read, also those inside functions. An import names test code
when the module it names is a file under ``tests/``: ``tests.x.y`` from the repository
root, a bare name from the importing file's folder (where pytest's default import mode
finds it), a relative import from the importing package.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers.databases import uses_database

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
HELPERS = TESTS / "helpers"
# Scripts that write the golden files (run by hand, never imported by a test).
NOT_TEST_CODE = (TESTS / "reference",)


def module_file(name: str, base: Path) -> Path | None:
    """The file of module ``name`` looked up below folder ``base``, if there is one."""
    path = base.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_files(path: Path, source: str) -> Iterator[tuple[int, str, Path]]:
    """(line, module as written, file under tests/) for each import of test code."""
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            names = [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [(module, node.level)]
            names += [(f"{module}.{a.name}".lstrip("."), node.level) for a in node.names]
        else:
            continue
        for name, level in names:
            if level:
                base = path.parents[level - 1]
            elif name.split(".")[0] == "tests":
                base = ROOT
            else:
                base = path.parent
            found = module_file(name, base) if name else None
            if found is not None and found.is_relative_to(TESTS) and found != path:
                written = "." * level + name
                yield node.lineno, written, found
                break


def misplaced_imports(path: Path, source: str) -> list[str]:
    """Imports of test code from anywhere but ``tests.helpers``, as readable lines."""
    problems = []
    for line, written, found in imported_files(path, source):
        if not (found.is_relative_to(HELPERS) and written.startswith("tests.helpers")):
            problems.append(
                f"{path.relative_to(ROOT)}:{line} imports {written} "
                f"({found.relative_to(ROOT)}): move what it shares to tests/helpers/ "
                "or, for a fixture, to a conftest.py"
            )
    return problems


def python_files() -> list[Path]:
    return sorted(
        path
        for path in TESTS.rglob("*.py")
        if not any(path.is_relative_to(folder) for folder in NOT_TEST_CODE)
    )


def test_test_modules_import_test_code_only_from_tests_helpers() -> None:
    files = python_files()
    assert len(files) > 100, "the walk found too few test files"
    problems = [p for path in files for p in misplaced_imports(path, path.read_text("utf-8"))]
    assert problems == [], "\n".join(problems)


def test_shared_test_code_lives_in_tests_helpers() -> None:
    """Every file under tests/ is a test module, a conftest, a package marker or a
    helper in tests/helpers/: a helper beside the tests is not possible."""
    stray = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if not path.name.startswith("test_")
        and path.name not in ("conftest.py", "__init__.py")
        and not path.is_relative_to(HELPERS)
    ]
    assert stray == []


def test_the_check_finds_each_kind_of_misplaced_import() -> None:
    """The check can fail: each way of reaching another test module is reported."""
    here = TESTS / "web" / "test_example.py"
    source = "\n".join(
        [
            "from tests.web.test_api import body",  # another test module
            "from tests.conftest import base_config",  # a conftest
            "import tests.web.test_access_map",  # a plain import
            "from test_kiosk_phone import make_desk",  # a sibling, by bare name
            "def later():",
            "    from tests.test_cli import count",  # inside a function
            "from tests.helpers.kiosk_api import body",  # allowed
            "from survey_app.models import Role",  # not test code
            "import pytest",  # not test code
        ]
    )
    found = misplaced_imports(here, source)
    assert [p.split(" imports ")[1].split(" (")[0] for p in found] == [
        "tests.web.test_api",
        "tests.conftest",
        "tests.web.test_access_map",
        "test_kiosk_phone",
        "tests.test_cli",
    ]


def test_in_ci_hypothesis_draws_the_same_examples_every_run() -> None:
    """``.ci/run`` sets CI, and the conftest then loads the "ci" profile: a failure there
    can be reproduced. Locally (CI unset) new examples are drawn."""
    assert settings.get_profile("ci").derandomize
    assert settings.default.derandomize == bool(os.environ.get("CI"))


def test_the_postgresql_pass_keeps_every_test_that_reaches_a_database(
    request: pytest.FixtureRequest,
) -> None:
    """A test is left out of the PostgreSQL pass only when neither its fixtures (closed
    over) nor its module reach a database: then it runs the same code on either."""
    here = Path(__file__)
    assert not uses_database(set(request.fixturenames), here)  # this very test
    assert uses_database({"client", "app", "app_config", "database_url", "tmp_path"}, here)
    assert uses_database({"make_app"}, here) and uses_database({"demo_template"}, here)
    assert uses_database(set(), TESTS / "test_partitions.py")  # asks which database it is on
    assert uses_database(
        set(), TESTS / "reliability" / "test_backup.py"
    )  # makes a database of its own
    assert not uses_database(set(), TESTS / "analysis" / "test_estimation_golden.py")

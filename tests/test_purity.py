"""``analysis/`` is a pure statistics library: it never imports Flask, SQL or the app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("flask", "flask_", "sqlalchemy", "survey_app", "psycopg", "sqlite3", "werkzeug",
             "alembic", "jinja2")  # fmt: skip
ANALYSIS = Path(__file__).resolve().parent.parent / "analysis"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def is_forbidden(name: str) -> bool:
    top = name.split(".")[0]
    return any(top == f or (f.endswith("_") and top.startswith(f)) for f in FORBIDDEN)


def test_no_forbidden_import_statements() -> None:
    files = list(ANALYSIS.rglob("*.py"))
    assert files, "analysis/ has no Python files"
    offending = {
        str(path.relative_to(ANALYSIS)): sorted(filter(is_forbidden, imported_modules(path)))
        for path in files
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_importing_analysis_loads_no_web_or_sql_module() -> None:
    code = (
        "import sys, pkgutil, importlib, analysis\n"
        "for m in pkgutil.walk_packages(analysis.__path__, 'analysis.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    root = ANALYSIS.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    loaded = [name for name in result.stdout.split() if is_forbidden(name)]
    assert loaded == []

"""The architecture holds: import-linter's contracts (``.importlinter``) and the drawing.

- ``lint-imports`` keeps every contract: ``analysis/`` pure, views above forms above
  the domain packages (admin | reporting > weighting > collection) above models, the
  core rules below the domains, no new import cycle.
- The contracts can fail: the same check on a copy of the code with one upward import
  added (a model importing a service) is refused, naming that import.
- ``docs/architecture.md`` is what ``docs/make_architecture.py`` draws from today's
  code, and no arrow in it points up.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and result.stdout.count("KEPT") == 4


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    for name in ("survey_app", "analysis"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    model = tmp_path / "survey_app" / "models" / "units.py"
    model.write_text(model.read_text() + "\nfrom survey_app.reporting import indices  # upward\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "survey_app.models.units -> survey_app.reporting.indices" in result.stdout


def test_the_architecture_drawing_is_current_and_points_down() -> None:
    result = subprocess.run(
        [sys.executable, "docs/make_architecture.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imports pointing up: none." in (ROOT / "docs" / "architecture.md").read_text()

"""The app factory and configuration from the environment."""

from __future__ import annotations

import ast
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

import survey_app.config
from survey_app import create_app
from survey_app.config import normalise_database_url
from survey_app.extensions import db


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("DATABASE_URL", "SECRET_KEY", "SESSION_COOKIE_SECURE", "MAX_CONTENT_LENGTH"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_sqlite_in_instance_folder_by_default(clean_env: pytest.MonkeyPatch) -> None:
    app = create_app({"SECRET_KEY": "x"})
    expected = "sqlite:///" + str(Path(app.instance_path) / "survey.sqlite3")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected


def test_database_url_from_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@db.example:5432/survey")
    app = create_app({"SECRET_KEY": "x"})
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/survey"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_normalised(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_test_config_overrides_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MAX_CONTENT_LENGTH", "1234")
    assert create_app({"SECRET_KEY": "x"}).config["MAX_CONTENT_LENGTH"] == 1234
    app = create_app({"SECRET_KEY": "x", "MAX_CONTENT_LENGTH": 99})
    assert app.config["MAX_CONTENT_LENGTH"] == 99


def test_secret_key_from_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SECRET_KEY", "from-the-environment")
    assert create_app().config["SECRET_KEY"] == "from-the-environment"


def test_secret_key_generated_once_into_instance_folder(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "instance" / "secret_key"
    assert not key_file.exists()
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64


def test_secret_key_not_in_source() -> None:
    root = Path(__file__).resolve().parent.parent / "survey_app"
    for path in root.rglob("*.py"):
        assert 'SECRET_KEY = "' not in path.read_text(encoding="utf-8"), path


def test_cookies_are_httponly_and_samesite(clean_env: pytest.MonkeyPatch) -> None:
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    clean_env.setenv("SESSION_COOKIE_SECURE", "true")
    assert create_app({"SECRET_KEY": "x"}).config["SESSION_COOKIE_SECURE"] is True


def test_sqlite_pragmas(app: object) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific settings")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10000
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_debug_off_by_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("FLASK_DEBUG", raising=False)
    assert create_app({"SECRET_KEY": "x"}).debug is False


def test_the_benchmark_ceiling_endpoint_exists_only_when_asked(
    app_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = {rule.rule for rule in create_app(app_config).url_map.iter_rules()}
    assert "/bench/insert" not in rules
    monkeypatch.setenv("BENCHMARK_CEILING", "1")
    rules = {rule.rule for rule in create_app(app_config).url_map.iter_rules()}
    assert "/bench/insert" in rules


def _settings_read_by_config() -> set[str]:
    """The environment variables ``survey_app/config.py`` reads (``os.environ.get`` and
    its ``_env_*`` helpers), found in its source."""
    tree = ast.parse(Path(survey_app.config.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        called = ast.unparse(node.func)
        first = node.args[0]
        reads = called.startswith("_env_") or called == "os.environ.get"
        if reads and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def _settings_in_readme() -> set[str]:
    """The variables named in the first column of README.md's configuration table."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_is_in_the_readmes_configuration_table() -> None:
    read = _settings_read_by_config()
    assert {"DATABASE_URL", "BURST_COUNT", "FIGURE_STORE"} <= read  # the parsing finds them
    # The benchmark's ceiling endpoint is documented with the benchmark, not for operators.
    missing = read - _settings_in_readme() - {"BENCHMARK_CEILING"}
    assert missing == set()

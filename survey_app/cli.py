"""``flask`` commands, grouped by topic. Each command calls a service function.

``flask db upgrade`` comes from Flask-Migrate.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from survey_app.services import accounts, demo, desks, questionnaires, units


def register(app: Flask) -> None:
    for group in (questionnaires_group, units_group, users_group, desks_group, demo_group):
        app.cli.add_command(group)


@click.group("questionnaires", help="Questionnaire files.")
def questionnaires_group() -> None:
    pass


@questionnaires_group.command("load")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of questionnaire files (default: questionnaires/).",
)
def questionnaires_load(directory: str | None) -> None:
    """Validate and load every questionnaire file in the folder."""
    folder = Path(directory or current_app.config["QUESTIONNAIRE_DIR"])
    try:
        outcome = questionnaires.load_folder(folder)
    except questionnaires.QuestionnaireLoadError as error:
        raise click.ClickException(str(error)) from error
    for line in outcome:
        click.echo(line)


# pyxform takes most of a second to import: the two XLSForm commands import
# survey_app.xlsform when they run, so that other commands do not pay for it.


@questionnaires_group.command("import-xlsform")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--slug", help="Slug of the questionnaire (default: form_id of the settings sheet).")
@click.option(
    "--version",
    type=click.IntRange(1, 1_000_000),
    help="Version (default: version of the settings sheet, if a whole number).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Questionnaire file to write, e.g. questionnaires/my_survey.yaml.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def questionnaires_import_xlsform(
    file: str, slug: str | None, version: int | None, out: str, force: bool
) -> None:
    """Convert an XLSForm (KoboToolbox/ODK, .xlsx) into a questionnaire file."""
    from survey_app import xlsform

    target = Path(out)
    if target.suffix not in (".yaml", ".yml"):
        raise click.ClickException(f"--out must be a .yaml or .yml file, got {out}")
    if target.exists() and not force:
        raise click.ClickException(f"{out} exists; pass --force to overwrite it")
    try:
        result = xlsform.read_xlsform(file, slug=slug, version=version)
    except xlsform.XLSFormError as error:
        for problem in error.problems:
            click.echo(f"{file}: {problem}", err=True)
        n = len(error.problems)
        raise click.ClickException(
            f"nothing was written: {n} problem{'s' if n != 1 else ''}"
        ) from error
    q = result.questionnaire
    header = (
        f"Imported from the XLSForm {Path(file).name} by `flask questionnaires import-xlsform`.\n"
        "Format: questionnaires/README.md. Never edit it under the same version once\n"
        "responses exist: copy the change into a new version number instead."
    )
    target.write_text(xlsform.dump_yaml(q, header), encoding="utf-8")
    for line in result.skipped:
        click.echo(f"skipped metadata row: {line}")
    click.echo(
        f"wrote {out}: '{q.slug}' version {q.version}, {len(q.sections)} sections, "
        f"{len(q.items)} items, {len(q.index.aspects) if q.index else 0} index aspects"
    )


@questionnaires_group.command("export-xlsform")
@click.argument("slug")
@click.option("--version", type=int, help="Version to export (default: the highest).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of questionnaire files (default: questionnaires/).",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="XLSForm to write (.xlsx)."
)
def questionnaires_export_xlsform(
    slug: str, version: int | None, directory: str | None, out: str
) -> None:
    """Write a questionnaire file as an XLSForm for KoboToolbox/ODK."""
    from survey_app import xlsform
    from survey_app.questionnaire import QuestionnaireError, load_directory

    if not out.endswith(".xlsx"):
        raise click.ClickException(f"--out must be an .xlsx file, got {out}")
    folder = Path(directory or current_app.config["QUESTIONNAIRE_DIR"])
    try:
        every = load_directory(folder)
    except QuestionnaireError as error:
        raise click.ClickException(str(error)) from error
    found = [q for q in every if q.slug == slug and version in (None, q.version)]
    if not found:
        wanted = f"'{slug}'" + (f" version {version}" if version is not None else "")
        there = ", ".join(f"{q.slug} v{q.version}" for q in every) or "none"
        raise click.ClickException(f"no questionnaire {wanted} in {folder} (found: {there})")
    q = found[-1]  # load_directory sorts by (slug, version)
    xlsform.write_xlsform(q, out)
    click.echo(f"wrote {out}: '{q.slug}' version {q.version} from {q.source}")


@click.group("units", help="Administrative units.")
def units_group() -> None:
    pass


@units_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def units_import(file: click.utils.LazyFile) -> None:
    """Import units from a CSV file: code,name_vi,name_en,kind,parent_code."""
    try:
        created, updated = units.import_units(units.read_units_csv(file.read()))
    except units.UnitImportError as error:
        for problem in error.errors:
            click.echo(str(problem), err=True)
        raise click.ClickException("nothing was imported") from error
    click.echo(f"{created} units created, {updated} updated")


@click.group("users", help="User accounts.")
def users_group() -> None:
    pass


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in accounts.Role]))
@click.option("--unit", "unit_code", help="Code of the unit the user is scoped to.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(username: str, role: str, unit_code: str | None, password_stdin: bool) -> None:
    """Create a user; the password is asked for, or read from standard input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(username, password, role, unit_code)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"user {user.username} created with role {user.role.value}")


@click.group("desks", help="One-stop desks and kiosk tokens.")
def desks_group() -> None:
    pass


@desks_group.command("create")
@click.argument("code")
@click.option("--unit", "unit_code", required=True, help="Code of the unit of the desk.")
@click.option("--name", required=True, help="Name shown to citizens.")
@click.option("--timeout", default=60, show_default=True, help="Kiosk inactivity timeout (s).")
def desks_create(code: str, unit_code: str, name: str, timeout: int) -> None:
    """Create a desk belonging to a unit."""
    try:
        desk = desks.create_desk(code, unit_code, name, timeout)
    except desks.DeskError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"desk {desk.code} created")


@desks_group.command("token")
@click.argument("code")
def desks_token(code: str) -> None:
    """Print a new kiosk device token for the desk (only its hash is stored)."""
    try:
        token = desks.issue_token(code)
    except desks.DeskError as error:
        raise click.ClickException(str(error)) from error
    click.echo(token)


@click.group("demo", help="The simulated demo province.")
def demo_group() -> None:
    pass


@demo_group.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has any unit.")
@click.option(
    "--seed", "rng_seed", default=20181231, show_default=True, help="Seed of the simulation."
)
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False),
    help="Where to write the demo passwords (default: instance/demo-credentials.txt).",
)
def demo_seed(if_empty: bool, rng_seed: int, credentials: str | None) -> None:
    """Load the simulated demo province (idempotent)."""
    if if_empty and not demo.database_is_empty():
        click.echo("database already has data; demo not seeded")
        return
    path = Path(credentials or Path(current_app.instance_path) / "demo-credentials.txt")
    summary = demo.seed(rng_seed=rng_seed, credentials_path=path)
    for line in summary:
        click.echo(line)

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

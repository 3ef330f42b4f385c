"""``flask units``, ``flask users``, ``flask desks``: the hierarchy, accounts and desks."""

from __future__ import annotations

import sys

import click
from flask_babel import gettext as _

from survey_app import spreadsheets
from survey_app.admin import accounts, units
from survey_app.cli.common import CliError, count_text
from survey_app.cli.language import N_, ReadFile, SurveyGroup
from survey_app.collection import desks


@click.group("units", cls=SurveyGroup, help=N_("Administrative units."))
def units_group() -> None:
    pass


@units_group.command(
    "import", help=N_("Import units from a CSV file: code,name_vi,name_en,kind,parent_code.")
)
@click.argument("file", type=ReadFile("rb"))
def units_import(file: click.utils.LazyFile) -> None:
    # The encodings the console's import reads too (UTF-8, UTF-16, Windows-1258).
    try:
        text = spreadsheets.decode_text(file.read())
    except spreadsheets.SpreadsheetError as error:
        raise CliError(str(error.problems[0])) from error
    try:
        created, updated = units.import_units(units.read_units_csv(text))
    except units.UnitImportError as error:
        for problem in error.errors:
            click.echo(str(problem), err=True)
        raise CliError(_("nothing was imported")) from error
    click.echo(
        _(
            "%(created)s units created, %(updated)s updated",
            created=count_text(created),
            updated=count_text(updated),
        )
    )


@click.group("users", cls=SurveyGroup, help=N_("User accounts."))
def users_group() -> None:
    pass


@users_group.command(
    "create", help=N_("Create a user; the password is asked for, or read from standard input.")
)
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in accounts.Role]))
@click.option("--unit", "unit_code", help=N_("Code of the unit the user is scoped to."))
@click.option("--password-stdin", is_flag=True, help=N_("Read the password from standard input."))
def users_create(username: str, role: str, unit_code: str | None, password_stdin: bool) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            _("Password"), hide_input=True, confirmation_prompt=_("Repeat for confirmation")
        )
    try:
        user = accounts.create_user(username, password, role, unit_code)
    except accounts.AccountError as error:
        raise CliError(str(error)) from error
    click.echo(
        _("user %(name)s created with role %(role)s", name=user.username, role=user.role.value)
    )


@click.group("desks", cls=SurveyGroup, help=N_("One-stop desks and kiosk tokens."))
def desks_group() -> None:
    pass


@desks_group.command("create", help=N_("Create a desk belonging to a unit."))
@click.argument("code")
@click.option("--unit", "unit_code", required=True, help=N_("Code of the unit of the desk."))
@click.option("--name", required=True, help=N_("Name shown to citizens."))
@click.option("--timeout", default=60, show_default=True, help=N_("Kiosk inactivity timeout (s)."))
def desks_create(code: str, unit_code: str, name: str, timeout: int) -> None:
    try:
        desk = desks.create_desk(code, unit_code, name, timeout)
    except desks.DeskError as error:
        raise CliError(str(error)) from error
    click.echo(_("desk %(code)s created", code=desk.code))


@desks_group.command(
    "token", help=N_("Print a new kiosk device token for the desk (only its hash is stored).")
)
@click.argument("code")
def desks_token(code: str) -> None:
    try:
        token = desks.issue_token(code)
    except desks.DeskError as error:
        raise CliError(str(error)) from error
    click.echo(token)

"""``flask alerts run`` and ``flask digest send``: what the scheduler runs."""

from __future__ import annotations

import click
from flask_babel import gettext as _

from survey_app.cli.common import CliError, count_text, parse_moment
from survey_app.cli.language import N_, SurveyGroup


@click.group("alerts", cls=SurveyGroup, help=N_("Alerts for leaders (what the scheduler runs)."))
def alerts_group() -> None:
    pass


@alerts_group.command(
    "run",
    help=N_("Evaluate every rule; open, keep or close episodes and e-mail new ones (idempotent)."),
)
@click.option("--now", "now_text", help=N_("Evaluate as of this ISO date-time (default: now)."))
def alerts_run(now_text: str | None) -> None:
    from survey_app.reporting import digest as digest_service
    from survey_app.reporting.alerts.episodes import run as run_alerts

    report = run_alerts(parse_moment(now_text))
    sent = digest_service.notify(report.opened)
    evaluated = ", ".join(
        f"{rule} {count_text(count)}" for rule, count in sorted(report.evaluated.items())
    )
    click.echo(
        _(
            "alerts: %(opened)s opened, %(kept)s still open, %(closed)s closed; "
            "%(sent)s e-mail(s) sent; evaluated: %(evaluated)s",
            opened=count_text(len(report.opened)),
            kept=count_text(report.kept),
            closed=count_text(report.closed),
            sent=count_text(sent),
            evaluated=evaluated or _("nothing"),
        )
    )
    for problem in report.problems:
        click.echo(_("warning: %(message)s", message=problem), err=True)


@click.group("digest", cls=SurveyGroup, help=N_("Weekly e-mail digest for leaders."))
def digest_group() -> None:
    pass


@digest_group.command(
    "send", help=N_("Send this week's digest to every leader with an address (once per week).")
)
@click.option("--dry-run", is_flag=True, help=N_("Show who would receive what; send nothing."))
@click.option("--now", "now_text", help=N_("The week ending at this ISO date-time (default: now)."))
def digest_send(dry_run: bool, now_text: str | None) -> None:
    from survey_app.reporting import digest as digest_service

    if not dry_run and not digest_service.mail_enabled():
        raise CliError(_("MAIL_SERVER is not set: no e-mail can be sent"))
    digests = digest_service.send_digests(parse_moment(now_text), dry_run=dry_run)
    for item in digests:
        values = {
            "week": item.week,
            "user": item.user.username,
            "address": item.address,
            "alerts": count_text(len(item.alerts)),
            "attached": ", ".join(item.attachments) or _("no scorecard"),
        }
        if dry_run:
            line = _(
                "would send %(week)s to %(user)s <%(address)s>: %(alerts)s alert(s), %(attached)s",
                **values,
            )
        else:
            line = _(
                "sent %(week)s to %(user)s <%(address)s>: %(alerts)s alert(s), %(attached)s",
                **values,
            )
        click.echo(line)
    if not digests:
        click.echo(_("no digest due"))

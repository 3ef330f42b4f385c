"""``flask figures`` (the figure store) and ``flask partitions`` (PostgreSQL)."""

from __future__ import annotations

import signal
import time

import click
from flask_babel import gettext as _
from sqlalchemy import select

from survey_app import partitions
from survey_app.cli.common import CliError, count_text
from survey_app.cli.language import N_, SurveyGroup
from survey_app.collection.submissions import inbox
from survey_app.extensions import db
from survey_app.models import Wave
from survey_app.reporting import figure_store

#: How often ``figures refresh --every`` looks for a stop signal while it waits.
WAKE_S = 0.1


@click.group(
    "figures", cls=SurveyGroup, help=N_("The figure store: sums of the published figures.")
)
def figures_group() -> None:
    pass


def _partition_refusal(reason: str, code: str) -> str:
    """Why a partition command did nothing, in the command line's language."""
    if reason == "not_postgresql":
        return _("partitions exist on PostgreSQL only; this database is SQLite")
    return _("wave %(code)s has no attached partitions: detached already?", code=code)


def _wave_ids(codes: tuple[str, ...]) -> list[int] | None:
    if not codes:
        return None
    found = {w.code: w.id for w in db.session.scalars(select(Wave).where(Wave.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise CliError(_("unknown wave: %(codes)s", codes=", ".join(unknown)))
    return [found[c] for c in codes]


@figures_group.command(
    "refresh", help=N_("Fold the responses stored since the last run (what the scheduler runs).")
)
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help=N_(
        "Keep running: fold again every SECONDS until stopped (SIGTERM or Ctrl-C, which "
        "wait for the fold under way); a line for each fold that folded something."
    ),
)
def figures_refresh(every: float | None) -> None:
    def report(folded: int) -> None:
        click.echo(_("folded %(n)s responses", n=count_text(folded)))

    if every is None:
        report(figure_store.refresh())
        return
    # A stop signal only marks the loop to end between folds, never inside one.
    stopping: list[int] = []
    stops = (signal.SIGTERM, signal.SIGINT)
    before = {s: signal.signal(s, lambda signum, _frame: stopping.append(signum)) for s in stops}

    def wait(seconds: float) -> bool:
        until = time.monotonic() + seconds
        while not stopping and time.monotonic() < until:
            time.sleep(min(WAKE_S, max(0.0, until - time.monotonic())))
        return bool(stopping)

    try:
        figure_store.keep_refreshing(every, wait, report)
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@figures_group.command(
    "rebuild", help=N_("Empty the sums (of the waves given, or all) and fold every response again.")
)
@click.option("--wave", "codes", multiple=True, help=N_("Only this wave (repeatable)."))
def figures_rebuild(codes: tuple[str, ...]) -> None:
    click.echo(_("folded %(n)s responses", n=count_text(figure_store.rebuild(_wave_ids(codes)))))


@figures_group.command(
    "verify", help=N_("Recompute every figure from the answer rows and compare with the store.")
)
@click.option("--wave", "codes", multiple=True, help=N_("Only this wave (repeatable)."))
def figures_verify(codes: tuple[str, ...]) -> None:
    compared, mismatches = figure_store.verify(_wave_ids(codes))
    for m in mismatches[:50]:
        click.echo(
            f"{m.wave} {m.unit} {m.figure}: "
            + _("store %(stored)s, rows %(rows)s", stored=repr(m.stored), rows=repr(m.rows))
        )
    click.echo(
        _(
            "%(compared)s figures compared, %(n)s differences",
            compared=count_text(compared),
            n=count_text(len(mismatches)),
        )
    )
    if mismatches:
        raise SystemExit(1)


@click.group(
    "partitions",
    cls=SurveyGroup,
    help=N_("PostgreSQL partitions of responses and answers by wave."),
)
def partitions_group() -> None:
    pass


@partitions_group.command(
    "detach",
    help=N_(
        "Detach a wave's partitions for archiving; they stay as plain tables to dump and "
        'drop (docs/operations.md, "Partitions").'
    ),
)
@click.option("--wave", "code", required=True, help=N_("The wave to detach (its code)."))
def partitions_detach(code: str) -> None:
    (wave_id,) = _wave_ids((code,)) or []
    # The wave's acknowledged responses still in the submission inbox go with it.
    inbox.move()
    try:
        names = partitions.detach_wave(db.session.connection(), wave_id)
    except partitions.PartitionError as error:
        db.session.rollback()
        raise CliError(_partition_refusal(error.reason, code)) from None
    db.session.commit()
    click.echo(_("detached %(tables)s", tables=", ".join(names)))
    archive = f"pg_dump --table={names[0]} --table={names[1]} > wave-{code}.sql"
    click.echo(_("archive: %(command)s", command=archive))

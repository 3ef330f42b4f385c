"""E-mail: each new alert to the leaders who follow it, and a weekly digest per leader.

Mail goes through the SMTP server of the ``MAIL_*`` settings (stdlib ``smtplib``); with
``MAIL_SERVER`` unset nothing is sent. A leader receives mail at the address of their
alert settings, only for alerts they follow within their scope
(:func:`survey_app.reporting.alerts.inbox.recipients`).

The weekly digest (``flask digest send``, e.g. Monday 07:00) lists, in Vietnamese, the
alerts of the last 7 days in the leader's scope (significant falls with their interval
and sentence first), the significant changes of the overall index between the last
two waves of each series for the scope's top units and their children, and attaches
the scorecard PDF of each unit at the top of the scope for its latest wave. A digest is
sent once per leader and ISO week (``digest_log``).
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename

from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import Alert, AlertRule, DigestLog, Unit, User, Wave, WaveKind
from survey_app.models._types import utcnow
from survey_app.reporting.alerts import following, inbox, settings, wording
from survey_app.reporting.comparisons.changes import reportable_changes
from survey_app.reporting.dashboard import scope


def mail_enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send(messages: Sequence[EmailMessage]) -> None:
    """Send through the configured SMTP server (STARTTLS and login when configured)."""
    if not messages:
        return
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        for message in messages:
            smtp.send_message(message)


def _message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or "http://localhost"


def alert_message(alert: Alert, user: User, address: str) -> EmailMessage:
    """One alert as an e-mail in Vietnamese, with the link to its page."""
    with force_locale("vi"):
        subject = _("Alert: %(title)s", title=wording.title(alert, "vi"))
        body = "\n\n".join(
            [
                wording.title(alert, "vi"),
                wording.sentence(alert),
                _("Details: %(url)s", url=f"{_base_url()}/alerts/{alert.id}"),
                _(
                    "You receive this because you follow these alerts; change that on %(url)s.",
                    url=f"{_base_url()}/alerts/settings",
                ),
            ]
        )
    return _message(address, subject, body)


def notify(opened: Sequence[Alert]) -> int:
    """E-mail each newly opened alert to its recipients; returns the number sent."""
    if not mail_enabled() or not opened:
        return 0
    sent = 0
    for alert in opened:
        for user in inbox.recipients(alert):
            pref = settings.preference(user)
            if not (pref.email and pref.address):
                continue
            if not inbox.claim_email(alert, user):
                continue
            try:
                send([alert_message(alert, user, pref.address)])
            except (OSError, smtplib.SMTPException):
                inbox.release_email(alert, user)  # not sent: the next run tries again
                raise
            sent += 1
    return sent


# ----------------------------------------------------------------------------- digest


@dataclass
class Digest:
    user: User
    address: str
    week: str
    alerts: list[Alert]
    message: EmailMessage
    attachments: list[str] = field(default_factory=list)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC date-times; PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso_week(moment: datetime) -> str:
    year, week, _day = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _latest_wave(unit: Unit) -> Wave | None:
    infos = scope.waves_of(unit)
    return infos[-1].wave if infos else None


def scorecard_pdf(user: User, unit: Unit, wave: Wave) -> bytes:
    """The scorecard PDF exactly as the user would download it (their scope, in Vietnamese)."""
    path = f"/scorecard/{unit.code}/{wave.code}/scorecard.pdf?lang=vi"
    with current_app.test_request_context(path, base_url=_base_url()):
        login_user(user)
        response = current_app.view_functions["scorecard.pdf"](unit.code, wave.code)
        return response.get_data()


def significant_changes(user: User) -> list[str]:
    """Each significant change of the overall index between the last two waves of a
    series, for the units at the top of the scope and their children (as the overview
    reads them: figures a leader may see), one line each in the current language."""
    lines = []
    for top in scope.scope_tops(user):
        infos = scope.waves_of(top)
        units = [top, *scope.children(top)]
        for kind in (WaveKind.FIELD_SURVEY, WaveKind.CONTINUOUS_FEEDBACK):
            series = scope.series_of(infos, kind)
            if len(series) < 2:
                continue
            before, after = series[-2], series[-1]
            try:
                found = reportable_changes(units, before, after)
            except IndexRequestError as error:
                lines.append(f"- {before.code} → {after.code}: {error}")
                continue
            lines += [
                f"- {c.unit.name('vi')} ({before.code} → {after.code}): {c.sentence()}"
                for c in found
                if c.significant
            ]
    return lines


def build_digest(user: User, now: datetime) -> Digest | None:
    """The user's digest for the week ending at ``now``; None without an address."""
    pref = settings.preference(user)
    if not (pref.digest and pref.address):
        return None
    since = now - timedelta(days=7)
    recent = [
        a for a in inbox.visible_alerts(user) if _utc(a.opened_at) >= since or a.closed_at is None
    ]
    recent.sort(key=lambda a: (a.rule != AlertRule.INDEX_DROP, a.opened_at))
    week = iso_week(now)
    with force_locale("vi"):
        lines = [_("Weekly summary of alerts, week %(week)s", week=week), ""]
        drops = [a for a in recent if a.rule == AlertRule.INDEX_DROP]
        if drops:
            lines.append(_("Statistically significant falls in your units:"))
            lines += [f"- {wording.title(a, 'vi')}: {wording.sentence(a)}" for a in drops]
        else:
            lines.append(_("No statistically significant fall in your units this week."))
        changes = significant_changes(user)
        if changes:
            lines += ["", _("Statistically significant changes between the last two waves:")]
            lines += changes
        others = [a for a in recent if a.rule != AlertRule.INDEX_DROP]
        if others:
            lines += ["", _("Other alerts:")]
            lines += [f"- {wording.title(a, 'vi')}: {wording.sentence(a)}" for a in others]
        lines += ["", _("All alerts: %(url)s", url=f"{_base_url()}/alerts/")]
        subject = _("Weekly summary of alerts, week %(week)s", week=week)
        message = _message(pref.address, subject, "\n".join(lines))
        names = []
        for unit in scope.scope_tops(user):
            wave = _latest_wave(unit)
            if wave is None:
                continue
            name = secure_filename(f"scorecard-{unit.code}-{wave.code}.pdf")
            message.add_attachment(
                scorecard_pdf(user, unit, wave), maintype="application", subtype="pdf",
                filename=name,
            )  # fmt: skip
            names.append(name)
    return Digest(user, pref.address, week, recent, message, names)


def send_digests(now: datetime | None = None, *, dry_run: bool = False) -> list[Digest]:
    """Build (and unless ``dry_run`` send) this week's digest of every reader, once."""
    now = now or utcnow()
    week = iso_week(now)
    done = set(db.session.scalars(select(DigestLog.user_id).where(DigestLog.week == week)))
    digests = []
    for user in following.readers():
        if user.id in done:
            continue
        digest = build_digest(user, now)
        if digest is None:
            continue
        digests.append(digest)
        if dry_run:
            continue
        if not mail_enabled():
            raise RuntimeError("MAIL_SERVER is not set: no digest can be sent")
        db.session.add(
            DigestLog(user_id=user.id, week=week, sent_at=now, alerts=len(digest.alerts))
        )
        try:
            db.session.commit()  # claim the week first: a concurrent run sends nothing twice
        except IntegrityError:
            db.session.rollback()
            digests.pop()
            continue
        try:
            send([digest.message])
        except (OSError, smtplib.SMTPException):
            # not sent: free the week again so the next run retries, then say why
            db.session.execute(
                delete(DigestLog).where(DigestLog.user_id == user.id, DigestLog.week == week)
            )
            db.session.commit()
            raise
    return digests

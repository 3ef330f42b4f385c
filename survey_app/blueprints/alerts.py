"""The notification centre: the bell, the list of alerts, an alert's page, settings."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from survey_app.access import READERS, role_required
from survey_app.i18n import current_lang, safe_next
from survey_app.models import Alert, AlertRule, Role, Unit
from survey_app.numbers import NumberError, parse_number
from survey_app.reporting.alerts import inbox, wording
from survey_app.reporting.alerts.settings import (
    SettingsError,
    preference,
    save_settings,
    subscription_pairs,
)
from survey_app.reporting.dashboard import scope

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.app_context_processor
def bell() -> dict[str, object]:
    """The unread count for the bell of every page a reader sees."""
    if not current_user.is_authenticated or current_user.role not in READERS:
        return {"alert_unread": None}
    return {"alert_unread": inbox.unread_count(current_user)}


@bp.context_processor
def helpers() -> dict[str, object]:
    return {
        "alert_title": lambda alert: wording.title(alert, current_lang()),
        "alert_sentence": wording.sentence,
        "alert_period": wording.period,
        "rule_name": wording.rule_name,
        "interval": wording.interval,
        "explain_url": explain_url,
    }


def explain_url(alert: Alert) -> str:
    """The dashboard page behind the alert."""
    details = alert.details
    if alert.rule == AlertRule.INDEX_DROP:
        if details.get("source") == "field":
            return url_for("dashboard.unit", code=alert.unit.code, wave=details["after_wave"])
        return url_for("dashboard.kiosk", unit=alert.unit.code)
    if alert.rule == AlertRule.FUNNEL:
        return url_for("dashboard.ranking", unit=details["parent"], wave=details["wave"])
    if alert.rule == AlertRule.BURST and current_user.role in (Role.ANALYST, Role.ADMIN):
        return url_for("bursts.index")
    return url_for("dashboard.kiosk", unit=alert.unit.code)


@bp.get("/")
@role_required(*READERS)
def index() -> str:
    items = inbox.visible_alerts(current_user)
    acknowledged = inbox.acknowledged_ids(current_user, items)
    return render_template("alerts/index.html", alerts=items, acknowledged=acknowledged)


def _alert(alert_id: int) -> Alert:
    try:
        return inbox.get(current_user, alert_id)
    except inbox.AlertError:
        abort(404)


@bp.get("/<int:alert_id>")
@role_required(*READERS)
def show(alert_id: int) -> str:
    alert = _alert(alert_id)
    acknowledged = bool(inbox.acknowledged_ids(current_user, [alert]))
    return render_template("alerts/show.html", alert=alert, acknowledged=acknowledged)


@bp.post("/<int:alert_id>/acknowledge")
@role_required(*READERS)
def acknowledge(alert_id: int) -> Response:
    try:
        inbox.acknowledge(current_user, alert_id)
    except inbox.AlertError:
        abort(404)
    flash(_("Alert acknowledged."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("alerts.index")))


def _settings_units() -> list[Unit]:
    """The units offered on the settings page: the scope's top units and their children."""
    tops = scope.scope_tops(current_user)
    units: list[Unit] = []
    for top in tops:
        units.append(top)
        units.extend(scope.children(top))
    return units


@bp.route("/settings", methods=["GET", "POST"])
@role_required(*READERS)
def settings() -> str | Response | tuple[str, int]:
    pref = preference(current_user)
    chosen = subscription_pairs(current_user)
    units = _settings_units()
    if request.method == "POST":
        form = request.form
        try:
            min_change = parse_number(form.get("min_change", ""))
        except NumberError:
            min_change = math.nan
        pairs = []
        for value in form.getlist("follow"):
            rule, _sep, code = value.partition("|")
            pairs.append((rule, code))
        try:
            save_settings(
                current_user,
                min_change=min_change,
                email=form.get("email") == "on",
                digest=form.get("digest") == "on",
                address=form.get("address"),
                follow_all=form.get("follow_all") == "on",
                subscriptions=pairs,
            )
        except SettingsError:
            flash(
                _(
                    "Settings not saved: the minimum change must be a number from 0 to 100, "
                    "the address a valid e-mail address and every unit in your scope."
                ),
                "error",
            )
            page = render_template(
                "alerts/settings.html",
                pref=pref,
                chosen=set(pairs),
                units=units,
                rules=list(AlertRule),
            )
            return page, 400
        flash(_("Alert settings saved."), "success")
        return redirect(url_for("alerts.settings"))
    return render_template(
        "alerts/settings.html", pref=pref, chosen=chosen, units=units, rules=list(AlertRule)
    )

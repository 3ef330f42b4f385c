"""What an alert says: its title, its sentence and the figures, in the current language.

Built from the figures stored with the alert when it was raised, so the page, the
e-mail and the digest say the same thing.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from analysis.indices import Difference
from survey_app import formatting
from survey_app.extensions import db
from survey_app.i18n import current_lang
from survey_app.models import Alert, AlertRule, Unit, Wave
from survey_app.reporting.comparisons import wording
from survey_app.reporting.indices.shared_sums import within_request


def rule_name(rule: AlertRule) -> str:
    return {
        AlertRule.INDEX_DROP: _("Significant fall of an index"),
        AlertRule.FUNNEL: _("Unit outside its funnel-plot limits"),
        AlertRule.SILENT_DESK: _("Desk silent for longer than usual"),
        AlertRule.BURST: _("Burst of identical answers to review"),
        AlertRule.RATE_ANOMALY: _("Unusual number of responses at a desk"),
    }[rule]


def interval(figure: dict[str, Any]) -> str:
    return formatting.interval(figure["ci_low"], figure["ci_high"])


def difference(details: dict[str, Any]) -> Difference:
    """The difference an alert fired on, as stored in its details."""
    d = details["difference"]
    return Difference(**{f.name: d[f.name] for f in fields(Difference)})


def unit_name(code: str, lang: str) -> str:
    """A unit the details name by its code, as readers know it (the code if it is gone).

    Looked up once per page (the alert list names the same parent in each funnel alert).
    """
    unit = _by_code(Unit, code)
    return unit.name(lang) if unit is not None else code


def wave_name(code: str, lang: str) -> str:
    """A wave the details name by its code, by its name (the code if it is gone)."""
    wave = _by_code(Wave, code)
    return wave.name(lang) if wave is not None else code


def _by_code(model: type[Unit] | type[Wave], code: str) -> Unit | Wave | None:
    if not code:
        return None
    return within_request(
        ("alert wording", model.__name__, code),
        lambda: db.session.scalar(select(model).where(model.code == code)),
    )


def index_label(alert: Alert, lang: str) -> str:
    label = alert.details.get("label") or {}
    return str(label.get(lang) or alert.details.get("code", ""))


def title(alert: Alert, lang: str) -> str:
    unit = alert.unit.name(lang)
    details = alert.details
    if alert.rule == AlertRule.INDEX_DROP:
        return _(
            "%(unit)s: %(index)s fell by %(size)s points",
            unit=unit,
            index=index_label(alert, lang),
            size=formatting.number(abs(alert.size or 0.0), 1),
        )
    if alert.rule == AlertRule.FUNNEL:
        parent = unit_name(details.get("parent", ""), lang)
        if details.get("side") == "below":
            return _("%(unit)s is below the funnel-plot limits of %(parent)s", unit=unit,
                     parent=parent)  # fmt: skip
        return _("%(unit)s is above the funnel-plot limits of %(parent)s", unit=unit,
                 parent=parent)  # fmt: skip
    desk = details.get("desk") or unit
    if alert.rule == AlertRule.SILENT_DESK:
        return _("Desk %(desk)s (%(unit)s) has been silent", desk=desk, unit=unit)
    if alert.rule == AlertRule.BURST:
        return _("Desk %(desk)s (%(unit)s): burst of identical answers", desk=desk, unit=unit)
    return _("Desk %(desk)s (%(unit)s): unusual number of responses", desk=desk, unit=unit)


def period(alert: Alert, which: str) -> str:
    """The period of an index drop's ``before`` or ``after`` figure as readers know
    it: the wave's name for a field survey, the window's first and last days for
    continuous feedback."""
    d = alert.details
    if d.get("source") == "field":
        return wave_name(d[f"{which}_wave"], current_lang())
    first, last = (formatting.day(date.fromisoformat(day)) for day in d[f"{which}_window"])
    return f"{first} – {last}"


def _when(value: str) -> str:
    return formatting.moment(datetime.fromisoformat(value))


def sentence(alert: Alert) -> str:
    """The plain-language sentence with the figure, its interval and how sure it is."""
    d, lang = alert.details, current_lang()
    if alert.rule == AlertRule.INDEX_DROP:
        change = wording.change_sentence(difference(d), d.get("kind", "rate"))
        if d.get("source") == "field":
            period = _("from %(before)s to %(after)s",
                       before=wave_name(d["before_wave"], lang),
                       after=wave_name(d["after_wave"], lang))  # fmt: skip
        else:
            period = _(
                "in the last %(days)s days against the %(days)s days before",
                days=_days(d),
            )
        return _(
            "The index %(change)s %(period)s: %(before)s (95%% CI %(before_ci)s) to "
            "%(after)s (95%% CI %(after_ci)s). After Holm's adjustment over %(family)s "
            "tests, %(p_adj)s.",
            change=change,
            period=period,
            before=formatting.percent(d["before"]["value"]),
            before_ci=interval(d["before"]),
            after=formatting.percent(d["after"]["value"]),
            after_ci=interval(d["after"]),
            p_adj=wording.format_p(d["p_adjusted"]),
            family=formatting.number(d["family"]),
        )
    if alert.rule == AlertRule.FUNNEL:
        return _(
            "In %(wave)s the unit's figure %(value)s (95%% CI %(ci)s) lies outside the "
            "99.8%% limits %(low)s–%(high)s around %(target)s for its effective n of %(n)s.",
            wave=wave_name(d["wave"], lang),
            value=formatting.percent(d["value"]),
            ci=interval(d),
            low=formatting.percent(d["lower998"]),
            high=formatting.percent(d["upper998"]),
            target=formatting.percent(d["target"]),
            n=formatting.number(d["n_eff"], 0),
        )
    if alert.rule == AlertRule.SILENT_DESK:
        return _(
            "No response since %(last)s (%(hours)s hours). In its last %(weeks)s weeks the "
            "desk was this quiet at these hours with a chance below 1 in 1000.",
            last=_when(d["last"]),
            hours=formatting.number(d["hours"], 1),
            weeks=d["weeks"],
        )
    if alert.rule == AlertRule.BURST:
        return _(
            "%(n)s responses flagged as a burst since %(first)s wait for review; they are "
            "left out of the figures until then.",
            n=d["responses"],
            first=_when(d["first"]),
        )
    return _(
        "%(count)s responses on %(day)s, against %(mean)s on average on the same weekday "
        "of the %(weeks)s weeks before (%(p)s).",
        count=d["count"],
        day=formatting.day(date.fromisoformat(d["day"])),
        mean=formatting.number(d["mean"], 1),
        weeks=d["weeks"],
        p=wording.format_p(d["p_value"]),
    )


def _days(details: dict[str, Any]) -> int:
    start, end = details["after_window"]
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days + 1

"""Alerts on the demo province: episodes, scope, the notification centre, acknowledging.

The demo holds one unreviewed burst of eight identical kiosk answers at the desk of
Quỳnh Dị (HM-QD, in Hoàng Mai town NA-HM) and a Quảng Ngãi unit outside its funnel
limits in QN-2022. ``leader`` is scoped to NA-HM, ``leader_qn`` to QNG.
"""

from __future__ import annotations

import html
import os
import random
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import IntegrityError

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Alert, AlertRule, AuditLog, Response, Role, Unit, User
from survey_app.reporting import bursts
from survey_app.reporting.alerts.episodes import run as run_alerts
from survey_app.reporting.alerts.following import following
from survey_app.reporting.alerts.inbox import (
    RECENT_DAYS,
    acknowledge,
    acknowledged_ids,
    recipients,
    unread_count,
    visible_alerts,
)
from survey_app.reporting.alerts.settings import (
    SettingsError,
    preference,
    save_settings,
    subscription_pairs,
)
from tests.helpers.kiosk_wave import one_day_desk_under_fail_rule

pytestmark = pytest.mark.demo
PASSWORD = "a-long-test-password"


def user(name: str) -> User:
    found = db.session.scalar(select(User).where(User.username == name))
    assert found is not None
    return found


def login(
    client: FlaskClient, username: str, role: Role | None = None, unit: str | None = None
) -> None:
    if role is not None:
        accounts.create_user(username, PASSWORD, role, unit)
    else:
        user(username).password_hash = accounts.hash_password(PASSWORD)
        db.session.commit()
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302


def all_alerts() -> list[tuple[str, str, int, bool]]:
    rows = db.session.scalars(select(Alert).order_by(Alert.rule, Alert.subject, Alert.episode))
    return [(a.rule.value, a.subject, a.episode, a.closed_at is None) for a in rows]


def test_run_twice_stores_each_episode_once(app: Flask) -> None:
    first = run_alerts()
    stored = all_alerts()
    assert stored and len(first.opened) == len(stored)
    rules = {rule for rule, *_ in stored}
    assert {"burst", "funnel"} <= rules
    second = run_alerts()
    assert second.opened == [] and second.closed == 0 and second.kept == len(stored)
    assert all_alerts() == stored


def test_burst_episode_closes_when_reviewed_and_a_new_burst_is_episode_two(app: Flask) -> None:
    run_alerts()
    burst = db.session.scalar(select(Alert).where(Alert.rule == AlertRule.BURST))
    assert burst is not None and burst.closed_at is None and burst.episode == 1
    analyst = accounts.create_user("analyst_a", PASSWORD, Role.ANALYST, None)
    ids = list(db.session.scalars(select(Response.id).where(Response.flag_reason == bursts.BURST)))
    bursts.review(analyst, ids, "keep")
    report = run_alerts()
    db.session.refresh(burst)
    assert burst.closed_at is not None and report.closed >= 1
    # the same desk bursts again: a second episode, the first stays closed
    db.session.execute(
        Response.__table__.update()
        .where(Response.id.in_(ids[:5]))
        .values(flagged=True, flag_reason=bursts.BURST)
    )
    db.session.commit()
    report = run_alerts()
    episodes = db.session.scalars(
        select(Alert).where(Alert.rule == AlertRule.BURST).order_by(Alert.episode)
    ).all()
    assert [(a.episode, a.closed_at is None) for a in episodes] == [(1, False), (2, True)]
    assert [a.subject for a in report.opened] == [burst.subject]


def test_database_refuses_a_duplicate_episode_and_a_second_open_one(app: Flask) -> None:
    unit = db.session.scalar(select(Unit).where(Unit.code == "NA-HM"))
    db.session.add(
        Alert(rule=AlertRule.FUNNEL, subject="s", episode=1, unit_id=unit.id, details={})
    )
    db.session.commit()
    db.session.add(
        Alert(rule=AlertRule.FUNNEL, subject="s", episode=1, unit_id=unit.id, details={})
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # another episode while the first is still open
    db.session.add(
        Alert(rule=AlertRule.FUNNEL, subject="s", episode=2, unit_id=unit.id, details={})
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_concurrent_runs_in_two_processes_store_each_alert_once(app: Flask, tmp_path: Path) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "DATABASE_URL": url, "SURVEY_INSTANCE_PATH": str(tmp_path)}
    flask = str(Path(sys.executable).with_name("flask"))
    runs = [
        subprocess.Popen(
            [
                flask,
                "--app",
                "survey_app",
                "alerts",
                "run",
                "--now",
                "2026-12-02T03:00:00",
                "--lang",
                "en",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    db.session.rollback()
    stored = all_alerts()
    assert stored
    opened = sum(int(out.split(" opened")[0].split()[-1]) for out, _err in outputs)
    assert opened == len(stored)  # every episode opened by exactly one of the two runs
    assert len({(r, s, e) for r, s, e, _ in stored}) == len(stored)


def test_each_leader_sees_only_alerts_in_scope(app: Flask) -> None:
    run_alerts()
    na = visible_alerts(user("leader"))
    qn = visible_alerts(user("leader_qn"))
    assert AlertRule.BURST in {a.rule for a in na} and AlertRule.FUNNEL not in {a.rule for a in na}
    assert AlertRule.FUNNEL in {a.rule for a in qn} and AlertRule.BURST not in {a.rule for a in qn}
    for alert in na:
        assert alert.unit.path.startswith(user("leader").unit.path)
    assert user("leader") not in recipients(qn[0])


def test_subscriptions_and_minimum_change_filter_what_a_leader_follows(app: Flask) -> None:
    leader = user("leader")
    unit = db.session.scalar(select(Unit).where(Unit.code == "HM-QD"))
    drop = Alert(
        rule=AlertRule.INDEX_DROP, subject="test-drop", episode=1, unit_id=unit.id, size=-6.0,
        details={},
    )  # fmt: skip
    db.session.add(drop)
    db.session.commit()
    run_alerts()
    rules = {a.rule for a in visible_alerts(leader)}
    assert {AlertRule.BURST, AlertRule.INDEX_DROP} <= rules
    save_settings(
        leader, min_change=8, email=True, digest=True, address="lanhdao@example.vn",
        follow_all=False, subscriptions=[("index_drop", "NA-HM"), ("funnel", "NA-HM")],
    )  # fmt: skip
    rules = {a.rule for a in visible_alerts(leader)}
    assert AlertRule.BURST not in rules and AlertRule.INDEX_DROP not in rules  # 6 < 8 points
    save_settings(
        leader, min_change=5, email=True, digest=True, address="lanhdao@example.vn",
        follow_all=False, subscriptions=[("index_drop", "NA-HM")],
    )  # fmt: skip
    assert [a.rule for a in visible_alerts(leader)] == [AlertRule.INDEX_DROP]
    with pytest.raises(SettingsError):
        save_settings(
            leader, min_change=5, email=True, digest=True, address=None,
            follow_all=False, subscriptions=[("index_drop", "QNG")],
        )  # fmt: skip


def test_bell_list_acknowledge_and_page_in_vietnamese_and_english(
    app: Flask, client: FlaskClient
) -> None:
    run_alerts()
    login(client, "leader")
    page = client.get("/dashboard/").get_data(as_text=True)
    mine = visible_alerts(user("leader"))
    assert 'id="alert-bell"' in page
    assert f'data-count="{len(mine)}"' in page
    listing = html.unescape(client.get("/alerts/?lang=vi").get_data(as_text=True))
    assert "Cảnh báo" in listing and "Quỳnh Dị" in listing
    burst = next(a for a in mine if a.rule == AlertRule.BURST)
    shown = html.unescape(client.get(f"/alerts/{burst.id}?lang=en").get_data(as_text=True))
    assert "8 responses flagged as a burst" in shown and 'id="explain-link"' in shown
    answer = client.post(f"/alerts/{burst.id}/acknowledge", data={})
    assert answer.status_code == 302
    page = client.get("/dashboard/").get_data(as_text=True)
    if len(mine) > 1:
        assert f'data-count="{len(mine) - 1}"' in page
    else:
        assert "alert-count" not in page
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "alert.acknowledge"))
    assert entry is not None and entry.target == f"alert:{burst.id}"
    assert entry.username == "leader"
    # acknowledging again is harmless and not audited twice
    client.post(f"/alerts/{burst.id}/acknowledge", data={})
    count = db.session.scalar(select(func.count()).where(AuditLog.action == "alert.acknowledge"))
    assert count == 1
    # an alert outside the scope does not exist for this leader
    funnel = db.session.scalar(select(Alert).where(Alert.rule == AlertRule.FUNNEL))
    assert client.get(f"/alerts/{funnel.id}").status_code == 404
    assert client.post(f"/alerts/{funnel.id}/acknowledge", data={}).status_code == 404


def test_settings_page_refuses_units_outside_the_scope_and_bad_numbers(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "leader")
    page = client.get("/alerts/settings?lang=vi").get_data(as_text=True)
    assert "Cài đặt cảnh báo" in html.unescape(page)
    bad = client.post(
        "/alerts/settings?lang=en",
        data={"min_change": "5", "follow": ["burst|QNG"], "address": ""},
    )
    assert bad.status_code == 400 and "Settings not saved" in bad.get_data(as_text=True)
    bad = client.post("/alerts/settings", data={"min_change": "abc"})
    assert bad.status_code == 400
    bad = client.post(
        "/alerts/settings", data={"min_change": "5", "address": "a@b.vn\r\nBcc: x@y.vn"}
    )
    assert bad.status_code == 400
    good = client.post(
        "/alerts/settings",
        data={"min_change": "7,5", "follow": ["burst|NA-HM"], "address": "ld@example.vn",
              "email": "on"},
    )  # fmt: skip
    assert good.status_code == 302
    pref = preference(user("leader"))
    assert pref.min_change == 7.5 and pref.customised and not pref.digest
    assert subscription_pairs(user("leader")) == {("burst", "NA-HM")}
    # The page shows what was saved, to the last digit, the reader's way: 2.25 once
    # showed as "2,3" and was saved as 2.3 the next time the form was sent.
    client.post("/alerts/settings", data={"min_change": "2,25", "follow_all": "on"})
    for lang, shown in (("vi", "2,25"), ("en", "2.25")):
        page = client.get(f"/alerts/settings?lang={lang}").get_data(as_text=True)
        assert re.search(rf'id="min_change"[^>]*value="{re.escape(shown)}"', page), lang


def test_a_real_fall_in_a_communes_kiosk_feedback_fires_and_closes_when_it_ends(
    app: Flask, client: FlaskClient
) -> None:
    """Half of Quỳnh Thiện's (HM-QT) kiosk answers of the last 14 days turned very
    dissatisfied: its overall rate falls far beyond noise, so the rule fires for that
    unit with the figures of both windows; putting the answers back closes it."""
    from survey_app.models import AnswerValue, QuestionnaireItem, Wave, WaveKind

    # The demo's 30 days of kiosk feedback end on the day it was seeded (UTC): the
    # alerts run at 10:00 in Hà Nội that day, so the windows end the day before.
    feedback = (Wave.id == Response.wave_id, Wave.kind == WaveKind.CONTINUOUS_FEEDBACK)
    last = db.session.scalar(select(func.max(Response.submitted_at)).join(Wave, feedback[0]))
    seeded = last.astimezone(UTC).date() if last.tzinfo else last.date()
    now = datetime.combine(seeded, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    after = (seeded - timedelta(days=14), seeded - timedelta(days=1))
    before = (seeded - timedelta(days=28), seeded - timedelta(days=15))

    def midnight(day: date) -> datetime:  # in Hà Nội (+07:00), as a UTC moment
        return datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=7)

    unit = db.session.scalar(select(Unit).where(Unit.code == "HM-QT"))
    ids = list(
        db.session.scalars(
            select(Response.id)
            .join(Wave, feedback[0])
            .where(
                feedback[1],
                Response.unit_id == unit.id,
                Response.flagged.is_(False),
                Response.submitted_at >= midnight(after[0]),
                Response.submitted_at < midnight(after[1] + timedelta(days=1)),
            )
            .order_by(Response.id)
        )
    )[::2]
    assert len(ids) > 20
    scales = select(QuestionnaireItem.id).where(QuestionnaireItem.kind.in_(["smiley", "likert5"]))
    chosen = (AnswerValue.response_id.in_(ids), AnswerValue.item_id.in_(scales))
    saved = db.session.execute(
        select(AnswerValue.response_id, AnswerValue.item_id, AnswerValue.value).where(*chosen)
    ).all()
    db.session.execute(AnswerValue.__table__.update().where(*chosen).values(value=1))
    db.session.commit()
    report = run_alerts(now)
    drops = [a for a in report.opened if a.rule == AlertRule.INDEX_DROP and a.unit_id == unit.id]
    overall = [a for a in drops if a.details["code"] == "overall"]
    assert len(overall) == 1
    alert = overall[0]
    details = alert.details
    assert details["source"] == "feedback"
    assert details["after_window"] == [day.isoformat() for day in after]
    assert details["before_window"] == [day.isoformat() for day in before]
    assert alert.size == pytest.approx(
        100 * (details["after"]["value"] - details["before"]["value"])
    )
    assert alert.size <= -details["min_change"] and details["p_adjusted"] < details["alpha"]
    assert details["p_adjusted"] >= details["difference"]["p_value"]  # Holm only raises p
    assert details["after"]["ci_high"] < details["before"]["value"]
    # the leader of Hoàng Mai reads it with its figures, interval and sentence
    login(client, "leader")
    page = html.unescape(client.get(f"/alerts/{alert.id}?lang=vi").get_data(as_text=True))
    assert "Quỳnh Thiện" in page and "giảm" in page and "KTC 95%" in page
    assert "hiệu chỉnh Holm" in page
    english = html.unescape(client.get(f"/alerts/{alert.id}?lang=en").get_data(as_text=True))
    assert "statistically significant" in english and "After Holm's adjustment" in english
    # the windows are the reader's dates, not ISO ones
    shown = f"({after[0]:%d/%m/%Y} – {after[1]:%d/%m/%Y})"
    assert shown in page and after[0].isoformat() not in page
    # the answers put back: the condition ends and the episode closes
    for response_id, item_id, value in saved:
        db.session.execute(
            AnswerValue.__table__.update()
            .where(AnswerValue.response_id == response_id, AnswerValue.item_id == item_id)
            .values(value=value)
        )
    db.session.commit()
    run_alerts(now)
    db.session.refresh(alert)
    assert alert.closed_at is not None


def test_field_waves_are_compared_once_closed_with_the_comparisons_service(app: Flask) -> None:
    """Open field waves are not compared; closed, the last two closed waves of each
    questionnaire are, and each fired fall carries the figures of
    ``changes.change`` (the page's change) with a Holm-adjusted p no smaller."""
    from survey_app.models import Wave, WaveKind, WaveStatus
    from survey_app.reporting.comparisons import changes

    field_waves = list(db.session.scalars(select(Wave).where(Wave.kind == WaveKind.FIELD_SURVEY)))
    assert all(w.status == WaveStatus.CLOSED for w in field_waves)  # the demo's, finished
    for wave in field_waves:
        wave.status = WaveStatus.OPEN
    db.session.commit()
    before = run_alerts()
    assert not any(a.details.get("source") == "field" for a in before.opened)
    for wave in field_waves:
        wave.status = WaveStatus.CLOSED
    db.session.commit()
    report = run_alerts()
    field = [a for a in report.opened if a.details.get("source") == "field"]
    assert field and report.evaluated["index_drop"] > before.evaluated["index_drop"]
    waves = {w.code: w for w in db.session.scalars(select(Wave))}
    for alert in field:
        d = alert.details
        assert (d["before_wave"], d["after_wave"]) == ("QN-2021", "QN-2022")
        change = changes.change(alert.unit, waves["QN-2021"], waves["QN-2022"])
        assert d["difference"]["value"] == pytest.approx(change.difference.value, rel=1e-9)
        assert d["difference"]["p_value"] == pytest.approx(change.difference.p_value, rel=1e-9)
        assert d["after"]["value"] == pytest.approx(change.after.value, rel=1e-9)
        assert d["before"]["ci_low"] == pytest.approx(change.before.ci_low, rel=1e-9)
        assert alert.size <= -5 and d["p_adjusted"] >= d["difference"]["p_value"]
        assert d["p_adjusted"] < 0.05
    # Hoàng Mai rose from wave to wave: a rise never raises a fall
    hoang_mai = db.session.scalar(select(Unit).where(Unit.code == "NA-HM"))
    assert not [a for a in field if a.unit.path.startswith(hoang_mai.path)]


def test_alerts_name_units_and_waves_as_readers_know_them(app: Flask) -> None:
    """A leader reads "the funnel-plot limits of Quảng Ngãi province" and "from
    Satisfaction survey 2021 to …", not the codes QNG and QN-2021 they once showed."""
    from survey_app.models import Wave, WaveKind, WaveStatus
    from survey_app.reporting.alerts import wording

    for wave in db.session.scalars(select(Wave).where(Wave.kind == WaveKind.FIELD_SURVEY)):
        wave.status = WaveStatus.CLOSED
    db.session.commit()
    report = run_alerts()
    funnel = next(a for a in report.opened if a.rule == AlertRule.FUNNEL)
    fall = next(a for a in report.opened if a.details.get("source") == "field")
    parent = db.session.scalar(select(Unit).where(Unit.code == funnel.details["parent"]))
    waves = {w.code: w for w in db.session.scalars(select(Wave))}
    for lang in ("vi", "en"):
        with app.test_request_context(), force_locale(lang):
            title = wording.title(funnel, lang)
            assert title.endswith(parent.name(lang)), title
            said = wording.sentence(funnel)
            assert waves[funnel.details["wave"]].name(lang) in said, said
            said = wording.sentence(fall)
            named = [waves[fall.details[key]].name(lang) for key in ("before_wave", "after_wave")]
            assert all(name in said for name in named), said
            assert "QN-2021" not in said and "QN-2022" not in said
            # a tiny p reads "p < 0,001", as on the dashboard, never "p = 0,000"
            assert fall.details["p_adjusted"] >= 0.001 or "p < 0" in said, said
            assert "= 0,000" not in said and "= 0.000" not in said


NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Hà Nội


def desk_alerts(rule: AlertRule) -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(Alert.rule == rule)))


def test_the_demos_stopped_desk_is_silent_and_the_alert_closes_when_it_answers(
    app: Flask,
) -> None:
    """The Quỳnh Trang desk stopped on 25 November (the demo's stopped kiosk); every
    other desk answered within hours. Learned from its own three weeks, a week of
    silence in its working hours is far beyond its rhythm; one answer ends it."""
    run_alerts(NOW)
    [silent] = [a for a in desk_alerts(AlertRule.SILENT_DESK) if a.closed_at is None]
    assert "Quỳnh Trang" in silent.desk.name
    assert silent.details["weeks"] == 3 and silent.details["chance"] < 0.001
    last = db.session.scalar(
        select(Response).where(Response.desk_id == silent.desk_id).order_by(Response.id.desc())
    )
    db.session.add(
        Response(
            client_id=uuid.uuid4(),
            questionnaire_id=last.questionnaire_id,
            unit_id=last.unit_id,
            desk_id=last.desk_id,
            wave_id=last.wave_id,
            channel=last.channel,
            submitted_at=NOW - timedelta(minutes=30),
            answers=last.answers,
            content_hash="0" * 64,
        )
    )
    db.session.commit()
    run_alerts(NOW)
    db.session.refresh(silent)
    assert silent.closed_at is not None


def test_a_day_with_far_more_responses_than_the_desks_usual_is_a_rate_anomaly(
    app: Flask,
) -> None:
    """Forty of a desk's earlier responses moved onto yesterday (1 December): against
    the same weekday of the weeks before, an anomaly at that desk and no other."""
    run_alerts(NOW)
    assert desk_alerts(AlertRule.RATE_ANOMALY) == []
    desk_id = db.session.scalar(
        select(Response.desk_id).where(Response.channel == "kiosk").order_by(Response.id)
    )
    moved = list(
        db.session.scalars(
            select(Response)
            .where(
                Response.desk_id == desk_id,
                Response.channel == "kiosk",
                Response.submitted_at < datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
            )
            .order_by(Response.id)
            .limit(40)
        )
    )
    for k, response in enumerate(moved):
        response.submitted_at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC) + timedelta(minutes=k)
    db.session.commit()
    run_alerts(NOW)
    [anomaly] = desk_alerts(AlertRule.RATE_ANOMALY)
    assert anomaly.desk_id == desk_id and anomaly.details["day"] == "2026-12-01"
    assert anomaly.details["count"] >= 40 and anomaly.details["p_value"] < 0.001
    from survey_app.reporting.alerts import wording

    with app.test_request_context(), force_locale("vi"):
        assert " ngày 01/12/2026" in wording.sentence(anomaly)  # the reader's date, not ISO


def test_a_rule_that_cannot_compute_keeps_its_open_episodes_open(app: Flask) -> None:
    """The kiosk wave under the lonely-PSU rule 'fail' with a one-day desk: the funnel
    of Hoàng Mai's kiosk wave cannot be computed, so the run warns and leaves the
    funnel episode open (unknown is not ended); once computable, the run closes it."""
    from survey_app.models import LonelyPSU

    wave, ward = one_day_desk_under_fail_rule()
    earlier = Alert(
        rule=AlertRule.FUNNEL,
        subject=f"unit:{ward.id}/in:{ward.parent_id}/continuous_feedback",
        episode=1,
        unit_id=ward.id,
        details={},
    )
    db.session.add(earlier)
    db.session.commit()
    report = run_alerts(NOW)
    assert AlertRule.FUNNEL in report.unsure
    assert any("funnel" in problem and "'fail'" in problem for problem in report.problems)
    db.session.refresh(earlier)
    assert earlier.closed_at is None
    wave.lonely_psu = LonelyPSU.ADJUST
    db.session.commit()
    report = run_alerts(NOW)
    assert report.problems == []
    db.session.refresh(earlier)
    assert earlier.closed_at is not None


def test_the_database_lists_and_counts_what_following_sees(app: Flask) -> None:
    """``visible_alerts`` and the bell's ``unread_count`` ask the database
    (``Following.seen``, SQL); ``Following.sees`` decides one alert in Python (the
    e-mail recipients, the alert page). Both must say the same: alerts of every rule
    at random units, sizes on both sides of each minimum change and on it, some older
    than the centre's window, some acknowledged, for readers following their whole
    scope and readers following chosen rules and units."""
    rng = random.Random(20261204)
    run_alerts()
    units = list(db.session.scalars(select(Unit)))
    sizes = [None, -8.0, -6.0, -5.0, -5.0 + 1e-12, -4.999, -3.0, 7.5]
    old = datetime.now(UTC) - timedelta(days=RECENT_DAYS + 5)
    for i in range(150):
        db.session.add(
            Alert(
                rule=rng.choice(list(AlertRule)), subject=f"agree-{i}", episode=1,
                unit_id=rng.choice(units).id, size=rng.choice(sizes), details={},
                **({"opened_at": old} if i % 10 == 0 else {}),
            )
        )  # fmt: skip
    accounts.create_user("admin_agree", PASSWORD, Role.ADMIN, None)
    db.session.commit()
    alerts = list(db.session.scalars(select(Alert)))
    cutoff = datetime.now(UTC) - timedelta(days=RECENT_DAYS)
    recent = [a for a in alerts if a.opened_at.replace(tzinfo=UTC) >= cutoff]
    assert len(recent) < len(alerts)
    settings = [
        None,
        dict(min_change=5, follow_all=False, subscriptions=[("index_drop", "NA-HM")]),
        dict(
            min_change=0, follow_all=False,
            subscriptions=[("burst", "HM-QD"), ("funnel", "NA-HM")],
        ),
        dict(min_change=6, follow_all=True, subscriptions=[]),
    ]  # fmt: skip
    checked = 0
    for name in ("leader", "leader_qn", "admin_agree"):
        reader = user(name)
        for chosen in settings if name == "leader" else [None, settings[-1]]:
            if chosen is not None:
                save_settings(reader, email=False, digest=False, address=None, **chosen)
            mine = following(reader)
            expected = {a.id for a in recent if mine.sees(a)}
            assert {a.id for a in visible_alerts(reader)} == expected
            for alert_id in rng.sample(sorted(expected), len(expected) // 3):
                acknowledge(reader, alert_id)
            acknowledged = acknowledged_ids(reader, [a for a in recent if a.id in expected])
            assert unread_count(reader) == len(expected) - len(acknowledged)
            checked += len(expected)
    assert checked > 100


def test_the_alert_list_reads_each_named_unit_once(app: Flask, client: FlaskClient) -> None:
    """Each funnel alert's title names its parent: the list looked the parent up once per
    alert, so a province with forty departments outside their limits ran forty lookups."""
    province = db.session.scalar(select(Unit).where(Unit.code == "QNG"))
    departments = db.session.scalars(select(Unit).where(Unit.parent_id == province.id)).all()
    login(client, "qn_reader", Role.LEADER, "QNG")

    def statements_for_the_list(how_many: int) -> int:
        for department in departments[:how_many]:
            db.session.add(
                Alert(
                    rule=AlertRule.FUNNEL,
                    subject=f"list-{department.code}",
                    episode=1,
                    unit_id=department.id,
                    details={"parent": "QNG", "side": "below"},
                )
            )
        db.session.commit()
        seen: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = client.get("/alerts/?lang=vi")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert page.status_code == 200
        text = html.unescape(page.get_data(as_text=True))
        assert text.count("nằm dưới giới hạn biểu đồ phễu của Tỉnh Quảng Ngãi") >= how_many
        return len(seen)

    few = statements_for_the_list(2)
    db.session.execute(delete(Alert).where(Alert.subject.startswith("list-")))
    db.session.commit()
    many = statements_for_the_list(12)
    assert many == few


def test_alerts_raised_together_are_listed_largest_fall_first(client: FlaskClient) -> None:
    """One run raises many alerts at the same moment; the list showed them in the order
    they were stored (a funnel alert, then falls of 16, 21, 14 and 16 points); now the
    falls come first, the largest first, then the funnel, then the desks."""
    from survey_app.reporting.alerts.inbox import RULE_ORDER

    run_alerts()
    login(client, "qn_reader", Role.LEADER, "QNG")
    page = client.get("/alerts/").get_data(as_text=True)
    listed = [db.session.get(Alert, int(i)) for i in re.findall(r'data-alert="(\d+)"', page)]
    rules = [a.rule for a in listed]
    assert AlertRule.INDEX_DROP in rules and AlertRule.FUNNEL in rules
    assert rules == sorted(rules, key=RULE_ORDER.index)
    falls = [a.size for a in listed if a.rule == AlertRule.INDEX_DROP]
    assert len(falls) >= 2 and falls == sorted(falls)

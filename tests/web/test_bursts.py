"""Bursts of identical answers: left out of the figures until reviewed, the review page
within the analyst's scope, and each decision in the audit log (demo province: one
burst of eight identical kiosk answers at the desk of Quỳnh Dị, HM-QD)."""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import func, select

from survey_app import formatting
from survey_app.extensions import db
from survey_app.models import AuditLog, Response, Role, Unit, Wave
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure
from tests.helpers.accounts import login

pytestmark = pytest.mark.demo


def burst_ids() -> list[int]:
    query = select(Response.id).where(Response.flag_reason.like("burst%")).order_by(Response.id)
    return list(db.session.scalars(query))


def states(ids: list[int]) -> set[tuple[bool, str | None]]:
    query = select(Response.flagged, Response.flag_reason).where(Response.id.in_(ids))
    return {(bool(flagged), reason) for flagged, reason in db.session.execute(query)}


def quynh_di_figure() -> IndexFigure:
    unit = db.session.scalar(select(Unit).where(Unit.code == "HM-QD"))
    wave = db.session.scalar(select(Wave).where(Wave.code.startswith("KIOSK-NA")))
    return compute([wave], [unit]).figure(DomainKey(unit.id, wave.id))


def stored_count(flagged: bool | None = None) -> int:
    unit = db.session.scalar(select(Unit).where(Unit.code == "HM-QD"))
    wave = db.session.scalar(select(Wave).where(Wave.code.startswith("KIOSK-NA")))
    query = select(func.count()).where(Response.unit_id == unit.id, Response.wave_id == wave.id)
    if flagged is not None:
        query = query.where(Response.flagged.is_(flagged))
    return int(db.session.scalar(query))


def test_figures_leave_out_unreviewed_and_excluded_bursts_and_count_kept_ones(
    client: FlaskClient,
) -> None:
    ids = burst_ids()
    assert len(ids) == 8  # the demo's one burst
    before = quynh_di_figure()
    assert before.n == stored_count(flagged=False) == stored_count() - 8

    login(client, "hm_analyst", Role.ANALYST, "NA-HM")
    keep = {"ids": ",".join(map(str, ids)), "decision": "keep"}
    assert client.post("/analyst/bursts/review", data=keep).status_code == 302
    db.session.expire_all()
    kept = quynh_di_figure()
    assert kept.n == before.n + 8 == stored_count()
    assert states(ids) == {(False, "burst-kept")}
    # Eight more "very satisfied" answers: the published rate moves up.
    assert kept.value > before.value

    exclude = {"ids": ",".join(map(str, ids)), "decision": "exclude"}
    assert client.post("/analyst/bursts/review", data=exclude).status_code == 302
    db.session.expire_all()
    excluded = quynh_di_figure()
    assert excluded.n == before.n and excluded.value == pytest.approx(before.value, rel=1e-12)
    assert states(ids) == {(True, "burst-excluded")}

    entries = list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.action.like("burst.%")).order_by(AuditLog.id)
        )
    )
    assert [e.action for e in entries] == ["burst.keep", "burst.exclude"]
    assert all(e.username == "hm_analyst" and e.details["responses"] == ids for e in entries)


def test_review_page_lists_bursts_within_scope_only(client: FlaskClient) -> None:
    login(client, "hm_leader", Role.LEADER, "NA-HM")
    assert client.get("/analyst/bursts/").status_code == 403
    assert (
        client.post("/analyst/bursts/review", data={"ids": "1", "decision": "keep"}).status_code
        == 403
    )
    client.post("/auth/logout")

    login(client, "qng_analyst", Role.ANALYST, "QNG")
    page = html.unescape(client.get("/analyst/bursts/").get_data(as_text=True))
    assert "Quỳnh Dị" not in page and "Không có phiếu nào bị đánh dấu" in page
    ids = ",".join(map(str, burst_ids()))
    refused = client.post("/analyst/bursts/review", data={"ids": ids, "decision": "keep"})
    assert refused.status_code == 404
    assert states(burst_ids()) == {(True, "burst")}
    client.post("/auth/logout")

    login(client, "na_admin", Role.ADMIN, "NA")
    page = html.unescape(client.get("/analyst/bursts/").get_data(as_text=True))
    assert page.count('class="burst"') == 1  # the eight responses are one burst
    assert "Phường Quỳnh Dị" in page and "Chờ xem xét (chưa tính)" in page
    assert "<code>mood</code>: 5 – Rất hài lòng" in page  # the level with its label
    first = db.session.scalar(select(func.min(Response.submitted_at)).where(Response.flagged))
    with client.application.test_request_context(), force_locale("vi"):
        assert formatting.moment(first) in page  # the house's "20/11/2026 10:00", not "20/11/26"
    english = html.unescape(client.get("/analyst/bursts/?lang=en").get_data(as_text=True))
    assert "Waiting for review (not counted)" in english
    for bad in ({"ids": ids, "decision": "delete"}, {"ids": "x", "decision": "keep"}):
        assert client.post("/analyst/bursts/review", data=bad).status_code == 404
    decisions = select(func.count()).where(AuditLog.action.like("burst.%"))
    assert db.session.scalar(decisions) == 0


def test_a_bursts_answers_read_as_the_citizen_saw_them(client: FlaskClient) -> None:
    """Levels with their labels and options by their labels, in either language."""
    from pathlib import Path

    from survey_app.collection import questionnaire as spec
    from survey_app.reporting.bursts import _answer_text

    definition = spec.load_questionnaire(
        Path(__file__).resolve().parents[2] / "questionnaires/kiosk_quick.yaml"
    )
    mood, problems = definition.item("mood"), definition.item("problems")
    with client.application.test_request_context():
        assert _answer_text(mood, 1, "en") == "1 – " + mood.value_labels("en")[1]
        assert _answer_text(problems, ["cho_lau", "thai_do"], "en") == "Long wait, Unfriendly staff"
        assert _answer_text(problems, ["cho_lau"], "vi") == "Phải chờ lâu"
        assert _answer_text(None, 3, "vi") == "3"  # an item no longer in the questionnaire

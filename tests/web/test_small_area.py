"""The small-area service and console (/analyst/small-area) on the demo.

The service's numbers are checked against :func:`analysis.small_area.fay_herriot`
run by the test on inputs it gathers itself from :func:`compute` (the
communes' direct figures, the previous wave's, the feedback wave's) and from
:func:`analysis.small_area.gvf_proportions`; the switch is checked to be audited
and to store nothing when the model does not fit.
"""

from __future__ import annotations

import io
import math
import re
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from analysis.small_area import fay_herriot, gvf_proportions
from survey_app import spreadsheets
from survey_app.admin import units
from survey_app.extensions import db
from survey_app.models import AuditLog, Role, SmallAreaSetting, Unit, UnitKind, Wave
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure
from survey_app.reporting.small_area import covariates, fitting, publication, results
from tests.helpers.accounts import login

pytestmark = pytest.mark.demo

WAVE = "HM-2018-12"
PREVIOUS = "HM-2018-05"
BASE = f"/analyst/small-area/{WAVE}/"


def wave(code: str) -> Wave:
    found = db.session.scalar(select(Wave).where(Wave.code == code))
    assert found is not None
    return found


@pytest.fixture
def analyst(app: Flask, client: FlaskClient) -> FlaskClient:
    return login(client, "sae_analyst", Role.ANALYST, "NA-HM")


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def communes() -> list[Unit]:
    w = wave(WAVE)
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.kind == UnitKind.COMMUNE, Unit.path.startswith(w.unit.path))
            .order_by(Unit.code)
        )
    )


def figures(code: str, units_: list[Unit]) -> dict[int, IndexFigure]:
    w = wave(code)
    result = compute([w], units_)
    return {u.id: result.figure(DomainKey(u.id, w.id)) for u in units_}


def test_fit_equals_the_analysis_on_the_platforms_own_figures(app: Flask) -> None:
    units_ = communes()
    direct = figures(WAVE, units_)
    previous = figures(PREVIOUS, units_)
    y = np.array([direct[u.id].value for u in units_])
    psi = np.array([direct[u.id].se ** 2 for u in units_])
    n = np.array([direct[u.id].n for u in units_], dtype=float)
    few = np.array([direct[u.id].df < results.FEW_DF for u in units_])
    assert few.all()  # the demo's communes: 4 PSUs, 3 degrees of freedom each
    smoothed = gvf_proportions(y, psi, n, few).variance
    x = np.column_stack([np.ones(len(units_)), [previous[u.id].value for u in units_]])
    expected = fay_herriot(y, smoothed, x, method="reml")

    with app.test_request_context():
        result = fitting.estimate(wave(WAVE), covariates=["previous"])
    assert [c.code for c in result.communes] == [u.code for u in units_]
    assert result.sigma2_u == pytest.approx(expected.sigma2_u, rel=1e-12)
    assert [b.estimate for b in result.beta] == pytest.approx(list(expected.beta), rel=1e-12)
    assert [b.se for b in result.beta] == pytest.approx(list(expected.beta_se), rel=1e-12)
    for i, c in enumerate(result.communes):
        assert c.direct == direct[units_[i].id].value
        assert c.direct_reportable == direct[units_[i].id].reportable
        assert c.variance_source == "gvf" and c.variance == pytest.approx(smoothed[i])
        assert c.eblup == pytest.approx(expected.eblup[i], rel=1e-12)
        assert c.mse == pytest.approx(expected.mse[i], rel=1e-12)
        assert c.gamma == pytest.approx(expected.gamma[i], rel=1e-12)
        assert c.cv == pytest.approx(math.sqrt(c.mse) / c.eblup)
        assert c.ci_low == pytest.approx(max(0, c.eblup - 1.959963984540054 * c.se))
        assert c.covariates == {"previous": previous[units_[i].id].value}
        assert c.inference == "model-based"
    # the story: communes the reporting rule hides get an estimate with an honest interval
    hidden = [c for c in result.communes if not c.direct_reportable]
    assert hidden and all(c.reportable for c in hidden)
    assert all(c.se < c.direct_se for c in hidden)


def test_unsmoothed_variances_are_the_design_variances(app: Flask) -> None:
    units_ = communes()
    direct = figures(WAVE, units_)
    with app.test_request_context():
        result = fitting.estimate(wave(WAVE), covariates=[], smooth_variances=False, method="ml")
    assert result.gvf is None and result.method == "ml"
    for c, u in zip(result.communes, units_, strict=True):
        assert c.variance_source == "direct"
        assert c.variance == pytest.approx(direct[u.id].se ** 2, rel=1e-12)
    y = np.array([direct[u.id].value for u in units_])
    psi = np.array([direct[u.id].se ** 2 for u in units_])
    expected = fay_herriot(y, psi, np.ones((len(units_), 1)), method="ml")
    assert [c.mse for c in result.communes] == pytest.approx(list(expected.mse), rel=1e-12)


def test_feedback_covariate_from_the_overlapping_feedback_wave(app: Flask) -> None:
    field = wave(WAVE)
    with app.test_request_context():
        options = {o.key: o for o in covariates.covariate_options(field)}
    assert not options["feedback"].available and options["feedback"].reason
    kiosk = wave(
        next(w.code for w in db.session.scalars(select(Wave)) if w.code.startswith("KIOSK-NA"))
    )
    kiosk.start_date = field.start_date - timedelta(days=10)
    kiosk.end_date = field.start_date + timedelta(days=5)
    db.session.commit()
    units_ = communes()
    feedback = compute([kiosk], units_)
    with app.test_request_context():
        options = {o.key: o for o in covariates.covariate_options(field)}
        assert options["feedback"].available and options["feedback"].source == kiosk.code
        result = fitting.estimate(field, covariates=["feedback", "previous"])
    modelled = {c.code: c for c in result.communes}
    excluded = {e.code for e in result.excluded}
    for u in units_:
        try:
            fig = feedback.figure(DomainKey(u.id, kiosk.id))
        except KeyError:
            fig = None
        if fig is not None and fig.n > 0:
            assert modelled[u.code].covariates["feedback"] == fig.value
        else:  # no desk answers: the commune cannot be modelled and says why
            assert u.code in excluded
    assert [b.key for b in result.beta] == ["intercept", "feedback", "previous"]


def test_commune_without_interviews_gets_the_synthetic_estimate(app: Flask) -> None:
    units.import_units(
        [
            {
                "code": "HM-NEW",
                "name_vi": "Xã Mới",
                "name_en": "New commune",
                "kind": "commune",
                "parent_code": "NA-HM",
            }
        ]
    )
    db.session.commit()
    rows = "".join(f"{u.code},{1000 + 37 * i}\n" for i, u in enumerate(communes()))
    upload = covariates.read_covariate_file(f"unit_code,households\n{rows}".encode(), "cov.csv")
    with app.test_request_context():
        result = fitting.estimate(wave(WAVE), covariates=["file:households"], uploaded=upload)
    new = next(c for c in result.communes if c.code == "HM-NEW")
    assert new.direct is None and new.gamma is None and new.n == 0
    assert new.variance_source == "none" and new.residual is None
    assert new.eblup == new.synthetic
    beta = [b.estimate for b in result.beta]
    households = new.covariates["file:households"]
    assert new.synthetic == pytest.approx(beta[0] + beta[1] * households)
    # the synthetic MSE sigma2_u + x'Qx, with Q from the sampled communes' fit
    sampled = [c for c in result.communes if c.direct is not None]
    x = np.array([[1.0, c.covariates["file:households"]] for c in sampled])
    v = np.array([result.sigma2_u + c.variance for c in sampled])
    q = np.linalg.inv((x / v[:, None]).T @ x)
    x0 = np.array([1.0, households])
    assert new.mse == pytest.approx(result.sigma2_u + x0 @ q @ x0, rel=1e-10)
    assert [b.se for b in result.beta] == pytest.approx(list(np.sqrt(np.diag(q))), rel=1e-10)


def test_covariate_file_problems_by_row_and_column(app: Flask) -> None:
    bad = b"unit_code,pop,2x,pop\nHM-MH,abc,1,2\n,1,1,1\nHM-MH,1,1,1\n"
    with (
        app.test_request_context("/?lang=en"),
        pytest.raises(spreadsheets.SpreadsheetError) as exc,
    ):
        covariates.read_covariate_file(bad, "bad.csv")
    messages = [str(p) for p in exc.value.problems]
    assert any("C1" in m for m in messages)  # bad name
    assert any("D1" in m and "repeats" in m for m in messages)
    assert any("B2" in m and "Not a number" in m for m in messages)
    assert any("A3" in m for m in messages)  # empty code
    assert any("HM-MH repeats" in m for m in messages)
    with app.test_request_context(), pytest.raises(spreadsheets.SpreadsheetError):
        covariates.read_covariate_file(b"code,pop\nHM-MH,1\n", "nocode.csv")


def test_console_pages_in_both_languages(analyst: FlaskClient) -> None:
    page = analyst.get("/analyst/small-area/")
    assert page.status_code == 200 and WAVE in text_of(page)
    vi = analyst.get(BASE)
    assert vi.status_code == 200
    body = text_of(vi)
    assert "ước lượng theo mô hình diện hẹp" in body
    assert 'id="residual-figure"' in body and "plotly" in body
    assert re.search(r'<dd data-key="sigma2_u">0,\d+', body)  # Vietnamese decimal comma
    en = analyst.get(BASE, query_string={"lang": "en"})
    assert en.status_code == 200
    body = text_of(en)
    assert "small-area model estimate" in body and "Regression coefficients" in body
    assert re.search(r'<dd data-key="sigma2_u">0\.\d+', body)


def test_hostile_requests(analyst: FlaskClient) -> None:
    assert analyst.get("/analyst/small-area/KIOSK-NA-nope/").status_code == 404
    assert analyst.get("/analyst/small-area/QN-2022/").status_code == 404  # out of scope
    r = analyst.post(BASE, data={"covariates": ["previous"], "method": "bayes"})
    assert r.status_code == 422
    r = analyst.post(BASE, data={"covariates": ["nonsense"], "method": "reml"})
    assert r.status_code == 422
    r = analyst.post(BASE, data={"covariates": ["feedback"], "method": "reml"})
    assert r.status_code == 422
    assert "No continuous-feedback wave" in text_of(r) or "Không có đợt phản hồi" in text_of(r)
    r = analyst.post(BASE, data={"uploaded": "{not json"})
    assert r.status_code == 400
    r = analyst.post(
        BASE,
        data={
            "covariates": ["previous"],
            "method": "reml",
            "covariate_file": (io.BytesIO(b"\x00\x01binary"), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 422


def test_leaders_cannot_open_the_console(app: Flask, client: FlaskClient) -> None:
    login(client, "sae_leader", Role.LEADER, "NA-HM")
    assert client.get(BASE).status_code == 403


def test_switch_is_audited_and_refuses_a_model_that_does_not_fit(
    app: Flask, analyst: FlaskClient
) -> None:
    field = wave(WAVE)
    refused = analyst.post(
        BASE + "switch", data={"enabled": "1", "covariates": ["feedback"], "method": "reml"}
    )
    assert refused.status_code == 422
    assert db.session.get(SmallAreaSetting, field.id) is None
    on = analyst.post(
        BASE + "switch",
        data={"enabled": "1", "covariates": ["previous"], "method": "reml", "smooth": "y"},
    )
    assert on.status_code == 302
    row = db.session.get(SmallAreaSetting, field.id)
    assert row is not None and row.enabled and row.covariates == ["previous"]
    with app.test_request_context():
        published = publication.published(field)
        direct = fitting.estimate(field, covariates=["previous"])
    assert published is not None
    assert [c.eblup for c in published.communes] == [c.eblup for c in direct.communes]
    off = analyst.post(BASE + "switch", data={"enabled": "0"})
    assert off.status_code == 302
    db.session.expire_all()
    with app.test_request_context():
        assert publication.published(field) is None
    entries = list(
        db.session.scalars(select(AuditLog).where(AuditLog.target == WAVE).order_by(AuditLog.id))
    )
    assert [e.action for e in entries] == ["small_area.enable", "small_area.disable"]
    assert entries[0].username == "sae_analyst" and entries[0].details["method"] == "reml"
    assert analyst.get(BASE + "switch").status_code == 302


def test_covariate_numbers_are_read_either_way(app: Flask) -> None:
    """A Vietnamese spreadsheet groups thousands with a point: "12.345" households are
    12345, not 12.3 (as the cell was once read), and "1.234.567" is a number, not a
    problem; "12,345" (English 12345 or Vietnamese 12.345) is refused with both."""
    vietnamese = "unit_code;households;poor\nHM-MH;12.345;0,25\nHM-QD;1.234.567;0.3\n"
    with app.test_request_context("/?lang=en"):
        upload = covariates.read_covariate_file(vietnamese.encode(), "cov.csv")
        assert upload.values == {
            "households": {"HM-MH": 12345.0, "HM-QD": 1234567.0},
            "poor": {"HM-MH": 0.25, "HM-QD": 0.3},
        }
        with pytest.raises(spreadsheets.SpreadsheetError) as exc:
            covariates.read_covariate_file(b"unit_code;households\nHM-MH;12,345\n", "cov.csv")
    [message] = [str(p) for p in exc.value.problems]
    assert "B2" in message and "can be read two ways: 12345" in message


def test_residual_labels_of_neighbours_go_to_different_sides() -> None:
    """Two communes with nearly the same fitted value and residual: their labels were
    both drawn above the points, one over the other (the demo's Quỳnh Liên and Quỳnh
    Vinh); a point at the left edge does not centre its label off the plot."""
    xs, ys = [74.09, 73.73, 80.0, 82.7], [0.21, 0.20, 1.0, -1.0]
    texts = ["Xã Quỳnh Liên", "Xã Quỳnh Vinh", "Phường Mai Hùng", "Xã Quỳnh Lộc"]
    chosen = fitting.label_positions(xs, ys, texts)
    assert chosen[0] != chosen[1]
    assert chosen[1] != "top center"  # at the left edge, half of it would be cut off
    assert chosen[2] == "top center"  # alone: its label sits above it
    assert fitting.label_positions([], [], []) == []
    assert len(fitting.label_positions([1.0], [1.0], ["x"])) == 1  # no range to scale by

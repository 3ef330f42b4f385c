"""The SQL-aggregated index path equals the raw-row path, on SQLite and PostgreSQL.

The raw-row path loads every response of the demo's field survey, builds the survey
design from its strata, PSUs and weights, and estimates with the row-level engine of
analysis/ (which tests/analysis checks against R). The service must agree to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select

from analysis import estimators
from analysis.design import Design
from analysis.variance import design_covariance
from survey_app.collection import questionnaire as spec
from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import Response, Unit, Wave, WaveKind
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, Inference

pytestmark = pytest.mark.demo


@pytest.fixture
def seeded(app: Flask) -> None:
    """The demo province (from the ``demo`` template database)."""


def field_wave() -> Wave:
    return db.session.scalars(select(Wave).where(Wave.kind == WaveKind.FIELD_SURVEY)).first()


def raw_rows(wave: Wave) -> tuple[list[Response], spec.Questionnaire]:
    rows = list(db.session.scalars(select(Response).where(Response.wave_id == wave.id)))
    return rows, spec.Questionnaire.from_dict(wave.questionnaire.definition)


def test_sql_path_equals_raw_row_path(seeded: None) -> None:
    wave = field_wave()
    units = list(
        db.session.scalars(select(Unit).where(Unit.code.in_(["NA-HM", "HM-QT", "HM-QLi"])))
    )
    result = compute([wave], units)
    rows, questionnaire = raw_rows(wave)
    definition = questionnaire.index
    weights = np.array([r.design_weight for r in rows])
    design = Design.from_arrays(
        weights, strata=[r.stratum for r in rows], ids=[r.psu for r in rows]
    )
    unit_path = {u.id: u.path for u in db.session.scalars(select(Unit))}
    satisfied = set(definition.satisfied_levels)
    skipped = 0
    for unit in units:
        inside = np.array([unit_path[r.unit_id].startswith(unit.path) for r in rows])
        domain = DomainKey(unit.id, wave.id)
        scores = np.zeros(len(rows))
        overall_value = 0.0
        any_answer = np.zeros(len(rows), dtype=bool)
        for aspect in definition.aspects:
            num = np.array([sum(r.answers.get(i) in satisfied for i in aspect.items) for r in rows])
            den = np.array([sum(i in r.answers for i in aspect.items) for r in rows], dtype=float)
            engine = estimators.ratio(design, num, den, by=inside)
            ours = result.figure(domain, f"aspect:{aspect.code}", "rate")
            expected = engine[engine.index((True,))]
            assert ours.value == pytest.approx(expected.value, rel=1e-9)
            assert ours.se == pytest.approx(expected.se, rel=1e-9)
            # n: the domain's respondents with a valid answer to the aspect's items
            # (R: sum(!is.na(...)) on the svyby subset), not all its respondents;
            # n_eff is Kish's over the same respondents.
            answered = inside & (den > 0)
            assert ours.n == int(answered.sum())
            w = weights[answered]
            assert ours.n_eff == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
            skipped += int((inside & (den == 0)).sum())
            any_answer |= den > 0
            # The overall index is the mean of the aspect rates: its linearized score is
            # the mean of the aspect ratios' scores.
            total_den = float((weights * den)[inside].sum())
            scores += np.where(inside, weights * (num - expected.value * den) / total_den, 0.0)
            overall_value += expected.value / len(definition.aspects)
        overall = result.figure(domain, "overall", "rate")
        variance = design_covariance(design, scores / len(definition.aspects))[0, 0]
        assert overall.value == pytest.approx(overall_value, rel=1e-9)
        assert overall.n == int((inside & any_answer).sum())
        assert overall.se == pytest.approx(np.sqrt(variance), rel=1e-9)
        assert overall.inference == Inference.DESIGN
        assert overall.scheme == "design weights"
    assert skipped > 0  # the demo's respondents skip aspects (feedback: many had none)


def test_mean_score_equals_the_engine(seeded: None) -> None:
    wave = field_wave()
    town = db.session.scalar(select(Unit).where(Unit.code == "NA-HM"))
    result = compute([wave], [town])
    rows, questionnaire = raw_rows(wave)
    design = Design.from_arrays(
        np.array([r.design_weight for r in rows]),
        strata=[r.stratum for r in rows],
        ids=[r.psu for r in rows],
    )
    aspect = questionnaire.index.aspects[0]
    points = np.array(
        [sum((r.answers[i] - 1) * 25 for i in aspect.items if i in r.answers) for r in rows]
    )
    answered = np.array([sum(i in r.answers for i in aspect.items) for r in rows], dtype=float)
    engine = estimators.ratio(design, points, answered)
    ours = result.figure(DomainKey(town.id, wave.id), f"aspect:{aspect.code}", "score")
    assert ours.value == pytest.approx(engine.value, rel=1e-9)
    assert ours.se == pytest.approx(engine.se, rel=1e-9)


def test_kiosk_feedback_is_model_based_with_desk_day_clusters(seeded: None) -> None:
    wave = db.session.scalars(select(Wave).where(Wave.kind == WaveKind.CONTINUOUS_FEEDBACK)).first()
    province = db.session.scalar(select(Unit).where(Unit.code == "NA"))
    result = compute([wave], [province], by_channel=True)
    figures = [f for f in result.figures if f.code == "overall" and f.kind == "rate"]
    assert {f.domain.channel for f in figures} == {"kiosk", "phone"}
    assert all(f.inference == Inference.MODEL and f.scheme == "unweighted" for f in figures)
    # Responses flagged as a burst and not yet reviewed are left out of the figures.
    rows = list(
        db.session.scalars(
            select(Response).where(Response.wave_id == wave.id, Response.flagged.is_(False))
        )
    )
    for figure in figures:
        members = [r for r in rows if r.channel == figure.domain.channel]
        happy = np.mean([r.answers["mood"] >= 4 for r in members])
        assert figure.value == pytest.approx(happy, rel=1e-12)
        assert figure.n == len(members)


def test_field_surveys_and_feedback_are_never_pooled(seeded: None) -> None:
    waves = list(db.session.scalars(select(Wave)))
    with pytest.raises(
        IndexRequestError, match=r"cannot be analysed together|Không thể phân tích chung"
    ):
        compute(waves, [])


def test_reporting_rule_hides_small_domains(seeded: None, app: Flask) -> None:
    wave = field_wave()
    commune = db.session.scalar(select(Unit).where(Unit.code == "HM-QLi"))
    town = db.session.scalar(select(Unit).where(Unit.code == "NA-HM"))
    small_key = DomainKey(commune.id, wave.id)
    large_key = DomainKey(town.id, wave.id)
    result = compute([wave], [commune, town])
    small, large = result.figure(small_key), result.figure(large_key)
    assert small.n == 48 and small.n_eff == pytest.approx(48.0)
    assert small.reportable == (small.half_width_points <= 10)
    assert large.reportable and large.n == 480
    app.config["MIN_EFFECTIVE_N"] = 49  # the commune's 48 equal weights are too few
    result = compute([wave], [commune, town])
    assert not result.figure(small_key).reportable and result.figure(large_key).reportable
    app.config["MAX_CI_HALF_WIDTH"] = large.half_width_points * 0.99
    assert not compute([wave], [town]).figure(large_key).reportable

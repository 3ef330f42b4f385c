"""Published = previewed: after a scheme is activated, the published figure is the
preview's, standard error included.

On the demo's December 2018 Hoàng Mai field survey, every weighting method of the
console (post-stratification, raking, linear and raking calibration, and raking
followed by trimming) is previewed, saved and activated; the wave's published overall
index (``reporting.indices.compute.compute``, the figure every page and the API render) must
then equal the preview's "new weights" row and its "active scheme" row: value, SE, CI
and df, to 1e-10. That the SE is R's for the weighted design (``postStratify`` /
``rake`` / ``calibrate``, then the estimator) is checked against R on the golden data
in tests/weighting/test_published_golden.py.

A scheme whose sample changed after it was saved (a response added) no longer
describes the wave: its figures are refused with the reason, in the service and as a
422 in the API, never published with stale weights.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from analysis.design import Design
from analysis.indices import IndexEstimate, estimate_on_design
from survey_app.collection import responses, scoring
from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import Channel, Response, Role, WeightingScheme
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure
from survey_app.weighting.preview import preview as preview_scheme
from survey_app.weighting.sample import load_sample
from survey_app.weighting.schemes import activate, save_scheme
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import TargetRows
from tests.helpers.weights_console import PASSWORD, field_wave, make_user, margins

pytestmark = pytest.mark.demo

METHODS = {
    "poststratify": dict(method="poststratify", variables=["gender"]),
    "rake": dict(method="rake", variables=["gender", "age_group"]),
    "linear": dict(method="calibrate-linear", variables=["gender", "age_group"]),
    "raking": dict(method="calibrate-raking", variables=["gender", "age_group"]),
    "rake+trim": dict(method="rake", variables=["gender", "age_group"], trim=(0.5, 150.0)),
}


def spec_for(case: str) -> WeightingSpec:
    settings = METHODS[case]
    sample = load_sample(field_wave())
    rows = margins(sample, settings["variables"])
    targets = TargetRows.from_json({"layout": "long", "rows": [list(r) for r in rows]})
    trim = settings.get("trim")
    return WeightingSpec(
        method=settings["method"],
        targets=targets,
        trim_lower=trim[0] if trim else None,
        trim_upper=trim[1] if trim else None,
    )


def same(a: IndexEstimate | IndexFigure, b) -> None:
    for name in ("value", "se", "ci_low", "ci_high"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-10), name
    assert a.df == b.df


@pytest.mark.parametrize("case", list(METHODS))
def test_the_published_figure_is_the_previews(app: Flask, case: str) -> None:
    wave = field_wave()
    options = spec_for(case)
    preview = preview_scheme(load_sample(wave), options)
    new = {row.key: row.estimate for row in preview.headline}["new"]
    scheme = save_scheme(load_sample(wave), options, case, None)
    activate(wave, scheme.id, None)

    published = compute([wave], [wave.unit]).figure(DomainKey(wave.unit_id, wave.id))
    assert published.scheme == f"{case} v1"
    same(published, new)
    # not the SE of the same weights taken as fixed (what was published before)
    sample = load_sample(wave)
    formulas, values = scoring.respondent_values([wave], sample.response_ids)
    design = Design.from_arrays(preview.weights, strata=sample.strata, ids=sample.psu, nest=True)
    as_fixed = estimate_on_design(design, values, formulas[0])
    assert as_fixed.value == pytest.approx(published.value, rel=1e-10)
    assert abs(published.se / as_fixed.se - 1) > 1e-3
    # the console, after activation, shows the same figure as its "active scheme" row
    again = preview_scheme(load_sample(wave), options)
    same({row.key: row.estimate for row in again.headline}["active"], published)


def test_a_scheme_whose_sample_changed_is_refused_with_its_reason(
    app: Flask, client: FlaskClient
) -> None:
    wave = field_wave()
    options = spec_for("rake")
    scheme = save_scheme(load_sample(wave), options, "R", None)
    activate(wave, scheme.id, None)
    first = db.session.scalar(select(Response).where(Response.wave_id == wave.id))
    late = responses.ResponseDraft(
        client_id=uuid.uuid4(),
        questionnaire_id=wave.questionnaire_id,
        unit_id=first.unit_id,
        channel=Channel.FIELD,
        answers=dict(first.answers),
        submitted_at=datetime.now(UTC),
        wave_id=wave.id,
        stratum=first.stratum,
        psu=first.psu,
        design_weight=first.design_weight,
    )
    assert responses.store_many([late]) == 1
    with pytest.raises(IndexRequestError, match=wave.code):
        compute([wave], [wave.unit])

    make_user("hm_leader", Role.LEADER, "NA-HM")
    login = client.post("/auth/login", data={"username": "hm_leader", "password": PASSWORD})
    assert login.status_code == 302
    answer = client.get(f"/api/v1/indices?unit=NA-HM&wave={wave.code}&lang=en")
    assert answer.status_code == 422
    assert "changed after its weighting scheme" in answer.get_json()["message"]

    # saving and activating it again publishes figures once more
    renewed = save_scheme(load_sample(wave), options, "R", None)
    activate(wave, renewed.id, None)
    assert db.session.get(WeightingScheme, renewed.id).version == 2
    assert compute([wave], [wave.unit]).figures

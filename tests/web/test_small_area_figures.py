"""Small-area estimates in the published figures, labelled, only where they belong.

On the demo's December 2018 Hoàng Mai survey (communes of 48 interviews in 4 PSUs),
once the survey team switches small-area figures on, a commune whose direct overall
rate fails the reporting rule is shown with its Fay–Herriot estimate — the same
numbers as the service's fit — in the read API (``inference: "small-area"``), the
drill-down table and the scorecard, labelled as a model estimate in Vietnamese and
English. Reportable communes keep their direct figures; a procedure field's figure,
a change between waves and the ranking never use the model; switched off, nothing
of it shows.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.collection import questionnaires, responses
from survey_app.models import Channel, Role
from survey_app.reporting.small_area import covariates, fitting
from tests.helpers.accounts import login
from tests.helpers.small_area import communes, set_model, split, switch_on, wave

pytestmark = pytest.mark.demo

WAVE = "HM-2018-12"
PREVIOUS = "HM-2018-05"


def leader(client: FlaskClient) -> FlaskClient:
    return login(client, "hm_leader", Role.LEADER, "NA-HM")


def test_hidden_communes_get_their_small_area_estimate_everywhere(
    app: Flask, client: FlaskClient
) -> None:
    w = wave(WAVE)
    hidden, shown = split(w)
    assert hidden and shown, "the demo has communes on both sides of the reporting rule"
    fit = switch_on(w)
    leader(client)
    for unit in hidden:
        commune = fit.commune(unit.id)
        body = client.get(f"/api/v1/indices?unit={unit.code}&wave={WAVE}&lang=en").get_json()
        (figure,) = [f for f in body["figures"] if (f["index"], f["kind"]) == ("overall", "rate")]
        assert figure["inference"] == "small-area"
        if commune.reportable:
            assert figure["value"] == pytest.approx(commune.eblup, rel=1e-12)
            assert figure["ci_low"] == pytest.approx(commune.ci_low, rel=1e-12)
            assert figure["ci_high"] == pytest.approx(commune.ci_high, rel=1e-12)
            assert figure["se"] == pytest.approx(math.sqrt(commune.mse), rel=1e-12)
            assert figure["df"] is None
        else:  # the reporting rule applies to the model's interval too
            assert figure["value"] is None
        # a procedure field's figure is never the commune's model estimate
        by_field = client.get(
            f"/api/v1/indices?unit={unit.code}&wave={WAVE}&by=field&lang=en"
        ).get_json()
        assert all(f["inference"] == "design-based" for f in by_field["figures"])
    for unit in shown:
        body = client.get(f"/api/v1/indices?unit={unit.code}&wave={WAVE}").get_json()
        assert {f["inference"] for f in body["figures"]} == {"design-based"}

    # changes keep the direct figures: a hidden one gives no difference
    change = client.get(
        f"/api/v1/changes?unit={hidden[0].code}&from={PREVIOUS}&to={WAVE}"
    ).get_json()
    assert change["after"]["inference"] == "design-based"

    # the drill-down table and the scorecard label it, in both languages
    reportable = [u for u in hidden if fit.commune(u.id).reportable]
    assert reportable, "the model makes at least one hidden commune reportable"
    unit = reportable[0]
    for lang, label in (("vi", "ước lượng theo mô hình diện hẹp"), ("en", "small-area model")):
        page = client.get(f"/dashboard/unit/{w.unit.code}?wave={WAVE}&lang={lang}")
        assert page.status_code == 200
        assert label in page.get_data(as_text=True)
        # the communes' inference differs row by row, so the table keeps its column
        header = {"vi": "Cách suy luận", "en": "Inference"}[lang]
        assert f'<th scope="col">{header}</th>' in page.get_data(as_text=True)
        card = client.get(f"/scorecard/{unit.code}/{WAVE}?lang={lang}")
        assert card.status_code == 200
        text = card.get_data(as_text=True)
        assert label.capitalize() in text or label in text
        value = f"{100 * fit.commune(unit.id).eblup:.1f}".replace(".", "," if lang == "vi" else ".")
        assert value in text


def test_switched_off_nothing_of_the_model_shows(app: Flask, client: FlaskClient) -> None:
    w = wave(WAVE)
    hidden, _shown = split(w)
    switch_on(w)
    set_model(w, False)
    leader(client)
    body = client.get(f"/api/v1/indices?unit={hidden[0].code}&wave={WAVE}").get_json()
    assert {f["inference"] for f in body["figures"]} == {"design-based"}
    assert all(f["value"] is None for f in body["figures"] if not f["reportable"])


def test_service_volume_is_a_covariate_when_citizens_rated_in_the_period(app: Flask) -> None:
    """The ratings given at a commune's kiosks and phones during the wave's dates (a
    measure of its service volume) are offered as a covariate, log(1 + count)."""
    w = wave(WAVE)
    options = {o.key: o for o in covariates.covariate_options(w)}
    assert not options["volume"].available and options["volume"].reason
    quick = questionnaires.get("kiosk_quick", 1)
    at = datetime.combine(w.start_date, time(9), UTC)
    units_ = communes(w)
    counts = {u.id: 1 + k % 4 for k, u in enumerate(units_)}
    drafts = [
        responses.ResponseDraft(
            client_id=uuid.uuid4(),
            questionnaire_id=quick.id,
            unit_id=u.id,
            channel=Channel.PHONE,
            answers={"mood": 4},
            submitted_at=at,
        )
        for u in units_
        for _ in range(counts[u.id])
    ]
    assert responses.store_many(drafts) == len(drafts)
    options = {o.key: o for o in covariates.covariate_options(w)}
    assert options["volume"].available
    fit = fitting.estimate(w, covariates=["previous", "volume"])
    for commune in fit.communes:
        assert commune.covariates["volume"] == pytest.approx(math.log1p(counts[commune.unit_id]))
    assert [b.key for b in fit.beta][-1] == "volume"

"""A page reads each wave's sums once (reporting/indices/shared_sums.py), and only a
GET request shares them: elsewhere every computation reads the answers again."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from survey_app.extensions import db
from survey_app.models import Role, Unit, Wave
from survey_app.reporting.indices.compute import compute
from tests.helpers.accounts import login


@contextmanager
def aggregation_queries(app: Flask) -> Iterator[collections.Counter]:
    """Each GROUP BY over the answers run inside, with its parameters: how often."""
    seen: collections.Counter = collections.Counter()

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "answer_values" in statement and "GROUP BY" in statement:
            seen[(statement, repr(parameters))] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture(autouse=True)
def figures_from_rows(app_config: dict[str, Any]) -> None:
    """The figure store off: the demo's responses are folded, and these tests count the
    aggregations over the answers that every figure then runs."""
    app_config["FIGURE_STORE"] = False


@pytest.mark.demo
@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/",
        "/dashboard/?unit=NA-HM",
        "/dashboard/ranking?unit=QNG",
        "/scorecard/NA-HM/HM-2018-12",
    ],
)
def test_a_page_runs_each_aggregation_once(app: Flask, client: FlaskClient, url: str) -> None:
    with app.app_context():
        login(client, "sums-leader", Role.LEADER, None)
    with aggregation_queries(app) as seen:
        assert client.get(url).status_code == 200
    assert seen, "the page computed no figure: nothing was checked"
    assert max(seen.values()) == 1, [n for n in seen.values() if n > 1]


@pytest.mark.demo
def test_outside_a_get_request_every_computation_reads_the_answers(app: Flask) -> None:
    with app.app_context():
        wave = db.session.scalar(select(Wave).where(Wave.code == "QN-2022"))
        unit = db.session.scalar(select(Unit).where(Unit.code == "QNG"))
        assert wave is not None and unit is not None
        with aggregation_queries(app) as seen:
            first = compute([wave], [unit])
            again = compute([wave], [unit])
        assert seen and set(seen.values()) == {2}
        assert [f.value for f in first.figures] == [f.value for f in again.figures]
    with app.test_request_context("/dashboard/", method="POST"), aggregation_queries(app) as seen:
        app.preprocess_request()
        compute([wave], [unit])
        compute([wave], [unit])
    assert seen and set(seen.values()) == {2}

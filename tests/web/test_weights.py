"""The weighting console (/analyst/weights) and the sample-size planner, by test client.

Every preview number is checked against :mod:`analysis.weighting` run on the same
data read straight from the responses, every upload error is checked to store
nothing, and the active scheme is checked to change the published figures.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from analysis.weighting import calibrate, poststratify, rake, trim_weights
from survey_app import demo
from survey_app.extensions import db
from survey_app.models import (
    AuditLog,
    ProcedureField,
    Response,
    ResponseWeight,
    Role,
    WeightingScheme,
)
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey
from survey_app.weighting.errors import WeightingInputError
from survey_app.weighting.preview import preview as preview_scheme
from survey_app.weighting.sample import WaveSample, load_sample
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import read_targets
from tests.helpers.weights_console import (
    PASSWORD,
    POPULATION,
    WAVE,
    csv_bytes,
    field_wave,
    make_user,
    margins,
    margins_csv,
    margins_dict,
)

pytestmark = pytest.mark.demo

BASE = f"/analyst/weights/{WAVE}"


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def error_rows(page: str) -> list[tuple[str, str, str]]:
    """The page's errors table: each row's number, column and message cells."""
    return re.findall(
        r'<tr><td class="num">([^<]*)</td><td>([^<]*)</td><td>(.*?)</td></tr>', page, re.S
    )


def error_columns(page: str) -> list[str]:
    """The "Column" cell of each row of the page's errors table."""
    return [column for _row, column, _message in error_rows(page)]


def login(client: FlaskClient, username: str) -> None:
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def analyst(app: Flask, client: FlaskClient) -> FlaskClient:
    """An analyst whose scope is Hoàng Mai town, the wave's unit."""
    make_user("hm_analyst", Role.ANALYST, "NA-HM")
    login(client, "hm_analyst")
    return client


def sample() -> WaveSample:
    return load_sample(field_wave())


def upload(
    client: FlaskClient,
    data: bytes,
    *,
    filename: str = "margins.csv",
    method: str = "rake",
    lang: str = "en",
    **fields: Any,
) -> Any:
    form = {"method": method, "targets": (io.BytesIO(data), filename), **fields}
    return client.post(f"{BASE}/preview?lang={lang}", data=form, content_type="multipart/form-data")


def hidden_spec(page: str) -> str:
    match = re.search(r'name="spec"[^>]*value="([^"]*)"', page) or re.search(
        r'value="([^"]*)"[^>]*name="spec"', page
    )
    assert match, "the preview carries its inputs to the save form"
    return html.unescape(match.group(1))


def figure(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="weights-figure">(.*?)</script>', page, re.S
    )
    assert match, "the preview embeds the histogram's Plotly figure"
    return json.loads(match.group(1))


def responses_in_order() -> list[Response]:
    wave = field_wave()
    return list(
        db.session.scalars(
            select(Response).where(Response.wave_id == wave.id).order_by(Response.id)
        )
    )


def column(rows: list[Response], item: str) -> np.ndarray:
    """An answer column as weighting variable, read straight from the stored JSON."""
    return np.array([r.answers.get(item) or "_missing" for r in rows], dtype=object)


def stored_count() -> tuple[int, int, int]:
    schemes = db.session.scalar(select(func.count()).select_from(WeightingScheme))
    weights = db.session.scalar(select(func.count()).select_from(ResponseWeight))
    audits = db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action.startswith("weighting."))
    )
    return schemes, weights, audits


def save(client: FlaskClient, page: str, name: str) -> Any:
    return client.post(f"{BASE}/schemes", data={"name": name, "spec": hidden_spec(page)})


# ------------------------------------------------------------------ pages


def test_wave_list_and_wave_page(analyst: FlaskClient) -> None:
    listing = text_of(analyst.get("/analyst/weights/?lang=en"))
    assert "SIPAS survey, December 2018" in listing and f"{BASE}/" in listing
    assert "Quảng Ngãi" not in listing  # outside the analyst's scope
    page = text_of(analyst.get(f"{BASE}/?lang=en"))
    assert "No scheme yet" in page and 'enctype="multipart/form-data"' in page
    for variable in ("unit", "procedure_field", "gender", "age_group", "education", "occupation"):
        assert f'value="{variable}"' in page
    assert 'href="/analyst/weights/"' in page  # the nav link in base.html


def test_template_csv_lists_every_variable_level_and_count(analyst: FlaskClient) -> None:
    response = analyst.get(f"{BASE}/template.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.csv"')
    text = response.get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["variable", "level", "label", "respondents", "target"]
    by_variable: dict[str, dict[str, int]] = {}
    for variable, level, _label, count, target in lines[1:]:
        by_variable.setdefault(variable, {})[level] = int(count)
        assert target == ""
    assert list(by_variable) == [
        "unit", "procedure_field", "gender", "age_group", "education", "occupation"
    ]  # fmt: skip
    assert all(sum(levels.values()) == 480 for levels in by_variable.values())
    rows = responses_in_order()
    assert by_variable["gender"] == {
        code: int((column(rows, "gender") == code).sum()) for code in ("nam", "nu", "_missing")
    }
    assert set(by_variable["unit"]) == {u.code for u in demo.HOANG_MAI if u.parent == "NA-HM"}
    assert "Phường Mai Hùng" in text  # labels in the user's language


def test_template_xlsx_and_cell_template(analyst: FlaskClient) -> None:
    response = analyst.get(f"{BASE}/template.xlsx?lang=en")
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("variable", "level", "label", "respondents", "target")
    assert ("gender", "nu", "Female", int((column(responses_in_order(), "gender") == "nu").sum()),
            None) in rows  # fmt: skip
    cells = analyst.get(f"{BASE}/template.csv?layout=cells&variables=unit&variables=gender")
    lines = cells.get_data().decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "unit,gender,respondents,target"
    assert len(lines) == 1 + 10 * 3
    assert sum(int(line.split(",")[2]) for line in lines[1:]) == 480
    refused = analyst.get(f"{BASE}/template.csv?layout=cells&variables=shoe_size")
    assert refused.status_code == 400
    assert analyst.get(f"{BASE}/template.pdf").status_code == 404


# ------------------------------------------------------------------ previews


def bin_edges(bars: dict[str, Any]) -> np.ndarray:
    """The edges of a histogram drawn as bars (centres ``x``, ``width``): contiguous.
    The outer two are widened by 1e-6: the server bins the weights rounded to 6
    decimals, so the smallest and largest unrounded weight may lie up to 5e-7 outside."""
    centres, widths = np.array(bars["x"]), np.array(bars["width"])
    np.testing.assert_allclose((centres + widths / 2)[:-1], (centres - widths / 2)[1:])
    edges = np.append(centres - widths / 2, centres[-1] + widths[-1] / 2)
    edges[[0, -1]] += [-1e-6, 1e-6]
    return edges


def assert_same_histogram(figure: dict[str, Any], design: np.ndarray) -> None:
    """The new weights (the first trace) fall in the bins of the design weights
    (post-stratifying to what the design weights already add up to changes nothing)."""
    new_bars, design_bars = figure["data"]
    assert new_bars["y"] == design_bars["y"]
    assert design_bars["y"] == np.histogram(design, bin_edges(design_bars))[0].tolist()


def test_rake_preview_matches_analysis_and_stores_nothing(analyst: FlaskClient) -> None:
    wanted = margins(sample(), ["gender", "age_group"])
    response = upload(analyst, margins_csv(wanted))
    page = text_of(response)
    assert response.status_code == 200, page
    rows = responses_in_order()
    design = np.array([r.design_weight for r in rows])
    data = {"gender": column(rows, "gender"), "age_group": column(rows, "age_group")}
    expected = rake(design, data, margins_dict(wanted))
    histogram = figure(page)
    # counted on the server, on bins shared by both weights, drawn as bars
    new_bars, design_bars = histogram["data"]
    assert new_bars["type"] == design_bars["type"] == "bar"
    assert new_bars["x"] == design_bars["x"] and new_bars["width"] == design_bars["width"]
    edges = bin_edges(new_bars)
    assert new_bars["y"] == np.histogram(expected.weights, edges)[0].tolist()
    assert design_bars["y"] == np.histogram(design, edges)[0].tolist()
    assert sum(new_bars["y"]) == sum(design_bars["y"]) == len(rows)
    assert len(new_bars["customdata"]) == len(edges) - 1
    # plotly.js writes the axis numbers: with the reader's decimal sign and grouping
    assert histogram["layout"]["separators"] == ".,"
    vietnamese = figure(text_of(upload(analyst, margins_csv(wanted), lang="vi")))
    assert vietnamese["layout"]["separators"] == ",."
    # a bar's range of weights, written by the server, in the reader's numbers too
    english_ranges = new_bars["customdata"]
    assert all("." in r and "," not in r for r in english_ranges), english_ranges
    swapped = [r.translate(str.maketrans(".,", ",.")) for r in english_ranges]
    assert vietnamese["data"][0]["customdata"] == swapped
    # the margins table: weighted shares meet the targets, sample shares are the counts
    for name, level, target in wanted:
        row = re.search(
            rf'data-variable="{name}" data-level="{level}">(.*?)</tr>', page, re.S
        ).group(1)
        shares = re.findall(r'class="num">([^<]*)</td>', row)
        assert shares[3] == shares[4] == f"{100 * target / POPULATION:.1f}%"
        count = int((data[name] == level).sum())
        assert shares[0] == str(count) and shares[1] == f"{100 * count / 480:.1f}%"
    report = expected.report
    assert f'data-key="iterations">{report.iterations}<' in page
    assert 'data-key="converged">yes<' in page
    assert f'data-key="deff_weighting">{report.deff_weighting:.3f}<' in page
    assert f'data-key="n_eff">{report.n_eff:.1f} / 480<' in page
    assert stored_count() == (0, 0, 0)


def headline(page: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', page, re.S)
    assert row, key
    return re.findall(r'class="num">([^<]*)</td>', row.group(1))


def test_headline_index_design_row_equals_the_published_figure(analyst: FlaskClient) -> None:
    page = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    wave = field_wave()
    figure_ = compute([wave], [wave.unit]).figure(DomainKey(wave.unit_id, wave.id))
    assert figure_.scheme == "design weights"
    design_row = headline(page, "design")
    assert design_row[0] == f"{100 * figure_.value:.1f}%"
    assert design_row[1] == f"{100 * figure_.ci_low:.1f}% – {100 * figure_.ci_high:.1f}%"
    assert design_row[2] == f"{100 * figure_.se:.1f}%"
    assert headline(page, "unweighted")[3] == "480"
    assert 'data-key="new"' in page and 'data-key="active"' not in page


def test_headline_estimates_equal_the_engine(app: Flask) -> None:
    """The preview's index equals analysis.indices on the design the service builds, and
    with the design weights equals the SQL-aggregated figure to 1e-9."""
    wanted = margins(sample(), ["gender", "age_group"])
    with app.test_request_context():
        result = preview_scheme(
            sample(),
            WeightingSpec("rake", read_targets(margins_csv(wanted), "m.csv")),
        )
    wave = field_wave()
    published = compute([wave], [wave.unit]).figure(DomainKey(wave.unit_id, wave.id))
    rows = {row.key: row.estimate for row in result.headline}
    assert rows["design"].value == pytest.approx(published.value, rel=1e-9)
    assert rows["design"].se == pytest.approx(published.se, rel=1e-9)
    assert rows["design"].ci_low == pytest.approx(published.ci_low, rel=1e-9)
    assert rows["design"].n_eff == pytest.approx(published.n_eff, rel=1e-9)
    assert rows["new"].n_eff == pytest.approx(result.report.n_eff, rel=1e-12)
    assert rows["unweighted"].n_eff == pytest.approx(480)


def transactions() -> dict[str, float]:
    return {u.code: float(u.transactions) for u in demo.HOANG_MAI if u.parent == "NA-HM"}


def test_poststratify_to_transactions_gives_back_the_design_weights(analyst: FlaskClient) -> None:
    """The demo's design weight is the commune's transactions over its 48 interviews, so
    post-stratifying on the unit to the transactions changes nothing (Holt & Smith)."""
    rows = [("unit", code, total) for code, total in transactions().items()]
    page = text_of(upload(analyst, margins_csv(rows), method="poststratify"))
    design = np.array([r.design_weight for r in responses_in_order()])
    assert_same_histogram(figure(page), design)
    assert 'data-key="max_margin_error">0.0%<' in page


def test_poststratify_with_a_one_variable_cell_table(analyst: FlaskClient) -> None:
    """A cell table of one variable is the same post-stratification as the long file."""
    cells = csv_bytes(["unit", "respondents", "target"],
                      [[code, 48, total] for code, total in transactions().items()])  # fmt: skip
    page = text_of(upload(analyst, cells, method="poststratify"))
    design = np.array([r.design_weight for r in responses_in_order()])
    assert_same_histogram(figure(page), design)
    assert 'data-key="max_margin_error">0.0%<' in page
    assert page.count('data-variable="unit"') == 10


def cells_csv() -> tuple[bytes, dict[tuple[str, str], float]]:
    rows = responses_in_order()
    units = np.array([r.unit.code for r in rows], dtype=object)
    gender = column(rows, "gender")
    targets = {}
    for code, total in transactions().items():
        inside = units == code
        for g, share in (("nam", 0.45), ("nu", 0.47), ("_missing", 0.08)):
            if ((gender == g) & inside).any():
                targets[(code, g)] = total * share
    body = csv_bytes(["unit", "gender", "target"], [[u, g, t] for (u, g), t in targets.items()])
    return body, targets


CASES = ["poststratify-cells", "calibrate-linear", "calibrate-raking", "rake-trim"]


@pytest.mark.parametrize("case", CASES)
def test_saved_weights_equal_analysis_weighting(analyst: FlaskClient, case: str) -> None:
    rows = responses_in_order()
    design = np.array([r.design_weight for r in rows])
    data = {
        "unit": np.array([r.unit.code for r in rows], dtype=object),
        **{item: column(rows, item) for item in ("gender", "age_group", "education")},
    }
    fields: dict[str, str] = {}
    if case == "poststratify-cells":
        body, cells = cells_csv()
        method = "poststratify"
        expected = poststratify(design, data, ["unit", "gender"], cells).weights
    elif case.startswith("calibrate"):
        wanted = margins(sample(), ["gender", "education"])
        body, method = margins_csv(wanted), case
        bounds = (0.5, 2.0) if case == "calibrate-linear" else None
        if bounds:
            fields = {"bound_lower": "0,5", "bound_upper": "2"}  # a decimal comma is fine
        expected = calibrate(
            design, data, margins_dict(wanted), calfun=case.split("-")[1], bounds=bounds
        ).weights
    else:
        wanted = margins(sample(), ["gender", "age_group", "education"])
        body, method = margins_csv(wanted), "rake"
        fields = {"max_iter": "50", "epsilon": "1e-9", "trim_lower": "40", "trim_upper": "100",
                  "strict": "y"}  # fmt: skip
        raked = rake(design, data, margins_dict(wanted), maxit=50, epsilon=1e-9).weights
        expected = trim_weights(raked, lower=40, upper=100, strict=True).weights
        assert (raked > 100).any() or (raked < 40).any()  # the trimming does something
    preview = upload(analyst, body, method=method, **fields)
    assert preview.status_code == 200, text_of(preview)
    saved = save(analyst, text_of(preview), f"case {case}")
    assert saved.status_code == 302
    scheme = db.session.scalar(select(WeightingScheme))
    assert scheme.method == method and scheme.version == 1 and not scheme.is_active
    stored = dict(
        db.session.execute(
            select(ResponseWeight.response_id, ResponseWeight.weight).where(
                ResponseWeight.scheme_id == scheme.id
            )
        ).all()
    )
    np.testing.assert_allclose([stored[r.id] for r in rows], expected, rtol=1e-12)
    assert scheme.report["final"]["n"] == 480
    if case == "rake-trim":
        assert scheme.params["trim"] == {"lower": 40.0, "upper": 100.0, "strict": True}
        assert scheme.report["final"]["n_trimmed"] > 0
    if case == "calibrate-linear":
        assert scheme.params["bounds"] == [0.5, 2.0]


def test_xlsx_upload_reads_like_csv(analyst: FlaskClient) -> None:
    wanted = margins(sample(), ["gender", "age_group"])
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["variable", "level", "label", "target"])
    for name, level, target in wanted:
        sheet.append([name, level, "ignored", target])
    buffer = io.BytesIO()
    workbook.save(buffer)
    from_xlsx = upload(analyst, buffer.getvalue(), filename="margins.xlsx")
    from_csv = upload(analyst, margins_csv(wanted))
    assert from_xlsx.status_code == 200, text_of(from_xlsx)
    assert figure(text_of(from_xlsx)) == figure(text_of(from_csv))


# ------------------------------------------------------------------ upload errors


def good_rows() -> list[list[Any]]:
    return [list(r) for r in margins(sample(), ["gender", "age_group"])]


def with_row(row: int, value: list[Any]) -> bytes:
    rows = good_rows()
    rows[row - 2] = value
    return csv_bytes(["variable", "level", "target"], rows)


ERRORS: dict[str, tuple[Any, str, int | None, str]] = {
    # name: (file builder, method, expected row, expected words)
    "unknown variable": (
        lambda: with_row(3, ["shoe_size", "42", 100.0]),
        "rake",
        3,
        "Unknown variable “shoe_size”",
    ),
    "unknown level": (lambda: with_row(2, ["gender", "other", 100.0]), "rake", 2, "Unknown level"),
    "negative target": (lambda: with_row(4, ["gender", "_missing", -5]), "rake", 4, "is negative"),
    "not a number": (lambda: with_row(2, ["gender", "nam", "many"]), "rake", 2, "not a number"),
    "duplicate level": (
        lambda: csv_bytes(["variable", "level", "target"], [good_rows()[0], *good_rows()]),
        "rake",
        3,
        "is already on row 2",
    ),
    "level with respondents but no target": (
        lambda: csv_bytes(["variable", "level", "target"], good_rows()[1:]),
        "rake",
        None,
        "respondents but no target",
    ),
    "target 0 for a level with respondents": (
        lambda: with_row(2, ["gender", "nam", 0]),
        "rake",
        2,
        "but its target is 0",
    ),
    "disagreeing totals": (
        lambda: with_row(2, ["gender", "nam", good_rows()[0][2] + 1000]),
        "rake",
        None,
        "totals of the variables disagree",
    ),
    "one margin for raking": (
        lambda: csv_bytes(
            ["variable", "level", "target"], [r for r in good_rows() if r[0] == "gender"]
        ),
        "rake",
        None,
        "two or more variables",
    ),
    "several variables for post-stratification": (
        lambda: csv_bytes(["variable", "level", "target"], good_rows()),
        "poststratify",
        None,
        "cell table",
    ),
    "cells for raking": (lambda: cells_csv()[0], "rake", 1, "raking and calibration need"),
    "missing target column": (
        lambda: b"variable,level,count\ngender,nam,3\n",
        "rake",
        1,
        "no “target” column",
    ),
    "empty file": (lambda: b"", "rake", None, "The file is empty"),
    "binary junk": (lambda: b"\x00\x01\x02\xff\xfe" * 20, "rake", None, "not UTF-8"),
    "broken workbook": (lambda: b"PK\x03\x04 not really a zip", "rake", None, "Excel workbook"),
    "header only": (lambda: b"variable,level,target\n", "rake", None, "no rows of targets"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_upload_errors_are_listed_by_row_and_nothing_is_saved(
    analyst: FlaskClient, case: str
) -> None:
    build, method, row, words = ERRORS[case]
    response = upload(analyst, build(), method=method)
    page = text_of(response)
    assert response.status_code == 422
    assert 'id="row-errors"' in page and "Nothing was saved" in page
    problems = error_rows(page)
    matching = [p for p in problems if words in html.unescape(p[2])]
    assert matching, problems
    assert matching[0][0] == (str(row) if row is not None else "—")
    assert 'id="preview"' not in page and 'name="spec"' not in page
    assert stored_count() == (0, 0, 0)


def test_level_without_respondents_is_refused(analyst: FlaskClient) -> None:
    db.session.add(ProcedureField(code="TT", name_vi="Thuế", name_en="Tax"))
    db.session.commit()
    rows = [["procedure_field", level.code, float(level.respondents or 10)]
            for level in sample().variable("procedure_field").levels]  # fmt: skip
    rows += [list(r) for r in margins(sample(), ["gender"], total=sum(r[2] for r in rows))]
    page = text_of(upload(analyst, csv_bytes(["variable", "level", "target"], rows)))
    tax_row = 2 + [r[1] for r in rows].index("TT")
    assert re.search(
        rf'<td class="num">{tax_row}</td><td>level</td><td>No respondent has procedure_field = TT',
        page,
    )
    assert stored_count() == (0, 0, 0)


def test_errors_are_in_vietnamese_by_default(analyst: FlaskClient) -> None:
    page = text_of(upload(analyst, with_row(3, ["shoe_size", "42", 100.0]), lang="vi"))
    assert "Không lưu gì cả" in page
    assert "Biến “shoe_size” không có" in page


def test_language_switch_after_a_preview_goes_back_to_the_wave(analyst: FlaskClient) -> None:
    response = analyst.get(f"{BASE}/preview?lang=vi")
    assert response.status_code == 302 and response.headers["Location"] == f"{BASE}/?lang=vi"
    assert analyst.get(f"{BASE}/schemes").headers["Location"] == f"{BASE}/"


def test_form_errors_keep_the_page(analyst: FlaskClient) -> None:
    no_file = analyst.post(f"{BASE}/preview?lang=en", data={"method": "rake"})
    assert no_file.status_code == 422 and "Choose a file." in text_of(no_file)
    bad_bounds = upload(analyst, margins_csv(margins(sample(), ["gender"])),
                        method="calibrate-linear", bound_lower="2", bound_upper="1")  # fmt: skip
    assert bad_bounds.status_code == 422
    said = "The lower bound of the calibration factor must be smaller than the upper bound."
    assert said in text_of(bad_bounds)
    bad_trim = upload(analyst, margins_csv(margins(sample(), ["gender"])), lang="vi",
                      trim_lower="5", trim_upper="2")  # fmt: skip
    assert bad_trim.status_code == 422
    assert "Cận cắt tỉa dưới phải nhỏ hơn cận trên." in text_of(bad_trim)
    # an option is not a column of the file: the table names none (it named "trim")
    columns = error_columns(bad_trim.get_data(True))
    assert columns and set(columns) == {"—"}
    one_bound = upload(analyst, b"x", method="calibrate-linear", bound_lower="0.5")
    assert "Give both bounds, or neither." in text_of(one_bound)
    assert stored_count() == (0, 0, 0)


def test_number_fields_read_numbers_either_way_and_refuse_the_ambiguous(
    analyst: FlaskClient,
) -> None:
    """The console's number fields read typed numbers by the one rule of uploads
    (survey_app.numbers): "1.500" is Vietnamese for 1500, "1 500" is 1500 too, and
    "5,000" (English 5000, or Vietnamese 5) is refused with both readings. They once
    replaced the comma by a point: both "1.500" and "5,000" became 1.5 and 5, and a
    highest weight of 5 trimmed every weight, silently."""
    body = margins_csv(margins(sample(), ["gender", "age_group"]))
    for typed, upper in (
        ("1.500", 1500.0),
        ("1 500", 1500.0),
        ("100,5", 100.5),
        ("1.125,5", 1125.5),
    ):
        page = upload(analyst, body, trim_lower="40,5", trim_upper=typed)
        assert page.status_code == 200, (typed, text_of(page)[:500])
        trim = json.loads(hidden_spec(text_of(page)))["trim"]
        assert (trim["lower"], trim["upper"]) == (40.5, upper), typed
    ambiguous = upload(analyst, body, trim_upper="5,000")
    assert ambiguous.status_code == 422
    assert "can be read two ways: 5000" in text_of(ambiguous)
    assert 'value="5,000"' in text_of(ambiguous)  # the field keeps what was typed
    assert upload(analyst, body, trim_upper="năm").status_code == 422
    assert stored_count() == (0, 0, 0)


def test_number_fields_show_numbers_the_readers_way(analyst: FlaskClient) -> None:
    """The planner's defaults in the page's language, read back the same when sent."""
    for lang, deff in (("vi", "1,5"), ("en", "1.5")):
        page = text_of(analyst.get(f"/analyst/planner/?lang={lang}"))
        field = re.search(r'<input[^>]*name="deff"[^>]*>', page)
        assert field is not None and f'value="{deff}"' in field.group(0), (lang, field)
        sent = analyst.get(
            "/analyst/planner/",
            query_string={"lang": lang, "deff": deff, "margin": "5", "proportion": "50"},
        )
        assert sent.status_code == 200, (lang, text_of(sent)[:300])


def test_negative_calibrated_weights_are_refused(analyst: FlaskClient) -> None:
    """Unbounded linear calibration (GREG) to far-off totals of two variables gives
    negative weights, which cannot be stored: refused with a hint to set bounds."""
    extreme = [("gender", "nam", 35_000.0), ("gender", "nu", 100.0), ("gender", "_missing", 1100.0)]
    ages = [lv.code for lv in sample().variable("age_group").levels if lv.respondents]
    extreme += [("age_group", code, 100.0) for code in ages[:-1]]
    extreme += [("age_group", ages[-1], POPULATION - 100.0 * (len(ages) - 1))]
    response = upload(analyst, margins_csv(extreme), method="calibrate-linear")
    assert response.status_code == 422
    assert "weights came out zero or negative" in text_of(response)
    assert stored_count() == (0, 0, 0)


# ------------------------------------------------------------------ saving and activating


def test_save_versions_and_audit(analyst: FlaskClient) -> None:
    page = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    first = save(analyst, page, "Điều tra dân số 2019")
    assert first.status_code == 302 and first.headers["Location"].endswith(f"{BASE}/")
    second = save(analyst, page, "Điều tra dân số 2019")
    other = save(analyst, page, "Other")
    assert second.status_code == other.status_code == 302
    schemes = db.session.scalars(select(WeightingScheme).order_by(WeightingScheme.id)).all()
    assert [(s.name, s.version) for s in schemes] == [
        ("Điều tra dân số 2019", 1), ("Điều tra dân số 2019", 2), ("Other", 1)
    ]  # fmt: skip
    assert stored_count() == (3, 3 * 480, 3)
    scheme = schemes[0]
    assert scheme.params["method"] == "rake" and scheme.params["file"] == "margins.csv"
    assert scheme.params["targets"]["layout"] == "long"
    assert scheme.report["final"]["converged"] is True
    assert scheme.report["headline"]["new"]["value"] > 0
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "weighting.create")
    ).first()
    assert entry.username == "hm_analyst" and entry.target == f"wave:{WAVE}"
    assert entry.details["name"] == "Điều tra dân số 2019" and entry.details["version"] == 1
    listing = text_of(analyst.get(f"{BASE}/?lang=en"))
    assert listing.count("hm_analyst") >= 3 and "Saved Other v1" in listing


def test_save_needs_a_name_and_rechecks_the_targets(analyst: FlaskClient) -> None:
    page = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    nameless = save(analyst, page, "  ")
    assert nameless.status_code == 422 and "Give the scheme a name." in text_of(nameless)
    spec = json.loads(hidden_spec(page))
    spec["targets"]["rows"][0][1] = "other"  # a tampered form is checked again
    tampered = analyst.post(f"{BASE}/schemes?lang=en", data={"name": "x", "spec": json.dumps(spec)})
    assert tampered.status_code == 422 and "Unknown level" in text_of(tampered)
    assert analyst.post(f"{BASE}/schemes", data={"name": "x", "spec": "{"}).status_code == 400
    assert stored_count() == (0, 0, 0)


def test_activation_changes_the_published_figures(analyst: FlaskClient) -> None:
    wave = field_wave()
    domain = DomainKey(wave.unit_id, wave.id)
    before = compute([wave], [wave.unit]).figure(domain)
    page_a = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    page_b = text_of(upload(analyst, margins_csv(margins(sample(), ["education", "occupation"]))))
    save(analyst, page_a, "A")
    save(analyst, page_b, "B")
    a, b = db.session.scalars(select(WeightingScheme).order_by(WeightingScheme.id)).all()

    assert analyst.post(f"{BASE}/schemes/{a.id}/activate").status_code == 302
    db.session.expire_all()
    after_a = compute([wave], [wave.unit]).figure(domain)
    assert after_a.scheme == "A v1" and after_a.value != pytest.approx(before.value, rel=1e-6)
    weights_a = np.array(
        db.session.scalars(
            select(ResponseWeight.weight)
            .where(ResponseWeight.scheme_id == a.id)
            .order_by(ResponseWeight.response_id)
        ).all()
    )
    assert after_a.n_eff == pytest.approx(weights_a.sum() ** 2 / (weights_a**2).sum(), rel=1e-9)
    assert headline(page_a, "new")[0] == f"{100 * after_a.value:.1f}%"

    assert analyst.post(f"{BASE}/schemes/{b.id}/activate").status_code == 302
    db.session.expire_all()
    active = db.session.scalars(select(WeightingScheme).where(WeightingScheme.is_active)).all()
    assert [s.name for s in active] == ["B"]
    assert compute([wave], [wave.unit]).figure(domain).scheme == "B v1"
    page = text_of(analyst.get(f"{BASE}/?lang=en"))
    assert 'data-key="active"' not in page  # no preview on a plain visit
    preview = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    assert "Active scheme: B v1" in preview

    activations = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "weighting.activate").order_by(AuditLog.id)
    ).all()
    assert [e.details["name"] for e in activations] == ["A", "B"]
    assert activations[1].details["previous"]["name"] == "A"
    assert all(e.username == "hm_analyst" and e.at is not None for e in activations)

    assert analyst.post(f"{BASE}/deactivate").status_code == 302
    db.session.expire_all()
    assert compute([wave], [wave.unit]).figure(domain).scheme == "design weights"
    assert db.session.scalars(select(AuditLog.action).order_by(AuditLog.id.desc())).first() == (
        "weighting.deactivate"
    )


def test_activating_another_waves_scheme_is_refused(analyst: FlaskClient) -> None:
    page = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    save(analyst, page, "A")
    scheme = db.session.scalar(select(WeightingScheme))
    other = f"/analyst/weights/HM-2018-05/schemes/{scheme.id}/activate?lang=en"
    response = analyst.post(other)
    assert response.status_code == 302
    assert "This wave has no such scheme." in text_of(analyst.get(response.headers["Location"]))
    db.session.expire_all()
    assert not db.session.scalar(select(WeightingScheme)).is_active


# ------------------------------------------------------------------ permissions


def test_leaders_get_403(app: Flask, client: FlaskClient) -> None:
    make_user("hm_leader", Role.LEADER, "NA-HM")
    login(client, "hm_leader")
    for path in ("/analyst/weights/", f"{BASE}/", f"{BASE}/template.csv", "/analyst/planner/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"{BASE}/preview").status_code == 403
    assert client.post(f"{BASE}/schemes/1/activate").status_code == 403
    assert 'href="/analyst/weights/"' not in text_of(client.get("/dashboard/"))


def test_analysts_outside_the_waves_unit_get_404(app: Flask, client: FlaskClient) -> None:
    make_user("qn_analyst", Role.ANALYST, "QNG")
    login(client, "qn_analyst")
    assert WAVE not in text_of(client.get("/analyst/weights/"))
    for path in (f"{BASE}/", f"{BASE}/template.csv", f"{BASE}/template.xlsx"):
        assert client.get(path).status_code == 404, path
    body = margins_csv(margins(sample(), ["gender", "age_group"]))
    assert upload(client, body).status_code == 404
    assert client.post(f"{BASE}/schemes", data={"name": "x", "spec": "{}"}).status_code == 404
    assert client.post(f"{BASE}/schemes/1/activate").status_code == 404
    assert client.post(f"{BASE}/deactivate").status_code == 404


def test_admins_may_weight_and_anonymous_users_must_log_in(app: Flask, client: FlaskClient) -> None:
    assert client.get(f"{BASE}/").status_code == 302
    make_user("root", Role.ADMIN)
    login(client, "root")
    assert client.get(f"{BASE}/").status_code == 200


def test_csrf_is_required(app: Flask, analyst: FlaskClient) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    response = upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"])))
    assert response.status_code == 400 and 'id="preview"' not in text_of(response)
    assert analyst.post(f"{BASE}/deactivate").status_code == 400
    assert stored_count() == (0, 0, 0)


# ------------------------------------------------------------------ planner


def test_planner_sample_sizes_and_margins(analyst: FlaskClient) -> None:
    page = text_of(analyst.get("/analyst/planner/?lang=en"))
    assert "Cochran" in page and "Kish" in page
    assert "Phường Mai Hùng" in page  # prefilled with the units below the analyst's unit
    units = "Phường Mai Hùng, 5200, 48\nXã Quỳnh Liên; 1000; 300\nLarge town, , 400"
    response = analyst.get(
        "/analyst/planner/",
        query_string={
            "lang": "en",
            "margin": "5",
            "proportion": "50",
            "deff": "1",
            "level": "0.95",
            "units": units,
        },
    )
    page = text_of(response)
    assert response.status_code == 200
    # n0 = 1.959964^2 * 0.25 / 0.05^2 = 384.15 -> 385; N = 1000: 384.15 / 1.38315 = 277.7 -> 278
    assert "needs 385 interviews" in page
    needed = re.findall(r'data-key="needed">([^<]*)<', page)
    assert needed == ["358", "278", "385"]  # N = 5200: 384.15 / (1 + 383.15/5200) = 357.8
    margins_ = re.findall(r'data-key="margin">([^<]*)<', page)
    # 48 of 5200: 1.96 * sqrt(0.25 * 5152 / (48 * 5199)) = 0.1409
    assert margins_[0].startswith("± 14.1 points") and "too few" in margins_[0]
    assert margins_[1].startswith("± 4.7 points")  # 300 of 1000: sqrt(.25 * 700 / (300 * 999))
    assert margins_[2].startswith("± 4.9 points")  # 400, no N


def test_planner_errors(analyst: FlaskClient) -> None:
    response = analyst.get(
        "/analyst/planner/",
        query_string={
            "lang": "en",
            "margin": "0",
            "proportion": "50",
            "deff": "1.5",
            "units": "A, 100, 200\n, 5\nB, x",
        },
    )
    assert response.status_code == 422
    assert "Must be greater than 0." in text_of(response)
    fixed = analyst.get(
        "/analyst/planner/",
        query_string={
            "lang": "en",
            "margin": "5",
            "proportion": "50",
            "deff": "1,5",
            "units": "A, 100, 200\n, 5\nB, x",
        },
    )
    page = text_of(fixed)
    assert fixed.status_code == 422
    assert "Line 1: more interviews are planned than the population holds." in page
    assert "Line 2: the unit has no name." in page
    assert "Line 3: the population “x” is not a whole number of at least 2." in page


def test_planner_reads_counts_by_the_numbers_rule(analyst: FlaskClient) -> None:
    """Populations and planned interviews are whole numbers written either way; "5,2"
    once lost its comma and planned for 52 people."""
    units = "A; 5.200; 48\nB; 5,200; 1 000\nC; 5,2; 3\nD; 1.5; 3\nE; -3; 1"
    page = text_of(analyst.get("/analyst/planner/", query_string={
        "lang": "en", "margin": "5", "proportion": "50", "deff": "1", "units": units}))  # fmt: skip
    assert "Line 3: the population “5,2” is not a whole number of at least 2." in page
    assert "Line 4: the population “1.5” is not a whole number of at least 2." in page
    assert "Line 5: the population “-3” is not a whole number of at least 2." in page
    assert "Line 1:" not in page and "Line 2:" not in page
    both = analyst.get("/analyst/planner/", query_string={
        "lang": "en", "margin": "5", "proportion": "50", "deff": "1",
        "units": "A; 5.200; 48\nB; 5,200; 1 000"})  # fmt: skip
    assert both.status_code == 200
    # N = 5200 for both: 384.15 / (1 + 383.15/5200) = 357.8 -> 358
    assert re.findall(r'data-key="needed">([^<]*)<', text_of(both)) == ["358", "358"]


# ------------------------------------------------------------------ assets


def test_plotly_is_served_locally_with_long_cache(analyst: FlaskClient) -> None:
    page = text_of(upload(analyst, margins_csv(margins(sample(), ["gender", "age_group"]))))
    src = re.search(r'<script src="(/assets/plotly\.min\.js\?v=[^"]+)"', page)
    assert src, "the page loads plotly.js from the app itself"
    response = analyst.get(html.unescape(src.group(1)))
    assert response.status_code == 200 and b"plotly" in response.get_data()[:2000].lower()
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_semicolon_csv_with_byte_order_mark_reads_like_comma_csv(analyst: FlaskClient) -> None:
    """Excel set to Vietnamese saves "CSV UTF-8" with ';' between columns and a BOM."""
    wanted = margins(sample(), ["gender", "age_group"])
    text = "variable;level;target\n" + "".join(f"{n};{lv};{t!r}\n" for n, lv, t in wanted)
    semicolon = upload(analyst, ("\ufeff" + text).encode("utf-8"))
    assert semicolon.status_code == 200, text_of(semicolon)
    assert figure(text_of(semicolon)) == figure(text_of(upload(analyst, margins_csv(wanted))))


def test_a_calibration_that_cannot_meet_its_targets_says_what_the_analyst_can_change(
    analyst: FlaskClient,
) -> None:
    """Calibration that cannot meet its totals within its bounds: the page says so in its
    language and in the console's terms (the bounds it was given, to widen or clear),
    not with the library's advice, which names keyword arguments the console does not
    offer (``maxit``, ``force=True``). Nothing is stored."""
    extreme = [("gender", "nam", 35_000.0), ("gender", "nu", 100.0), ("gender", "_missing", 1100.0)]
    bounds = {"bound_lower": "0.9", "bound_upper": "1.1"}
    said = {}
    for lang in ("vi", "en", "vi"):
        response = upload(
            analyst, margins_csv(extreme), method="calibrate-raking", lang=lang, **bounds
        )
        assert response.status_code == 422, lang
        said.setdefault(lang, []).append(text_of(response))
    english, vietnamese = said["en"][0], said["vi"]
    assert "Calibration did not meet the targets in" in english
    assert "calibration factors between 0.9 and 1.1: widen the bounds or leave them empty" in (
        english
    )
    for page in vietnamese:
        assert "Hiệu chỉnh chưa đạt các mục tiêu sau" in page
        assert "trong khoảng từ 0,9 đến 1,1: hãy nới rộng các cận" in page
        assert "Calibration did not" not in page
    for page in [english, *vietnamese]:
        assert "maxit" not in page and "force=True" not in page
        assert error_columns(page) == ["—"]
    assert stored_count() == (0, 0, 0)
    # without bounds the same targets are met (raking calibration is raking)
    assert upload(analyst, margins_csv(extreme), method="calibrate-raking").status_code == 200


def test_calibration_without_bounds_that_cannot_meet_its_targets_says_check_the_targets(
    app: Flask,
) -> None:
    """Without bounds the console's advice is the targets: here gender and age group are
    tied in the sample (every man young, every woman old), so targets that agree in
    total but not with that tie cannot be met by any weights."""
    real = sample()
    half = np.arange(real.n) < real.n // 2
    gender = np.where(half, "nam", "nu").astype(object)
    age = np.where(half, "a18_24", "a60_plus").astype(object)
    tied_values = {"gender": gender, "age_group": age}
    variables = tuple(
        replace(v, levels=tuple(
            replace(lv, respondents=int((tied_values[v.code] == lv.code).sum()))
            for lv in v.levels))
        if v.code in tied_values else v
        for v in real.variables
    )  # fmt: skip
    tied = replace(real, values={**real.values, **tied_values}, variables=variables)
    targets = [("gender", "nam", 100.0), ("gender", "nu", 100.0)]
    targets += [("age_group", "a18_24", 150.0), ("age_group", "a60_plus", 50.0)]
    spec = WeightingSpec("calibrate-raking", read_targets(margins_csv(targets), "m.csv"))
    for lang, wanted in (
        ("en", "Check the targets: one may be out of the sample's reach"),
        ("vi", "Hãy kiểm tra các mục tiêu"),
    ):
        with (
            app.test_request_context(),
            force_locale(lang),
            pytest.raises(WeightingInputError) as refused,
        ):
            preview_scheme(tied, spec)
        (error,) = refused.value.errors
        assert wanted in error.message and error.column is None
        assert "maxit" not in error.message and "force=True" not in error.message


def test_the_library_follows_the_language_in_force_within_a_request(app: Flask) -> None:
    """Within a request the library speaks the language in force when its message is
    made: the request's, or one forced around the call (the read API's
    Accept-Language), as the app's own messages do; after the request, its default."""
    from analysis import Design
    from analysis.i18n import language

    def refusal() -> str:
        with pytest.raises(ValueError) as raised:
            Design.from_arrays([1.0, 2.0], strata=[1])
        return str(raised.value)

    english = refusal()
    with app.test_request_context("/?lang=vi"):
        app.preprocess_request()  # the before-request hooks
        vietnamese = refusal()
        with force_locale("en"):
            assert refusal() == english
        assert refusal() == vietnamese != english
    assert language() == "en" and refusal() == english

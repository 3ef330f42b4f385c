"""Golden tests of the indices against R's survey package, from the CSV and from SQL.

The reference numbers are in tests/reference/golden_indices.json, written by
tests/reference/make_golden_indices.R (R 4.2.2, survey 4.1.1) from the simulated
three-wave field survey of tests/reference/make_indices_data.py
(tests/reference/data_indices/). Each case carries the exact R call in its "call" field.
Three designs: independent waves, a panel, and the independent waves with the rules a
survey team sets (a lonely PSU per wave under ``survey.lonely.psu = "adjust"`` and a
finite population correction), through which every estimator and the trend go too.

Two routes are checked against R:

* analysis/: :class:`~analysis.indices.PSUTotals` built from the CSV by grouping the
  weighted per-respondent totals by domain x stratum x PSU, as the SQL query does;
* the SQL path: the same rows stored with ``collection.responses.store_many`` under the
  questionnaire tests/data/questionnaires/indices_golden.yaml, then
  ``reporting.indices.compute.compute`` (on SQLite, and on PostgreSQL when TEST_DATABASE_URL
  is set).

Tolerance: relative 1e-8 for estimates, SEs, CIs, contrasts and the trend; covariance
matrices elementwise to 1e-8 relative to their largest entry (entries that are zero in
exact arithmetic, such as the covariance of independent waves, come out of R as
rounding noise).

Degrees of freedom: every domain figure uses the domain's own PSUs minus its strata
(:func:`analysis.indices.domain_degf`), which is ``degf(subset(des, DOMAIN))``, the df
of R's ``svyby(..., svyciprop)``. So CIs are compared where R's call uses that df:
the item rate's svyciprop logit interval, and the overall index's rate (logit) and
score (t) intervals written out with ``degf(subset(...))``. svyratio's own ``confint``
uses the normal quantile and is not compared. The trend's df is the whole design's
PSUs minus strata, minus 1 (``svyglm``'s residual df with two coefficients); R's df
is compared where it is the same (the district's trend). For one unit's trend, R's
``svyglm`` on ``subset(des, unit == "D1")`` drops the rows with a missing answer and
counts only the PSUs left (46 here against our 47), so only slope and SE are compared.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask

from analysis.indices import (
    AspectSpec,
    IndexTable,
    ItemColumns,
    PSUTotals,
    build_formulas,
    difference,
    estimate_indices,
    estimate_trend,
)
from survey_app.models import Unit, Wave
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexResult
from tests.helpers import golden_survey

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"
GOLDEN = json.loads((REF / "golden_indices.json").read_text())
CASES = GOLDEN["cases"]
DOMAINS: list[str] = GOLDEN["domains"]  # "D1_1" ... "D4_3", "DIST_1" ... "DIST_3"
QUESTIONNAIRE = ROOT / "tests" / "data" / "questionnaires" / "indices_golden.yaml"
RTOL = 1e-8

ASPECTS = (
    AspectSpec("access", ("acc1", "acc2", "acc3")),
    AspectSpec("process", ("proc1", "proc2", "proc3")),
    AspectSpec("staff", ("staff1", "staff2")),
)
ITEMS = (*(item for aspect in ASPECTS for item in aspect.items), "ov")
LAYOUT = ItemColumns(ITEMS)
FORMULAS = build_formulas(ASPECTS, LAYOUT)
ITEM_FORMULA = build_formulas([AspectSpec("ov", ("ov",))], LAYOUT)[2]  # aspect:ov, rate


data = golden_survey.data
waves_frame = golden_survey.waves_frame


#: Each R design's rule for a stratum with a single PSU (R's survey.lonely.psu).
LONELY_PSU = {"independent": "fail", "panel": "fail", "lonely_fpc": "adjust"}
#: The PSU that the lonely_fpc design puts alone in a stratum of its own, in every wave.
LONE_PSU = "S1C1"


def design_labels(frame: pd.DataFrame, design: str) -> tuple[np.ndarray, np.ndarray]:
    """Stratum and PSU labels as the R designs define them (and as the service does)."""
    if design in ("independent", "lonely_fpc"):
        prefix = frame["wave"].astype(str) + "|"
        stratum = prefix + frame["stratum"]
        if design == "lonely_fpc":
            stratum = stratum.where(frame["psu"] != LONE_PSU, prefix + "LONE")
        return stratum.to_numpy(), (prefix + frame["psu"]).to_numpy()
    return frame["stratum"].to_numpy(), frame["psu"].to_numpy()


def population_psus(stratum: np.ndarray, design: str) -> dict[str, float]:
    """R's ``fpc=~psus_in_frame`` of the lonely_fpc design: 12 PSUs per stratum in the
    frame, 3 for the lone PSU's; no fpc in the other designs."""
    if design != "lonely_fpc":
        return {}
    return {str(s): 3.0 if str(s).endswith("|LONE") else 12.0 for s in set(stratum)}


def weighted_columns(frame: pd.DataFrame) -> np.ndarray:
    """Weighted S, V, P columns of every item (satisfied = 4 or 5, points (v-1)*25)."""
    answers = frame[list(ITEMS)].to_numpy(dtype=float)
    valid = ~np.isnan(answers)
    level = np.nan_to_num(answers)
    cols = np.zeros((len(frame), LAYOUT.width))
    cols[:, 0::3] = valid & (level >= 4)
    cols[:, 1::3] = valid
    cols[:, 2::3] = np.where(valid, (level - 1) * 25, 0.0)
    return cols * frame["weight"].to_numpy()[:, None]


def psu_totals(design: str, domain_of: dict[str, np.ndarray]) -> PSUTotals:
    """Group the weighted rows by (domain, stratum, PSU); a row may sit in several domains.

    ``domain_of`` maps each domain label (in order) to the boolean mask of its rows.
    """
    frame = data()
    stratum, psu = design_labels(frame, design)
    weighted = weighted_columns(frame)
    w = frame["weight"].to_numpy()
    pieces = []
    for code, mask in enumerate(domain_of.values()):
        part = pd.DataFrame({"domain": code, "stratum": stratum[mask], "psu": psu[mask]})
        pieces.append((part, weighted[mask], w[mask]))
    keys = pd.concat([p[0] for p in pieces], ignore_index=True)
    rows = np.vstack([p[1] for p in pieces])
    weights = np.concatenate([p[2] for p in pieces])
    groups = keys.groupby(["domain", "stratum", "psu"], sort=True).ngroup().to_numpy()
    first = keys.groupby(groups).first()
    values = np.zeros((first.shape[0], LAYOUT.width))
    np.add.at(values, groups, rows)
    n_psu = pd.Series(psu).groupby(stratum).nunique().to_dict()
    return PSUTotals(
        domain=first["domain"].to_numpy(dtype=np.int64),
        stratum=first["stratum"].to_numpy(dtype=object),
        psu=first["psu"].to_numpy(dtype=object),
        values=values,
        n=np.bincount(groups),
        sum_w=np.bincount(groups, weights=weights),
        sum_w2=np.bincount(groups, weights=weights**2),
        n_psu={str(k): int(v) for k, v in n_psu.items()},
        n_domains=len(domain_of),
        popsize=population_psus(stratum, design),
    )


def domain_masks() -> dict[str, np.ndarray]:
    frame = data()
    masks = {}
    for key in DOMAINS:
        unit, wave = key.rsplit("_", 1)
        inside = frame["wave"].to_numpy() == int(wave)
        if unit != "DIST":
            inside &= frame["unit"].to_numpy() == unit
        masks[key] = inside
    return masks


@cache
def analysis_table(design: str) -> IndexTable:
    return estimate_indices(
        psu_totals(design, domain_masks()),
        [*FORMULAS, ITEM_FORMULA],
        lonely_psu=LONELY_PSU[design],
    )


def cases(statistic: str) -> list[dict[str, Any]]:
    return [c for c in CASES if c["statistic"] == statistic]


def case_id(case: dict[str, Any]) -> str:
    return case["id"]


def index_key(case: dict[str, Any]) -> tuple[str, str]:
    code = "aspect:ov" if case["index"] == "item:ov" else case["index"]
    return code, case["kind"]


def close(ours: Any, theirs: Any, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=float), theirs, rtol=rtol, atol=0)


def close_matrix(ours: np.ndarray, theirs: Any) -> None:
    theirs = np.asarray(theirs, dtype=float)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * np.abs(theirs).max())


# ---------------------------------------------------------------------------------------
# analysis/ on PSU totals built from the CSV
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("all_domains"), ids=case_id)
def test_every_index_in_every_domain_with_joint_covariance(case: dict[str, Any]) -> None:
    table = analysis_table(case["design"])
    code, kind = index_key(case)
    assert case["domains"] == DOMAINS
    estimates = [table.get(code, kind, d) for d in range(len(DOMAINS))]
    close([e.value for e in estimates], case["values"]["estimate"])
    close([e.se for e in estimates], case["values"]["se"])
    close_matrix(table.covariance[(code, kind)], case["values"]["covariance"])


@pytest.mark.parametrize("case", cases("svyby_ratio"), ids=case_id)
def test_aspects_equal_svyby_svyratio_with_covmat(case: dict[str, Any]) -> None:
    table = analysis_table(case["design"])
    code, kind = index_key(case)
    positions = [DOMAINS.index(label) for label in case["domains"]]
    close([table.get(code, kind, d).value for d in positions], case["values"]["estimate"])
    close([table.get(code, kind, d).se for d in positions], case["values"]["se"])
    cov = table.covariance[(code, kind)][np.ix_(positions, positions)]
    close_matrix(cov, case["values"]["covariance"])


def same_with_interval(estimates: list[Any], expected: dict[str, Any]) -> None:
    """Estimates, standard errors, degrees of freedom and intervals equal R's."""
    close([e.value for e in estimates], expected["estimate"])
    close([e.se for e in estimates], expected["se"])
    assert [e.df for e in estimates] == expected["df"]
    close([e.ci_low for e in estimates], expected["ci_low"])
    close([e.ci_high for e in estimates], expected["ci_high"])


@pytest.mark.parametrize("case", cases("subset_overall"), ids=case_id)
def test_overall_index_with_domain_df_and_interval(case: dict[str, Any]) -> None:
    table = analysis_table(case["design"])
    estimates = [table.get("overall", case["kind"], d) for d in range(len(DOMAINS))]
    same_with_interval(estimates, case["values"])


@pytest.mark.parametrize("case", cases("svyciprop_item"), ids=case_id)
def test_one_item_rate_equals_svyciprop_logit(case: dict[str, Any]) -> None:
    table = analysis_table(case["design"])
    positions = [DOMAINS.index(label) for label in case["domains"]]
    estimates = [table.get("aspect:ov", "rate", d) for d in positions]
    same_with_interval(estimates, case["values"])


def contrast_from(table: IndexTable, case: dict[str, Any]) -> tuple[float, float]:
    code, kind = index_key(case)
    a, b = DOMAINS.index(case["plus"]), DOMAINS.index(case["minus"])
    cov = table.covariance[(code, kind)]
    diff = difference(
        table.get(code, kind, a).value,
        table.get(code, kind, b).value,
        cov[a, a],
        cov[b, b],
        cov[a, b],
        df=1.0,
    )
    return diff.value, diff.se


@pytest.mark.parametrize("case", cases("contrast"), ids=case_id)
def test_contrasts_equal_svycontrast(case: dict[str, Any]) -> None:
    value, se = contrast_from(analysis_table(case["design"]), case)
    close(value, case["values"]["estimate"])
    close(se, case["values"]["se"])


def wave_times() -> list[float]:
    return waves_frame().sort_values("wave")["t"].tolist()


@pytest.mark.parametrize("case", cases("trend"), ids=case_id)
def test_one_item_trend_equals_svyglm(case: dict[str, Any]) -> None:
    frame = data()
    in_unit = np.ones(len(frame), bool) if case["unit"] == "DIST" else frame["unit"] == case["unit"]
    masks = {w: (frame["wave"] == w).to_numpy() & np.asarray(in_unit) for w in (1, 2, 3)}
    trend = estimate_trend(
        psu_totals(case["design"], masks),
        ITEM_FORMULA,
        wave_times(),
        lonely_psu=LONELY_PSU[case["design"]],
    )
    expected = case["values"]
    close(trend.slope, expected["slope"])
    close(trend.se, expected["se"])
    if trend.df == expected["df"]:
        close([trend.ci_low, trend.ci_high, trend.p_value],
              [expected["ci_low"], expected["ci_high"], expected["p_value"]])  # fmt: skip
    else:
        # svyglm counts only the PSUs left after dropping rows with a missing answer
        assert case["unit"] != "DIST" and expected["df"] < trend.df


def test_the_district_trend_df_is_svyglms() -> None:
    for case in cases("trend"):
        if case["unit"] == "DIST":
            assert case["values"]["df"] == case["values"]["degf_design"] - 1
            assert case["values"]["df"] == psu_totals(case["design"], domain_masks()).degf - 1


# ---------------------------------------------------------------------------------------
# The SQL path: the same rows in the database, reporting.indices.compute.compute
# ---------------------------------------------------------------------------------------


def load_into_database() -> tuple[dict[str, Unit], dict[int, Wave]]:
    """Store the CSV's respondents as field-survey responses (validated, store_many)."""
    return golden_survey.store(QUESTIONNAIRE)


@pytest.fixture
def stored(app: Flask) -> tuple[dict[str, Unit], dict[int, Wave]]:
    return load_into_database()


def sql_domain(result: IndexResult, by_code: dict[str, Unit], waves, key: str) -> int:
    unit, wave = key.rsplit("_", 1)
    return result.domains.index(DomainKey(by_code[unit].id, waves[int(wave)].id))


@pytest.mark.parametrize("design", ["independent", "panel"])
def test_sql_path_equals_r(stored: tuple[dict[str, Unit], dict[int, Wave]], design: str) -> None:
    by_code, waves = stored
    unit_list = [by_code[c] for c in ("D1", "D2", "D3", "D4", "DIST")]
    result = compute([waves[w] for w in (1, 2, 3)], unit_list, shared_psus=design == "panel")
    order = [sql_domain(result, by_code, waves, key) for key in DOMAINS]
    checked = 0
    for case in (c for c in CASES if c["design"] == design):
        if case["statistic"] in ("trend", "svyciprop_item"):
            continue  # the questionnaire's index has no one-item formula
        code, kind = case["index"], case["kind"]
        table = result.table
        if case["statistic"] == "contrast":
            a, b = order[DOMAINS.index(case["plus"])], order[DOMAINS.index(case["minus"])]
            cov = result.covariance(code, kind)
            diff = difference(
                table.get(code, kind, a).value, table.get(code, kind, b).value,
                cov[a, a], cov[b, b], cov[a, b], df=1.0,
            )  # fmt: skip
            close([diff.value, diff.se], [case["values"]["estimate"], case["values"]["se"]])
            checked += 1
            continue
        positions = [order[DOMAINS.index(label)] for label in case["domains"]]
        figures = [table.get(code, kind, d) for d in positions]
        close([f.value for f in figures], case["values"]["estimate"])
        close([f.se for f in figures], case["values"]["se"])
        if "covariance" in case["values"]:
            cov = result.covariance(code, kind)[np.ix_(positions, positions)]
            close_matrix(cov, case["values"]["covariance"])
        if "ci_low" in case["values"]:
            assert [f.df for f in figures] == case["values"]["df"]
            close([f.ci_low for f in figures], case["values"]["ci_low"])
            close([f.ci_high for f in figures], case["values"]["ci_high"])
        checked += 1
    assert checked == 31

"""The sums per design cell turned into the sufficient statistics the estimator reads.

Both sources give :class:`Cells`: the row queries (:func:`cells_from_rows`, one row
per cell and item pivoted into one row per cell) and the figure store
(:func:`.stored.stored_cells`, already one row per cell). :func:`sufficient_statistics`
rolls each cell's unit up into every reported unit above it, forms the estimator's
cells (domain x PSU, or domain x PSU x respondent for a weighted wave) with one sparse
product, and returns :class:`analysis.indices.PSUTotals` with the population PSUs of
each stratum where the sample frame states them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sqlalchemy import select

from analysis.indices import PSUTotals
from survey_app.collection.scoring import Layout, answer_groups
from survey_app.extensions import db
from survey_app.models import Unit
from survey_app.reporting.indices.figures import DomainKey
from survey_app.reporting.indices.weighted import calibrated_respondents
from survey_app.weighting.published import PublishedDesign


def key_columns(by_field: bool, by_channel: bool) -> list[str]:
    """The design keys of a cell, in the order the row queries return them."""
    breakdown = (["field_id"] if by_field else []) + (["channel"] if by_channel else [])
    return ["wave_id", "unit_id", "stratum", "psu", "rid", *breakdown]


@dataclass(frozen=True)
class Cells:
    """Weighted sums per design cell (wave x unit x stratum x PSU [x respondent]
    [x field][x channel]), before any roll-up.

    Attributes
    ----------
    keys
        One row per cell: the columns of :func:`key_columns`.
    counts
        ``n, sum w, sum w^2`` of the cell's respondents, then the same three over the
        respondents answering each of :func:`answer_groups`'s groups.
    values
        The layout's item columns (satisfied, valid, points per item).
    """

    keys: pd.DataFrame
    counts: np.ndarray
    values: np.ndarray

    @staticmethod
    def concat(parts: Sequence[Cells]) -> Cells:
        return Cells(
            pd.concat([p.keys for p in parts], ignore_index=True),
            np.vstack([p.counts for p in parts]),
            np.vstack([p.values for p in parts]),
        )


def count_width(layout: Layout) -> int:
    return 3 + 3 * len(answer_groups(layout))


def cells_from_rows(
    item_rows: list,
    respondent_rows: list,
    item_codes: dict[int, str],
    layout: Layout,
    by_field: bool,
    by_channel: bool,
) -> Cells:
    """The rows of :func:`.sql.aggregate` (one per cell and item, one per cell) as
    :class:`Cells`: each item row's sums scattered into its cell's item columns."""
    keys = key_columns(by_field, by_channel)
    width = count_width(layout)
    respondents = pd.DataFrame(respondent_rows, columns=[*keys, *range(width)])
    items = pd.DataFrame(item_rows, columns=[*keys, "item", "s", "v", "p"])
    both = pd.concat([respondents[keys], items[keys]], ignore_index=True)
    code = both.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    n_cells = int(code.max()) + 1 if code.size else 0
    _, first = np.unique(code, return_index=True)
    counts = np.zeros((n_cells, width))
    np.add.at(
        counts,
        code[: len(respondents)],
        respondents[list(range(width))].astype(float).fillna(0.0).to_numpy(),
    )
    values = np.zeros((n_cells, layout.columns.width))
    first_column = {item_id: layout.columns.column(c, "S") for item_id, c in item_codes.items()}
    item_cells = code[len(respondents) :]
    column = items["item"].map(first_column).to_numpy(dtype=np.int64)
    for offset, name in enumerate(("s", "v", "p")):
        np.add.at(
            values, (item_cells, column + offset), items[name].astype(float).fillna(0.0).to_numpy()
        )
    return Cells(both.iloc[first].reset_index(drop=True), counts, values)


def sufficient_statistics(
    cells: Cells,
    psu_rows: list,
    units: Sequence[Unit],
    layout: Layout,
    shared_psus: bool,
    by_field: bool,
    by_channel: bool,
    published: dict[int, PublishedDesign],
    sample_frames: dict[int, dict[str, int]],
) -> tuple[PSUTotals, list[DomainKey], set[int]]:
    """Turn :class:`Cells` into :class:`PSUTotals` with one domain per reported unit.

    A cell's unit rolls up into every reported unit above it (a many-to-many merge);
    the estimator's cells are (domain, PSU[, respondent]) and the design cells are
    summed into them with one sparse product.
    """
    breakdown = key_columns(by_field, by_channel)[5:]
    keys = cells.keys
    prefix = "" if shared_psus else keys["wave_id"].astype(str) + "|"
    stratum_label = (prefix + keys["stratum"].astype(str)).to_numpy(dtype=object)
    psu_label = (stratum_label + "|" + keys["psu"].astype(str)).to_numpy(dtype=object)
    all_units = list(db.session.execute(select(Unit.id, Unit.path)))
    rollup = pd.DataFrame(
        [(uid, unit.id) for unit in units for uid, path in all_units if path.startswith(unit.path)],
        columns=["unit_id", "target"],
    )
    expanded = pd.DataFrame(
        {"unit_id": keys["unit_id"].to_numpy(), "row": np.arange(len(keys))}
    ).merge(rollup, on="unit_id")
    row = expanded["row"].to_numpy(dtype=np.int64)
    domain_frame = pd.DataFrame({"target": expanded["target"].to_numpy()})
    domain_frame["wave_id"] = keys["wave_id"].to_numpy()[row]
    for name in breakdown:
        column = keys[name].to_numpy(dtype=object)[row]
        domain_frame[name] = [str(c) for c in column] if name == "channel" else column
    domain_code = (
        domain_frame.astype(object).groupby(list(domain_frame), sort=False, dropna=False).ngroup()
    ).to_numpy(dtype=np.int64)
    psu_code, psu_uniques = pd.factorize(psu_label)
    rid = keys["rid"].to_numpy(dtype=np.int64)
    rid_code, rid_uniques = pd.factorize(rid)
    # a cell is (domain, PSU) or, for a weighted wave's respondent, (domain, PSU, id)
    combined = (domain_code * max(len(psu_uniques), 1) + psu_code[row]) * max(
        len(rid_uniques), 1
    ) + rid_code[row]
    cell_code, _ = pd.factorize(combined)
    n_cells = int(cell_code.max()) + 1 if cell_code.size else 0
    _, first = np.unique(cell_code, return_index=True)
    gather = sparse.csr_matrix((np.ones(row.size), (cell_code, row)), shape=(n_cells, len(keys)))
    values = np.asarray(gather @ cells.values)
    counts = np.asarray(gather @ cells.counts)
    first_row = row[first]
    _, domain_first = np.unique(domain_code, return_index=True)
    domains = [
        DomainKey(
            int(domain_frame["target"].iat[j]),
            int(domain_frame["wave_id"].iat[j]),
            _field(domain_frame["field_id"].iat[j]) if by_field else None,
            str(domain_frame["channel"].iat[j]) if by_channel else None,
        )
        for j in domain_first
    ]
    psus = pd.DataFrame(psu_rows, columns=["wave_id", "stratum", "psu"])
    psu_prefix = "" if shared_psus else psus["wave_id"].astype(str) + "|"
    psus["stratum_label"] = psu_prefix + psus["stratum"].astype(str)
    psus["psu_label"] = psus["stratum_label"] + "|" + psus["psu"].astype(str)
    n_psu = psus.drop_duplicates("psu_label").groupby("stratum_label").size().to_dict()
    popsize, fpc_waves = _popsize(psus, n_psu, sample_frames)
    groups = answer_groups(layout)
    answered = {
        g: (counts[:, 3 + 3 * k].astype(np.int64), counts[:, 4 + 3 * k], counts[:, 5 + 3 * k])
        for k, g in enumerate(groups)
    }
    cell_rid = rid[first_row]
    totals = PSUTotals(
        domain=domain_code[first],
        stratum=stratum_label[first_row],
        psu=psu_label[first_row],
        values=values,
        n=counts[:, 0].astype(np.int64),
        sum_w=counts[:, 1],
        sum_w2=counts[:, 2],
        n_psu={str(k): int(v) for k, v in n_psu.items()},
        n_domains=len(domains),
        answered=answered,
        calibrated=calibrated_respondents(published, cell_rid, shared_psus),
        popsize=popsize,
    )
    return totals, domains, fpc_waves


def _field(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[arg-type]


def _popsize(
    psus: pd.DataFrame, n_psu: dict[str, int], frames: dict[int, dict[str, int]]
) -> tuple[dict[str, float], set[int]]:
    """Population PSUs of each stratum label, for waves whose sample frame states them.

    A wave gets the finite population correction only when its frame gives the number
    of PSUs of every stratum it sampled, each at least the PSUs sampled (R's
    ``svydesign(fpc=)`` needs one for every row); a stratum shared by panel waves only
    when they agree.
    """
    out: dict[str, float] = {}
    clash: set[str] = set()
    strata_of: dict[int, set[str]] = {}
    for wave_id, rows in psus.groupby("wave_id"):
        frame = frames.get(int(wave_id), {})
        if not frame:
            continue
        rows = rows.drop_duplicates("stratum_label")
        labels = dict(zip(rows["stratum_label"], rows["stratum"].astype(str), strict=True))
        if any(
            frame.get(stratum) is None or frame[stratum] < n_psu[label]
            for label, stratum in labels.items()
        ):
            continue
        strata_of[int(wave_id)] = set(labels)
        for label, stratum in labels.items():
            if out.get(label, frame[stratum]) != frame[stratum]:
                clash.add(label)
            out[label] = float(frame[stratum])
    waves = {wave for wave, labels in strata_of.items() if not labels & clash}
    return {label: n for label, n in out.items() if label not in clash}, waves

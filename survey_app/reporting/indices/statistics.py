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
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from sqlalchemy import select

from analysis.indices import CalibratedRespondents, PSUTotals
from survey_app.collection.scoring import Layout, answer_groups
from survey_app.extensions import db
from survey_app.models import Unit
from survey_app.reporting.indices.figures import DomainKey
from survey_app.reporting.indices.shared_sums import within_request
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
    psus = pd.DataFrame(psu_rows, columns=["wave_id", "stratum", "psu"])
    codes = DesignCodes.of(keys, psus, shared_psus)
    all_units = within_request(
        "unit_paths", lambda: [tuple(row) for row in db.session.execute(select(Unit.id, Unit.path))]
    )
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
    psu_code, n_psus = codes.cell_psu, len(codes.psu_text)
    rid = keys["rid"].to_numpy(dtype=np.int64)
    rid_code, rid_uniques = pd.factorize(rid)
    # a cell is (domain, PSU) or, for a weighted wave's respondent, (domain, PSU, id)
    combined = (domain_code * max(n_psus, 1) + psu_code[row]) * max(len(rid_uniques), 1) + rid_code[
        row
    ]
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
    psus["stratum_label"] = codes.sampled_stratum
    n_psu = pd.Series(codes.sampled_psu).groupby(codes.sampled_stratum).nunique().to_dict()
    popsize, fpc_waves = _popsize(psus, n_psu, sample_frames)
    groups = answer_groups(layout)
    answered = {
        g: (counts[:, 3 + 3 * k].astype(np.int64), counts[:, 4 + 3 * k], counts[:, 5 + 3 * k])
        for k, g in enumerate(groups)
    }
    cell_rid = rid[first_row]
    totals = PSUTotals(
        domain=domain_code[first],
        stratum=codes.cell_stratum[first_row],
        psu=psu_code[first_row],
        values=values,
        n=counts[:, 0].astype(np.int64),
        sum_w=counts[:, 1],
        sum_w2=counts[:, 2],
        n_psu={int(k): int(v) for k, v in n_psu.items()},
        n_domains=len(domains),
        answered=answered,
        calibrated=codes.coded(calibrated_respondents(published, cell_rid, shared_psus)),
        popsize=popsize,
        stratum_names=dict(enumerate(codes.stratum_names)),
    )
    return totals, domains, fpc_waves


@dataclass(frozen=True)
class DesignCodes:
    """Strata and PSUs as integer codes, the estimator's labels.

    A stratum is a wave's stratum (or, for waves sharing PSUs, the stratum of every
    wave); a PSU is a stratum's PSU. The codes cover the cells' keys and every sampled
    PSU (``psu_rows``): integers sort and count far faster than the ``"wave|stratum"``
    texts they stand for. The texts are kept for messages (:attr:`stratum_names`) and
    to code the weighted waves' respondents, who carry them (:meth:`coded`).
    """

    cell_stratum: np.ndarray
    cell_psu: np.ndarray
    sampled_stratum: np.ndarray
    sampled_psu: np.ndarray
    stratum_names: list[str]
    #: for each PSU code, its stratum's code and its own label as text
    psu_stratum: np.ndarray
    psu_text: np.ndarray

    @classmethod
    def of(cls, keys: pd.DataFrame, psus: pd.DataFrame, shared_psus: bool) -> DesignCodes:
        wave = np.concatenate(
            [keys["wave_id"].to_numpy(dtype=np.int64), psus["wave_id"].to_numpy(dtype=np.int64)]
        )
        if shared_psus:
            wave = np.zeros_like(wave)
        stratum_text = _texts(keys["stratum"], psus["stratum"])
        psu_text = _texts(keys["psu"], psus["psu"])
        stratum_key, stratum_values = pd.factorize(stratum_text)
        psu_key, psu_values = pd.factorize(psu_text)
        stratum_code = pd.factorize(wave * len(stratum_values) + stratum_key)[0]
        psu_code = pd.factorize(stratum_code * max(len(psu_values), 1) + psu_key)[0]
        # the texts the weighted waves' respondents carry: "wave|stratum" ("stratum"
        # when the waves share PSUs) and "<stratum>|psu"
        first = np.unique(stratum_code, return_index=True)[1]
        names = [str(t) for t in stratum_text[first]]
        if not shared_psus:
            names = [f"{w}|{t}" for w, t in zip(wave[first].tolist(), names, strict=True)]
        psu_first = np.unique(psu_code, return_index=True)[1]
        n = len(keys)
        return cls(
            stratum_code[:n],
            psu_code[:n],
            stratum_code[n:],
            psu_code[n:],
            names,
            stratum_code[psu_first],
            psu_text[psu_first],
        )

    def coded(self, respondents: CalibratedRespondents | None) -> CalibratedRespondents | None:
        """The weighted waves' respondents with these codes for their labels (a label
        not among them gets a code of its own)."""
        if respondents is None:
            return None
        strata = {name: code for code, name in enumerate(self.stratum_names)}
        names = self.stratum_names
        psus = {
            f"{names[s]}|{t}": code
            for code, (s, t) in enumerate(
                zip(self.psu_stratum.tolist(), self.psu_text.tolist(), strict=True)
            )
        }

        def code_of(labels: np.ndarray, known: dict[str, int]) -> np.ndarray:
            return np.array([known.setdefault(str(x), len(known)) for x in labels], dtype=np.int64)

        return replace(
            respondents,
            stratum=code_of(respondents.stratum, strata),
            psu=code_of(respondents.psu, psus),
        )


def _texts(*columns: pd.Series) -> np.ndarray:
    """Stratum or PSU labels as text (the store and the rows may type them apart)."""
    return np.concatenate([c.astype(str).to_numpy(dtype=object) for c in columns])


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

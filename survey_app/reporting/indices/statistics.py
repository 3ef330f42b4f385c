"""The query rows turned into the sufficient statistics the estimator reads.

:func:`sufficient_statistics` rolls each response's unit up into every reported unit
above it, forms the cells (domain x PSU, or domain x PSU x respondent for a weighted
wave) and scatters the sums into :class:`analysis.indices.PSUTotals`, with the
population PSUs of each stratum where the sample frame states them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select

from analysis.indices import PSUTotals
from survey_app.collection.scoring import Layout, answer_groups
from survey_app.extensions import db
from survey_app.models import Unit
from survey_app.reporting.indices.figures import DomainKey
from survey_app.reporting.indices.weighted import calibrated_respondents
from survey_app.weighting.published import PublishedDesign


def sufficient_statistics(
    item_rows: list,
    respondent_rows: list,
    psu_rows: list,
    item_codes: dict[int, str],
    units: Sequence[Unit],
    layout: Layout,
    shared_psus: bool,
    by_field: bool,
    by_channel: bool,
    published: dict[int, PublishedDesign],
    sample_frames: dict[int, dict[str, int]],
) -> tuple[PSUTotals, list[DomainKey], set[int]]:
    """Turn the query rows into :class:`PSUTotals` with one domain per reported unit.

    Vectorized with pandas: a response's unit rolls up into every reported unit above
    it (a many-to-many merge), cells are (domain, PSU) pairs, and the item sums are
    scattered into the totals matrix with one ``np.add.at`` per kind of total.
    """
    breakdown = (["field_id"] if by_field else []) + (["channel"] if by_channel else [])
    keys = ["wave_id", "unit_id", "stratum", "psu", "rid", *breakdown]
    groups = answer_groups(layout)
    counts = [f"{name}{k}" for k in range(len(groups)) for name in ("an", "aw", "aww")]
    respondents = pd.DataFrame(respondent_rows, columns=[*keys, "n", "w", "w2", *counts])
    items = pd.DataFrame(item_rows, columns=[*keys, "item", "s", "v", "p"])
    all_units = list(db.session.execute(select(Unit.id, Unit.path)))
    rollup = pd.DataFrame(
        [(uid, unit.id) for unit in units for uid, path in all_units if path.startswith(unit.path)],
        columns=["unit_id", "target"],
    )
    respondents = respondents.merge(rollup, on="unit_id")
    items = items.merge(rollup, on="unit_id")

    def labels(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        prefix = "" if shared_psus else frame["wave_id"].astype(str) + "|"
        stratum = prefix + frame["stratum"].astype(str)
        return stratum, stratum + "|" + frame["psu"].astype(str)

    frames = (respondents, items)
    for frame in frames:
        frame["stratum_label"], frame["psu_label"] = labels(frame)
        if by_channel:
            frame["channel"] = frame["channel"].map(str)
    domain_columns = ["target", "wave_id", *breakdown]
    both = pd.concat([f[[*domain_columns, "stratum_label", "psu_label", "rid"]] for f in frames])
    domain_index = pd.MultiIndex.from_frame(both[domain_columns].astype(object)).unique()
    # a cell is (domain, PSU) or, for a weighted wave's respondent, (domain, PSU, id)
    cell_index = pd.MultiIndex.from_arrays(
        [
            domain_index.get_indexer(pd.MultiIndex.from_frame(both[domain_columns].astype(object))),
            both["psu_label"].to_numpy(),
            both["rid"].to_numpy(dtype=np.int64),
        ]
    ).unique()

    def cells_of(frame: pd.DataFrame) -> np.ndarray:
        domains = domain_index.get_indexer(
            pd.MultiIndex.from_frame(frame[domain_columns].astype(object))
        )
        return cell_index.get_indexer(
            pd.MultiIndex.from_arrays(
                [domains, frame["psu_label"], frame["rid"].to_numpy(dtype=np.int64)]
            )
        )

    n_cells = len(cell_index)
    resp_cells = cells_of(respondents)
    n = np.bincount(resp_cells, weights=respondents["n"].astype(float), minlength=n_cells)
    sum_w = np.bincount(resp_cells, weights=respondents["w"].astype(float), minlength=n_cells)
    sum_w2 = np.bincount(resp_cells, weights=respondents["w2"].astype(float), minlength=n_cells)

    def cell_sums(name: str) -> np.ndarray:
        column = respondents[name].astype(float).fillna(0.0)
        return np.bincount(resp_cells, weights=column, minlength=n_cells)

    answered = {
        g: (cell_sums(f"an{k}").astype(np.int64), cell_sums(f"aw{k}"), cell_sums(f"aww{k}"))
        for k, g in enumerate(groups)
    }
    values = np.zeros((n_cells, layout.columns.width))
    item_cells = cells_of(items)
    first = {item_id: layout.columns.column(code, "S") for item_id, code in item_codes.items()}
    first_column = items["item"].map(first).to_numpy(dtype=np.int64)
    for offset, name in enumerate(("s", "v", "p")):
        np.add.at(
            values,
            (item_cells, first_column + offset),
            items[name].astype(float).fillna(0.0).to_numpy(),
        )
    stratum_of_cell = (
        pd.concat(frames)[["psu_label", "stratum_label"]]
        .drop_duplicates("psu_label")
        .set_index("psu_label")["stratum_label"]
    )
    cell_psu = cell_index.get_level_values(1)
    psus = pd.DataFrame(psu_rows, columns=["wave_id", "stratum", "psu"])
    psus["stratum_label"], psus["psu_label"] = labels(psus)
    n_psu = psus.drop_duplicates("psu_label").groupby("stratum_label").size().to_dict()
    popsize, fpc_waves = _popsize(psus, n_psu, sample_frames)
    domains = [
        DomainKey(
            int(key[0]),
            int(key[1]),
            int(key[2]) if by_field and key[2] is not None and not pd.isna(key[2]) else None,
            str(key[-1]) if by_channel else None,
        )
        for key in domain_index
    ]
    calibrated = calibrated_respondents(
        published, np.asarray(cell_index.get_level_values(2), dtype=np.int64), shared_psus
    )
    totals = PSUTotals(
        domain=np.asarray(cell_index.get_level_values(0), dtype=np.int64),
        stratum=stratum_of_cell.reindex(cell_psu).to_numpy(dtype=object),
        psu=np.asarray(cell_psu, dtype=object),
        values=values,
        n=n.astype(np.int64),
        sum_w=sum_w,
        sum_w2=sum_w2,
        n_psu={str(k): int(v) for k, v in n_psu.items()},
        n_domains=len(domains),
        answered=answered,
        calibrated=calibrated,
        popsize=popsize,
    )
    return totals, domains, fpc_waves


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
        labels = dict(zip(rows["stratum_label"], rows["stratum"].astype(str), strict=True))
        if not frame or any(
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

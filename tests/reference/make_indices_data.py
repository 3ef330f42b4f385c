"""Simulate the multi-wave field survey of the index golden tests (seeded).

Run from the repository root:  .venv/bin/python tests/reference/make_indices_data.py
Writes tests/reference/data_indices/responses.csv (one row per respondent) and
tests/reference/data_indices/waves.csv (one row per wave). Both are committed;
tests/reference/make_golden_indices.R reads them, and tests/indices/test_indices_golden.py
loads the same rows into the database.

The design: a district's one-stop service surveyed in three waves (May 2021, May 2022,
November 2023). Four strata (areas) of five communes each; the same 20 communes are the
PSUs of every wave (a panel of communes, so the data can be analysed either as independent
waves or with the communes shared across waves). In each commune a random number of
citizens (8-22) is interviewed; each respondent's procedure belongs to one of four
departments, the units reported as domains, which cut across the PSUs. Design weights
are unequal (commune transaction volume over sample size, times a respondent factor),
rounded to 4 decimals so that R and Python read identical numbers.

Answers: eight 5-level criteria in three aspects (access: acc1-acc3, process: proc1-proc3,
staff: staff1-staff2) and an overall item ov; about 10% of answers are missing (skipped).
The satisfaction level depends on wave, department and a persistent commune effect.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20260601
OUT = Path(__file__).resolve().parent / "data_indices"
ITEMS = ("acc1", "acc2", "acc3", "proc1", "proc2", "proc3", "staff1", "staff2", "ov")
WAVES = (
    ("W2021", date(2021, 5, 3), date(2021, 5, 28)),
    ("W2022", date(2022, 5, 2), date(2022, 5, 27)),
    ("W2023", date(2023, 11, 6), date(2023, 11, 24)),
)
UNITS = ("D1", "D2", "D3", "D4")


def decimal_year(day: date) -> float:
    """As survey_app.reporting.comparisons.trends.decimal_year."""
    start = date(day.year, 1, 1)
    return day.year + (day - start).days / (date(day.year + 1, 1, 1) - start).days


def simulate() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    strata = [f"S{h}" for h in range(1, 5)]
    communes = [(s, f"{s}C{c}") for s in strata for c in range(1, 6)]
    commune_effect = {psu: rng.normal(0.0, 0.45) for _, psu in communes}
    volume = {psu: rng.integers(300, 3000) for _, psu in communes}
    unit_effect = dict(zip(UNITS, (0.3, -0.2, 0.0, 0.5), strict=True))
    item_effect = rng.normal(0.0, 0.3, len(ITEMS))
    # departments are used in different proportions in each area
    unit_mix = {s: rng.dirichlet(np.full(len(UNITS), 2.0)) for s in strata}
    rows = []
    wave_rows = []
    for w, (code, start, end) in enumerate(WAVES, start=1):
        t = (decimal_year(start) + decimal_year(end)) / 2
        wave_rows.append({"wave": w, "code": code, "start_date": start.isoformat(),
                          "end_date": end.isoformat(), "t": t})  # fmt: skip
        for stratum, psu in communes:
            n = int(rng.integers(8, 23))
            base_weight = volume[psu] / n
            units = rng.choice(len(UNITS), size=n, p=unit_mix[stratum])
            for i in range(n):
                unit = UNITS[units[i]]
                latent = 0.25 + 0.45 * (w - 1) + unit_effect[unit] + commune_effect[psu]
                latent += rng.normal(0.0, 0.6)
                answers = {}
                for j, item in enumerate(ITEMS):
                    x = latent + item_effect[j] + rng.normal(0.0, 0.9)
                    level = int(np.clip(np.round(3.2 + x), 1, 5))
                    answers[item] = pd.NA if rng.random() < 0.10 else level
                rows.append({
                    "wave": w, "stratum": stratum, "psu": psu, "unit": unit,
                    "weight": round(base_weight * rng.uniform(0.6, 1.6), 4), **answers,
                })  # fmt: skip
    responses = pd.DataFrame(rows)
    responses.insert(0, "id", np.arange(1, len(responses) + 1))
    for item in ITEMS:
        responses[item] = responses[item].astype("Int64")
    return responses, pd.DataFrame(wave_rows)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    responses, waves = simulate()
    responses.to_csv(OUT / "responses.csv", index=False)
    waves.to_csv(OUT / "waves.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()

"""Print the README's Hoàng Mai story from the platform's own output.

Seeds the simulated demo (default seed) into a throwaway SQLite database and prints the
overall index of the town per wave and each change between waves, as the dashboard
and ``/api/v1/changes`` publish them. Run: ``.venv/bin/python docs/hoang_mai_story.py``.
"""

from __future__ import annotations

from itertools import pairwise

from flask_babel import force_locale
from sqlalchemy import select
from throwaway_app import demo_app


def main() -> None:
    from survey_app import demo
    from survey_app.extensions import db
    from survey_app.models import Unit, Wave
    from survey_app.reporting.comparisons import changes, trends
    from survey_app.reporting.indices.compute import compute
    from survey_app.reporting.indices.figures import DomainKey

    with demo_app() as app:
        town = db.session.scalar(select(Unit).where(Unit.code == "NA-HM"))
        waves = [
            db.session.scalar(select(Wave).where(Wave.code == spec.code))
            for spec in demo.HOANG_MAI_WAVES
        ]
        result = compute(waves, [town])
        for wave in waves:
            f = result.figure(DomainKey(town.id, wave.id))
            print(
                f"{wave.code}: {100 * f.value:.1f}% ({100 * f.ci_low:.1f}–{100 * f.ci_high:.1f}),"
                f" n {f.n}, n_eff {f.n_eff:.0f}, df {f.df:.0f}, {f.inference.value}"
            )
        with app.test_request_context("/?lang=vi"), force_locale("vi"):
            for before, after in pairwise(waves):
                step = changes.change(town, before, after)
                d = step.difference
                print(
                    f"{before.code} -> {after.code}: {step.sentence()} — "
                    f"{100 * d.value:+.1f} points (95% CI {100 * d.ci_low:.1f} to "
                    f"{100 * d.ci_high:.1f}), SE {100 * d.se:.2f}, panel {step.shared_psus}"
                )
            trend = trends.trend(town, waves)
            print(
                f"trend: {100 * trend.slope:+.1f} points per year "
                f"({100 * trend.ci_low:.1f} to {100 * trend.ci_high:.1f})"
            )


if __name__ == "__main__":
    main()

"""Print the README's small-area story from the platform's own output.

Seeds the simulated demo (default seed) into a throwaway SQLite database, fits the
Fay–Herriot model the analyst console offers by default to the December 2018 Hoàng Mai
survey (REML; covariate: each commune's May 2018 direct estimate; few-PSU variances
smoothed by the proportion GVF) and prints, per commune, the direct figure (and whether
the reporting rule hides it) beside the small-area estimate, its interval and CV.
Run: ``.venv/bin/python docs/small_area_story.py``.
"""

from __future__ import annotations

from sqlalchemy import select
from throwaway_app import demo_app


def main() -> None:
    from survey_app.extensions import db
    from survey_app.models import Wave
    from survey_app.reporting.small_area import fitting

    with demo_app() as app, app.test_request_context():
        wave = db.session.scalar(select(Wave).where(Wave.code == "HM-2018-12"))
        fit = fitting.estimate(wave, covariates=["previous"])
        print(
            f"sigma2_u = {fit.sigma2_u:.5f}; beta = "
            + ", ".join(f"{b.key} {b.estimate:.3f} (SE {b.se:.3f})" for b in fit.beta)
        )
        print("| commune | n | direct (95% CI) | small-area estimate (95% CI) | CV | γ |")
        print("| --- | --- | --- | --- | --- | --- |")
        for c in fit.communes:
            direct = (
                "—"
                if c.direct is None
                else f"{100 * c.direct:.1f}% ± {196 * c.direct_se:.1f}"
                + ("" if c.direct_reportable else " (not enough data)")
            )
            shown = f"{100 * c.eblup:.1f}% ({100 * c.ci_low:.1f}–{100 * c.ci_high:.1f})"
            if not c.reportable:
                shown += " (not reportable)"
            print(
                f"| {c.name_en} | {c.n} | {direct} | {shown} | {100 * (c.cv or 0):.1f}% | "
                f"{c.gamma:.2f} |"
            )


if __name__ == "__main__":
    main()

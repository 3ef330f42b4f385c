"""The simulated demo: the press stories, as a documented simulation.

A package of its own, above the domain packages: it seeds the database through the same
services a user would (:mod:`survey_app.demo.seeding`), from the population and
response model of :mod:`survey_app.demo.model`; nothing below the CLI imports it
(``.importlinter``).

The simulation code below IS the documentation of the demo data. Nothing is typed in
as a result: each unit and wave has a true satisfaction rate, every answer is drawn
from the model below with a seeded generator, and every figure the platform shows is
estimated from those draws. Run ``flask demo seed --seed N`` for another draw.

The stories
-----------
1. Hoàng Mai town (Nghệ An): true satisfaction 45% (2017), 57.9% (May 2018) and
   77.2% (December 2018). Each wave is a stratified two-stage sample: the strata are
   the town's 10 wards and communes; in each, 4 residential groups (tổ dân phố, thôn)
   are drawn at random out of 8-14 (the PSUs), and 12 citizens who used the one-stop
   desk are interviewed in each group: 480 per wave. The design weight of a
   respondent is the commune's yearly transactions over its 48 interviews. The three
   waves are drawn independently, so they are declared independent samples (no
   ``panel_of``): group labels that repeat from one wave to the next are the same
   names, not the same sample, and changes between waves use a zero covariance.
   Their lonely-PSU rule is the default ``adjust``.
2. Quảng Ngãi province: the administrative-reform survey of 2021 and 2022 over 18
   provincial departments and 13 districts, a stratified random sample of 90 citizens
   per department and 110 per district. The true rates are evenly spaced (departments
   93% to 72%, districts 92% to 70%) and their order is a seeded permutation, except
   that the true ranks of the labour department (12th -> 2nd), the ICT department
   (16th -> 3rd) and Bình Sơn district (last -> 2nd) move as the press reported.
3. Thirty days of kiosk and phone feedback (up to the seeding day) at the Hoàng Mai
   desks and three Quảng Ngãi desks, Poisson daily volumes, one burst of identical
   answers flagged for the survey team, and one desk that stopped sending a week ago.

Interviews take place on a uniformly drawn day of the fieldwork, between 08:00 and
18:00 Vietnam time; kiosk and phone answers between 08:00 and 17:00, the desks'
opening hours. (Drawn in UTC from 08:00, the interviews once ran to 01:00 at night,
and a wave's last ones fell on the day after its end in local time.)

Every simulated field survey is closed the day after its fieldwork ended, as its
survey team would have done: its figures are final, and the index-drop alerts compare
the last two closed waves of a questionnaire.

The response model
------------------
A unit's true rate ``p`` is the share of satisfied answers in its population. Within
a commune, group rates deviate from the commune's by a centred normal amount (sd 4
points), and commune rates from the town's by centred amounts (sd 5 points) whose
transaction-weighted mean is zero, so the town's true rate is exactly the stated one.
A respondent's own propensity is drawn from ``Beta(4 p, 4 (1 - p))`` (mean ``p``;
answers of one person are correlated, intra-person correlation 0.2) and each
five-level criterion is "satisfied" (level 4 or 5, in ratio 3:2) with that
propensity, otherwise level 1, 2 or 3 with probabilities 0.1, 0.3, 0.6. So every
criterion, every aspect and the overall index have expectation ``p``. Choice items
are uniform; optional items are skipped with probability 0.1; skip logic is obeyed.
"""

from survey_app.demo.model import (
    HOANG_MAI,
    HOANG_MAI_WAVES,
    QN_DEPARTMENTS,
    quang_ngai_true_rates,
    quang_ngai_units,
    simulate_answers,
)
from survey_app.demo.seeding import database_is_empty, seed, seed_hoang_mai

__all__ = [
    "HOANG_MAI",
    "HOANG_MAI_WAVES",
    "QN_DEPARTMENTS",
    "database_is_empty",
    "quang_ngai_true_rates",
    "quang_ngai_units",
    "seed",
    "seed_hoang_mai",
    "simulate_answers",
]

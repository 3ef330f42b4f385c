"""Small-area (Fay–Herriot) estimates of the communes' satisfaction rates in a field wave.

A field wave gives each commune a few dozen interviews in a handful of PSUs, so many
commune figures fail the reporting rule. :func:`.fitting.estimate` fits the Fay–Herriot
area-level model (:mod:`analysis.small_area`) to the communes' direct estimates of the
overall satisfaction rate and their design variances (both from
:func:`survey_app.reporting.indices.compute.compute`), with covariates the platform has:

- ``feedback``: the commune's continuous-feedback (kiosk and phone) satisfaction rate,
  the model-based figure of :func:`~survey_app.reporting.indices.compute.compute` on the
  continuous-feedback wave that overlaps the field wave's dates the most;
- ``previous``: the commune's direct estimate in the previous field wave of the same
  unit and questionnaire (the latest that ended before this one started);
- any numeric column of a per-commune file uploaded by the analyst
  (:func:`.covariates.read_covariate_file`, columns ``unit_code`` and one per covariate).

A commune without a covariate value cannot be modelled and keeps its direct figure
only (listed in :attr:`.results.SmallAreaResult.excluded`). A commune of the wave's unit without
any interview gets the synthetic estimate ``x'β`` and its MSE.

Sampling variances: a commune's design variance from a handful of PSUs (degrees of
freedom below :data:`.results.FEW_DF`) is itself very noisy, and the model takes it as known;
by default such variances are replaced by the proportion GVF
(:func:`analysis.small_area.gvf_proportions`, pooled design effect), and every
commune says which variance it got (``variance_source``).

The fit is design-consistent only in the sense of the model: every small-area figure
is model-based and must be labelled so. :func:`.publication.published` gives the fit a survey team
switched on for a wave (:func:`.publication.set_switch`, audited), for the pages that show

Files, in import order (each imports only those above it):

- ``results.py``: the constants, :class:`results.SmallAreaError` and the result classes;
- ``covariates.py``: the communes, the previous and feedback waves, the covariates on
  offer and :func:`covariates.read_covariate_file`;
- ``fitting.py``: :func:`fitting.estimate` and :func:`fitting.residual_figure`;
- ``publication.py``: the per-wave switch (:func:`publication.set_switch`) and
  :func:`publication.published`.
"""

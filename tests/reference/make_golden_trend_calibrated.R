# Reference values for tests/weighting/test_trend_calibrated_golden.py: a unit's trend
# (slope per year across waves) when every wave's weights were post-stratified, raked or
# calibrated, computed with R's survey package.
#
# Run from the repository root:   Rscript tests/reference/make_golden_trend_calibrated.R
# Needs R >= 4 with the packages survey and jsonlite
# (Debian: apt-get install r-base-core r-cran-survey r-cran-jsonlite).
#
# Data: the three waves of the simulated field survey of tests/reference/make_indices_data.py
# (tests/reference/data_indices/{responses,waves}.csv, 4 units D1-D4 in the district DIST),
# with the sex rule of tests/reference/make_golden_published.R: sex = "f" when id %% 5 < 2,
# else "m". Time t is the wave's time in decimal years (waves.csv; the app's wave_time).
#
# Population targets per wave (made up; wave 3's are those of make_golden_published.R):
#   wave 1: unit D1 50,000; D2 58,000; D3 45,000; D4 55,000.  sex: f 100,000; m 108,000.
#   wave 2: unit D1 51,000; D2 60,000; D3 46,000; D4 57,000.  sex: f 105,000; m 109,000.
#   wave 3: unit D1 52,000; D2 61,000; D3 47,000; D4 58,000.  sex: f 109,000; m 109,000.
#
# The waves are independent samples: one stacked design whose strata and PSUs are made
# wave-specific (the "independent" design of make_golden_indices.R). The app weights each
# wave on its own (one active weighting scheme per wave) and its variance replaces each
# wave's linearized scores by their residuals on that wave's auxiliary information. In R
# the stacked design is weighted ONCE with wave-specific margins (wave x unit, wave x sex):
#   poststratify:      postStratify(des, ~wave_unit, pop_wave_unit)
#   rake:              rake(des, list(~wave_unit, ~wave_sex), list(pop_wave_unit, pop_wave_sex))
#   calibrate-linear:  calibrate(des, ~wave_f + wave_f:unit + wave_f:sex, totals)
#   calibrate-raking:  calibrate(des, ~wave_f + wave_f:unit + wave_f:sex, totals,
#                                calfun = "raking")
# Why this is the same estimator as weighting each wave separately: every margin cell
# (or, for calibrate, the model matrix, which spans the same space as the block-diagonal
# per-wave matrices [1, unitD2, unitD3, unitD4, sexm]) lies inside one wave, so
#  - the weights solve wave-separate problems (post-stratification cell by cell; the
#    calibration equations are block diagonal, and linear and exponential g-weights depend
#    on the model matrix only through its column space). The iterative methods could
#    stop at another iteration than a wave weighted alone, as their convergence tests
#    look at every wave at once (rake: the largest change over all cells; calibrate with
#    calfun = "raking": every equation within epsilon = 1e-7 relative). The script
#    checks the stacked weights against each wave weighted alone (the per-wave call of
#    make_golden_published.R on d[d$wave == k, ]) and records the largest relative
#    difference in each case ("weights_vs_alone"): 0 for rake and below 1e-14 for
#    postStratify and linear calibration (checked < 1e-10), 7.4e-8 for calibrate-raking
#    (wave 2 alone stops one Newton step earlier than the stacked waves; checked < 1e-6).
#    The app weights each wave alone, as R does on one wave, so its calibrate-raking
#    weights of wave 2 differ from the stacked ones by that much;
#  - svyrecvar's residuals (cell means for postStratify, the iterated margin means for
#    rake, the weighted least-squares residuals on the model matrix for calibrate) are
#    computed within each wave, i.e. they are the per-wave residuals.
#
# Trends, for the district (DIST, the whole wave) and unit D1, in four indices:
#  - item:ov rate: svyglm(ov_sat ~ t) on the calibrated stacked design (ov_sat NA when ov
#    is not answered, so svyglm drops those rows), the estimator the app uses for an index
#    that is one ratio (waves weighted by their valid answers);
#  - the overall index (SIPAS mean of the three aspects' pooled rates, or of their mean
#    scores) and aspect:access's rate: the weighted least-squares slope of the waves'
#    figures y_k on t_k, the app's estimator for these indices, written as one smooth
#    function of the calibrated totals and linearized by svycontrast:
#        slope = sum_k W_k (t_k - tbar) y_k / sum_k W_k (t_k - tbar)^2,
#        tbar = sum_k W_k t_k / sum_k W_k,
#    with W_k the wave's sum of weights (overall index) or its valid answers' (aspect, one
#    ratio), all totals from svytotal(..., cal). The script checks that this svycontrast,
#    with the ov item's totals and valid-answer weights, equals the svyglm slope and SE
#    (1e-10 relative): the two formulations are one estimator.
# df: svyglm's residual df (degf of its design - 1) for the svyglm cases; for the
# svycontrast cases degf(cal) - 1, the app's (the stacked design's PSUs minus strata,
# minus 1), with CI est -/+ qt(0.975, df) * SE and the two-sided t p-value.
#
# Every record carries the exact R calls that produced its numbers ("call").

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
ref <- file.path("tests", "reference")
d <- read.csv(file.path(ref, "data_indices", "responses.csv"), stringsAsFactors = FALSE)
waves <- read.csv(file.path(ref, "data_indices", "waves.csv"), stringsAsFactors = FALSE)
d$sex <- ifelse(d$id %% 5 < 2, "f", "m")
d$t <- waves$t[d$wave]
d$wave_f <- factor(d$wave)
d$wave_stratum <- paste(d$wave, d$stratum)
d$wave_psu <- paste(d$wave, d$psu)
d$wave_unit <- paste(d$wave, d$unit)
d$wave_sex <- paste(d$wave, d$sex)

source(file.path(ref, "golden_counts.R"))  # aspects, satisfied, valid, points, add_counts
d <- add_counts(d)
d$ov_sat <- as.numeric(d$ov >= 4)  # NA when ov is not answered
d$s_ov <- satisfied(d$ov)
d$v_ov <- valid(d$ov)
d$one <- 1

# Domain-indicator totals per unit (DIST, D1) and wave k: W (weights), S/V/P per aspect,
# S/V of the ov item; named <var>_<unit>_<k>, 0 outside the domain.
units <- c("DIST", "D1")
for (u in units) for (k in 1:3) {
  inside <- d$wave == k & (u == "DIST" | d$unit == u)
  d[[sprintf("W_%s_%d", u, k)]] <- d$one * inside
  for (a in c(names(aspects), "ov")) for (s in c("s", "v", "p")) {
    if (a == "ov" && s == "p") next
    d[[sprintf("%s_%s_%s_%d", toupper(s), a, u, k)]] <- d[[paste0(s, "_", a)]] * inside
  }
}

targets <- list(
  unit = list(`1` = c(D1 = 50000, D2 = 58000, D3 = 45000, D4 = 55000),
              `2` = c(D1 = 51000, D2 = 60000, D3 = 46000, D4 = 57000),
              `3` = c(D1 = 52000, D2 = 61000, D3 = 47000, D4 = 58000)),
  sex = list(`1` = c(f = 100000, m = 108000), `2` = c(f = 105000, m = 109000),
             `3` = c(f = 109000, m = 109000)))
long <- function(margin) {
  tab <- targets[[margin]]
  do.call(rbind, lapply(names(tab), function(k) {
    data.frame(wave = as.integer(k), code = names(tab[[k]]), Freq = unname(tab[[k]]),
               stringsAsFactors = FALSE)
  }))
}
pop_unit <- long("unit")
pop_sex <- long("sex")
pop_wave_unit <- data.frame(wave_unit = paste(pop_unit$wave, pop_unit$code), Freq = pop_unit$Freq)
pop_wave_sex <- data.frame(wave_sex = paste(pop_sex$wave, pop_sex$code), Freq = pop_sex$Freq)
# calibrate's totals, one per column of model.matrix(~wave_f + wave_f:unit + wave_f:sex)
wave_total <- sapply(targets$unit, sum)
stopifnot(all(wave_total == sapply(targets$sex, sum)))
columns <- colnames(model.matrix(~wave_f + wave_f:unit + wave_f:sex, d))
total_of <- function(column) {
  if (column == "(Intercept)") return(sum(wave_total))
  parts <- strsplit(column, ":", fixed = TRUE)[[1]]
  k <- sub("wave_f", "", parts[1])
  if (length(parts) == 1) return(wave_total[[k]])
  if (startsWith(parts[2], "unit")) return(targets$unit[[k]][[sub("unit", "", parts[2])]])
  targets$sex[[k]][[sub("sex", "", parts[2])]]
}
totals <- setNames(sapply(columns, total_of), columns)

design_call <- "svydesign(ids=~wave_psu, strata=~wave_stratum, weights=~weight, data=d)"
des <- eval(parse(text = design_call))
methods <- list(
  poststratify = "postStratify(des, ~wave_unit, pop_wave_unit)",
  rake = "rake(des, list(~wave_unit, ~wave_sex), list(pop_wave_unit, pop_wave_sex))",
  `calibrate-linear` = "calibrate(des, ~wave_f + wave_f:unit + wave_f:sex, totals)",
  `calibrate-raking` = paste0("calibrate(des, ~wave_f + wave_f:unit + wave_f:sex, totals, ",
                              "calfun = \"raking\")")
)
# The same method on one wave alone (the app's per-wave weighting, make_golden_published.R)
alone <- list(
  poststratify = function(dw, k) postStratify(dw, ~unit, data.frame(
    unit = names(targets$unit[[k]]), Freq = unname(targets$unit[[k]]))),
  rake = function(dw, k) rake(dw, list(~unit, ~sex), list(
    data.frame(unit = names(targets$unit[[k]]), Freq = unname(targets$unit[[k]])),
    data.frame(sex = names(targets$sex[[k]]), Freq = unname(targets$sex[[k]])))),
  `calibrate-linear` = function(dw, k) calibrate(dw, ~unit + sex, wave_totals(k)),
  `calibrate-raking` = function(dw, k) calibrate(dw, ~unit + sex, wave_totals(k),
                                                 calfun = "raking")
)
wave_totals <- function(k) {
  u <- targets$unit[[k]]; s <- targets$sex[[k]]
  c(`(Intercept)` = sum(u), unitD2 = u[["D2"]], unitD3 = u[["D3"]], unitD4 = u[["D4"]],
    sexm = s[["m"]])
}

num <- function(x) unname(as.vector(x))
rel <- function(a, b) max(abs(a / b - 1))
times <- waves$t
# slope = sum_k W_k (t_k - tbar) y_k / sum_k W_k (t_k - tbar)^2 as an R expression
slope_expr <- function(weight, value) {
  w <- sapply(1:3, weight)
  tbar <- sprintf("((%s)/(%s))", paste(sprintf("%s*%.17g", w, times), collapse = " + "),
                  paste(w, collapse = " + "))
  dev <- sprintf("(%.17g - %s)", times, tbar)
  sprintf("(%s)/(%s)",
          paste(sprintf("%s*%s*(%s)", w, dev, sapply(1:3, value)), collapse = " + "),
          paste(sprintf("%s*%s^2", w, dev), collapse = " + "))
}
tstat <- function(est, se, df) {
  list(ci_low = est - qt(0.975, df) * se, ci_high = est + qt(0.975, df) * se,
       p_value = 2 * pt(-abs(est / se), df))
}

cases <- list()
for (method in names(methods)) {
  cal <- eval(parse(text = methods[[method]]))
  weighted_call <- sprintf("cal <- %s with des <- %s", methods[[method]], design_call)
  # the stacked weighting is each wave's own
  apart <- max(sapply(1:3, function(k) {
    dw <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = d[d$wave == k, ])
    rel(weights(cal)[d$wave == k], weights(alone[[method]](dw, as.character(k))))
  }))
  stopifnot(apart < if (method == "calibrate-raking") 1e-6 else 1e-10)
  vars <- grep("^[WSVP]_", names(d), value = TRUE)
  tot <- svytotal(as.formula(paste("~", paste(vars, collapse = "+"))), cal)
  tot_call <- "tot <- svytotal(~W_u_k + S_a_u_k + V_a_u_k + P_a_u_k + S_ov_u_k + V_ov_u_k for every aspect a, unit u in DIST, D1, wave k, cal)"
  for (u in units) {
    # item:ov rate: svyglm
    design_text <- if (u == "DIST") "cal" else sprintf('subset(cal, unit=="%s")', u)
    # (for D1, summary.glm warns that the zero-weight rows outside the subset are left out
    # of the dispersion, which the design-based SE does not use)
    call <- sprintf("svyglm(ov_sat ~ t, design=%s)", design_text)
    m <- eval(parse(text = call))
    co <- summary(m)$coefficients
    ci <- confint(m)["t", ]
    glm_values <- list(slope = co["t", "Estimate"], se = co["t", "Std. Error"],
                       p_value = co["t", "Pr(>|t|)"], df = m$df.residual,
                       ci_low = num(ci[1]), ci_high = num(ci[2]))
    # the same slope as a function of totals (the formulation of the other cases)
    expr <- slope_expr(function(k) sprintf("V_ov_%s_%d", u, k),
                       function(k) sprintf("S_ov_%s_%d/V_ov_%s_%d", u, k, u, k))
    con <- svycontrast(tot, parse(text = expr)[[1]])
    stopifnot(rel(num(coef(con)), glm_values$slope) < 1e-10,
              rel(num(SE(con)), glm_values$se) < 1e-10)
    cases[[length(cases) + 1]] <- list(
      id = sprintf("%s trend item:ov rate %s", method, u), method = method, unit = u,
      index = "item:ov", kind = "rate",
      call = paste0(call, "; summary(.)$coefficients['t', ]; confint(.)['t', ]; .$df.residual; ",
                    weighted_call),
      weights_vs_alone = apart, values = glm_values)
    # the overall index (rate, score) and aspect:access's rate: svycontrast of totals
    specs <- list(
      list(index = "overall", kind = "rate", top = "S"),
      list(index = "overall", kind = "score", top = "P"),
      list(index = "aspect:access", kind = "rate", top = "S"))
    for (s in specs) {
      if (s$index == "overall") {
        weight <- function(k) sprintf("W_%s_%d", u, k)
        value <- function(k) sprintf("(%s)/3", paste(sprintf("%s_%s_%s_%d/V_%s_%s_%d", s$top,
          names(aspects), u, k, names(aspects), u, k), collapse = " + "))
      } else {
        weight <- function(k) sprintf("V_access_%s_%d", u, k)
        value <- function(k) sprintf("%s_access_%s_%d/V_access_%s_%d", s$top, u, k, u, k)
      }
      expr <- slope_expr(weight, value)
      con <- svycontrast(tot, parse(text = expr)[[1]])
      est <- num(coef(con)); se <- num(SE(con)); df <- degf(cal) - 1
      cases[[length(cases) + 1]] <- list(
        id = sprintf("%s trend %s %s %s", method, s$index, s$kind, u), method = method,
        unit = u, index = s$index, kind = s$kind, weights_vs_alone = apart,
        call = sprintf(paste0("svycontrast(tot, quote(%s)); df <- degf(cal) - 1; ",
                              "ci = est -/+ qt(0.975, df) * SE; p = 2 * pt(-|est/SE|, df); ",
                              "%s; %s"), expr, tot_call, weighted_call),
        values = c(list(slope = est, se = se, df = df), tstat(est, se, df)))
    }
  }
}

out <- list(
  generated_by = "tests/reference/make_golden_trend_calibrated.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  sex_rule = "sex = \"f\" when id %% 5 < 2, else \"m\"",
  design = design_call,
  targets = lapply(targets, function(m) lapply(m, as.list)),
  times = setNames(as.list(times), waves$code),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(ref, "golden_trend_calibrated.json"))
cat(sprintf("wrote %d cases to %s\n", length(cases),
            file.path(ref, "golden_trend_calibrated.json")))

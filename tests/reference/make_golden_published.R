# Reference values for tests/weighting/test_published_golden.py: the published figures
# of a wave after its weights were post-stratified, raked or calibrated, computed with R's
# survey package.
#
# Run from the repository root:   Rscript tests/reference/make_golden_published.R
# Needs R >= 4 with the packages survey and jsonlite
# (Debian: apt-get install r-base-core r-cran-survey r-cran-jsonlite).
#
# Data: wave 3 of the simulated field survey of tests/reference/make_indices_data.py
# (tests/reference/data_indices/responses.csv, 4 units D1-D4 in the district DIST), with
# one demographic variable derived from the respondent id (documented, so the test can
# store the same value): sex = "f" when id %% 5 < 2, else "m".
#
# Population targets (made up, one district of 218,000 transactions):
#   unit: D1 52,000; D2 61,000; D3 47,000; D4 58,000.   sex: f 109,000; m 109,000.
# Weighting methods, each from the design weights (the console's defaults):
#   poststratify:      postStratify(des, ~unit, pop_unit)
#   rake:              rake(des, list(~unit, ~sex), list(pop_unit, pop_sex))
#                      (control: maxit = 10, epsilon = 1, R's defaults and the console's)
#   calibrate-linear:  calibrate(des, ~unit + sex, totals)
#   calibrate-raking:  calibrate(des, ~unit + sex, totals, calfun = "raking")
# with totals = c(`(Intercept)` = 218000, unitD2 = 61000, unitD3 = 47000, unitD4 = 58000,
# sexm = 109000).
#
# Figures, for the district (the whole wave) and each unit: the overall index (SIPAS: the
# mean of the three aspects' pooled rates, or of their mean scores) from the domain's
# subset of the weighted design, as tests/reference/make_golden_indices.R computes it:
# svyratio of the three aspects jointly, svycontrast of their mean, df = degf(subset),
# rate CI = the logit interval of svyciprop written out, score CI = est -/+ qt * SE.
# And each aspect's rate by unit: svyby(..., FUN = svyratio).
#
# Every record carries the exact R calls that produced its numbers ("call").

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
ref <- file.path("tests", "reference")
all <- read.csv(file.path(ref, "data_indices", "responses.csv"), stringsAsFactors = FALSE)
d <- all[all$wave == 3, ]
d$sex <- ifelse(d$id %% 5 < 2, "f", "m")

source(file.path(ref, "golden_counts.R"))  # aspects, satisfied, valid, points, add_counts
d <- add_counts(d)

design_call <- "svydesign(ids=~psu, strata=~stratum, weights=~weight, data=d)"
des <- eval(parse(text = design_call))
pop_unit <- data.frame(unit = c("D1", "D2", "D3", "D4"), Freq = c(52000, 61000, 47000, 58000))
pop_sex <- data.frame(sex = c("f", "m"), Freq = c(109000, 109000))
totals <- c(`(Intercept)` = 218000, unitD2 = 61000, unitD3 = 47000, unitD4 = 58000,
            sexm = 109000)
methods <- list(
  poststratify = "postStratify(des, ~unit, pop_unit)",
  rake = "rake(des, list(~unit, ~sex), list(pop_unit, pop_sex))",
  `calibrate-linear` = "calibrate(des, ~unit + sex, totals)",
  `calibrate-raking` = "calibrate(des, ~unit + sex, totals, calfun = \"raking\")"
)
domains <- data.frame(key = c("DIST", "D1", "D2", "D3", "D4"),
                      condition = c("TRUE", 'unit == "D1"', 'unit == "D2"', 'unit == "D3"',
                                    'unit == "D4"'), stringsAsFactors = FALSE)
num <- function(x) unname(as.vector(x))
qlogis_ci <- function(p, se, df) plogis(qlogis(p) + c(-1, 1) * qt(0.975, df) * se / (p * (1 - p)))

cases <- list()
for (method in names(methods)) {
  cal <- eval(parse(text = methods[[method]]))
  weighted_call <- sprintf("cal <- %s with des <- %s", methods[[method]], design_call)
  for (kind in c("rate", "score")) {
    top <- if (kind == "rate") "s" else "p"
    vals <- list(estimate = c(), se = c(), df = c(), ci_low = c(), ci_high = c())
    for (i in seq_len(nrow(domains))) {
      sub <- subset(cal, eval(parse(text = domains$condition[i])))
      r <- svyratio(as.formula(sprintf("~%s_access+%s_process+%s_staff", top, top, top)),
                    ~v_access+v_process+v_staff, sub, covmat = TRUE)
      weights <- setNames(rep(1 / 3, 3), sprintf("%s_%s/v_%s", top, names(aspects), names(aspects)))
      con <- svycontrast(r, weights)
      df <- degf(sub)
      est <- num(coef(con)); se <- num(SE(con))
      ci <- if (kind == "rate") qlogis_ci(est, se, df) else est + c(-1, 1) * qt(0.975, df) * se
      vals$estimate <- c(vals$estimate, est); vals$se <- c(vals$se, se); vals$df <- c(vals$df, df)
      vals$ci_low <- c(vals$ci_low, ci[1]); vals$ci_high <- c(vals$ci_high, ci[2])
    }
    call <- sprintf(paste0(
      "sub <- subset(cal, DOMAIN); r <- svyratio(~%s_access+%s_process+%s_staff, ",
      "~v_access+v_process+v_staff, sub, covmat=TRUE); svycontrast(r, c('%s_access/v_access'=1/3, ",
      "'%s_process/v_process'=1/3, '%s_staff/v_staff'=1/3)); df <- degf(sub); ci = %s; %s"),
      top, top, top, top, top, top,
      if (kind == "rate") "plogis(qlogis(p) -/+ qt(0.975, df) * SE / (p * (1 - p)))"
      else "est -/+ qt(0.975, df) * SE", weighted_call)
    cases[[length(cases) + 1]] <- list(
      id = sprintf("%s overall %s", method, kind), method = method, index = "overall",
      kind = kind, domains = domains$key, call = call, values = vals)
  }
  for (a in names(aspects)) {
    call <- sprintf("svyby(~s_%s, ~unit, denominator=~v_%s, design=cal, FUN=svyratio)", a, a)
    b <- eval(parse(text = call))
    cases[[length(cases) + 1]] <- list(
      id = sprintf("%s aspect:%s rate by unit", method, a), method = method,
      index = paste0("aspect:", a), kind = "rate", domains = as.character(b$unit),
      call = paste0(call, "; ", weighted_call),
      values = list(estimate = num(coef(b)), se = num(SE(b))))
  }
}

out <- list(
  generated_by = "tests/reference/make_golden_published.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  sex_rule = "sex = \"f\" when id %% 5 < 2, else \"m\"",
  targets = list(unit = setNames(as.list(pop_unit$Freq), pop_unit$unit),
                 sex = setNames(as.list(pop_sex$Freq), pop_sex$sex)),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(ref, "golden_published.json"))
cat(sprintf("wrote %d cases to %s\n", length(cases), file.path(ref, "golden_published.json")))

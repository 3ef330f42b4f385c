# Golden values for analysis.weighting: R's postStratify, rake, calibrate and
# trimWeights on the api data, and svymean/svytotal/svyciprop/svyby on the
# adjusted designs.
#
# Run from the repository root:
#   Rscript tests/reference/make_golden_weights.R
# Needs R >= 4 with survey and jsonlite (Debian: r-base-core r-cran-survey
# r-cran-jsonlite). Writes tests/reference/golden_weights.json and the inputs in
# tests/reference/data_weights/: the sample data (apisrs, apistrat, apiclus1) and
# the apipop-derived targets, margins and totals in the CLI's CSV formats
# (cells + target; variable,level,target).
#
# Every case stores the exact R calls that produced it.

suppressMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail", warn = 1)
data(api)
# a binary outcome that no weighting case calibrates on (its share stays random)
for (nm in c("apisrs", "apistrat", "apiclus1", "apipop")) {
  df <- get(nm)
  df$api700 <- as.integer(df$api00 >= 700)
  assign(nm, df)
}

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data_weights")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

# ---- data -------------------------------------------------------------------
cols <- c("cds", "snum", "dnum", "cnum", "stype", "sch.wide", "comp.imp", "awards",
          "api00", "api99", "enroll", "api700", "pw", "fpc")
samples <- list(apisrs = apisrs, apistrat = apistrat, apiclus1 = apiclus1)
for (nm in names(samples)) {
  write.csv(samples[[nm]][, cols], file.path(data_dir, paste0(nm, ".csv")),
            row.names = FALSE)
}

design_calls <- list(
  apisrs = "svydesign(id = ~1, fpc = ~fpc, data = apisrs)",
  apistrat = "svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat)",
  apiclus1 = "svydesign(id = ~dnum, fpc = ~fpc, data = apiclus1)"
)
design_specs <- list(
  apisrs = list(ids = list(), strata = NULL, fpc = list("fpc")),
  apistrat = list(ids = list(), strata = "stype", fpc = list("fpc")),
  apiclus1 = list(ids = list("dnum"), strata = NULL, fpc = list("fpc"))
)

# ---- targets from apipop ----------------------------------------------------
write_cells <- function(tab, file) {
  df <- as.data.frame(tab, stringsAsFactors = FALSE)
  names(df)[ncol(df)] <- "target"
  write.csv(df, file.path(data_dir, file), row.names = FALSE)
}
write_long <- function(rows, file) {
  write.csv(rows, file.path(data_dir, file), row.names = FALSE, na = "")
}
margin_rows <- function(vars) {
  do.call(rbind, lapply(vars, function(v) {
    t <- table(apipop[[v]])
    data.frame(variable = v, level = names(t), target = as.vector(t),
               stringsAsFactors = FALSE)
  }))
}

pop_stype <- xtabs(~stype, apipop)
pop_stype_schwide <- xtabs(~stype + sch.wide, apipop)
pop_cnum <- xtabs(~cnum, apipop)
write_cells(pop_stype, "targets_stype.csv")
write_cells(pop_stype_schwide, "targets_stype_schwide.csv")
write_cells(pop_cnum, "targets_cnum.csv")
write_long(margin_rows(c("stype", "sch.wide")), "margins_stype_schwide.csv")
write_long(margin_rows(c("stype", "sch.wide", "comp.imp")), "margins_stype_schwide_compimp.csv")
write_long(margin_rows(c("stype", "awards", "comp.imp")), "margins_stype_awards_compimp.csv")

N <- nrow(apipop)
api99_total <- sum(apipop$api99)
totals_lin <- c(`(Intercept)` = N, stypeH = sum(apipop$stype == "H"),
                stypeM = sum(apipop$stype == "M"), api99 = api99_total)
write_long(rbind(margin_rows("stype"),
                 data.frame(variable = "api99", level = NA, target = api99_total)),
           "totals_stype_api99.csv")
totals_rake <- c(`(Intercept)` = N, stypeH = sum(apipop$stype == "H"),
                 stypeM = sum(apipop$stype == "M"),
                 sch.wideYes = sum(apipop$sch.wide == "Yes"),
                 comp.impYes = sum(apipop$comp.imp == "Yes"))
write_long(margin_rows(c("stype", "sch.wide", "comp.imp")), "totals_stype_schwide_compimp.csv")

# ---- helpers ----------------------------------------------------------------
num <- function(x) unname(as.vector(x))

ci_of <- function(stat) {
  ci <- confint(stat)
  list(low = num(ci[, 1]), high = num(ci[, 2]))
}

estimates_for <- function(d, dname) {
  res <- list()
  add <- function(call, kind, variable, value, se, ci, extra = list()) {
    res[[length(res) + 1]] <<- c(list(call = call, kind = kind, variable = variable,
                                      estimate = num(value), se = num(se),
                                      ci_low = ci$low, ci_high = ci$high), extra)
  }
  m <- svymean(~api00, d, deff = TRUE)
  add("confint(svymean(~api00, design, deff = TRUE))", "mean", "api00",
      coef(m), SE(m), ci_of(m), list(deff = num(deff(m))))
  t <- svytotal(~enroll, d)
  add("confint(svytotal(~enroll, design))", "total", "enroll", coef(t), SE(t), ci_of(t))
  for (meth in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
    p <- svyciprop(~I(api700 == 1), d, method = meth)
    ci <- attr(p, "ci")
    add(sprintf("svyciprop(~I(api700 == 1), design, method = \"%s\")", meth),
        "proportion", "api700", coef(p), SE(p),
        list(low = num(ci[1]), high = num(ci[2])),
        list(level = 1, method = meth, df = degf(d)))
  }
  # svyby(..., covmat = TRUE) fails on calibrated designs in survey 4.1.1
  # ("number of items to replace"), so the domain covariance is taken from
  # svytotal of domain-interacted variables instead (the same linearization).
  b <- svyby(~api00, ~awards, d, svymean)
  bci <- confint(b)
  add("svyby(~api00, ~awards, design, svymean); confint(...)",
      "mean", "api00", coef(b), SE(b), list(low = num(bci[, 1]), high = num(bci[, 2])),
      list(by = "awards", domains = as.character(b$awards)))
  bt <- svyby(~enroll, ~stype, d, svytotal)
  btci <- confint(bt)
  dt <- svytotal(~I(enroll * (stype == "E")) + I(enroll * (stype == "H")) +
                   I(enroll * (stype == "M")), d)
  add("svyby(~enroll, ~stype, design, svytotal); confint(...)",
      "total", "enroll", coef(bt), SE(bt), list(low = num(btci[, 1]), high = num(btci[, 2])),
      list(by = "stype", domains = as.character(bt$stype),
           vcov_call = paste0("vcov(svytotal(~I(enroll * (stype == \"E\")) + ",
                              "I(enroll * (stype == \"H\")) + I(enroll * (stype == \"M\")), design))"),
           vcov = unname(lapply(seq_len(3), function(i) num(vcov(dt)[i, ])))))
  for (meth in c("logit", "beta")) {
    bp <- svyby(~I(api700 == 1), ~stype, d, svyciprop, vartype = c("se", "ci"),
                method = meth)
    add(sprintf(paste0("svyby(~I(api700 == 1), ~stype, design, svyciprop, ",
                       "vartype = c(\"se\", \"ci\"), method = \"%s\")"), meth),
        "proportion", "api700", coef(bp), SE(bp),
        list(low = num(bp$ci_l), high = num(bp$ci_u)),
        list(level = 1, method = meth, by = "stype",
             domains = as.character(bp$stype), df = degf(d)))
  }
  res
}

cases <- list()
run_case <- function(dname, name, call, spec, base = NULL) {
  design <- get(paste0("d_", dname))
  if (!is.null(base)) design <- base
  warnings_seen <- character(0)
  adjusted <- withCallingHandlers(
    eval(parse(text = call), envir = list2env(list(design = design),
                                                 parent = globalenv())),
    warning = function(w) {
      warnings_seen <<- c(warnings_seen, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  cases[[length(cases) + 1]] <<- list(
    name = paste(dname, name, sep = "/"), dataset = dname,
    design_call = design_calls[[dname]], design = design_specs[[dname]],
    call = call, spec = spec, r_warnings = warnings_seen,
    weights = num(weights(adjusted)), degf = degf(adjusted),
    estimates = estimates_for(adjusted, dname))
  adjusted
}

d_apisrs <- svydesign(id = ~1, fpc = ~fpc, data = apisrs)
d_apistrat <- svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat)
d_apiclus1 <- svydesign(id = ~dnum, fpc = ~fpc, data = apiclus1)

lin_bounds <- list(apisrs = c(0.9, 1.1), apistrat = c(0.97, 1.03), apiclus1 = c(0.3, 1.15))
rak_bounds <- list(apisrs = c(0.5, 1.3), apistrat = c(0.5, 1.4), apiclus1 = c(0.1, 1.35))

fmt <- function(x) format(x, digits = 17)

for (dname in names(samples)) {
  run_case(dname, "poststratify_stype",
           "postStratify(design, ~stype, xtabs(~stype, apipop))",
           list(method = "poststratify", by = list("stype"), targets = "targets_stype.csv"))
  run_case(dname, "poststratify_stype_schwide",
           "postStratify(design, ~stype + sch.wide, xtabs(~stype + sch.wide, apipop))",
           list(method = "poststratify", by = list("stype", "sch.wide"),
                targets = "targets_stype_schwide.csv"))
  run_case(dname, "rake2_default",
           paste0("rake(design, list(~stype, ~sch.wide), ",
                  "list(xtabs(~stype, apipop), xtabs(~sch.wide, apipop)))"),
           list(method = "rake", margins = "margins_stype_schwide.csv",
                maxit = 10, epsilon = 1))
  run_case(dname, "rake3_tight",
           paste0("rake(design, list(~stype, ~sch.wide, ~comp.imp), ",
                  "list(xtabs(~stype, apipop), xtabs(~sch.wide, apipop), ",
                  "xtabs(~comp.imp, apipop)), control = list(maxit = 100, epsilon = 1e-12))"),
           list(method = "rake", margins = "margins_stype_schwide_compimp.csv",
                maxit = 100, epsilon = 1e-12))
  run_case(dname, "rake3_awards_default",
           paste0("rake(design, list(~stype, ~awards, ~comp.imp), ",
                  "list(xtabs(~stype, apipop), xtabs(~awards, apipop), ",
                  "xtabs(~comp.imp, apipop)))"),
           list(method = "rake", margins = "margins_stype_awards_compimp.csv",
                maxit = 10, epsilon = 1))
  run_case(dname, "rake3_not_converged",
           paste0("rake(design, list(~stype, ~sch.wide, ~comp.imp), ",
                  "list(xtabs(~stype, apipop), xtabs(~sch.wide, apipop), ",
                  "xtabs(~comp.imp, apipop)), control = list(maxit = 2, epsilon = 1e-12))"),
           list(method = "rake", margins = "margins_stype_schwide_compimp.csv",
                maxit = 2, epsilon = 1e-12, converged = FALSE))
  lin <- run_case(dname, "calibrate_linear",
           sprintf("calibrate(design, ~stype + api99, c(`(Intercept)` = %s, stypeH = %s, stypeM = %s, api99 = %s))",
                   fmt(totals_lin[1]), fmt(totals_lin[2]), fmt(totals_lin[3]), fmt(totals_lin[4])),
           list(method = "calibrate", calfun = "linear", totals = "totals_stype_api99.csv"))
  lb <- lin_bounds[[dname]]
  run_case(dname, "calibrate_linear_bounded",
           sprintf("calibrate(design, ~stype + api99, c(`(Intercept)` = %s, stypeH = %s, stypeM = %s, api99 = %s), bounds = c(%s, %s))",
                   fmt(totals_lin[1]), fmt(totals_lin[2]), fmt(totals_lin[3]), fmt(totals_lin[4]),
                   fmt(lb[1]), fmt(lb[2])),
           list(method = "calibrate", calfun = "linear", totals = "totals_stype_api99.csv",
                bounds = lb))
  run_case(dname, "calibrate_raking",
           sprintf("calibrate(design, ~stype + sch.wide + comp.imp, c(`(Intercept)` = %s, stypeH = %s, stypeM = %s, sch.wideYes = %s, comp.impYes = %s), calfun = \"raking\")",
                   fmt(totals_rake[1]), fmt(totals_rake[2]), fmt(totals_rake[3]),
                   fmt(totals_rake[4]), fmt(totals_rake[5])),
           list(method = "calibrate", calfun = "raking",
                totals = "totals_stype_schwide_compimp.csv"))
  rb <- rak_bounds[[dname]]
  run_case(dname, "calibrate_raking_bounded",
           sprintf("calibrate(design, ~stype + sch.wide + comp.imp, c(`(Intercept)` = %s, stypeH = %s, stypeM = %s, sch.wideYes = %s, comp.impYes = %s), calfun = \"raking\", bounds = c(%s, %s))",
                   fmt(totals_rake[1]), fmt(totals_rake[2]), fmt(totals_rake[3]),
                   fmt(totals_rake[4]), fmt(totals_rake[5]), fmt(rb[1]), fmt(rb[2])),
           list(method = "calibrate", calfun = "raking",
                totals = "totals_stype_schwide_compimp.csv", bounds = rb))
  w <- weights(lin)
  # bounds on a half-unit grid near the 10% and 90% quantiles. trimWeights stores
  # 1/weight and reads weights back as 1/(1/w): a bound that does not survive that
  # round trip (28.8 does not) makes strict = TRUE recurse until the C stack is full.
  lo <- floor(2 * quantile(w, 0.1, names = FALSE)) / 2
  hi <- ceiling(2 * quantile(w, 0.9, names = FALSE)) / 2
  stopifnot(1 / (1 / lo) == lo, 1 / (1 / hi) == hi)
  for (strict in c(FALSE, TRUE)) {
    run_case(dname, paste0("calibrate_linear_trim", if (strict) "_strict" else ""),
             sprintf("trimWeights(design, lower = %s, upper = %s, strict = %s)",
                     fmt(lo), fmt(hi), if (strict) "TRUE" else "FALSE"),
             list(method = "trim", base = paste(dname, "calibrate_linear", sep = "/"),
                  lower = lo, upper = hi, strict = strict),
             base = lin)
  }
}

# postStratify with partial = TRUE: apisrs misses 19 of the 57 counties
run_case("apisrs", "poststratify_cnum_partial",
         "postStratify(design, ~cnum, xtabs(~cnum, apipop), partial = TRUE)",
         list(method = "poststratify", by = list("cnum"), targets = "targets_cnum.csv",
              partial = TRUE))

# raking to margins that contradict each other (issue 13): the stype margin says
# E/H/M = 4000/1000/1194, the crossed stype x sch.wide margin sums to 1000/1200/1494 by
# stype (same grand total 6194). The passes stop changing after the first one (the
# crossed margin, raked last, is met; stype is not), so R reports convergence and
# warns nothing; analysis.weighting.rake returns the same weights and warns.
contra_call <- paste0(
  "rake(d_apiclus1, list(~stype, ~stype + sch.wide), list(",
  "data.frame(stype = c(\"E\", \"H\", \"M\"), Freq = c(4000, 1000, 1194)), ",
  "data.frame(stype = rep(c(\"E\", \"H\", \"M\"), 2), sch.wide = rep(c(\"No\", \"Yes\"), each = 3), ",
  "Freq = c(500, 200, 300, 3000, 1000, 1194))))")
contra_warnings <- character(0)
contra <- withCallingHandlers(eval(parse(text = contra_call)), warning = function(w) {
  contra_warnings <<- c(contra_warnings, conditionMessage(w))
  invokeRestart("muffleWarning")
})
rake_contradictory <- list(
  call = contra_call, dataset = "apiclus1",
  stype_margin = list(E = 4000, H = 1000, M = 1194),
  crossed_margin = list(stype = rep(c("E", "H", "M"), 2), sch.wide = rep(c("No", "Yes"), each = 3),
                        target = c(500, 200, 300, 3000, 1000, 1194)),
  r_warnings = contra_warnings,
  weights = num(weights(contra)),
  achieved_stype_call = "svytotal(~stype, adjusted)",
  achieved_stype = num(coef(svytotal(~stype, contra))))

golden <- list(
  rake_contradictory = rake_contradictory,
  generated_by = "Rscript tests/reference/make_golden_weights.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  notes = paste("weights = weights(adjusted design); estimates on the adjusted design;",
                "confint() of svymean/svytotal/svyby is Wald with the normal quantile;",
                "svyciprop uses t with degf(design)."),
  datasets = lapply(names(samples), function(nm) {
    list(name = nm, file = paste0(nm, ".csv"), design_call = design_calls[[nm]],
         design_weights = num(weights(get(paste0("d_", nm)))))
  }),
  cases = cases
)
writeLines(toJSON(golden, auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = FALSE),
           file.path(out_dir, "golden_weights.json"))
cat("wrote", length(cases), "cases\n")

# Reference values for tests/analysis/test_golden.py, computed with R's survey package.
#
# Run from the repository root:   Rscript tests/reference/make_golden.R
# Needs R >= 4 with the packages survey and jsonlite
# (Debian: apt-get install r-base-core r-cran-survey r-cran-jsonlite).
#
# Writes tests/reference/data/{apistrat,apiclus1,apiclus2,apisrs,apiboot}.csv (the api data
# shipped with survey, plus bootstrap replicate weights drawn here) and
# tests/reference/golden_estimation.json: one record per case with the exact R call
# that produced its numbers.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
data(api)
out_dir <- file.path("tests", "reference")
dir.create(file.path(out_dir, "data"), showWarnings = FALSE, recursive = TRUE)

keep <- c("cds", "stype", "sch.wide", "awards", "dnum", "snum", "api00", "api99",
          "enroll", "api.stu", "acs.k3", "meals", "pw", "fpc", "fpc1", "fpc2")
export <- function(df, name) {
  cols <- intersect(keep, names(df))
  df <- df[, cols]
  for (c in names(df)) if (is.factor(df[[c]])) df[[c]] <- as.character(df[[c]])
  if ("fpc2" %in% names(df)) df$fpc2 <- as.numeric(df$fpc2)
  write.csv(df, file.path(out_dir, "data", paste0(name, ".csv")), row.names = FALSE, na = "")
}
export(apistrat, "apistrat")
export(apiclus1, "apiclus1")
export(apiclus2, "apiclus2")
export(apisrs, "apisrs")

cases <- list()
add <- function(id, design, call, statistic, variable, values, by = NULL, extra = list()) {
  # deff: the svymean/svytotal/svyratio/svyby deff= argument named in the call
  da_used <- regmatches(call, regexpr('deff=("replace"|TRUE)', call))
  if (length(da_used)) extra$deff <- if (grepl("replace", da_used)) "replace" else TRUE
  rec <- c(list(id = id, design = design, call = call, statistic = statistic,
                variable = variable, by = by), extra, list(values = values))
  cases[[length(cases) + 1]] <<- rec
}
num <- function(x) unname(as.vector(x))
run <- function(expr_text) eval(parse(text = expr_text), envir = globalenv())

designs <- list(
  strat = "svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)",
  strat_nofpc = "svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat)",
  clus1 = "svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)",
  clus1_nofpc = "svydesign(id=~dnum, weights=~pw, data=apiclus1)",
  clus2 = "svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)",
  clus2_nofpc = "svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)",
  srs = "svydesign(id=~1, weights=~pw, fpc=~fpc, data=apisrs)",
  srs_nofpc = "svydesign(id=~1, weights=~pw, data=apisrs)"
)
for (nm in names(designs)) assign(paste0("d_", nm), suppressWarnings(run(designs[[nm]])))

deff_arg <- function(nm) if (grepl("nofpc", nm)) '"replace"' else "TRUE"

# --- whole-population estimates ------------------------------------------------------
for (nm in names(designs)) {
  d <- paste0("d_", nm)
  da <- deff_arg(nm)
  for (v in c("api00", "acs.k3")) {
    call <- sprintf("svymean(~%s, %s, na.rm=TRUE, deff=%s)", v, d, da)
    m <- run(call)
    ci <- confint(m, df = degf(get(d)))
    add(paste(nm, "mean", v), nm, paste0(call, "; confint(., df=degf(", d, "))"), "mean", v,
        list(estimate = num(coef(m)), se = num(SE(m)), deff = num(deff(m)),
             df = degf(get(d)), ci_low = num(ci[1]), ci_high = num(ci[2])))
  }
  call <- sprintf("svytotal(~enroll, %s, na.rm=TRUE, deff=%s)", d, da)
  m <- run(call)
  ci <- confint(m, df = degf(get(d)))
  add(paste(nm, "total enroll"), nm, paste0(call, "; confint(., df=degf(", d, "))"), "total",
      "enroll", list(estimate = num(coef(m)), se = num(SE(m)), deff = num(deff(m)),
                     df = degf(get(d)), ci_low = num(ci[1]), ci_high = num(ci[2])))
  call <- sprintf("svyratio(~api.stu, ~enroll, %s, na.rm=TRUE, deff=%s)", d, da)
  r <- run(call)
  add(paste(nm, "ratio"), nm, call, "ratio", "api.stu/enroll",
      list(estimate = num(coef(r)), se = num(SE(r)), deff = num(attr(r, "deff"))),
      extra = list(denominator = "enroll", numerator = "api.stu"))
  for (lev in list(c("sch.wide", "Yes"), c("stype", "E"))) {
    f <- sprintf('I(%s=="%s")', lev[1], lev[2])
    vals <- list()
    for (meth in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
      # NA when R cannot compute the interval (e.g. zero variance: stype in a stratified design)
      ci <- tryCatch(suppressWarnings(
        confint(run(sprintf("svyciprop(~%s, %s, method=\"%s\")", f, d, meth)))),
        error = function(e) c(NA, NA))
      vals[[paste0("ci_low_", meth)]] <- num(ci[1])
      vals[[paste0("ci_high_", meth)]] <- num(ci[2])
    }
    m <- run(sprintf("svymean(~as.numeric(%s), %s, deff=%s)", f, d, da))
    vals$estimate <- num(coef(m)); vals$se <- num(SE(m)); vals$deff <- num(deff(m))
    vals$df <- degf(get(d))
    add(paste(nm, "proportion", lev[1], lev[2]), nm,
        sprintf("svyciprop(~%s, %s, method=M) for M in logit, likelihood, asin, beta, mean, xlogit; svymean(~as.numeric(%s), %s, deff=%s)", f, d, f, d, da),
        "proportion", lev[1], vals, extra = list(level = lev[2]))
  }
}

# --- domains: svyby with covmat, svycontrast, svyciprop per domain ------------------------
for (nm in c("strat", "clus1", "clus2", "srs", "clus1_nofpc")) {
  d <- paste0("d_", nm)
  da <- deff_arg(nm)
  for (byf in c("~stype", "~stype+awards")) {
    for (fn in c("svymean", "svytotal")) {
      v <- if (fn == "svymean") "api00" else "api.stu"
      call <- sprintf("svyby(~%s, %s, %s, %s, na.rm=TRUE, covmat=TRUE, deff=%s)", v, byf, d, fn, da)
      b <- run(call)
      byvars <- all.vars(as.formula(byf))
      labels <- lapply(byvars, function(b2) as.character(b[[b2]]))
      names(labels) <- byvars
      # deff.svyby() fails for deff="replace" in survey 4.1: read the DEff column directly
      vals <- list(estimate = num(coef(b)), se = num(SE(b)),
                   deff = num(b[[grep("^DEff", names(b))]]),
                   covariance = unname(vcov(b)), labels = labels)
      if (byf == "~stype") {
        cc <- svycontrast(b, c(E = 1, H = -1, M = 0))
        vals$contrast_E_minus_H <- list(coefficients = c(1, -1, 0), estimate = num(coef(cc)),
                                        se = num(SE(cc)))
      }
      add(paste(nm, fn, "by", byf), nm,
          paste0(call, if (byf == "~stype") "; svycontrast(., c(E=1, H=-1, M=0))" else ""),
          if (fn == "svymean") "mean" else "total", v, vals, by = byvars)
    }
  }
  # a domain mean of a variable with missing values (covmat=TRUE fails there in survey 4.1)
  call <- sprintf("svyby(~acs.k3, ~stype, %s, svymean, na.rm=TRUE, deff=%s)", d, da)
  b <- tryCatch(run(call), error = function(e) NULL)  # fails for apiclus2 in survey 4.1
  if (!is.null(b)) add(paste(nm, "svymean acs.k3 by stype"), nm, call, "mean", "acs.k3",
      list(estimate = num(coef(b)), se = num(SE(b)), deff = num(b[[grep("^DEff", names(b))]]),
           labels = list(stype = as.character(b$stype))), by = list("stype"))
  vals <- list()
  for (meth in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
    b <- run(sprintf('svyby(~I(sch.wide=="Yes"), ~stype, %s, svyciprop, vartype="ci", method="%s")', d, meth))
    vals[[paste0("ci_low_", meth)]] <- num(b$ci_l)
    vals[[paste0("ci_high_", meth)]] <- num(b$ci_u)
    vals$estimate <- num(b[[2]])
  }
  vals$df <- sapply(c("E", "H", "M"), function(s) degf(get(d)[get(d)$variables$stype == s, ]))
  vals$df <- num(vals$df)
  vals$labels <- list(stype = c("E", "H", "M"))
  add(paste(nm, "svyciprop by stype"), nm,
      sprintf('svyby(~I(sch.wide=="Yes"), ~stype, %s, svyciprop, vartype="ci", method=M) for each M; df: degf(%s[stype==s,])', d, d),
      "proportion", "sch.wide", vals, by = list("stype"), extra = list(level = "Yes"))
  call <- sprintf("svyby(~api.stu, ~stype, %s, svyratio, denominator=~enroll, na.rm=TRUE, covmat=TRUE)", d)
  # survey 4.1 fails here when rows are dropped for NA (apiclus2): that case is skipped
  b <- tryCatch(run(call), error = function(e) NULL)
  if (!is.null(b)) add(paste(nm, "ratio by stype"), nm, call, "ratio", "api.stu/enroll",
      list(estimate = num(coef(b)), se = num(SE(b)), covariance = unname(vcov(b)),
           labels = list(stype = as.character(b$stype))),
      by = list("stype"), extra = list(numerator = "api.stu", denominator = "enroll"))
}

# --- lonely PSUs: apistrat with a single school of type H ---------------------------------
lonely <- apistrat[apistrat$stype != "H" | apistrat$snum == apistrat$snum[apistrat$stype == "H"][1], ]
write.csv(lonely[, c("stype", "snum", "api00", "enroll", "pw", "fpc")],
          file.path(out_dir, "data", "apistrat_lonely.csv"), row.names = FALSE)
for (rule in c("remove", "adjust", "average", "certainty")) {
  options(survey.lonely.psu = rule)
  for (fp in c("", ", fpc=~fpc")) {
    dcall <- sprintf("svydesign(id=~1, strata=~stype, weights=~pw%s, data=lonely)", fp)
    dl <- run(dcall)
    m <- svymean(~api00, dl)
    t <- svytotal(~enroll, dl)
    b <- svyby(~api00, ~stype, dl, svymean, covmat = TRUE)
    add(paste("lonely", rule, fp), "lonely",
        sprintf('options(survey.lonely.psu="%s"); dl <- %s; svymean(~api00, dl); svytotal(~enroll, dl); svyby(~api00, ~stype, dl, svymean, covmat=TRUE)', rule, dcall),
        "lonely", "api00", list(mean = num(coef(m)), mean_se = num(SE(m)),
                                total = num(coef(t)), total_se = num(SE(t)),
                                by_se = num(SE(b)), by_cov = unname(vcov(b))),
        extra = list(rule = rule, fpc = fp != ""))
  }
}
options(survey.lonely.psu = "fail")

# --- replicate designs ----------------------------------------------------------------
reps <- list(
  jk1 = "as.svrepdesign(d_clus1, type=\"JK1\")",
  jk1_nofpc = "as.svrepdesign(d_clus1_nofpc, type=\"JK1\")",
  jkn = "as.svrepdesign(d_strat, type=\"JKn\")",
  jkn_nofpc = "as.svrepdesign(d_strat_nofpc, type=\"JKn\")"
)
set.seed(20240501)
r_boot <- as.svrepdesign(d_clus1, type = "bootstrap", replicates = 50)
bw <- weights(r_boot, "analysis")
colnames(bw) <- sprintf("bw%02d", seq_len(ncol(bw)))
write.csv(cbind(apiclus1[, c("dnum", "stype", "sch.wide", "api00", "enroll", "api.stu", "pw")], bw),
          file.path(out_dir, "data", "apiboot.csv"), row.names = FALSE)
apiboot <- read.csv(file.path(out_dir, "data", "apiboot.csv"))
reps$user_boot <- sprintf(
  'svrepdesign(data=apiboot, repweights="bw[0-9]+", weights=~pw, type="bootstrap", scale=%.17g, rscales=rep(1,50), combined.weights=TRUE)',
  r_boot$scale)
reps$user_jk1 <- 'svrepdesign(data=apiboot, repweights="bw[0-9]+", weights=~pw, type="JK1", combined.weights=TRUE)'
for (nm in names(reps)) {
  r <- suppressWarnings(run(reps[[nm]]))
  assign(paste0("r_", nm), r)
  m <- svymean(~api00, r)
  t <- svytotal(~enroll, r)
  ra <- svyratio(~api.stu, ~enroll, r)
  b <- svyby(~api00, ~stype, r, svymean, covmat = TRUE)
  p <- svyciprop(~I(sch.wide == "Yes"), r, method = "logit")
  pm <- svymean(~as.numeric(I(sch.wide == "Yes")), r)
  # svyciprop's svyglm stops at glm's default epsilon=1e-8, which leaves ~1e-8 relative
  # error in the replicate variance of the logit; the same interval with a converged fit:
  g <- svyglm(I(sch.wide == "Yes") ~ 1, r, family = quasibinomial,
              control = glm.control(epsilon = 1e-14, maxit = 100))
  p_tight <- plogis(confint(g, 1, level = 0.95, method = "Wald", ddf = degf(r)))
  add(paste("replicate", nm), nm,
      sprintf('r <- %s; svymean(~api00, r); svytotal(~enroll, r); svyratio(~api.stu, ~enroll, r); svyby(~api00, ~stype, r, svymean, covmat=TRUE); svyciprop(~I(sch.wide=="Yes"), r, method="logit"); degf(r)', reps[[nm]]),
      "replicate", "api00",
      list(mean = num(coef(m)), mean_se = num(SE(m)), total = num(coef(t)),
           total_se = num(SE(t)), ratio = num(coef(ra)), ratio_se = num(SE(ra)),
           by_estimate = num(coef(b)), by_se = num(SE(b)), by_cov = unname(vcov(b)),
           prop = num(pm[1]), prop_se = num(SE(pm)), prop_ci_low_logit = num(confint(p)[1]),
           prop_ci_high_logit = num(confint(p)[2]),
           prop_ci_low_logit_converged = num(p_tight[1]), prop_ci_high_logit_converged = num(p_tight[2]),
           degf = degf(r),
           scale = r$scale, rscales = num(r$rscales)))
}

# --- issue 13: held-out cases -------------------------------------------------------------
methods6 <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")

# (1) svyciprop at p = 0 and p = 1, every method; NA (null) where R gives NaN or stops
for (nm in c("clus1", "strat")) {
  d <- paste0("d_", nm)
  for (case in list(list(f = "I(api00 > 0)", p = 1), list(f = "I(api00 < 0)", p = 0))) {
    vals <- list(estimate = case$p)
    errs <- list()
    for (meth in methods6) {
      call <- sprintf("svyciprop(~%s, %s, method=\"%s\")", case$f, d, meth)
      ci <- tryCatch(suppressWarnings(confint(run(call))),
                     error = function(e) { errs[[meth]] <<- conditionMessage(e); c(NA, NA) })
      vals[[paste0("ci_low_", meth)]] <- num(ci[1])
      vals[[paste0("ci_high_", meth)]] <- num(ci[2])
    }
    add(paste(nm, "degenerate proportion p =", case$p), nm,
        sprintf("svyciprop(~%s, %s, method=M) for M in %s; null where R gives NaN or stops", case$f, d,
                paste(methods6, collapse = ", ")),
        "degenerate", case$f, vals, extra = list(p = case$p, r_errors = errs))
  }
  # by domain: the indicator of the domain itself is 1 in one domain, 0 in the others
  vals <- list()
  for (meth in methods6) {
    b <- tryCatch(suppressWarnings(run(sprintf(
      'svyby(~I(stype=="E"), ~stype, %s, svyciprop, vartype="ci", method="%s")', d, meth))),
      error = function(e) NULL)
    vals[[paste0("ci_low_", meth)]] <- if (is.null(b)) rep(NA, 3) else num(b$ci_l)
    vals[[paste0("ci_high_", meth)]] <- if (is.null(b)) rep(NA, 3) else num(b$ci_u)
    if (!is.null(b)) vals$estimate <- num(b[[2]])
  }
  vals$labels <- list(stype = c("E", "H", "M"))
  add(paste(nm, "degenerate proportion by stype"), nm,
      sprintf('svyby(~I(stype=="E"), ~stype, %s, svyciprop, vartype="ci", method=M) for each M; null where R gives NaN or stops (likelihood)', d),
      "degenerate_by", "stype", vals, by = list("stype"))
}

# (2) replicate designs by domain: svyciprop uses degf() of the domain's subset
for (nm in c("jk1", "jkn", "user_boot", "user_jk1")) {
  r <- get(paste0("r_", nm))
  vals <- list()
  for (meth in c("logit", "asin", "beta", "mean", "xlogit")) {
    b <- run(sprintf('svyby(~I(sch.wide=="Yes"), ~stype, r_%s, svyciprop, vartype="ci", method="%s")', nm, meth))
    vals[[paste0("ci_low_", meth)]] <- num(b$ci_l)
    vals[[paste0("ci_high_", meth)]] <- num(b$ci_u)
    vals$estimate <- num(b[[2]])
  }
  vals$df <- num(sapply(c("E", "H", "M"), function(s) degf(subset(r, stype == s))))
  vals$labels <- list(stype = c("E", "H", "M"))
  add(paste("replicate", nm, "svyciprop by stype"), nm,
      sprintf('r_%s <- %s; svyby(~I(sch.wide=="Yes"), ~stype, r_%s, svyciprop, vartype="ci", method=M) for each M; df: degf(subset(r_%s, stype==s))', nm, reps[[nm]], nm, nm),
      "replicate_proportion_by", "sch.wide", vals, by = list("stype"), extra = list(level = "Yes"))
}

# (3) lonely_psu="average" by domains that cut across strata: svyby's SE column
for (fp in c("", ", fpc=~fpc")) {
  options(survey.lonely.psu = "average")
  lonely2 <- lonely  # apistrat_lonely.csv plus sch.wide from apistrat.csv (by snum)
  dcall <- sprintf("svydesign(id=~1, strata=~stype, weights=~pw%s, data=lonely2)", fp)
  dl <- run(dcall)
  b <- svyby(~api00, ~sch.wide, dl, svymean, covmat = TRUE)
  bs <- svyby(~api00, ~stype, dl, svymean)
  add(paste("lonely average by sch.wide", fp), "lonely",
      sprintf('options(survey.lonely.psu="average"); lonely2 <- lonely; dl <- %s; b <- svyby(~api00, ~sch.wide, dl, svymean, covmat=TRUE); SE(b); vcov(b); SE(svyby(~api00, ~stype, dl, svymean))', dcall),
      "lonely_average_by", "api00",
      list(estimate = num(coef(b)), se = num(SE(b)), covariance = unname(vcov(b)),
           subset_se = num(sapply(c("No", "Yes"), function(v) SE(svymean(~api00, subset(dl, sch.wide == v))))),
           labels = list(sch.wide = as.character(b$sch.wide)),
           se_by_stype = num(SE(bs)), labels_by_stype = as.character(bs$stype)),
      by = list("sch.wide"), extra = list(fpc = fp != ""))
  options(survey.lonely.psu = "fail")
}

# (4) likelihood intervals with missing values and unequal weights (apiclus2: weights
# vary, acs.k3 is missing for 44 schools); svyglm drops the NA rows
for (nm in c("clus2", "clus2_nofpc", "strat")) {
  d <- paste0("d_", nm)
  for (f in c("I(acs.k3 > 20)", "I(api00 > 700)")) {
    call <- sprintf('svyciprop(~%s, %s, method="likelihood")', f, d)
    ci <- tryCatch(confint(run(call)), error = function(e) NULL)
    if (is.null(ci)) next  # R stops (e.g. the proportion is 0 or 1)
    g <- run(sprintf("svyglm(%s ~ 1, %s, family=quasibinomial)", f, d))
    add(paste(nm, "likelihood", f), nm,
        paste0(call, sprintf("; summary(svyglm(%s ~ 1, %s, family=quasibinomial))$dispersion", f, d)),
        "likelihood", f, list(estimate = num(plogis(coef(g))), ci_low = num(ci[1]), ci_high = num(ci[2]),
                              dispersion = num(summary(g)$dispersion), df = degf(get(d))))
  }
  b <- tryCatch(run(sprintf('svyby(~I(acs.k3 > 19), ~awards, %s, svyciprop, vartype="ci", method="likelihood")', d)),
                error = function(e) NULL)
  if (!is.null(b)) add(paste(nm, "likelihood by awards"), nm,
      sprintf('svyby(~I(acs.k3 > 19), ~awards, %s, svyciprop, vartype="ci", method="likelihood")', d),
      "likelihood_by", "I(acs.k3 > 19)",
      list(estimate = num(b[[2]]), ci_low = num(b$ci_l), ci_high = num(b$ci_u),
           labels = list(awards = as.character(b$awards))), by = list("awards"))
}

# (5) design effects: deff=TRUE (SRS without replacement from hat N = sum of weights, with
# or without fpc) and deff="replace" (with replacement), on designs with and without fpc
for (nm in c("strat", "strat_nofpc", "clus1", "clus1_nofpc", "clus2_nofpc", "srs_nofpc")) {
  d <- paste0("d_", nm)
  vals <- list()
  for (da in c("TRUE", '"replace"')) {
    key <- if (da == "TRUE") "true" else "replace"
    vals[[paste0("mean_", key)]] <- num(deff(run(sprintf("svymean(~api00, %s, deff=%s)", d, da))))
    vals[[paste0("total_", key)]] <- num(deff(run(sprintf("svytotal(~enroll, %s, na.rm=TRUE, deff=%s)", d, da))))
    vals[[paste0("prop_", key)]] <- num(deff(run(sprintf('svymean(~as.numeric(I(sch.wide=="Yes")), %s, deff=%s)', d, da))))
    b <- run(sprintf("svyby(~api00, ~stype, %s, svymean, deff=%s)", d, da))
    vals[[paste0("by_mean_", key)]] <- num(b[[grep("^DEff", names(b))]])
  }
  add(paste(nm, "deff TRUE and replace"), nm,
      sprintf('deff(svymean(~api00, %s, deff=D)); deff(svytotal(~enroll, %s, na.rm=TRUE, deff=D)); deff(svymean(~as.numeric(I(sch.wide=="Yes")), %s, deff=D)); svyby(~api00, ~stype, %s, svymean, deff=D)$DEff for D in TRUE, "replace"', d, d, d, d),
      "deff", "api00", vals)
}
for (nm in c("jk1", "jkn")) {
  r <- paste0("r_", nm)
  vals <- list()
  for (da in c("TRUE", '"replace"')) {
    key <- if (da == "TRUE") "true" else "replace"
    vals[[paste0("mean_", key)]] <- num(deff(run(sprintf("svymean(~api00, %s, deff=%s)", r, da))))
  }
  add(paste(nm, "deff TRUE and replace"), nm,
      sprintf("deff(svymean(~api00, %s, deff=D)) for D in TRUE, \"replace\"", r), "deff_replicate", "api00", vals)
}

# --- post-stratification (for the Adjustment hook) --------------------------------------
pop <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
call <- "svymean(~api00, postStratify(d_clus1, ~stype, pop))"
ps <- postStratify(d_clus1, ~stype, pop)
m <- svymean(~api00, ps)
add("poststratified clus1 mean", "clus1", paste0("pop <- data.frame(stype=c(\"E\",\"H\",\"M\"), Freq=c(4421,755,1018)); ", call),
    "poststratify", "api00", list(estimate = num(coef(m)), se = num(SE(m)), weights = num(weights(ps))),
    extra = list(population = list(E = 4421, H = 755, M = 1018)))

meta <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
             generated_by = "tests/reference/make_golden.R")
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  null = "null", na = "null"),
           file.path(out_dir, "golden_estimation.json"))
cat("wrote", length(cases), "cases\n")

# Reference values for tests/indices/test_indices_golden.py, computed with R's survey package.
#
# Run from the repository root:   Rscript tests/reference/make_golden_indices.R
# Needs R >= 4 with the packages survey and jsonlite
# (Debian: apt-get install r-base-core r-cran-survey r-cran-jsonlite).
#
# Reads the simulated three-wave field survey written by
# tests/reference/make_indices_data.py (tests/reference/data_indices/{responses,waves}.csv)
# and writes tests/reference/golden_indices.json: one record per case with the exact R
# call that produced its numbers ("call"; in calls, DOMAIN stands for each domain's
# condition and the variable names for the per-respondent counts defined below).
#
# Per respondent and aspect a (access: acc1-acc3, process: proc1-proc3, staff: staff1-staff2):
#   s_a = number of satisfied answers (level 4 or 5), v_a = number of valid answers,
#   p_a = sum of the answers' points (level - 1) * 25.
# An aspect's rate is svyratio(~s_a, ~v_a) (the pooled rule), its mean score
# svyratio(~p_a, ~v_a); the overall index is the mean of the three aspects (SIPAS).
#
# Domains are unit x wave (units D1-D4) and the whole district (DIST) x wave. Domain
# estimates keep the whole design: scores are zero outside the domain (svyby, subset, and
# domain-indicator variables all do this).
#
# Three designs of the same stacked data:
#   independent: each wave is its own sample (strata and PSUs are wave-specific);
#   panel:       the same 20 communes (PSUs) in every wave, so waves share PSUs;
#   lonely_fpc:  the independent waves with a lonely PSU per wave (rule "adjust") and a
#                finite population correction (see d$lonely_stratum below).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
ref <- file.path("tests", "reference")
d <- read.csv(file.path(ref, "data_indices", "responses.csv"), stringsAsFactors = FALSE)
waves <- read.csv(file.path(ref, "data_indices", "waves.csv"), stringsAsFactors = FALSE)

source(file.path(ref, "golden_counts.R"))  # aspects, satisfied, valid, points, add_counts
d <- add_counts(d)
d$ov_sat <- as.numeric(d$ov >= 4)  # NA when ov is not answered
d$t <- waves$t[d$wave]             # the wave's time in decimal years
d$wave_stratum <- paste(d$wave, d$stratum)
d$wave_psu <- paste(d$wave, d$psu)
# The rules a survey team sets for its wave, on the independent waves: PSU S1C1 of every
# wave alone in a stratum of its own (a lonely PSU, estimated by survey.lonely.psu =
# "adjust") and a finite population of PSUs per stratum (fpc: 12 per stratum, 3 for the
# lone PSU's).
d$lonely_stratum <- ifelse(d$psu == "S1C1", paste(d$wave, "LONE"), d$wave_stratum)
d$psus_in_frame <- ifelse(d$psu == "S1C1", 3, 12)

# The domains, in the order of every matrix below.
domains <- rbind(expand.grid(unit = c("D1", "D2", "D3", "D4"), wave = 1:3,
                             stringsAsFactors = FALSE),
                 data.frame(unit = "DIST", wave = 1:3, stringsAsFactors = FALSE))
domains$key <- paste0(domains$unit, "_", domains$wave)
domains$condition <- ifelse(domains$unit == "DIST", sprintf("wave==%d", domains$wave),
                            sprintf('unit=="%s" & wave==%d', domains$unit, domains$wave))
# Domain-indicator variables: S_<aspect>_<domain> = s_aspect inside the domain, 0 outside.
for (i in seq_len(nrow(domains))) {
  inside <- eval(parse(text = domains$condition[i]), d)
  for (a in names(aspects)) for (k in c("s", "v", "p")) {
    d[[sprintf("%s_%s_%s", toupper(k), a, domains$key[i])]] <- d[[paste0(k, "_", a)]] * inside
  }
}

design_calls <- c(
  independent = "svydesign(ids=~wave_psu, strata=~wave_stratum, weights=~weight, data=d)",
  panel = "svydesign(ids=~psu, strata=~stratum, weights=~weight, data=d)",
  lonely_fpc = paste0("{options(survey.lonely.psu='adjust'); svydesign(ids=~wave_psu, ",
                      "strata=~lonely_stratum, fpc=~psus_in_frame, weights=~weight, data=d)}")
)
run <- function(text, env = globalenv()) eval(parse(text = text), envir = env)
num <- function(x) unname(as.vector(x))
mat <- function(x) unname(as.matrix(x))
cases <- list()
add <- function(id, design, call, values, extra = list()) {
  cases[[length(cases) + 1]] <<- c(list(id = id, design = design, call = call), extra,
                                    list(values = values))
}
qlogis_ci <- function(p, se, df) plogis(qlogis(p) + c(-1, 1) * qt(0.975, df) * se / (p * (1 - p)))

for (dn in names(design_calls)) {
  des <- run(design_calls[[dn]])
  assign("des", des, globalenv())

  # --- every index in every domain, jointly: svytotal of the domain totals, then the
  # --- index as a smooth function of them (svycontrast's delta method).
  totals_vars <- grep("^[SVP]_", names(d), value = TRUE)
  totals_call <- sprintf("svytotal(~%s, des)", paste(totals_vars, collapse = "+"))
  tot <- run(totals_call)
  for (kind in c("rate", "score")) {
    top <- if (kind == "rate") "S" else "P"
    ratio_expr <- function(a, key) sprintf("%s_%s_%s/V_%s_%s", top, a, key, a, key)
    indices <- c(list(overall = NULL), aspects)
    for (code in names(indices)) {
      exprs <- lapply(domains$key, function(key) {
        if (code == "overall") {
          parse(text = sprintf("(%s)/3", paste(sapply(names(aspects), ratio_expr, key = key),
                                                collapse = " + ")))[[1]]
        } else parse(text = ratio_expr(code, key))[[1]]
      })
      names(exprs) <- domains$key
      con <- svycontrast(tot, exprs)
      index <- if (code == "overall") "overall" else paste0("aspect:", code)
      example <- paste(deparse(exprs[[1]], width.cutoff = 500), collapse = "")
      add(sprintf("%s %s %s all domains", dn, index, kind), dn,
          sprintf("tot <- svytotal(~S_access_D1_1+V_access_D1_1+... (the %d domain totals), des); svycontrast(tot, list(D1_1=quote(%s), ...)) with des <- %s",
                  length(totals_vars), example, design_calls[[dn]]),
          list(estimate = num(coef(con)), se = num(SE(con)), covariance = mat(vcov(con))),
          extra = list(statistic = "all_domains", index = index, kind = kind,
                       domains = domains$key))
    }
  }

  # --- each aspect by unit x wave and by wave: svyby(svyratio) with covmat --------------
  for (a in names(aspects)) for (kind in c("rate", "score")) {
    num_var <- paste0(if (kind == "rate") "s_" else "p_", a)
    for (by in c("~unit+wave", "~wave")) {
      call <- sprintf("svyby(~%s, %s, denominator=~v_%s, design=des, FUN=svyratio, covmat=TRUE)",
                      num_var, by, a)
      b <- run(call)
      labels <- if (by == "~wave") paste0("DIST_", b$wave) else paste0(b$unit, "_", b$wave)
      add(sprintf("%s aspect:%s %s svyby %s", dn, a, kind, by), dn,
          paste0(call, " with des <- ", design_calls[[dn]]),
          list(estimate = num(coef(b)), se = num(SE(b)), covariance = mat(vcov(b))),
          extra = list(statistic = "svyby_ratio", index = paste0("aspect:", a), kind = kind,
                       domains = labels))
    }
  }

  # --- the overall index per domain, from the domain's subset of the design -------------
  # svyratio of the three aspects jointly, then svycontrast of their mean. df = degf of the
  # subset (the domain's PSUs minus its strata, as svyby + svyciprop); the score's CI is
  # est -/+ qt(0.975, df) SE, the rate's CI the logit interval of svyciprop(method="logit")
  # written out: plogis(qlogis(p) -/+ qt(0.975, df) SE / (p (1 - p))).
  for (kind in c("rate", "score")) {
    top <- if (kind == "rate") "s" else "p"
    vals <- list(estimate = c(), se = c(), df = c(), ci_low = c(), ci_high = c())
    for (i in seq_len(nrow(domains))) {
      sub <- subset(des, eval(parse(text = domains$condition[i])))
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
      "sub <- subset(des, DOMAIN); r <- svyratio(~%s_access+%s_process+%s_staff, ",
      "~v_access+v_process+v_staff, sub, covmat=TRUE); svycontrast(r, c('%s_access/v_access'=1/3, ",
      "'%s_process/v_process'=1/3, '%s_staff/v_staff'=1/3)); df <- degf(sub); ci = %s; ",
      "des <- %s"), top, top, top, top, top, top,
      if (kind == "rate") "plogis(qlogis(p) -/+ qt(0.975, df) * SE / (p * (1 - p)))"
      else "est -/+ qt(0.975, df) * SE", design_calls[[dn]])
    add(sprintf("%s overall %s subset", dn, kind), dn, call, vals,
        extra = list(statistic = "subset_overall", index = "overall", kind = kind,
                     domains = domains$key))
  }

  # --- one item's satisfied share with svyciprop's logit interval (domain df) -----------
  call <- paste0("svyby(~ov_sat, ~unit+wave, des, svyciprop, vartype=c('se','ci'), ",
                 "method='logit', na.rm=TRUE); df = degf(subset(des, DOMAIN)); des <- ",
                 design_calls[[dn]])
  b <- svyby(~ov_sat, ~unit + wave, des, svyciprop, vartype = c("se", "ci"), method = "logit",
             na.rm = TRUE)
  labels <- paste0(b$unit, "_", b$wave)
  dfs <- sapply(seq_along(labels), function(i) {
    degf(subset(des, unit == b$unit[i] & wave == b$wave[i]))
  })
  add(sprintf("%s item ov rate svyciprop", dn), dn, call,
      list(estimate = num(coef(b)), se = num(SE(b)), ci_low = num(b$ci_l),
           ci_high = num(b$ci_u), df = num(dfs)),
      extra = list(statistic = "svyciprop_item", index = "item:ov", kind = "rate",
                   domains = labels))

  # --- contrasts between waves and between units (svycontrast) -------------------------
  b <- svyby(~s_access, ~unit + wave, denominator = ~v_access, design = des, FUN = svyratio,
             covmat = TRUE)
  keys <- paste0(b$unit, "_", b$wave)
  contrast_of <- function(pos, neg) as.numeric(keys == pos) - as.numeric(keys == neg)
  for (pair in list(c("D1_3", "D1_1"), c("D4_2", "D4_1"), c("D1_3", "D2_3"))) {
    con <- svycontrast(b, contrast_of(pair[1], pair[2]))
    add(sprintf("%s aspect:access rate contrast %s - %s", dn, pair[1], pair[2]), dn,
        sprintf(paste0("b <- svyby(~s_access, ~unit+wave, denominator=~v_access, design=des, ",
                       "FUN=svyratio, covmat=TRUE); svycontrast(b, +1 at %s, -1 at %s); des <- %s"),
                pair[1], pair[2], design_calls[[dn]]),
        list(estimate = num(coef(con)), se = num(SE(con))),
        extra = list(statistic = "contrast", index = "aspect:access", kind = "rate",
                     plus = pair[1], minus = pair[2]))
  }
  for (kind in c("rate", "score")) {
    top <- if (kind == "rate") "S" else "P"
    overall_expr <- function(key) sprintf("(%s)/3", paste(sprintf("%s_%s_%s/V_%s_%s", top,
      names(aspects), key, names(aspects), key), collapse = " + "))
    for (pair in list(c("D1_3", "D1_1"), c("DIST_3", "DIST_2"), c("D1_3", "D2_3"))) {
      expr <- sprintf("%s - %s", overall_expr(pair[1]), overall_expr(pair[2]))
      con <- svycontrast(tot, parse(text = expr)[[1]])
      add(sprintf("%s overall %s contrast %s - %s", dn, kind, pair[1], pair[2]), dn,
          sprintf("svycontrast(tot, quote(%s)) with tot as above; des <- %s", expr,
                  design_calls[[dn]]),
          list(estimate = num(coef(con)), se = num(SE(con))),
          extra = list(statistic = "contrast", index = "overall", kind = kind,
                       plus = pair[1], minus = pair[2]))
    }
  }

  # --- trend of one item's satisfied share: svyglm(y ~ t) -------------------------------
  for (unit in c("DIST", "D1")) {
    design_text <- if (unit == "DIST") "des" else sprintf('subset(des, unit=="%s")', unit)
    call <- sprintf("svyglm(ov_sat ~ t, design=%s)", design_text)
    m <- run(call)
    co <- summary(m)$coefficients
    ci <- confint(m)["t", ]
    add(sprintf("%s trend item ov %s", dn, unit), dn,
        paste0(call, "; summary(.)$coefficients['t', ]; confint(.)['t', ]; .$df.residual; des <- ",
               design_calls[[dn]]),
        list(slope = co["t", "Estimate"], se = co["t", "Std. Error"],
             p_value = co["t", "Pr(>|t|)"], df = m$df.residual, ci_low = num(ci[1]),
             ci_high = num(ci[2]), degf_design = degf(run(design_text))),
        extra = list(statistic = "trend", index = "item:ov", kind = "rate", unit = unit))
  }
}

golden <- list(
  generated_by = "tests/reference/make_golden_indices.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  data = "tests/reference/data_indices/responses.csv, waves.csv (tests/reference/make_indices_data.py)",
  designs = as.list(design_calls),
  domains = domains$key,
  cases = cases
)
writeLines(toJSON(golden, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(ref, "golden_indices.json"))
cat(sprintf("%d cases written to %s\n", length(cases), file.path(ref, "golden_indices.json")))

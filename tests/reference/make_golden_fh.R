# Golden values for analysis.small_area: the Fay-Herriot model in base R.
#
# Run from the repository root:
#   Rscript tests/reference/make_golden_fh.R
# Needs R >= 4 with jsonlite only. The R package 'sae' is not installable here, so
# this script implements, in base R, what Rao & Molina (Small Area Estimation, 2nd
# ed., Wiley 2015, sections 6.1-6.2) state and what sae's help pages for eblupFH
# and mseFH document:
#   * sigma2_u by Fisher scoring (REML or ML) from median(vardir), each step
#     floored at 0 (sae truncates only the last value; see fh_sigma2 below);
#   * beta = (X'V^-1 X)^-1 X'V^-1 y, se = sqrt(diag((X'V^-1 X)^-1));
#   * EBLUP = X beta + gamma (y - X beta), gamma = A / (A + vardir);
#   * MSE: g1 + g2 + 2 g3 (Prasad-Rao, REML) and g1 + g2 + 2 g3 - b_ML B^2
#     (Datta-Lahiri, ML);
#   * areas without a sample: synthetic x'beta with MSE A - b_ML + x'Qx.
# It also checks, independently of the scoring, that the REML/ML estimate
# maximises the restricted/full log-likelihood (optimize over [0, upper]), and
# computes the bias-corrected arcsine back-transformation by numerical
# integration (integrate) rather than by the closed form the Python code uses.
#
# Data: tests/reference/data_fh/communes.csv (24 communes, C08 without sample,
# covariates feedback and previous) and zero_sigma.csv (12 areas whose REML and
# ML estimates of sigma2_u are 0). Writes tests/reference/golden_fh.json; each
# case stores the R calls that produced it.

suppressMessages(library(jsonlite))
options(warn = 1)

ref_dir <- file.path("tests", "reference")
data_dir <- file.path(ref_dir, "data_fh")

fh_step <- function(A, y, X, vardir, method) {
  Vi <- 1 / (A + vardir)
  XtVi <- t(Vi * X)
  Q <- solve(XtVi %*% X)
  if (method == "REML") {
    P <- diag(Vi) - t(XtVi) %*% Q %*% XtVi
    Py <- P %*% y
    s <- -0.5 * sum(diag(P)) + 0.5 * sum(Py * Py)
    F <- 0.5 * sum(diag(P %*% P))
  } else {
    b <- Q %*% XtVi %*% y
    eps <- y - X %*% b
    s <- -0.5 * sum(Vi) + 0.5 * sum(Vi^2 * eps^2)
    F <- 0.5 * sum(Vi^2)
  }
  c(s = s, F = F)
}

fh_sigma2 <- function(y, X, vardir, method, tol = 1e-12, maxiter = 100) {
  scale <- median(vardir)
  A <- scale
  for (k in seq_len(maxiter)) {
    sf <- fh_step(A, y, X, vardir, method)
    A_new <- max(0, A + sf[["s"]] / sf[["F"]])
    if (abs(A_new - A) <= tol * (A_new + scale)) {
      return(list(A = A_new, iterations = k, converged = TRUE))
    }
    A <- A_new
  }
  list(A = A, iterations = maxiter, converged = FALSE)
}

fh_fit <- function(y_all, vardir_all, X_all, method) {
  s <- !is.na(y_all)
  y <- y_all[s]; vardir <- vardir_all[s]; X <- X_all[s, , drop = FALSE]
  est <- fh_sigma2(y, X, vardir, method)
  A <- est$A
  Vi <- 1 / (A + vardir)
  XtVi <- t(Vi * X)
  Q <- solve(XtVi %*% X)
  beta <- drop(Q %*% XtVi %*% y)
  SumAD2 <- sum(Vi^2)
  VarA <- 2 / SumAD2
  b <- 0
  if (method == "ML") b <- -1 * sum(diag(Q %*% (t((Vi^2) * X) %*% X))) / SumAD2
  synthetic <- drop(X_all %*% beta)
  xQx <- rowSums((X_all %*% Q) * X_all)
  synthetic_mse <- A - b + xQx
  Bd <- vardir / (A + vardir)
  g1 <- g2 <- g3 <- gamma <- rep(NA_real_, length(y_all))
  gamma[s] <- 1 - Bd
  g1[s] <- vardir * (1 - Bd)
  g2[s] <- Bd^2 * xQx[s]
  g3[s] <- Bd^2 * VarA / (A + vardir)
  mse <- synthetic_mse
  mse[s] <- g1[s] + g2[s] + 2 * g3[s] - b * Bd^2
  eblup <- synthetic
  eblup[s] <- synthetic[s] + gamma[s] * (y - synthetic[s])
  list(sigma2_u = A, iterations = est$iterations, converged = est$converged,
       beta = beta, beta_se = sqrt(diag(Q)), eblup = eblup, mse = mse,
       gamma = gamma, synthetic = synthetic, synthetic_mse = synthetic_mse,
       g1 = g1, g2 = g2, g3 = g3)
}

# restricted (REML) and full (ML) log-likelihood of sigma2_u, up to a constant
fh_loglik <- function(A, y, X, vardir, method) {
  V <- A + vardir
  XtVi <- t(X / V)
  Q <- solve(XtVi %*% X)
  b <- Q %*% XtVi %*% y
  r <- drop(y - X %*% b)
  ll <- -0.5 * sum(log(V)) - 0.5 * sum(r^2 / V)
  if (method == "REML") ll <- ll - 0.5 * as.numeric(determinant(XtVi %*% X)$modulus)
  ll
}

# E sin^2(Y), Var sin^2(Y) for Y ~ N(mu, v), by numerical integration
arcsin_back <- function(mu, v) {
  mu <- min(max(mu, 0), pi / 2)
  sdv <- sqrt(v)
  m1 <- integrate(function(t) sin(t)^2 * dnorm(t, mu, sdv), mu - 12 * sdv, mu + 12 * sdv,
                  rel.tol = 1e-13, abs.tol = 0, subdivisions = 1000L)$value
  m2 <- integrate(function(t) sin(t)^4 * dnorm(t, mu, sdv), mu - 12 * sdv, mu + 12 * sdv,
                  rel.tol = 1e-13, abs.tol = 0, subdivisions = 1000L)$value
  c(estimate = m1, mse = m2 - m1^2)
}


fit_call <- "fh_fit(y, vardir, X, method) in tests/reference/make_golden_fh.R"
case <- function(name, data_file, covariates, method, y, vardir, X, areas) {
  f <- fh_fit(y, vardir, X, method)
  s <- !is.na(y)
  opt <- optimize(function(a) fh_loglik(a, y[s], X[s, , drop = FALSE], vardir[s], method),
                  c(0, 20 * max(vardir, na.rm = TRUE)), maximum = TRUE, tol = 1e-14)
  list(
    name = name, data = data_file, covariates = covariates, method = tolower(method),
    call = paste0("X <- cbind(1, ", paste(paste0("d$", covariates), collapse = ", "),
                  "); ", sub("method", paste0('"', method, '"'), fit_call)),
    areas = areas,
    sigma2_u = f$sigma2_u, iterations = f$iterations, converged = f$converged,
    beta = unname(f$beta), beta_se = unname(f$beta_se),
    eblup = f$eblup, mse = f$mse, gamma = f$gamma,
    synthetic = f$synthetic, synthetic_mse = f$synthetic_mse,
    g1 = f$g1, g2 = f$g2, g3 = f$g3,
    sigma2_u_optimize = max(opt$maximum, 0),
    optimize_call = paste0("optimize(fh_loglik(a, y, X, vardir, \"", method,
                           "\"), c(0, 20 * max(vardir)), maximum = TRUE, tol = 1e-14)")
  )
}

cases <- list()
communes <- read.csv(file.path(data_dir, "communes.csv"), stringsAsFactors = FALSE)
zero <- read.csv(file.path(data_dir, "zero_sigma.csv"), stringsAsFactors = FALSE)
Xc <- cbind(1, communes$feedback, communes$previous)
Xz <- cbind(1, zero$x)
for (method in c("REML", "ML")) {
  cases[[length(cases) + 1]] <- case(
    paste0("communes_", tolower(method)), "communes.csv", c("feedback", "previous"), method,
    communes$direct, communes$variance, Xc, communes$area)
  cases[[length(cases) + 1]] <- case(
    paste0("zero_sigma_", tolower(method)), "zero_sigma.csv", "x", method,
    zero$direct, zero$variance, Xz, zero$area)
}

# arcsine scale: y = asin(sqrt(direct)), vardir = 1 / (4 n_eff), REML, then the
# bias-corrected back-transformation by integration
ya <- asin(sqrt(communes$direct))
va <- ifelse(is.na(communes$direct), NA, 1 / (4 * communes$n_eff))
fa <- fh_fit(ya, va, Xc, "REML")
back <- t(mapply(arcsin_back, fa$eblup, fa$mse))
arcsin_case <- list(
  name = "communes_arcsin_reml", data = "communes.csv", covariates = c("feedback", "previous"),
  method = "reml", areas = communes$area,
  call = paste0("y <- asin(sqrt(d$direct)); vardir <- 1 / (4 * d$n_eff); ",
                "X <- cbind(1, d$feedback, d$previous); f <- fh_fit(y, vardir, X, \"REML\")"),
  back_call = paste0("integrate(function(t) sin(t)^k * dnorm(t, f$eblup, sqrt(f$mse)), ",
                     "+-12 sd, rel.tol = 1e-13), k = 2 and 4: estimate = E sin^2, ",
                     "mse = E sin^4 - (E sin^2)^2"),
  sigma2_u = fa$sigma2_u, beta = unname(fa$beta), eblup = fa$eblup, mse = fa$mse,
  estimate = unname(back[, "estimate"]), estimate_mse = unname(back[, "mse"])
)

golden <- list(
  generated_by = "Rscript tests/reference/make_golden_fh.R",
  r_version = R.version.string,
  notes = paste(
    "Base R implementation of Rao & Molina (2015) ch. 6 / sae::eblupFH + mseFH;",
    "Fisher scoring from median(vardir), each step max(0, .), stop when",
    "|step| <= 1e-12 * (A + median(vardir)), at most 100 steps.",
    "NULL = not defined (area without a sample)."),
  cases = cases,
  arcsin = arcsin_case
)
writeLines(toJSON(golden, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(ref_dir, "golden_fh.json"))
cat("wrote", file.path(ref_dir, "golden_fh.json"), "\n")

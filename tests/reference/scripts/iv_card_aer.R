# Reference numbers for impacteval's IV estimator on Card (1995), proximity to college.
#
# Data: tests/reference/data/iv_card1995.csv (see iv_README.md). Model: Wooldridge,
# Introductory Econometrics, Example 15.4: log(wage) on education, experience, experience^2,
# black, smsa, south, smsa66 and region dummies, education instrumented by living near a
# four-year college (nearc4); also over-identified with nearc2 as a second instrument.
#
# Run from the repository root:
#   Rscript tests/reference/scripts/iv_card_aer.R
# Writes tests/reference/data/iv_card_aer.json.

suppressPackageStartupMessages({
  library(AER)
  library(sandwich)
  library(lmtest)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "data")
d <- read.csv(file.path(out_dir, "iv_card1995.csv"))
controls <- c("exper", "expersq", "black", "smsa", "south", "smsa66", paste0("reg66", 2:9))
num <- function(x) unname(as.numeric(x))
named <- function(x) as.list(setNames(as.numeric(x), names(x)))

fit_iv <- function(instruments) {
  f <- as.formula(paste("lwage ~ educ +", paste(controls, collapse = " + "), "|",
                        paste(c(controls, instruments), collapse = " + ")))
  m <- ivreg(f, data = d)
  s <- summary(m, diagnostics = TRUE)$diagnostics
  s1 <- summary(m, vcov. = function(o) sandwich::vcovHC(o, type = "HC1"),
                diagnostics = TRUE)$diagnostics
  list(
    n = nobs(m),
    coef = num(coef(m)["educ"]),
    se_classical = num(sqrt(diag(vcov(m)))["educ"]),
    se_hc1 = num(sqrt(diag(sandwich::vcovHC(m, type = "HC1")))["educ"]),
    weak_f_classical = num(s["Weak instruments", "statistic"]),
    weak_f_hc1 = num(s1["Weak instruments", "statistic"]),
    wu_hausman_classical = num(s["Wu-Hausman", "statistic"]),
    wu_hausman_hc1 = num(s1["Wu-Hausman", "statistic"]),
    sargan = if (length(instruments) > 1) num(s["Sargan", "statistic"]) else NA
  )
}

liml_coef <- function(instruments) {
  y <- d$lwage
  W <- cbind(1, as.matrix(d[, controls]))
  Z <- as.matrix(d[, instruments, drop = FALSE])
  Zall <- cbind(W, Z)
  resid_on <- function(A, B) A - B %*% qr.solve(B, A)
  Y <- cbind(y, d$educ)
  YW <- resid_on(Y, W)
  YZ <- resid_on(Y, Zall)
  kappa <- min(Re(eigen(solve(crossprod(YZ), crossprod(YW)))$values))
  X <- cbind(d$educ, W)
  XZ <- resid_on(X, Zall)
  A <- crossprod(X) - kappa * crossprod(XZ, X)
  b <- crossprod(X, y) - kappa * crossprod(XZ, y)
  list(kappa = kappa, coef = num(solve(A, b)[1]))
}

ar_stat <- function(b, instruments, type) {
  dd <- d
  dd$ytil <- dd$lwage - b * dd$educ
  r <- lm(reformulate(controls, "ytil"), data = dd)
  u <- lm(reformulate(c(controls, instruments), "ytil"), data = dd)
  if (type == "classical") return(num(anova(r, u)$F[2]))
  num(lmtest::waldtest(r, u, vcov = sandwich::vcovHC(u, type = "HC1"), test = "Chisq")$Chisq[2])
}
ar_set <- function(instruments, type, grid, level = 0.95) {
  q <- length(instruments)
  df2 <- nrow(d) - length(controls) - 1 - q
  crit <- if (type == "classical") qf(level, q, df2) else qchisq(level, q)
  f <- function(b) ar_stat(b, instruments, type) - crit
  vals <- vapply(grid, f, numeric(1))
  inside <- vals <= 0
  roots <- c()
  for (i in seq_len(length(grid) - 1)) {
    if (inside[i] != inside[i + 1]) {
      roots <- c(roots, uniroot(f, c(grid[i], grid[i + 1]), tol = 1e-12)$root)
    }
  }
  list(roots = roots, inside_at_grid_min = inside[1], inside_at_grid_max = inside[length(grid)],
       critical_value = crit, statistic_at_zero = ar_stat(0, instruments, type))
}

grid <- seq(-1, 2, by = 0.01)
out <- list(
  source = paste0("R ", R.version$major, ".", R.version$minor, ", AER ", packageVersion("AER"),
                  ", sandwich ", packageVersion("sandwich"), ", lmtest ", packageVersion("lmtest")),
  just = fit_iv("nearc4"),
  over = fit_iv(c("nearc2", "nearc4")),
  liml_over = liml_coef(c("nearc2", "nearc4")),
  ar_just_classical = ar_set("nearc4", "classical", grid),
  ar_just_hc1 = ar_set("nearc4", "hc1", grid),
  ar_over_classical = ar_set(c("nearc2", "nearc4"), "classical", grid),
  ar_over_hc1 = ar_set(c("nearc2", "nearc4"), "hc1", grid)
)
write_json(out, file.path(out_dir, "iv_card_aer.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
cat("wrote", file.path(out_dir, "iv_card_aer.json"), "\n")

# Reference numbers for impacteval's instrumental-variables estimator (issue 7).
#
# Data: Mroz (1987) PSID 1975 women, shipped with R package AER as `PSID1976`
# (Debian r-cran-aer). Model: Wooldridge, Introductory Econometrics, Examples 15.1, 15.5,
# 15.7 and 15.8: log(wage) on education, experience, experience^2 among women in the labour
# force (n = 428), education instrumented by mother's and father's education.
#
# Run from the repository root:
#   Rscript tests/reference/scripts/iv_mroz_aer.R
# Writes tests/reference/data/iv_mroz_psid1976.csv (the data, exported once) and
# tests/reference/data/iv_mroz_aer.json (the numbers the tests compare with).
#
# Everything here is computed independently of Python: AER::ivreg for 2SLS, sandwich for
# HC0/HC1, summary(..., diagnostics = TRUE) for the weak-instrument F, Wu-Hausman and
# Sargan tests, base-R matrix algebra for LIML (k-class with the smallest eigenvalue), and
# lm()/anova()/lmtest::waldtest() on a grid refined by uniroot() for the Anderson-Rubin sets.

suppressPackageStartupMessages({
  library(AER)
  library(sandwich)
  library(lmtest)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "data")
data("PSID1976", package = "AER")
write.csv(PSID1976, file.path(out_dir, "iv_mroz_psid1976.csv"), row.names = FALSE)

d <- subset(PSID1976, participation == "yes")
d$lwage <- log(d$wage)
d$expersq <- d$experience^2
n <- nrow(d)

num <- function(x) unname(as.numeric(x))
named <- function(x) as.list(setNames(as.numeric(x), names(x)))

fit_block <- function(m) {
  s_classic <- summary(m, diagnostics = TRUE)
  s_hc0 <- summary(m, vcov. = function(o) sandwich::vcovHC(o, type = "HC0"), diagnostics = TRUE)
  s_hc1 <- summary(m, vcov. = function(o) sandwich::vcovHC(o, type = "HC1"), diagnostics = TRUE)
  diag_list <- function(s) {
    dg <- s$diagnostics
    out <- list()
    for (r in rownames(dg)) {
      out[[r]] <- list(df1 = num(dg[r, "df1"]), df2 = num(dg[r, "df2"]),
                       statistic = num(dg[r, "statistic"]), p_value = num(dg[r, "p-value"]))
    }
    out
  }
  list(
    n = nobs(m),
    coef = named(coef(m)),
    se_classical = named(sqrt(diag(vcov(m)))),
    se_hc0 = named(sqrt(diag(sandwich::vcovHC(m, type = "HC0")))),
    se_hc1 = named(sqrt(diag(sandwich::vcovHC(m, type = "HC1")))),
    sigma = num(m$sigma),
    diagnostics_classical = diag_list(s_classic),
    diagnostics_hc0 = diag_list(s_hc0),
    diagnostics_hc1 = diag_list(s_hc1)
  )
}

# Example 15.5 (over-identified: two instruments) and Example 15.1-style just-identified
# model with the controls (father's education only).
m_over <- ivreg(lwage ~ education + experience + expersq |
                  experience + expersq + meducation + feducation, data = d)
m_just <- ivreg(lwage ~ education + experience + expersq |
                  experience + expersq + feducation, data = d)
# Example 15.1: simple IV regression without controls.
m_simple <- ivreg(lwage ~ education | feducation, data = d)

# First-stage regressions (classical and HC1) for the instrument coefficients.
fs <- lm(education ~ experience + expersq + meducation + feducation, data = d)
fs_block <- list(
  coef = named(coef(fs)[c("meducation", "feducation")]),
  se_classical = named(sqrt(diag(vcov(fs)))[c("meducation", "feducation")]),
  se_hc1 = named(sqrt(diag(sandwich::vcovHC(fs, type = "HC1")))[c("meducation", "feducation")])
)
fs0 <- lm(education ~ experience + expersq, data = d)
fs_block$f_classical <- num(anova(fs0, fs)$F[2])
fs_block$f_hc1 <- num(lmtest::waldtest(fs0, fs, vcov = sandwich::vcovHC(fs, type = "HC1"),
                                        test = "F")$F[2])
fs_block$f_hc0 <- num(lmtest::waldtest(fs0, fs, vcov = sandwich::vcovHC(fs, type = "HC0"),
                                        test = "F")$F[2])
# Partial R^2 of the excluded instruments (Frisch-Waugh-Lovell).
ry <- resid(fs0)
rz <- resid(lm(cbind(meducation, feducation) ~ experience + expersq, data = d))
fs_block$partial_r2 <- num(summary(lm(ry ~ rz - 1))$r.squared)

# LIML by the k-class formula (base R; Davidson & MacKinnon 2004, section 8.6).
liml <- function(y, x, W, Z) {
  Zall <- cbind(W, Z)
  MW <- diag(nrow(W)) - W %*% solve(crossprod(W), t(W))
  MZ <- diag(nrow(Zall)) - Zall %*% solve(crossprod(Zall), t(Zall))
  Y <- cbind(y, x)
  kappa <- min(Re(eigen(solve(t(Y) %*% MZ %*% Y, t(Y) %*% MW %*% Y))$values))
  X <- cbind(x, W)
  A <- t(X) %*% (diag(nrow(X)) - kappa * MZ)
  beta <- solve(A %*% X, A %*% y)
  e <- y - X %*% beta
  s2 <- sum(e^2) / (nrow(X) - ncol(X))
  se <- sqrt(diag(s2 * solve(A %*% X)))
  list(kappa = kappa, coef = num(beta[1]), se_classical = num(se[1]))
}
W <- cbind(1, d$experience, d$expersq)
liml_over <- liml(d$lwage, d$education, W, cbind(d$meducation, d$feducation))
liml_just <- liml(d$lwage, d$education, W, cbind(d$feducation))

# Anderson-Rubin confidence sets by brute force: for each b, regress lwage - b * education on
# the controls with and without the excluded instruments and test the instruments.
ar_stat <- function(b, instruments, controls, data, type) {
  data$ytil <- data$lwage - b * data$education
  f_r <- reformulate(controls, "ytil")
  f_u <- reformulate(c(controls, instruments), "ytil")
  r <- lm(f_r, data = data)
  u <- lm(f_u, data = data)
  if (type == "classical") {
    return(num(anova(r, u)$F[2]))
  }
  # HC1 Wald chi-square (the robust AR statistic; see impacteval.estimators.iv.anderson_rubin)
  num(lmtest::waldtest(r, u, vcov = sandwich::vcovHC(u, type = "HC1"), test = "Chisq")$Chisq[2])
}
ar_set <- function(instruments, controls, data, type, grid, level = 0.95) {
  q <- length(instruments)
  df2 <- nrow(data) - length(controls) - 1 - q
  crit <- if (type == "classical") qf(level, q, df2) else qchisq(level, q)
  f <- function(b) ar_stat(b, instruments, controls, data, type) - crit
  vals <- vapply(grid, f, numeric(1))
  inside <- vals <= 0
  roots <- c()
  for (i in seq_len(length(grid) - 1)) {
    if (inside[i] != inside[i + 1]) {
      roots <- c(roots, uniroot(f, c(grid[i], grid[i + 1]), tol = 1e-12)$root)
    }
  }
  stat0 <- ar_stat(0, instruments, controls, data, type)
  p0 <- if (type == "classical") pf(stat0, q, df2, lower.tail = FALSE) else
    pchisq(stat0, q, lower.tail = FALSE)
  list(type = type, level = level, critical_value = crit, roots = roots,
       inside_at_grid_min = inside[1], inside_at_grid_max = inside[length(grid)],
       grid_min = min(grid), grid_max = max(grid),
       statistic_at_zero = stat0, p_value_at_zero = p0)
}
controls <- c("experience", "expersq")
grid <- seq(-1, 1, by = 0.002)
ar <- list(
  over_classical = ar_set(c("meducation", "feducation"), controls, d, "classical", grid),
  over_hc1 = ar_set(c("meducation", "feducation"), controls, d, "hc1", grid),
  just_classical = ar_set("feducation", controls, d, "classical", grid),
  just_hc1 = ar_set("feducation", controls, d, "hc1", grid)
)
# Weak "instruments" on the same data, chosen only because their first-stage F is small (they
# are not credible instruments): county unemployment (F about 6, bounded set), hours worked
# (F about 2) and age (F below 1), where the sets are unbounded.
wide <- seq(-20, 20, by = 0.02)
fs_null <- lm(education ~ experience + expersq, data = d)
for (v in c("unemp", "hours", "age")) {
  ar[[paste0("weak_", v, "_classical")]] <- ar_set(v, controls, d, "classical", wide)
  ar[[paste0("weak_", v, "_hc1")]] <- ar_set(v, controls, d, "hc1", wide)
  fs_v <- lm(reformulate(c(controls, v), "education"), data = d)
  ar[[paste0("weak_", v, "_first_stage_f")]] <- num(anova(fs_null, fs_v)$F[2])
}

# Cluster-robust versions, clustering on the woman's age (31 groups). Age is not a natural
# cluster here; it only gives a grouping on which to compare cluster-robust numbers.
# vcovCL(type = "HC1") applies G/(G-1) * (n-1)/(n-k), Stata's correction.
vc_cl <- function(o) sandwich::vcovCL(o, cluster = ~age, type = "HC1")
clustered <- list(
  n_clusters = length(unique(d$age)),
  se_over = named(sqrt(diag(vc_cl(m_over)))),
  se_just = named(sqrt(diag(vc_cl(m_just)))),
  first_stage_f_over = num(lmtest::waldtest(fs0, fs, vcov = vc_cl(fs), test = "F")$F[2]),
  first_stage_se_over = named(sqrt(diag(vc_cl(fs)))[c("meducation", "feducation")])
)
ar_stat_cl <- function(b, instruments) {
  dd <- d
  dd$ytil <- dd$lwage - b * dd$education
  r <- lm(reformulate(controls, "ytil"), data = dd)
  u <- lm(reformulate(c(controls, instruments), "ytil"), data = dd)
  num(lmtest::waldtest(r, u, vcov = vc_cl(u), test = "Chisq")$Chisq[2])
}
for (spec in list(list(name = "over", z = c("meducation", "feducation")),
                  list(name = "just", z = "feducation"))) {
  crit <- qchisq(0.95, length(spec$z))
  f <- function(b) ar_stat_cl(b, spec$z) - crit
  vals <- vapply(grid, f, numeric(1))
  inside <- vals <= 0
  roots <- c()
  for (i in seq_len(length(grid) - 1)) {
    if (inside[i] != inside[i + 1]) {
      roots <- c(roots, uniroot(f, c(grid[i], grid[i + 1]), tol = 1e-12)$root)
    }
  }
  clustered[[paste0("ar_", spec$name)]] <- list(
    roots = roots, inside_at_grid_min = inside[1], inside_at_grid_max = inside[length(grid)],
    critical_value = crit, statistic_at_zero = ar_stat_cl(0, spec$z))
}

out <- list(
  source = paste0("R ", R.version$major, ".", R.version$minor, ", AER ", packageVersion("AER"),
                  ", sandwich ", packageVersion("sandwich"), ", lmtest ", packageVersion("lmtest")),
  sample = "PSID1976 with participation == 'yes' (n = 428)",
  over = fit_block(m_over),
  just = fit_block(m_just),
  simple = fit_block(m_simple),
  first_stage_over = fs_block,
  liml_over = liml_over,
  liml_just = liml_just,
  anderson_rubin = ar,
  clustered = clustered
)
write_json(out, file.path(out_dir, "iv_mroz_aer.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
cat("wrote", file.path(out_dir, "iv_mroz_aer.json"), "\n")

# Reference numbers for impacteval's MatchedRateRatio: count GLMs with a log person-time offset,
# matching weights as prior weights, and cluster-robust covariances from sandwich::vcovCL.
#
# Run from the repository root (Debian: r-base, r-cran-sandwich, r-cran-mass, r-cran-numderiv,
# r-cran-jsonlite):
#   Rscript tests/reference/scripts/rate_ratio_glm.R
# Writes tests/reference/data/rate_ratio_sim.csv (simulated matched sample; seed below) and
#        tests/reference/data/rate_ratio_glm.json.

suppressPackageStartupMessages({
  library(sandwich)
  library(MASS)
  library(numDeriv)
  library(jsonlite)
})
out_dir <- "tests/reference/data"

# A simulated matched cohort: 240 matched sets (1 treated + 1 control), controls with matching
# weights that are not all 1 (as after k:1 matching or matching with replacement), 30 settings
# (care homes) crossed with the sets, person-time 0.05-3 years, over-dispersed counts.
set.seed(20261130)
n_sets <- 240
d <- data.frame(
  pair = rep(seq_len(n_sets), each = 2),
  treat = rep(c(1L, 0L), n_sets)
)
n <- nrow(d)
d$setting <- sample(sprintf("S%02d", 1:30), n, replace = TRUE)
d$x1 <- round(rnorm(n, 0, 1), 4)
d$x2 <- rbinom(n, 1, 0.4)
d$py <- round(runif(n, 0.05, 3), 4)
d$w <- ifelse(d$treat == 1, 1, sample(c(0.5, 1, 1.5), n, replace = TRUE))
home <- rnorm(30, 0, 0.3)[as.integer(factor(d$setting))]
mu <- d$py * exp(-0.2 - 0.3 * d$treat + 0.4 * d$x1 + 0.3 * d$x2 + 0.2 * d$treat * d$x1 + home)
d$y <- rnbinom(n, mu = mu, size = 1.5)
write.csv(d, file.path(out_dir, "rate_ratio_sim.csv"), row.names = FALSE)

vc <- function(fit, ...) unname(vcovCL(fit, type = "HC0", ...))

# 1. Poisson, treatment only.
p1 <- glm(y ~ treat + offset(log(py)), family = poisson, data = d, weights = w,
          control = glm.control(epsilon = 1e-12, maxit = 100))  # converge fully: vcov() uses the last IRLS weights
pois_res <- list(
  coef = unname(coef(p1)),
  vcov_model = unname(vcov(p1)),
  vcov_hc0 = vc(p1),                                    # cluster = each unit
  vcov_pair = vc(p1, cluster = ~pair),
  vcov_pair_setting = vc(p1, cluster = ~pair + setting),
  vcov_pair_hc1 = unname(vcovCL(p1, cluster = ~pair, type = "HC1"))
)

# 2. Poisson with treatment-by-covariate interactions; marginal RR among the treated by
#    g-computation, SE by the delta method with a numerical Jacobian (numDeriv).
p2 <- glm(y ~ treat * (x1 + x2) + offset(log(py)), family = poisson, data = d, weights = w,
          control = glm.control(epsilon = 1e-12, maxit = 100))
tr <- d[d$treat == 1, ]
X1 <- model.matrix(~ treat * (x1 + x2), transform(tr, treat = 1))
X0 <- model.matrix(~ treat * (x1 + x2), transform(tr, treat = 0))
log_rr <- function(b) log(sum(tr$w * tr$py * exp(X1 %*% b))) - log(sum(tr$w * tr$py * exp(X0 %*% b)))
g <- jacobian(log_rr, coef(p2))
V2 <- vcovCL(p2, cluster = ~pair, type = "HC0")
adjusted <- list(
  coef = unname(coef(p2)),
  coef_names = names(coef(p2)),
  log_rr = log_rr(coef(p2)),
  se_log_rr = sqrt(drop(g %*% V2 %*% t(g)))
)

# 3. Negative binomial (NB2), theta by ML (MASS::glm.nb), treatment only.
nb <- glm.nb(y ~ treat + offset(log(py)), data = d, weights = w, control = glm.control(epsilon = 1e-12, maxit = 100))
negbin <- list(
  theta = nb$theta,
  alpha = 1 / nb$theta,
  coef = unname(coef(nb)),
  vcov_model = unname(vcov(nb)),
  vcov_pair = vc(nb, cluster = ~pair)
)

res <- list(poisson = pois_res, adjusted = adjusted, negbin = negbin,
            versions = list(R = R.version.string,
                            sandwich = as.character(packageVersion("sandwich")),
                            MASS = as.character(packageVersion("MASS"))))
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           file.path(out_dir, "rate_ratio_glm.json"))
cat("wrote", file.path(out_dir, "rate_ratio_glm.json"), "\n")

# Reference numbers for impacteval's MatchedMeanDifference: lm + sandwich::vcovCL on the sample
# matched by MatchIt (default 1:1 nearest on the propensity score) from MatchIt's `lalonde`.
#
# Run from the repository root (MatchIt built by build_matchit_fixed.sh, r-cran-sandwich):
#   MATCHIT_LIB=/tmp/Rlib Rscript tests/reference/scripts/matchit_lalonde_outcome.R
# Writes tests/reference/data/matchit_lalonde_outcome.json.
suppressPackageStartupMessages({
  library(MatchIt, lib.loc = Sys.getenv("MATCHIT_LIB"))
  library(sandwich); library(jsonlite)
})
d <- read.csv("tests/reference/data/lalonde_matchit.csv", stringsAsFactors = FALSE)
m <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = d, method = "nearest")
md <- match.data(m)
gcomp <- function(fit, type) {
  V <- vcovCL(fit, cluster = ~subclass, type = type)
  tr <- md[md$treat == 1, ]
  X1 <- model.matrix(delete.response(terms(fit)), transform(tr, treat = 1))
  X0 <- model.matrix(delete.response(terms(fit)), transform(tr, treat = 0))
  g <- colSums((X1 - X0) * tr$weights) / sum(tr$weights)
  list(estimate = sum(g * coef(fit)), se = sqrt(drop(t(g) %*% V %*% g)))
}
plain <- lm(re78 ~ treat, data = md, weights = weights)
adj <- lm(re78 ~ treat * (age + educ + race + married + nodegree + re74 + re75), data = md, weights = weights)
res <- list(
  versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt", lib.loc = Sys.getenv("MATCHIT_LIB"))),
                  sandwich = as.character(packageVersion("sandwich"))),
  ids = md$id, subclass = as.integer(md$subclass), weights = md$weights,
  plain_hc1 = gcomp(plain, "HC1"), plain_hc0 = gcomp(plain, "HC0"),
  adjusted_hc1 = gcomp(adj, "HC1"), adjusted_hc0 = gcomp(adj, "HC0")
)
# binary outcome: any earnings in 1978; logistic model, g-computation of RD and RR over the
# matched treated units, delta-method SEs with vcovCL (HC0, its default for glm)
md$employed <- as.integer(md$re78 > 0)
risk <- function(fit) {
  V <- vcovCL(fit, cluster = ~subclass)
  tr <- md[md$treat == 1, ]
  X1 <- model.matrix(delete.response(terms(fit)), transform(tr, treat = 1))
  X0 <- model.matrix(delete.response(terms(fit)), transform(tr, treat = 0))
  r1 <- plogis(drop(X1 %*% coef(fit))); r0 <- plogis(drop(X0 %*% coef(fit)))
  w <- tr$weights / sum(tr$weights)
  p1 <- sum(w * r1); p0 <- sum(w * r0)
  g1 <- colSums(X1 * (w * r1 * (1 - r1))); g0 <- colSums(X0 * (w * r0 * (1 - r0)))
  grd <- g1 - g0; grr <- g1 / p1 - g0 / p0
  list(p1 = p1, p0 = p0, rd = p1 - p0, rd_se = sqrt(drop(t(grd) %*% V %*% grd)),
       rr = p1 / p0, log_rr_se = sqrt(drop(t(grr) %*% V %*% grr)))
}
res$risk_plain <- risk(glm(employed ~ treat, data = md, weights = weights, family = quasibinomial))
# race is left out: its interaction with treat separates the outcome in the matched sample (the
# MLE does not exist and glm stops at an arbitrary large coefficient)
res$risk_adjusted <- risk(glm(employed ~ treat * (age + educ + married + nodegree + re74 + re75),
                              data = md, weights = weights, family = quasibinomial))
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), "tests/reference/data/matchit_lalonde_outcome.json")

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
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), "tests/reference/data/matchit_lalonde_outcome.json")

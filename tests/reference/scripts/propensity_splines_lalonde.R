# Reference propensities for impacteval's logistic propensity model with splines and
# interactions (matching.propensity: spline_df, interactions), from R's glm on MatchIt's
# `lalonde` data (tests/reference/data/lalonde_matchit.csv, see README_lalonde.md).
#
# Run from the repository root (base R with r-cran-jsonlite):
#   Rscript tests/reference/scripts/propensity_splines_lalonde.R
# Writes tests/reference/data/propensity_splines_lalonde.json.
#
# Splines: impacteval uses restricted cubic splines (Harrell) with knots at Harrell's
# quantiles (4 knots for spline_df = 3: 0.05, 0.35, 0.65, 0.95; numpy/R type-7 quantiles);
# a covariate whose knots are not distinct stays linear. The same function space is
# splines::ns() with those interior and boundary knots, so the fitted propensities agree
# although the coefficients (another basis) do not.
suppressPackageStartupMessages({library(splines); library(jsonlite)})
d <- read.csv("tests/reference/data/lalonde_matchit.csv")
term <- function(v) {
  q <- quantile(d[[v]], c(0.05, 0.35, 0.65, 0.95), type = 7, names = FALSE)
  if (length(unique(q)) < 4 || length(unique(d[[v]])) < 6) return(v)
  sprintf("ns(%s, knots = c(%.17g, %.17g), Boundary.knots = c(%.17g, %.17g))",
          v, q[2], q[3], q[1], q[4])
}
rhs <- paste(c(sapply(c("age", "educ", "re74", "re75"), term), "race", "married", "nodegree"),
             collapse = " + ")
spl <- glm(as.formula(paste("treat ~", rhs)), family = binomial, data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
int <- glm(treat ~ (age + educ + race + married + nodegree + re74 + re75)^2, family = binomial,
           data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
out <- list(
  spline_formula = rhs,
  spline_propensity = unname(fitted(spl)),
  spline_deviance = deviance(spl),
  interaction_propensity = unname(fitted(int)),
  interaction_deviance = deviance(int),
  interaction_rank = int$rank,
  versions = list(R = R.version.string)
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE),
           "tests/reference/data/propensity_splines_lalonde.json")

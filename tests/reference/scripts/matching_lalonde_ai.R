# Reference numbers for impacteval's Abadie-Imbens standard errors, from R's Matching::Match on
# Matching's `lalonde` data (the NSW experimental sample, 445 men; Dehejia and Wahba 1999).
#
# Run from the repository root (needs r-cran-matching and r-cran-jsonlite from Debian):
#   Rscript tests/reference/scripts/matching_lalonde_ai.R
# Writes tests/reference/data/lalonde_matching.csv (the data) and
#        tests/reference/data/matching_lalonde_ai.json (the numbers the tests compare with).
suppressPackageStartupMessages({library(Matching); library(jsonlite)})
data("lalonde", package = "Matching")
d <- lalonde
out_dir <- "tests/reference/data"
write.csv(d, file.path(out_dir, "lalonde_matching.csv"), row.names = FALSE)
covs <- c("age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75", "u74", "u75")
X <- as.matrix(d[, covs])
run <- function(...) {
  m <- Match(Y = d$re78, Tr = d$treat, X = X, ...)
  list(call = paste(deparse(m$call), collapse = " "), est = unname(m$est), se = unname(m$se),
       se_standard = unname(m$se.standard),
       index_treated = m$index.treated, index_control = m$index.control, weights = m$weights,
       n_pairs = length(m$weights))
}
res <- list(
  versions = list(R = R.version.string, Matching = as.character(packageVersion("Matching"))),
  covariates = covs,
  att_m1 = run(estimand = "ATT", M = 1),
  att_m3 = run(estimand = "ATT", M = 3),
  att_m1_sample = run(estimand = "ATT", M = 1, sample = TRUE)
)
# a coarse covariate set (age, educ only) has many ties: tests the tie rule
Xc <- as.matrix(d[, c("age", "educ")])
m <- Match(Y = d$re78, Tr = d$treat, X = Xc, estimand = "ATT", M = 1)
res$att_m1_age_educ <- list(est = unname(m$est), se = unname(m$se), se_standard = unname(m$se.standard),
                            index_treated = m$index.treated, index_control = m$index.control,
                            weights = m$weights, n_pairs = length(m$weights))
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), file.path(out_dir, "matching_lalonde_ai.json"))

# Reference pairs for impacteval's covariate-distance nearest-neighbour matching, from R's
# MatchIt on MatchIt's `lalonde` data (tests/reference/data/lalonde_matchit.csv).
#
# Run from the repository root with the MatchIt built by build_matchit_fixed.sh:
#   MATCHIT_LIB=/tmp/Rlib Rscript tests/reference/scripts/matchit_lalonde_mahalanobis.R
# Writes tests/reference/data/matchit_lalonde_mahalanobis.json.
suppressPackageStartupMessages({
  lib <- Sys.getenv("MATCHIT_LIB")
  if (!nzchar(lib)) stop("set MATCHIT_LIB to the library built by build_matchit_fixed.sh")
  library(MatchIt, lib.loc = lib)
  library(jsonlite)
})
d <- read.csv("tests/reference/data/lalonde_matchit.csv", stringsAsFactors = FALSE)
rownames(d) <- d$id
f <- treat ~ age + educ + race + married + nodegree + re74 + re75

pairs_of <- function(m) {
  mm <- m$match.matrix
  rows <- list()
  for (i in seq_len(nrow(mm))) for (j in seq_len(ncol(mm))) {
    if (!is.na(mm[i, j])) rows[[length(rows) + 1]] <- c(rownames(mm)[i], mm[i, j])
  }
  do.call(rbind, rows)
}
run <- function(...) {
  m <- matchit(f, data = d, method = "nearest", distance = "mahalanobis", ...)
  s <- summary(m, standardize = TRUE)
  list(call = paste(deparse(m$call), collapse = " "), pairs = pairs_of(m),
       weights = unname(m$weights),
       smd_after = as.list(setNames(s$sum.matched[, "Std. Mean Diff."], rownames(s$sum.matched))))
}
# Mahalanobis covariates as MatchIt transforms them (to check our transform, up to rotation,
# by comparing pairwise distances)
X <- MatchIt:::transform_covariates(f, data = d, method = "mahalanobis", treat = d$treat)
res <- list(
  versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt", lib.loc = lib))),
  mahalanobis = run(),
  mahalanobis_ratio2 = run(ratio = 2),
  mahalanobis_replace = run(replace = TRUE),
  dist_first10 = as.matrix(dist(X[1:10, ]))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = FALSE),
           "tests/reference/data/matchit_lalonde_mahalanobis.json")

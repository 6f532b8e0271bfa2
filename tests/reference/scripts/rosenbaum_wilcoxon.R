#!/usr/bin/env Rscript
# Reference numbers for impacteval.checks.rosenbaum_wilcoxon, in base R (no package needed).
# Data: blood lead (micrograms/dl) of 33 children of lead-factory workers and 33 matched
# control children (Morton et al. 1982, Am J Epidemiol 115:549-555), as printed in
# Rosenbaum, Observational Studies (2nd ed. 2002), section 4.3.3, and in the example of
# rbounds::psens. Method: Rosenbaum (2002) section 4.3.3, large-sample bounds for Wilcoxon's
# signed-rank statistic (zero differences dropped, average ranks, no continuity correction).
# At Gamma = 1 the bound must equal stats::wilcox.test(exact = FALSE, correct = FALSE), which
# is the trusted anchor; larger Gammas follow Rosenbaum's formulas evaluated independently here.
# Run: Rscript tests/reference/scripts/rosenbaum_wilcoxon.R > tests/reference/data/rosenbaum_reference.json
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
lead <- read.csv(file.path(here, "..", "data", "lead_pairs.csv"))
d <- lead$treated - lead$control
d <- d[d != 0]
q <- rank(abs(d))
T <- sum(q[d > 0])
bound <- function(gamma) {
  pp <- gamma / (1 + gamma); pm <- 1 / (1 + gamma)
  v <- sum(q^2) * pp * (1 - pp)
  c(lower = pnorm((T - pm * sum(q)) / sqrt(v), lower.tail = FALSE),
    upper = pnorm((T - pp * sum(q)) / sqrt(v), lower.tail = FALSE))
}
gammas <- c(1, 1.5, 2, 3, 4, 5, 6)
b <- t(sapply(gammas, bound))
crit <- uniroot(function(g) bound(g)[["upper"]] - 0.05, c(1, 100), tol = 1e-12)$root
w <- suppressWarnings(wilcox.test(lead$treated, lead$control, paired = TRUE,
                                  alternative = "greater", exact = FALSE, correct = FALSE))
num <- function(x) formatC(x, digits = 15, format = "g")
cat("{\n")
cat(sprintf('  "source": "Rscript tests/reference/scripts/rosenbaum_wilcoxon.R (%s)",\n', R.version.string))
cat(sprintf('  "statistic": %s,\n  "n_nonzero": %d,\n', num(T), length(d)))
cat(sprintf('  "wilcox_test_p": %s,\n', num(w$p.value)))
cat(sprintf('  "gamma_critical_05": %s,\n', num(crit)))
cat('  "bounds": [\n')
for (i in seq_along(gammas)) {
  cat(sprintf('    {"gamma": %s, "p_lower": %s, "p_upper": %s}%s\n', num(gammas[i]),
              num(b[i, "lower"]), num(b[i, "upper"]), if (i < length(gammas)) "," else ""))
}
cat("  ]\n}\n")

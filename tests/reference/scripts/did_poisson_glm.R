# Reference numbers for the Poisson (PPML) DiD with an exposure offset.
#
# Simulates an area x quarter panel (set.seed(20261130)), writes
# tests/reference/data/did_poisson_panel.csv and fits with R's glm(family = poisson,
# offset = log(population)) + sandwich::vcovCL(cluster = ~area, type = "HC0"):
#   (1) 2x2: events ~ treated * post;  (2) + covariate x;
#   (3) TWFE: events ~ d + factor(area) + factor(quarter) with staggered adoption.
# Output: tests/reference/data/did_poisson_glm.json.  Run from the repository root:
#   Rscript tests/reference/scripts/did_poisson_glm.R
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })
set.seed(20261130)
n_area <- 40; n_q <- 8
area <- rep(seq_len(n_area), each = n_q); quarter <- rep(seq_len(n_q), n_area)
treated <- as.integer(area <= 16)
adopt <- ifelse(area <= 8, 5, ifelse(area <= 16, 6, 0))   # staggered: quarter 5 or 6
post <- as.integer(quarter >= 5)
d <- as.integer(adopt > 0 & quarter >= adopt)
population <- round(runif(n_area, 2000, 20000))[area]
x <- round(rnorm(n_area), 3)[area] + round(rnorm(n_area * n_q, sd = 0.2), 3)
a_eff <- rnorm(n_area, sd = 0.3)[area]
q_eff <- c(0, 0.05, 0.1, 0.02, 0.08, 0.12, 0.1, 0.15)[quarter]
mu <- population / 1000 * exp(log(30) + a_eff + q_eff + 0.2 * x + log(0.8) * d)
events <- rnbinom(length(mu), mu = mu, size = 20)
panel <- data.frame(area, quarter, treated, post, d, population, x, events)
write.csv(panel, "tests/reference/data/did_poisson_panel.csv", row.names = FALSE)

pick <- function(fit, term) {
  V <- vcovCL(fit, cluster = ~area, type = "HC0")
  list(log_rr = unname(coef(fit)[term]), se = unname(sqrt(V[term, term])))
}
m1 <- glm(events ~ treated * post, family = poisson, offset = log(population), data = panel)
m2 <- glm(events ~ treated * post + x, family = poisson, offset = log(population), data = panel)
m3 <- glm(events ~ d + factor(area) + factor(quarter), family = poisson,
          offset = log(population), data = panel)
out <- list(
  source = "R glm(poisson) + sandwich::vcovCL(cluster = ~area, type = 'HC0')",
  r_version = R.version.string,
  sandwich_version = as.character(packageVersion("sandwich")),
  two_by_two = pick(m1, "treated:post"),
  two_by_two_covariate = pick(m2, "treated:post"),
  twfe = pick(m3, "d")
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/data/did_poisson_glm.json")

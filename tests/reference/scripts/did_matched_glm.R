# Reference numbers for the matched (weighted) DiD on a person-level cohort.
#
# Simulates (set.seed(20261130)) 300 matched sets of one treated person and one or two
# controls (matching weights 1 for treated, 1/k for the k controls of a set), each with event
# counts and person-years in a pre- and a post-index window; writes
# tests/reference/data/did_matched_cohort.csv (one row per person) and fits, on the stacked
# person x window data,
#   (1) glm(y ~ treated * post, family = poisson, offset = log(py), weights = w)
#   (2) lm(rate ~ treated * post, weights = w)   with rate = y / py
# with sandwich::vcovCL(cluster = ~set, type = "HC0") (HC1 for lm as well).
# Output: tests/reference/data/did_matched_glm.json.  Run from the repository root:
#   Rscript tests/reference/scripts/did_matched_glm.R
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })
set.seed(20261130)
n_set <- 300
k <- sample(1:2, n_set, replace = TRUE)
set <- c(seq_len(n_set), rep(seq_len(n_set), k))
treated <- c(rep(1L, n_set), rep(0L, sum(k)))
w <- c(rep(1, n_set), rep(1 / k, k))
frail <- rnorm(n_set)[set] + rnorm(length(set), sd = 0.5)
py_pre <- round(runif(length(set), 0.5, 1), 4)
py_post <- round(runif(length(set), 0.3, 1), 4)
mu_pre <- py_pre * exp(0.2 + 0.5 * frail)
mu_post <- py_post * exp(0.3 + 0.5 * frail + log(0.75) * treated)
cohort <- data.frame(person = seq_along(set), set, treated, w,
                     y_pre = rnbinom(length(set), mu = mu_pre, size = 3), py_pre,
                     y_post = rnbinom(length(set), mu = mu_post, size = 3), py_post)
write.csv(cohort, "tests/reference/data/did_matched_cohort.csv", row.names = FALSE)

long <- rbind(
  data.frame(cohort[, c("person", "set", "treated", "w")], post = 0L, y = cohort$y_pre, py = cohort$py_pre),
  data.frame(cohort[, c("person", "set", "treated", "w")], post = 1L, y = cohort$y_post, py = cohort$py_post))
long$rate <- long$y / long$py
m1 <- glm(y ~ treated * post, family = poisson, offset = log(py), weights = w, data = long)
m2 <- lm(rate ~ treated * post, weights = w, data = long)
se <- function(fit, type) unname(sqrt(vcovCL(fit, cluster = ~set, type = type)["treated:post", "treated:post"]))
out <- list(
  source = "R glm/lm with prior weights + sandwich::vcovCL(cluster = ~set)",
  r_version = R.version.string,
  sandwich_version = as.character(packageVersion("sandwich")),
  poisson = list(log_rr = unname(coef(m1)["treated:post"]), se_hc0 = se(m1, "HC0")),
  linear = list(estimate = unname(coef(m2)["treated:post"]), se_hc0 = se(m2, "HC0"),
                se_hc1 = se(m2, "HC1"))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/data/did_matched_glm.json")

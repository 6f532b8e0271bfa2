# Reference numbers for the 2x2 difference-in-differences on Card and Krueger (1994).
#
# Input : cardkrueger.rda from the R data package iangow/lmwr (MIT licence; commit
#         504c31ea18bab84cc27a3ec742f2f1054b3249d6), i.e. David Card's public njmin data.
# Output: tests/reference/data/did_card_krueger.csv (store x wave long panel) and
#         tests/reference/data/did_card_krueger.json (estimates and clustered SEs).
# Run   : Rscript tests/reference/scripts/did_card_krueger.R path/to/cardkrueger.rda
# Needs : R >= 4.2, sandwich (Debian r-cran-sandwich 3.0-2), jsonlite.
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })

args <- commandArgs(trailingOnly = TRUE)
e <- new.env(); load(args[1], e); ck <- e$cardkrueger

# Full-time equivalent employment as in Card and Krueger (1994): full-time + managers +
# half the part-time staff; stores closed permanently at wave 2 (status2 == 3) have 0.
fte1 <- ck$empft + ck$nmgrs + 0.5 * ck$emppt
fte2 <- ck$empft2 + ck$nmgrs2 + 0.5 * ck$emppt2
fte2[ck$status2 == 3] <- 0
wide <- data.frame(store_id = ck$sheet, nj = ck$state, chain = ck$chain,
                   co_owned = ck$co_owned)
long <- rbind(cbind(wide, post = 0L, fte = fte1), cbind(wide, post = 1L, fte = fte2))
long <- long[order(long$store_id, long$post), ]
write.csv(long, "tests/reference/data/did_card_krueger.csv", row.names = FALSE, na = "")

d <- long[!is.na(long$fte), ]
d$nj_post <- d$nj * d$post
G <- length(unique(d$store_id))

coef_se <- function(fit, type) {
  V <- vcovCL(fit, cluster = ~store_id, type = type)
  list(estimate = unname(coef(fit)["nj_post"]), se = unname(sqrt(V["nj_post", "nj_post"])))
}

# (1) 2x2 regression on all non-missing store-waves.
m1 <- lm(fte ~ nj + post + nj_post, data = d)
# (2) with chain and ownership covariates.
m2 <- lm(fte ~ nj + post + nj_post + factor(chain) + co_owned, data = d)
# (3) two-way fixed effects (store dummies + wave) on stores observed in both waves.
both <- names(which(table(d$store_id) == 2))
b <- d[d$store_id %in% both, ]
m3 <- lm(fte ~ factor(store_id) + post + nj_post, data = b)

cell <- aggregate(fte ~ nj + post, data = d, FUN = mean)
means <- setNames(cell$fte, paste0("nj", cell$nj, "_post", cell$post))

out <- list(
  source = "iangow/lmwr cardkrueger (David Card's njmin data); sandwich::vcovCL",
  r_version = R.version.string,
  sandwich_version = as.character(packageVersion("sandwich")),
  n_rows = nrow(d), n_clusters = G,
  cell_means = as.list(means),
  did_means = unname((means["nj1_post1"] - means["nj1_post0"]) - (means["nj0_post1"] - means["nj0_post0"])),
  regression = list(hc0 = coef_se(m1, "HC0"), hc1 = coef_se(m1, "HC1")),
  regression_covariates = list(hc0 = coef_se(m2, "HC0"), hc1 = coef_se(m2, "HC1")),
  twfe_balanced = c(coef_se(m3, "HC0"), list(n_rows = nrow(b), n_clusters = length(both)))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/data/did_card_krueger.json")

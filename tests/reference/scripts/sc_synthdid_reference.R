# Reference numbers for synthetic difference-in-differences from the R package synthdid
# (Arkhangelsky, Athey, Hirshberg, Imbens and Wager 2021; BSD-3 / GPL>=2), source commit
# 70c1ce3eac58e28c30b67435ca377bb48baa9b8a of github.com/synth-inference/synthdid, installed with
#   R CMD INSTALL -l /tmp/sc_ref/Rlib <synthdid source>     (needs r-cran-mvtnorm from Debian)
# Run:  R_LIBS=/tmp/sc_ref/Rlib Rscript tests/reference/scripts/sc_synthdid_reference.R [--quick]
# Writes tests/reference/data/sc_synthdid.json.
library(synthdid)  # jsonlite (Debian r-cran-jsonlite) writes the JSON
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
data_dir <- file.path(here, "..", "data")
df <- read.csv(file.path(data_dir, "sc_california_prop99.csv"), sep = ";")

# "--quick": only the deterministic numbers (estimates, weights, jackknife SE)
quick <- "--quick" %in% commandArgs(trailingOnly = TRUE)
mc <- function(expr) if (quick) NA else expr

one <- function(setup, label) {
  sdid <- synthdid_estimate(setup$Y, setup$N0, setup$T0)
  sc <- sc_estimate(setup$Y, setup$N0, setup$T0)
  did <- did_estimate(setup$Y, setup$N0, setup$T0)
  w <- attr(sdid, "weights")
  set.seed(20260101)
  placebo_se <- mc(sqrt(vcov(sdid, method = "placebo", replications = 200)))
  jk <- sqrt(vcov(sdid, method = "jackknife"))
  set.seed(20260101)
  boot <- mc(sqrt(vcov(sdid, method = "bootstrap", replications = 200)))
  set.seed(20260101)
  sc_placebo_se <- mc(sqrt(vcov(sc, method = "placebo", replications = 200)))
  # every control in turn as the pseudo-treated unit (one treated unit): the distribution the
  # placebo SE samples from, with R synthdid's own placebo step (weights started from the fit)
  placebo_each <- NA
  if (nrow(setup$Y) - setup$N0 == 1) {
    opts <- attr(sdid, "opts"); wts <- attr(sdid, "weights")
    placebo_each <- sapply(1:setup$N0, function(j) {
      ind <- c(setdiff(1:setup$N0, j), j)
      wb <- wts; wb$omega <- wts$omega[ind[1:(setup$N0 - 1)]] / sum(wts$omega[ind[1:(setup$N0 - 1)]])
      if (!is.finite(sum(wb$omega))) wb$omega <- rep(1 / (setup$N0 - 1), setup$N0 - 1)
      as.numeric(do.call(synthdid_estimate, c(list(Y = setup$Y[ind, ], N0 = setup$N0 - 1,
                                                   T0 = setup$T0, weights = wb), opts)))
    })
  }
  list(
    label = label, placebo_each = placebo_each,
    units = rownames(setup$Y), times = as.integer(colnames(setup$Y)),
    N0 = setup$N0, T0 = setup$T0,
    sdid = as.numeric(sdid), sc = as.numeric(sc), did = as.numeric(did),
    omega = as.numeric(w$omega), lambda = as.numeric(w$lambda),
    sc_omega = as.numeric(attr(sc, "weights")$omega),
    noise_level = sd(apply(setup$Y[1:setup$N0, 1:setup$T0], 1, diff)),
    se_placebo = as.numeric(placebo_se), se_jackknife = as.numeric(jk),
    se_bootstrap = as.numeric(boot), sc_se_placebo = as.numeric(sc_placebo_se)
  )
}

setup <- panel.matrices(df)
prop99 <- one(setup, "California Proposition 99 (one treated unit)")

# Several treated units (for the jackknife and bootstrap, which need more than one): the
# three states listed last in the file are marked treated from 1989 along with California.
df3 <- df
last3 <- tail(sort(unique(df$State)), 3)
df3$treated <- as.integer(df3$Year >= 1989 & df3$State %in% c("California", last3))
multi <- one(panel.matrices(df3), paste("California plus", paste(last3, collapse = ", ")))

out <- list(source = paste("R synthdid", packageVersion("synthdid"),
                           "commit 70c1ce3eac58e28c30b67435ca377bb48baa9b8a; set.seed(20260101)"),
            published = list(sdid = -15.6, sdid_se = 8.4, sc = -19.6, sc_se = 9.9,
                             did = -27.3, did_se = 17.7,
                             citation = "Arkhangelsky et al. (2021) AER 111(12), Table 1"),
            prop99 = prop99, multi = multi)
jsonlite::write_json(out, file.path(data_dir, if (quick) "sc_synthdid_quick.json" else "sc_synthdid.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("sdid", prop99$sdid, "se", prop99$se_placebo, "multi", multi$sdid, multi$se_jackknife, "\n")

# Reference numbers for the generalised synthetic control (Xu 2017, Political Analysis 25(1):57-76)
# from the R package gsynth (MIT), version 1.2.1: source commit e4525ad of
# github.com/xuyiqing/gsynth (the last version with its own estimation code; later versions call
# fect, which is not in Debian and CRAN is unreachable here). Installed with
#   apt-get install r-cran-rcpparmadillo r-cran-ggally r-cran-dorng r-cran-future \
#     r-cran-doparallel r-cran-foreach r-cran-abind r-cran-mvtnorm r-cran-jsonlite
#   R CMD INSTALL -l /tmp/gsynth_build/lib_em tests/reference/scripts/lfe_shim
#   git -C <mirror of github.com/xuyiqing/gsynth> archive e4525ad | tar -x -C gsynth
#   R CMD INSTALL -l /tmp/gsynth_build/lib_em gsynth
# lfe is not in Debian: gsynth calls its felm/getfe only for an initial additive fixed-effects
# fit (unbalanced control panels and the EM variant). lfe_shim is a package named lfe whose
# felm/getfe do that fit with lm() on unit and period dummies; only the fitted values are used,
# and they do not depend on how the fixed effects are normalised.
# Run:  R_LIBS=/tmp/gsynth_build/lib_em Rscript tests/reference/scripts/gsynth_reference.R [--quick]
# Reads tests/reference/data/gsynth_simdata.csv and gsynth_turnout.csv (gsynth's own `simdata`
# and `turnout` data, written out with write.csv) and writes tests/reference/data/gsynth.json
# (gsynth_quick.json with --quick: only the deterministic numbers, no bootstrap SEs).
suppressMessages(library(gsynth))
library(jsonlite)
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
data_dir <- file.path(here, "..", "data")
quick <- "--quick" %in% commandArgs(trailingOnly = TRUE)
simdata <- read.csv(file.path(data_dir, "gsynth_simdata.csv"))
turnout <- read.csv(file.path(data_dir, "gsynth_turnout.csv"))

summarise <- function(out) {
  res <- list(r_cv = out$r.cv, att_avg = out$att.avg,
              att = unname(out$att), att_label = as.numeric(names(out$att)),
              sigma2 = out$sigma2, n_treated = out$Ntr, n_control = out$Nco,
              T0 = unname(out$T0))
  if (!is.null(out$CV.out)) {
    res$cv_r <- unname(out$CV.out[, "r"]); res$cv_mspe <- unname(out$CV.out[, "MSPE"])
    res$cv_pc <- unname(out$CV.out[, "PC"])
  }
  if (!is.null(out$beta) && !all(is.na(out$beta))) res$beta <- unname(c(out$beta))
  res
}
quiet <- function(expr) { capture.output(v <- expr); v }

res <- list(gsynth_version = as.character(packageVersion("gsynth")),
            source_commit = "e4525ad")
# the package documentation's example (?gsynth, Xu 2017 section 5): two-way FE, covariates, CV
res$simdata_twoway_cv <- summarise(quiet(gsynth(Y ~ D + X1 + X2, data = simdata,
  index = c("id", "time"), force = "two-way", CV = TRUE, r = c(0, 5), se = FALSE)))
for (f in c("none", "unit", "time", "two-way")) {
  res[[paste0("simdata_", f, "_cv_nocov")]] <- summarise(quiet(gsynth(Y ~ D, data = simdata,
    index = c("id", "time"), force = f, CV = TRUE, r = c(0, 5), se = FALSE)))
}
res$simdata_unit_r1 <- summarise(quiet(gsynth(Y ~ D + X1 + X2, data = simdata,
  index = c("id", "time"), force = "unit", CV = FALSE, r = 1, se = FALSE)))
res$simdata_pc <- summarise(quiet(gsynth(Y ~ D + X1 + X2, data = simdata,
  index = c("id", "time"), force = "two-way", CV = TRUE, r = c(0, 5), criterion = "pc",
  se = FALSE)))
# staggered adoption: Election Day Registration and turnout (Xu 2017 section 6)
res$turnout_twoway_cv <- summarise(quiet(gsynth(turnout ~ policy_edr + policy_mail_in +
  policy_motor, data = turnout, index = c("abb", "year"), force = "two-way", CV = TRUE,
  r = c(0, 5), se = FALSE)))
# EM (Gobillon and Magnac 2016): treated pre-periods inform the factors
res$simdata_em_twoway_r2_nocov <- summarise(quiet(gsynth(Y ~ D, data = simdata,
  index = c("id", "time"), force = "two-way", EM = TRUE, CV = FALSE, r = 2, se = FALSE)))
res$simdata_em_twoway_cv <- summarise(quiet(gsynth(Y ~ D + X1 + X2, data = simdata,
  index = c("id", "time"), force = "two-way", EM = TRUE, CV = TRUE, r = c(0, 5), se = FALSE)))
res$turnout_em_twoway_cv <- summarise(quiet(gsynth(turnout ~ policy_edr + policy_mail_in +
  policy_motor, data = turnout, index = c("abb", "year"), force = "two-way", EM = TRUE,
  CV = TRUE, r = c(0, 5), se = FALSE)))
if (!quick) {
  # parametric bootstrap SEs (Monte Carlo: compared within their simulation error)
  sims <- list(
    simdata = quiet(gsynth(Y ~ D + X1 + X2, data = simdata, index = c("id", "time"),
      force = "two-way", CV = TRUE, r = c(0, 5), se = TRUE, inference = "parametric",
      nboots = 1000, parallel = FALSE, seed = 20260101)),
    turnout = quiet(gsynth(turnout ~ policy_edr + policy_mail_in + policy_motor,
      data = turnout, index = c("abb", "year"), force = "two-way", CV = TRUE, r = c(0, 5),
      se = TRUE, inference = "parametric", nboots = 1000, parallel = FALSE, seed = 20260101)),
    simdata_em = quiet(gsynth(Y ~ D + X1 + X2, data = simdata, index = c("id", "time"),
      force = "two-way", EM = TRUE, CV = FALSE, r = 2, se = TRUE, inference = "parametric",
      nboots = 1000, parallel = FALSE, seed = 20260101)))
  for (nm in names(sims)) {
    o <- sims[[nm]]
    res[[paste0(nm, "_parametric")]] <- list(nboots = 1000,
      se_avg = unname(o$est.avg[1, "S.E."]), se_att = unname(o$est.att[, "S.E."]),
      att_label = as.numeric(rownames(o$est.att)))
  }
}
out_file <- file.path(data_dir, if (quick) "gsynth_quick.json" else "gsynth.json")
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")

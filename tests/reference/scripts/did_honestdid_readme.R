# Reference numbers for the Rambachan-Roth smoothness FLCI (tests/reference/test_did_honestdid.py).
#
# Source: the R package HonestDiD (MIT licence), github.com/asheshrambachan/HonestDiD commit
# 6813f02 (version 0.2.8). Its README knits the Medicaid-expansion example with knitr's cache;
# the cached objects (README_cache/gfm/*.rdb) hold the estimation sample and the outputs the
# README prints. This script reads them (no CRAN packages needed) and writes
#   did_honestdid_ehec.csv  - the README's df_nonstaggered (state x year 2008-2015, share of
#                             low-income childless adults insured, from the ACS via
#                             Mixtape-Sessions/Advanced-DID ehec_data.dta), 344 rows
#   did_honestdid.json      - createSensitivityResults (Delta^SD, FLCI, M = 0..0.05) on the
#                             TWFE event study, constructOriginalCS for l_vec = (0.5, 0.5),
#                             and the betahat / sigma of the README's "regressions with
#                             controls" example with its printed FLCI table.
# Run from a checkout of HonestDiD:  Rscript did_honestdid_readme.R <out_dir>
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
ld <- function(p) {
  e <- new.env()
  f <- list.files("README_cache/gfm", pattern = paste0(p, ".*rdb$"), full.names = TRUE)
  lazyLoad(sub("\\.rdb$", "", f), envir = e)
  e
}
e6 <- ld("chunk-6_")
e7 <- ld("chunk-7_")
e8 <- ld("chunk-8_")
d <- as.data.frame(e8$df_nonstaggered)
d <- data.frame(stfips = as.numeric(d$stfips), year = as.numeric(d$year), dins = d$dins,
                yexp2 = as.numeric(d$yexp2), D = d$D)
write.csv(d, file.path(out, "did_honestdid_ehec.csv"), row.names = FALSE, na = "")
sd <- as.data.frame(e6$delta_sd_results)
num <- function(x) sprintf("%.12g", x)
arr <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
sig <- e8$sigma
json <- paste0(
  "{\n",
  '  "source": "HonestDiD 0.2.8 (MIT), github.com/asheshrambachan/HonestDiD@6813f02, README knitr cache",\n',
  '  "delta_sd": {"m": ', arr(sd$M), ', "lb": ', arr(sd$lb), ', "ub": ', arr(sd$ub), "},\n",
  '  "original_avg": {"lb": ', num(e7$originalResults_avg$lb), ', "ub": ',
  num(e7$originalResults_avg$ub), "},\n",
  '  "controls": {"betahat": ', arr(e8$betahat), ',\n    "sigma": [',
  paste(apply(sig, 1, arr), collapse = ",\n      "), "],\n",
  '    "printed_delta_sd": {"m": [0, 0.01, 0.02, 0.03, 0.04, 0.05],',
  ' "lb": [0.0264, 0.0128, 0.00186, -0.00814, -0.0181, -0.0281],',
  ' "ub": [0.0607, 0.0788, 0.0908, 0.101, 0.111, 0.121]}}\n',
  "}\n")
writeLines(json, file.path(out, "did_honestdid.json"), sep = "")

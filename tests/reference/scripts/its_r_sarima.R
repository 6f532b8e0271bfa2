# Reference numbers for regression with seasonal ARMA errors (InterruptedTimeSeries with
# errors = "arima" and seasonal_order), from R's stats::arima.
#
# Run from the repository root with Debian's r-base-core (+ r-cran-jsonlite):
#   Rscript tests/reference/scripts/its_r_sarima.R
# Writes tests/reference/data/its_r_sarima.json, compared by tests/reference/test_its_r.py.
#
# Data: the UK seat-belt law series (R datasets::Seatbelts, Harvey & Durbin 1986; public,
# in tests/reference/data/its_seatbelts.csv, see its_README.md): log(drivers killed or
# seriously injured), Jan 1969 - Dec 1984, the law from Feb 1983. The mean has a trend and a
# level change and no seasonal terms: the seasonality is left to the errors,
# ARIMA(1,0,0)x(1,0,0)[12] (and (0,0,1)x(0,0,1)[12] for the MA branch).
suppressPackageStartupMessages(library(jsonlite))

b <- read.csv("tests/reference/data/its_seatbelts.csv")
b$t <- 0:(nrow(b) - 1)
Tb <- which(b$year == 1983 & b$month == 2) - 1
b$level_1 <- as.numeric(b$t >= Tb)
b$slope_1 <- (b$t - Tb) * b$level_1
y <- log(b$drivers)
X <- as.matrix(cbind(intercept = 1, time = b$t, level_1 = b$level_1))
out <- list()
fit <- function(name, order, seasonal, X) {
  a <- arima(y, order = order, seasonal = list(order = seasonal, period = 12), xreg = X,
             include.mean = FALSE, method = "ML",
             optim.control = list(reltol = 1e-14, maxit = 5000))
  arma <- coef(a)[seq_len(sum(order) + sum(seasonal))]
  k <- ncol(X)
  idx <- length(arma) + seq_len(k)
  out[[name]] <<- list(terms = colnames(X), coef = unname(coef(a)[idx]),
                       se = unname(sqrt(diag(a$var.coef))[idx]), arma = unname(arma),
                       sigma2 = a$sigma2, loglik = a$loglik)
}
fit("seatbelts_log_sar12", c(1, 0, 0), c(1, 0, 0), X)
fit("seatbelts_log_sma12_slope", c(0, 0, 1), c(0, 0, 1),
    cbind(X, slope_1 = b$slope_1))
out$`_meta` <- list(R = R.version.string, seatbelt_law_t = Tb)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/data/its_r_sarima.json")

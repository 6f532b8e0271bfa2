# Reference numbers for the interrupted time series estimator (impacteval.estimators.its).
#
# Run from the repository root with Debian's r-base-core (+ r-cran-sandwich, r-cran-jsonlite,
# MASS from r-recommended):
#   Rscript tests/reference/scripts/its_r_glm.R
# Writes tests/reference/data/its_r_reference.json, compared by tests/reference/test_its_r.py.
#
# Segmented terms use impacteval's parametrisation: level = 1[t >= T],
# slope = (t - T) * 1[t >= T]; Fourier terms sin(2 pi j t / 12), cos(2 pi j t / 12) as
# tsModel::harmonic(t, 2, 12) (sin_1, sin_2, cos_1, cos_2).
suppressPackageStartupMessages({library(MASS); library(sandwich); library(jsonlite)})

harm <- function(t, K, P) {
  M <- outer(t, seq_len(K) * 2 * pi / P)
  out <- cbind(sin(M), cos(M))
  colnames(out) <- c(paste0("sin_", seq_len(K)), paste0("cos_", seq_len(K)))
  out
}
out <- list()
store <- function(name, coef, vcov, extra = list()) {
  out[[name]] <<- c(list(coef = unname(coef), se = unname(sqrt(diag(vcov))),
                         terms = names(coef)), extra)
}

## 1. Sicily smoking ban (Lopez Bernal, Cummins & Gasparrini 2017) ----------------------
s <- read.csv("tests/reference/data/its_sicily.csv")
s$level_1 <- as.numeric(s$time >= 37)
s$slope_1 <- (s$time - 37) * s$level_1
H <- harm(s$time, 2, 12)
s <- cbind(s, H)
s$rate <- s$aces / s$stdpop * 1e5

m <- glm(aces ~ time + level_1 + offset(log(stdpop)), family = poisson, data = s,
         control = glm.control(epsilon = 1e-12, maxit = 100))
store("sicily_poisson", coef(m), vcov(m))
m <- glm(aces ~ time + level_1 + offset(log(stdpop)), family = quasipoisson, data = s,
         control = glm.control(epsilon = 1e-12, maxit = 100))
store("sicily_quasipoisson", coef(m), vcov(m), list(dispersion = summary(m)$dispersion))
m <- glm(aces ~ time + level_1 + sin_1 + sin_2 + cos_1 + cos_2 + offset(log(stdpop)),
         family = poisson, data = s, control = glm.control(epsilon = 1e-12, maxit = 100))
store("sicily_poisson_fourier", coef(m), vcov(m))
m <- glm(aces ~ time + level_1 + sin_1 + sin_2 + cos_1 + cos_2 + offset(log(stdpop)),
         family = quasipoisson, data = s, control = glm.control(epsilon = 1e-12, maxit = 100))
store("sicily_quasipoisson_fourier", coef(m), vcov(m),
      list(dispersion = summary(m)$dispersion))
r3 <- residuals(m, type = "deviance")   # model3 of the tutorial: its residual checks
bx <- Box.test(r3, lag = 11, type = "Ljung-Box")
out$sicily_model3_residuals <- list(
  acf = unname(drop(acf(r3, lag.max = 24, plot = FALSE)$acf))[-1],
  pacf = unname(drop(pacf(r3, lag.max = 24, plot = FALSE)$acf)),
  ljung_box_stat = unname(bx$statistic), ljung_box_p = bx$p.value,
  durbin_watson = sum(diff(r3)^2) / sum(r3^2))
m <- glm(aces ~ time + level_1 + slope_1 + sin_1 + sin_2 + cos_1 + cos_2 + offset(log(stdpop)),
         family = quasipoisson, data = s, control = glm.control(epsilon = 1e-12, maxit = 100))
store("sicily_quasipoisson_fourier_slope", coef(m), vcov(m),
      list(dispersion = summary(m)$dispersion))
m <- glm.nb(aces ~ time + level_1 + slope_1 + sin_1 + sin_2 + cos_1 + cos_2 + offset(log(stdpop)),
            data = s, control = glm.control(epsilon = 1e-10, maxit = 1000))
store("sicily_negbin_fourier_slope", coef(m), vcov(m), list(theta = m$theta))
m <- glm(aces ~ time + level_1 + slope_1 + offset(log(stdpop)), family = poisson, data = s,
         control = glm.control(epsilon = 1e-12, maxit = 100))
store("sicily_poisson_slope_hac3", coef(m),
      NeweyWest(m, lag = 3, prewhite = FALSE, adjust = TRUE))
m <- lm(rate ~ time + level_1 + slope_1 + sin_1 + sin_2 + cos_1 + cos_2, data = s)
store("sicily_ols_rate_fourier_slope_hac3", coef(m),
      NeweyWest(m, lag = 3, prewhite = FALSE, adjust = TRUE))
store("sicily_ols_rate_fourier_slope_iid", coef(m), vcov(m))
X <- as.matrix(cbind(1, s[, c("time", "level_1", "slope_1")]))
a <- arima(s$rate, order = c(1, 0, 0), xreg = X, include.mean = FALSE, method = "ML",
           optim.control = list(reltol = 1e-12, maxit = 1000))
k <- ncol(X)
store("sicily_ols_rate_slope_ar1", coef(a)[-1], a$var.coef[-1, -1, drop = FALSE],
      list(ar1 = unname(coef(a)[1]), sigma2 = a$sigma2, loglik = a$loglik))

## 2. UK seat belt law, Jan 1969 - Dec 1984 (R datasets::Seatbelts; Harvey & Durbin 1986)
b <- read.csv("tests/reference/data/its_seatbelts.csv")
b$t <- 0:(nrow(b) - 1)
Tb <- which(b$year == 1983 & b$month == 2) - 1   # first month of the law, numeric time
b$level_1 <- as.numeric(b$t >= Tb)
b$slope_1 <- (b$t - Tb) * b$level_1
b$fmonth <- factor(b$month)
b <- cbind(b, harm(b$t, 2, 12))
b$log_drivers <- log(b$drivers)

m <- glm(DriversKilled ~ t + level_1 + slope_1 + fmonth + offset(log(kms)), family = poisson,
         data = b, control = glm.control(epsilon = 1e-12, maxit = 100))
store("seatbelts_poisson_month_slope", coef(m), vcov(m))
m <- glm.nb(DriversKilled ~ t + level_1 + slope_1 + fmonth + offset(log(kms)), data = b,
            control = glm.control(epsilon = 1e-10, maxit = 1000))
store("seatbelts_negbin_month_slope", coef(m), vcov(m), list(theta = m$theta))
m <- glm(DriversKilled ~ t + level_1 + sin_1 + sin_2 + cos_1 + cos_2 + PetrolPrice,
         family = quasipoisson, data = b, control = glm.control(epsilon = 1e-12, maxit = 100))
store("seatbelts_quasipoisson_fourier_petrol", coef(m), vcov(m),
      list(dispersion = summary(m)$dispersion))
m <- lm(log_drivers ~ t + level_1 + slope_1 + fmonth, data = b)
store("seatbelts_ols_log_month_slope_hac6", coef(m),
      NeweyWest(m, lag = 6, prewhite = FALSE, adjust = TRUE))
X <- model.matrix(~ t + level_1 + fmonth, data = b)
a <- arima(b$log_drivers, order = c(1, 0, 0), xreg = X, include.mean = FALSE, method = "ML",
           optim.control = list(reltol = 1e-12, maxit = 2000))
store("seatbelts_ols_log_month_ar1", coef(a)[-1], a$var.coef[-1, -1, drop = FALSE],
      list(ar1 = unname(coef(a)[1]), sigma2 = a$sigma2, loglik = a$loglik))

## 3. California cigarette sales (Linden 2015 single-group ITSA) ---------------------------
ca <- read.csv("tests/reference/data/its_california_cigsales.csv")
ca$t <- ca$year - 1970
ca$level_1 <- as.numeric(ca$t >= 19)
ca$slope_1 <- (ca$t - 19) * ca$level_1
m <- lm(cigsale ~ t + level_1 + slope_1, data = ca)
store("california_ols_hac1", coef(m), NeweyWest(m, lag = 1, prewhite = FALSE, adjust = TRUE))

## 4. Controlled ITS: front-seat (law applied) vs rear-seat (comparison) casualties -------
st <- rbind(data.frame(b[, c("t", "level_1", "slope_1", "fmonth")], y = log(b$front), g = 1),
            data.frame(b[, c("t", "level_1", "slope_1", "fmonth")], y = log(b$rear), g = 0))
m <- lm(y ~ t + g + g:t + level_1 + slope_1 + g:level_1 + g:slope_1 + fmonth, data = st)
store("seatbelts_controlled_ols_iid", coef(m), vcov(m))
store("seatbelts_controlled_ols_dk3", coef(m),
      vcovPL(m, cluster = ~ g, order.by = ~ t, lag = 3, adjust = TRUE))

out$`_meta` <- list(R = R.version.string, sandwich = as.character(packageVersion("sandwich")),
                    MASS = as.character(packageVersion("MASS")), seatbelt_law_t = Tb)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/data/its_r_reference.json")

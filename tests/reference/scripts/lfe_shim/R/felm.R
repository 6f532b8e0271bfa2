felm <- function(formula, data, ...) {
  f <- paste(deparse(formula), collapse = "")
  parts <- strsplit(f, "|", fixed = TRUE)[[1]]
  sides <- strsplit(parts[1], "~", fixed = TRUE)[[1]]
  lhs <- trimws(sides[1]); rhs <- trimws(sides[2])
  xs <- if (rhs == "1") character(0) else trimws(strsplit(rhs, "+", fixed = TRUE)[[1]])
  if (length(parts) == 1) {
    fit <- lm(as.formula(f), data = data)
    return(list(coefficients = coef(fit), effects = NULL))
  }
  fes <- trimws(strsplit(parts[2], "+", fixed = TRUE)[[1]])
  form <- paste(lhs, "~", paste(c("0", xs, fes), collapse = " + "))
  fit <- lm(as.formula(form), data = data)
  cf <- coef(fit)
  eff <- c()
  for (k in seq_along(fes)) {
    lev <- levels(data[[fes[k]]])
    v <- cf[paste0(fes[k], lev)]
    v[is.na(v)] <- 0  # the reference level of the second factor
    eff <- c(eff, unname(v))
  }
  list(coefficients = cf[xs], effects = eff)
}
getfe <- function(obj, ...) data.frame(effect = obj$effects)

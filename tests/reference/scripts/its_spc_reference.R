# Reference numbers for impacteval.spc from NHSRplotthedots 0.2.2 and qicharts2 0.8.1.
#
# Neither package is in Debian; both were installed from their public GitHub sources into a
# private library outside the project (R_LIBS=/tmp/spcref/lib):
#   qicharts2        github.com/anhoej/qicharts2 @ 1b9487ecb3938d25a8a04578464f960d3a064f64
#   NHSRplotthedots  github.com/nhs-r-community/NHSRplotthedots @ 050b07d7eacc011767532732f69b8fd7d6a28fd3
#     (for Debian's dplyr 1.0.10: dropped the unused importFrom(dplyr, pick) and wrote
#     `.default = x` in case_when as `TRUE ~ x`; plotly, used only by ptd_create_plotly, was
#     satisfied by an empty stub package). No calculation code was changed.
# Run from the repository root:
#   R_LIBS=/tmp/spcref/lib Rscript tests/reference/scripts/its_spc_reference.R
# Writes tests/reference/data/spc_reference.json and the input CSVs spc_*.csv.
suppressPackageStartupMessages({library(qicharts2); library(NHSRplotthedots); library(jsonlite)})

dir <- "tests/reference/data"
write.csv(data.frame(month = cdi$month, n = cdi$n, days = cdi$days,
                     period = as.character(cdi$period)),
          file.path(dir, "spc_cdi.csv"), row.names = FALSE)
write.csv(nhs_accidents, file.path(dir, "spc_nhs_accidents.csv"), row.names = FALSE)

# a constructed series that fires every Making Data Count rule (fixed seed)
set.seed(2026)
y <- round(rnorm(60, 50, 3), 1)
y[13:19] <- y[13:19] + 6            # shift of 7 above the mean
y[25:31] <- 40 + 1.5 * (0:6)        # trend of 7 increasing
y[36] <- 75                         # beyond the upper limit
y[44] <- 43; y[45] <- 50.5; y[46] <- 43.2   # two in three low, near the limit
rules <- data.frame(t = as.Date("2021-01-04") + 7 * (0:59), y = y)
write.csv(rules, file.path(dir, "spc_rules_series.csv"), row.names = FALSE)

seat <- read.csv(file.path(dir, "its_seatbelts.csv"))
seat$date <- as.Date(sprintf("%d-%02d-01", seat$year, seat$month))
seat <- seat[seat$year >= 1977, c("date", "DriversKilled")]

out <- list()
ptd <- function(name, d, value, date, ...) {
  r <- as.data.frame(ptd_spc(d, value_field = !!value, date_field = !!date, ...))
  out[[name]] <<- list(centre = r$mean_col, lower = r$lpl, upper = r$upl,
                       outside = r$outside_limits, close = r$close_to_limits,
                       special_cause_type = r$special_cause_type, point_type = r$point_type,
                       rebase_group = r$rebase_group)
}
ptd("ptd_seatbelts_rebase", seat, "DriversKilled", "date",
    rebase = as.Date("1983-02-01"), improvement_direction = "decrease")
ptd("ptd_seatbelts_fixed24_unscreened", seat, "DriversKilled", "date",
    fix_after_n_points = 24, screen_outliers = FALSE, improvement_direction = "decrease")
cdi_post <- min(cdi$month[cdi$period == "post"])
ptd("ptd_cdi_rebase", cdi, "n", "month", rebase = cdi_post, improvement_direction = "decrease")
ptd("ptd_rules_increase", rules, "y", "t", improvement_direction = "increase")
ptd("ptd_rules_neutral", rules, "y", "t", improvement_direction = "neutral")
ptd("ptd_rules_unscreened_fixed20", rules, "y", "t", improvement_direction = "decrease",
    fix_after_n_points = 20, screen_outliers = FALSE)

qq <- function(name, ...) {
  r <- qic(..., return.data = TRUE)
  parts <- r[!duplicated(r$part), c("part", "n.obs", "n.useful", "longest.run",
                                    "longest.run.max", "n.crossings", "n.crossings.min",
                                    "runs.signal")]
  out[[name]] <<- list(y = r$y, cl = r$cl, lcl = r$lcl, ucl = r$ucl, lcl95 = r$lcl.95,
                       ucl95 = r$ucl.95, sigma_signal = r$sigma.signal, parts = parts)
}
qq("qic_run_cdi_freeze24", month, n, data = cdi, freeze = 24)
qq("qic_run_cdi_part24", month, n, data = cdi, part = 24)
qq("qic_run_seatbelts", date, DriversKilled, data = seat)
qq("qic_c_cdi_part24", month, n, data = cdi, chart = "c", part = 24)
qq("qic_u_cdi_freeze24", month, n, days, data = cdi, chart = "u", multiply = 10000, freeze = 24)
qq("qic_up_cdi_freeze24", month, n, days, data = cdi, chart = "up", multiply = 10000, freeze = 24)
qq("qic_p_accidents", i, r, n, data = nhs_accidents, chart = "p")
qq("qic_pp_accidents", i, r, n, data = nhs_accidents, chart = "pp")

out$`_meta` <- list(R = R.version.string,
                    qicharts2 = as.character(packageVersion("qicharts2")),
                    NHSRplotthedots = as.character(packageVersion("NHSRplotthedots")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           file.path(dir, "spc_reference.json"))

"""Stock-Yogo (2005) critical values for weak-instrument tests with one endogenous regressor.

The values are those of Stock and Yogo (2005), Tables 5.1 (2SLS relative bias), 5.2 (2SLS
size) and 5.4 (LIML size), for one endogenous regressor and 1 to 30 excluded instruments, as
transcribed in the ``s_cdsy`` routine of Baum, Schaffer and Stillman's Stata ``ivreg2``
(livreg2 Mata library, 2014), which is how Stata users see them. They apply to the
Cragg-Donald F statistic under conditionally homoskedastic errors; comparing a
Kleibergen-Paap F with them is only a rule of thumb.

References
----------
Stock, J. H. and Yogo, M. (2005). Testing for weak instruments in linear IV regression. In
*Identification and Inference for Econometric Models*, ed. Andrews and Stock, 80-108.
Cambridge University Press.
"""

from __future__ import annotations

import math
from typing import Literal

_NA = math.nan

# Row k-1 holds the value for k excluded instruments (k = 1..30); NaN where the table has no
# entry (the relative-bias tables start at 3 instruments).
# fmt: off
_TABLES: dict[str, tuple[float, ...]] = {
    # Table 5.1: maximal relative bias of 2SLS (vs OLS) of 5%, 10%, 20%, 30%
    "2sls_bias_0.05": (_NA, _NA, 13.91, 16.85, 18.37, 19.28, 19.86, 20.25, 20.53, 20.74,
                       20.90, 21.01, 21.10, 21.18, 21.23, 21.28, 21.31, 21.34, 21.36, 21.38,
                       21.39, 21.40, 21.41, 21.41, 21.42, 21.42, 21.42, 21.42, 21.42, 21.42),
    "2sls_bias_0.10": (_NA, _NA, 9.08, 10.27, 10.83, 11.12, 11.29, 11.39, 11.46, 11.49,
                       11.51, 11.52, 11.52, 11.52, 11.51, 11.50, 11.49, 11.48, 11.46, 11.45,
                       11.44, 11.42, 11.41, 11.40, 11.38, 11.37, 11.36, 11.34, 11.33, 11.32),
    "2sls_bias_0.20": (_NA, _NA, 6.46, 6.71, 6.77, 6.76, 6.73, 6.69, 6.65, 6.61,
                       6.56, 6.53, 6.49, 6.45, 6.42, 6.39, 6.36, 6.33, 6.31, 6.28,
                       6.26, 6.24, 6.22, 6.20, 6.18, 6.16, 6.14, 6.13, 6.11, 6.09),
    "2sls_bias_0.30": (_NA, _NA, 5.39, 5.34, 5.25, 5.15, 5.07, 4.99, 4.92, 4.86,
                       4.80, 4.75, 4.71, 4.67, 4.63, 4.59, 4.56, 4.53, 4.51, 4.48,
                       4.46, 4.43, 4.41, 4.39, 4.37, 4.35, 4.34, 4.32, 4.31, 4.29),
    # Table 5.2: maximal size of a nominal 5% Wald test based on 2SLS of 10%, 15%, 20%, 25%
    "2sls_size_0.10": (16.38, 19.93, 22.30, 24.58, 26.87, 29.18, 31.50, 33.84, 36.19, 38.54,
                       40.90, 43.27, 45.64, 48.01, 50.39, 52.77, 55.15, 57.53, 59.92, 62.30,
                       64.69, 67.07, 69.46, 71.85, 74.24, 76.62, 79.01, 81.40, 83.79, 86.17),
    "2sls_size_0.15": (8.96, 11.59, 12.83, 13.96, 15.09, 16.23, 17.38, 18.54, 19.71, 20.88,
                       22.06, 23.24, 24.42, 25.61, 26.80, 27.99, 29.19, 30.38, 31.58, 32.77,
                       33.97, 35.17, 36.37, 37.57, 38.77, 39.97, 41.17, 42.37, 43.57, 44.78),
    "2sls_size_0.20": (6.66, 8.75, 9.54, 10.26, 10.98, 11.72, 12.48, 13.24, 14.01, 14.78,
                       15.56, 16.35, 17.14, 17.93, 18.72, 19.51, 20.31, 21.10, 21.90, 22.70,
                       23.50, 24.30, 25.10, 25.90, 26.71, 27.51, 28.31, 29.12, 29.92, 30.72),
    "2sls_size_0.25": (5.53, 7.25, 7.80, 8.31, 8.84, 9.38, 9.93, 10.50, 11.07, 11.65,
                       12.23, 12.82, 13.41, 14.00, 14.60, 15.19, 15.79, 16.39, 16.99, 17.60,
                       18.20, 18.80, 19.41, 20.01, 20.61, 21.22, 21.83, 22.43, 23.04, 23.65),
    # Table 5.4: maximal size of a nominal 5% Wald test based on LIML of 10%, 15%, 20%, 25%
    "liml_size_0.10": (16.38, 8.68, 6.46, 5.44, 4.84, 4.45, 4.18, 3.97, 3.81, 3.68,
                       3.58, 3.50, 3.42, 3.36, 3.31, 3.27, 3.24, 3.20, 3.18, 3.21,
                       3.39, 3.57, 3.68, 3.75, 3.79, 3.82, 3.85, 3.86, 3.87, 3.88),
    "liml_size_0.15": (8.96, 5.33, 4.36, 3.87, 3.56, 3.34, 3.18, 3.04, 2.93, 2.84,
                       2.76, 2.69, 2.63, 2.57, 2.52, 2.48, 2.44, 2.41, 2.37, 2.34,
                       2.32, 2.29, 2.27, 2.25, 2.24, 2.22, 2.21, 2.20, 2.19, 2.18),
    "liml_size_0.20": (6.66, 4.42, 3.69, 3.30, 3.05, 2.87, 2.73, 2.63, 2.54, 2.46,
                       2.40, 2.34, 2.29, 2.25, 2.21, 2.18, 2.14, 2.11, 2.09, 2.06,
                       2.04, 2.02, 2.00, 1.98, 1.96, 1.95, 1.93, 1.92, 1.90, 1.89),
    "liml_size_0.25": (5.53, 3.92, 3.32, 2.98, 2.77, 2.61, 2.49, 2.39, 2.32, 2.25,
                       2.19, 2.14, 2.10, 2.06, 2.03, 2.00, 1.97, 1.94, 1.92, 1.90,
                       1.88, 1.86, 1.84, 1.83, 1.81, 1.80, 1.78, 1.77, 1.76, 1.75),
}
# fmt: on

#: Largest number of excluded instruments tabulated here.
MAX_INSTRUMENTS = 30


def stock_yogo_critical_values(
    n_instruments: int, *, method: Literal["2sls", "liml"] = "2sls"
) -> dict[str, float]:
    """Stock-Yogo critical values for one endogenous regressor.

    Parameters
    ----------
    n_instruments : int
        Number of excluded instruments (1 to 30).
    method : {"2sls", "liml"}
        2SLS has relative-bias (3 or more instruments) and size tables; LIML has size tables.

    Returns
    -------
    dict of str to float
        Keys such as ``"2sls_size_0.10"`` (the first-stage F above which a nominal 5% Wald
        test has size at most 10%) or ``"2sls_bias_0.10"`` (relative bias of 2SLS at most
        10% of that of OLS). Empty if ``n_instruments`` is outside 1..30; entries the tables
        lack are left out.

    Examples
    --------
    >>> stock_yogo_critical_values(1)["2sls_size_0.10"]
    16.38
    """
    if not 1 <= n_instruments <= MAX_INSTRUMENTS:
        return {}
    prefix = f"{method}_"
    out: dict[str, float] = {}
    for name, values in _TABLES.items():
        if name.startswith(prefix):
            value = values[n_instruments - 1]
            if not math.isnan(value):
                out[name] = value
    return out

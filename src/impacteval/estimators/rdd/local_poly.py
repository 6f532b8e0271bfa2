"""Local polynomial regression at a cutoff: kernels, residuals, sandwich variances, the RD fit.

The estimator follows Calonico, Cattaneo and Titiunik (2014, *Econometrica* 82:2295-2326,
"CCT") and Calonico, Cattaneo, Farrell and Titiunik (2019, *REStat* 101:442-451) for
covariates, as implemented in the ``rdrobust`` package (version 2.1.1 was used to check the
numbers): on each side of the cutoff a weighted polynomial of order ``p`` with bandwidth
``h`` gives the conventional estimate; its leading bias is estimated with a polynomial of
order ``q`` and bandwidth ``b`` and subtracted; the robust variance accounts for the
variability of that bias estimate.

Everything here works on one *side* at a time: the running variable already centred at the
cutoff and sorted ascending (the nearest-neighbour residuals need the order), and a matrix
``D`` whose columns are the outcome, then the treatment (fuzzy designs), then covariates.
All operations are vectorised numpy; the only Python loops run over at most ``nnmatch``
expansion steps or over the handful of columns of ``D``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Kernel = Literal["triangular", "epanechnikov", "uniform"]
Vce = Literal["nn", "hc0", "hc1", "hc2", "hc3"]

FloatArray = NDArray[np.float64]

#: sqrt(machine epsilon): tie tolerance of the nearest-neighbour search, as in rdrobust.
_SQRT_EPS = math.sqrt(np.finfo(np.float64).eps)


def kernel_weights(x: FloatArray, h: float, kernel: Kernel) -> FloatArray:
    """Kernel weights ``K(x / h) / h`` for a running variable centred at the cutoff.

    Parameters
    ----------
    x
        Running variable minus the cutoff.
    h
        Bandwidth (positive).
    kernel
        ``"triangular"`` (1 - |u|), ``"epanechnikov"`` (0.75 (1 - u^2)) or ``"uniform"`` (0.5),
        all supported on |u| <= 1.
    """
    u: FloatArray = np.asarray(x / h, dtype=np.float64)
    inside = np.abs(u) <= 1.0
    k: FloatArray
    if kernel == "triangular":
        k = (1.0 - np.abs(u)) * inside
    elif kernel == "epanechnikov":
        k = 0.75 * (1.0 - np.square(u)) * inside
    elif kernel == "uniform":
        k = inside.astype(np.float64) * 0.5
    else:  # pragma: no cover - validated by the caller
        raise ValueError(f"unknown kernel {kernel!r}")
    return np.asarray(k / h, dtype=np.float64)


def support(x: FloatArray, h: float, kernel: Kernel) -> tuple[slice, FloatArray]:
    """Observations with a positive kernel weight at bandwidth ``h``, and their weights.

    ``x`` is one side of the cutoff, centred and sorted, so the observations within the
    bandwidth form a contiguous block next to the cutoff: it is found by binary search and
    returned as a slice (views, no copies), with the weights on that block.
    """
    pad = h * (1.0 + 1e-12)
    lo = int(np.searchsorted(x, -pad, side="left"))
    hi = int(np.searchsorted(x, pad, side="right"))
    w = kernel_weights(x[lo:hi], h, kernel)
    pos = np.flatnonzero(w > 0)
    if pos.size == 0:
        return slice(lo, lo), w[:0]
    return slice(lo + int(pos[0]), lo + int(pos[-1]) + 1), w[pos[0] : pos[-1] + 1]


def n_distinct(x_sorted: FloatArray) -> int:
    """Number of distinct values of a sorted array."""
    if x_sorted.shape[0] == 0:
        return 0
    return 1 + int(np.count_nonzero(x_sorted[1:] != x_sorted[:-1]))


def vander(x: FloatArray, p: int) -> FloatArray:
    """Columns ``1, x, ..., x**p`` (built by repeated multiplication)."""
    out = np.empty((x.shape[0], p + 1), order="F")  # column-major: contiguous column writes
    out[:, 0] = 1.0
    for j in range(1, p + 1):
        out[:, j] = out[:, j - 1] * x
    return out


def sym_inverse(a: FloatArray) -> FloatArray:
    """Inverse of a symmetric positive-definite matrix (Cholesky; pseudo-inverse if singular)."""
    try:
        chol = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.pinv(a))
    inv_chol = np.linalg.inv(chol)
    return np.asarray(inv_chol.T @ inv_chol)


def nn_residuals(x: FloatArray, d: FloatArray, nnmatch: int) -> FloatArray:
    """Nearest-neighbour residuals of every column of ``d`` (Abadie-Imbens style).

    For each observation the window of its ``nnmatch`` nearest neighbours in ``x`` is grown
    one distinct value at a time (whole groups of ties enter together; equidistant values on
    both sides enter together) until it holds at least ``min(nnmatch, n - 1)`` other
    observations. The residual is ``sqrt(J / (J + 1)) * (d_i - mean of the J others)``.

    The window depends only on the observation's distinct ``x`` value, so the search runs
    over distinct values, vectorised, in at most ``nnmatch`` steps.

    Parameters
    ----------
    x
        Running variable, sorted ascending.
    d
        ``(n, k)`` matrix of variables (outcome, treatment, covariates).
    nnmatch
        Minimum number of neighbours.
    """
    n = x.shape[0]
    if n < 2:
        raise ValueError("nearest-neighbour residuals need at least two observations")
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    ends = np.r_[starts[1:], n]
    values = x[starts]
    counts = ends - starts
    n_groups = values.shape[0]
    cap = min(nnmatch, n - 1)

    idx = np.arange(n_groups)
    lo = idx.copy()
    hi = idx.copy()
    others = counts - 1
    active = others < cap
    while np.any(active):
        a = np.flatnonzero(active)
        can_left = lo[a] > 0
        can_right = hi[a] < n_groups - 1
        d_left = np.where(can_left, values[a] - values[np.maximum(lo[a] - 1, 0)], np.inf)
        d_right = np.where(
            can_right, values[np.minimum(hi[a] + 1, n_groups - 1)] - values[a], np.inf
        )
        both = can_left & can_right
        tol = np.where(both, np.maximum(d_left, d_right) * _SQRT_EPS, 0.0)
        go_right = ~can_left | (both & (d_left - d_right > tol))
        go_left = ~can_right | (both & (d_right - d_left > tol))
        tie = both & ~go_right & ~go_left
        go_right = go_right | tie
        go_left = go_left | tie
        new_hi = np.where(go_right, hi[a] + 1, hi[a])
        new_lo = np.where(go_left, lo[a] - 1, lo[a])
        others[a] += np.where(go_right, counts[new_hi], 0) + np.where(go_left, counts[new_lo], 0)
        hi[a] = new_hi
        lo[a] = new_lo
        active = others < cap

    cums = np.vstack([np.zeros((1, d.shape[1])), np.cumsum(d, axis=0)])
    window_sum = cums[ends[hi]] - cums[starts[lo]]
    j = others.astype(np.float64)
    if n_groups < n:  # ties: expand group-level quantities to observations
        group_of_obs = np.repeat(idx, counts)
        window_sum = window_sum[group_of_obs]
        j = j[group_of_obs]
    j = j[:, None]
    return np.asarray(np.sqrt(j / (j + 1.0)) * (d - (window_sum - d) / j))


def plugin_residuals(
    d: FloatArray,
    fitted: FloatArray,
    vce: Vce,
    n_params: int,
    leverage: FloatArray | None,
    clustered: bool,
) -> FloatArray:
    """Residuals ``d - fitted`` scaled for the HC0-HC3 variance estimators.

    HC1 multiplies by ``sqrt(n / (n - n_params))`` (not under clustering, whose own
    degrees-of-freedom factor is applied to the meat); HC2 divides by ``sqrt(1 - h_ii)``,
    HC3 by ``1 - h_ii`` (leverages floored at 1e-8 away from one).
    """
    n = d.shape[0]
    if vce == "hc0" or (vce == "hc1" and clustered):
        scale: FloatArray | float = 1.0
    elif vce == "hc1":
        scale = math.sqrt(n / (n - n_params))
    else:
        assert leverage is not None
        one_minus = np.maximum(1.0 - leverage, 1e-8)
        scale = (np.sqrt(1.0 / one_minus) if vce == "hc2" else 1.0 / one_minus)[:, None]
    return np.asarray(scale * (d - fitted))


def sandwich_meat(
    rx: FloatArray,
    res: FloatArray,
    s: FloatArray,
    cluster: NDArray[np.int64] | None,
    k_df: int,
) -> FloatArray:
    """Meat ``sum_i (rx_i' r_i)(rx_i' r_i)'`` with ``r_i = res_i . s`` (or summed by cluster).

    ``s`` combines the residual columns (outcome, treatment, covariates) into the residual of
    the linear combination being estimated. With clusters the CR1 factor
    ``(n - 1)/(n - k_df) * G/(G - 1)`` is applied.
    """
    scores = rx * (res @ s)[:, None]
    if cluster is None:
        return np.asarray(scores.T @ scores)
    n = rx.shape[0]
    codes, inverse = np.unique(cluster, return_inverse=True)
    g = codes.shape[0]
    summed = np.zeros((g, rx.shape[1]))
    for col in range(rx.shape[1]):
        summed[:, col] = np.bincount(inverse, weights=scores[:, col], minlength=g)
    factor = ((n - 1) / (n - k_df)) * (g / (g - 1)) if g > 1 else math.nan
    return np.asarray(factor * (summed.T @ summed))


@dataclass(frozen=True)
class Side:
    """One side of the cutoff, sorted by the centred running variable.

    Attributes
    ----------
    x
        Running variable minus the cutoff, ascending.
    d
        ``(n, 1 + dT + dZ)``: outcome, treatment (fuzzy only), covariates.
    cluster
        Integer cluster codes, or None.
    """

    x: FloatArray
    d: FloatArray
    cluster: NDArray[np.int64] | None

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def subset(self, keep: NDArray[np.bool_] | slice) -> Side:
        return Side(
            x=self.x[keep],
            d=self.d[keep],
            cluster=None if self.cluster is None else self.cluster[keep],
        )


def residuals(
    side: Side,
    r: FloatArray,
    w: FloatArray,
    inv_g: FloatArray,
    beta: FloatArray,
    vce: Vce,
    nnmatch: int,
) -> FloatArray:
    """Residuals of a weighted polynomial fit (design ``r``, weights ``w``) for ``vce``."""
    if vce == "nn":
        return nn_residuals(side.x, side.d, nnmatch)
    leverage = None
    if vce in ("hc2", "hc3"):
        leverage = np.einsum("ij,ij->i", r @ inv_g, r * w[:, None])
    return plugin_residuals(
        side.d, r @ beta, vce, r.shape[1], leverage, clustered=side.cluster is not None
    )


@dataclass(frozen=True)
class SideFit:
    """Per-side pieces of the RD fit at given bandwidths ``h`` (estimation) and ``b`` (bias)."""

    beta_p: FloatArray  # (p+1, k) conventional coefficients
    beta_bc: FloatArray  # (p+1, k) bias-corrected coefficients
    inv_g_p: FloatArray
    rw_p: FloatArray  # R_p * W_h on the effective sample
    q_q: FloatArray  # bias-corrected "design" Q_q on the effective sample
    res_h: FloatArray
    res_b: FloatArray
    cluster: NDArray[np.int64] | None
    z_cross: FloatArray | None  # (dZ, k) covariate cross-products net of the polynomial
    n_h: int
    n_b: int
    q: int


def fit_side(
    side: Side,
    h: float,
    b: float,
    p: int,
    q: int,
    kernel: Kernel,
    vce: Vce,
    nnmatch: int,
    n_cov: int,
) -> SideFit:
    """Fit one side: conventional order-``p`` fit at ``h`` and its bias correction at ``b``."""
    sl_h, _ = support(side.x, h, kernel)
    sl_b, _ = support(side.x, b, kernel)
    n_h = sl_h.stop - sl_h.start
    n_b = sl_b.stop - sl_b.start
    # The larger window contains the smaller (both start at the cutoff).
    eff = side.subset(sl_h if h > b else sl_b)
    w_h = kernel_weights(eff.x, h, kernel)
    w_b = kernel_weights(eff.x, b, kernel)

    r_q = vander(eff.x, q)
    r_p = r_q[:, : p + 1]
    rw_p = r_p * w_h[:, None]
    rw_q = r_q * w_b[:, None]
    inv_g_p = sym_inverse(r_p.T @ rw_p)
    inv_g_q = sym_inverse(r_q.T @ rw_q)

    u = eff.x / h
    ell = rw_p.T @ u ** (p + 1)
    m = (r_q @ inv_g_q[p + 1, :]) * w_b
    q_q = rw_p - h ** (p + 1) * m[:, None] * ell[None, :]

    beta_p = inv_g_p @ (rw_p.T @ eff.d)
    beta_q = inv_g_q @ (rw_q.T @ eff.d)
    beta_bc = inv_g_p @ (q_q.T @ eff.d)

    res_h = residuals(eff, r_p, w_h, inv_g_p, beta_p, vce, nnmatch)
    res_b = res_h if vce == "nn" else residuals(eff, r_q, w_b, inv_g_q, beta_q, vce, nnmatch)

    z_cross = None
    if n_cov:
        z = eff.d[:, -n_cov:]
        u_p = rw_p.T @ eff.d
        zwd = (z * w_h[:, None]).T @ eff.d
        z_cross = zwd - u_p[:, -n_cov:].T @ inv_g_p @ u_p
    return SideFit(
        beta_p=beta_p,
        beta_bc=beta_bc,
        inv_g_p=inv_g_p,
        rw_p=rw_p,
        q_q=q_q,
        res_h=res_h,
        res_b=res_b,
        cluster=eff.cluster,
        z_cross=z_cross,
        n_h=n_h,
        n_b=n_b,
        q=q,
    )


def side_variance(fit: SideFit, s: FloatArray, robust: bool) -> float:
    """Variance of ``s . beta[0]`` from one side (conventional or robust bias-corrected)."""
    if robust:
        meat = sandwich_meat(fit.q_q, fit.res_b, s, fit.cluster, k_df=fit.q + 1)
    else:
        meat = sandwich_meat(fit.rw_p, fit.res_h, s, fit.cluster, k_df=fit.rw_p.shape[1])
    v = fit.inv_g_p @ meat @ fit.inv_g_p
    return float(v[0, 0])


@dataclass(frozen=True)
class RDFit:
    """The RD estimate at fixed bandwidths (all numbers; no interpretation).

    ``tau_cl``/``se_cl`` are conventional, ``tau_bc``/``se_rb`` robust bias-corrected;
    ``first_stage`` holds the same four numbers for the treatment jump in fuzzy designs.
    """

    tau_cl: float
    tau_bc: float
    se_cl: float
    se_rb: float
    n_h: tuple[int, int]
    n_b: tuple[int, int]
    first_stage: tuple[float, float, float, float] | None
    gamma: FloatArray | None
    n_clusters: int | None


def rd_fit(
    left: Side,
    right: Side,
    *,
    h: tuple[float, float],
    b: tuple[float, float],
    p: int,
    q: int,
    kernel: Kernel,
    vce: Vce,
    nnmatch: int,
    fuzzy: bool,
    n_cov: int,
) -> RDFit:
    """Sharp or fuzzy RD estimate at bandwidths ``h = (h_left, h_right)``, ``b`` likewise.

    Covariates (the last ``n_cov`` columns of ``D``) enter as in Calonico et al. (2019):
    a common coefficient vector ``gamma`` estimated from both sides, outcome (and
    treatment) adjusted by ``Z gamma``.
    """
    fl = fit_side(left, h[0], b[0], p, q, kernel, vce, nnmatch, n_cov)
    fr = fit_side(right, h[1], b[1], p, q, kernel, vce, nnmatch, n_cov)
    k = left.d.shape[1]
    n_resp = k - n_cov  # outcome (+ treatment)

    gamma = None
    s_y = np.zeros(k)
    s_y[0] = 1.0
    s_t = np.zeros(k)
    if fuzzy:
        s_t[1] = 1.0
    if n_cov:
        assert fl.z_cross is not None and fr.z_cross is not None
        zc = fl.z_cross + fr.z_cross
        gamma = np.linalg.pinv(zc[:, n_resp:]) @ zc[:, :n_resp]
        s_y[n_resp:] = -gamma[:, 0]
        if fuzzy:
            s_t[n_resp:] = -gamma[:, 1]

    def jump(beta_r: FloatArray, beta_l: FloatArray, s: FloatArray) -> float:
        return float(s @ (beta_r[0] - beta_l[0]))

    tau_y_cl = jump(fr.beta_p, fl.beta_p, s_y)
    tau_y_bc = jump(fr.beta_bc, fl.beta_bc, s_y)
    first_stage = None
    if not fuzzy:
        tau_cl, tau_bc, s = tau_y_cl, tau_y_bc, s_y
    else:
        tau_t_cl = jump(fr.beta_p, fl.beta_p, s_t)
        tau_t_bc = jump(fr.beta_bc, fl.beta_bc, s_t)
        tau_cl = tau_y_cl / tau_t_cl
        grad = np.array([1.0 / tau_t_cl, -tau_y_cl / tau_t_cl**2])
        tau_bc = tau_cl - float(grad @ np.array([tau_y_cl - tau_y_bc, tau_t_cl - tau_t_bc]))
        s = s_y / tau_t_cl - (tau_y_cl / tau_t_cl**2) * s_t
        se_t_cl = math.sqrt(side_variance(fl, s_t, False) + side_variance(fr, s_t, False))
        se_t_rb = math.sqrt(side_variance(fl, s_t, True) + side_variance(fr, s_t, True))
        first_stage = (tau_t_cl, tau_t_bc, se_t_cl, se_t_rb)

    se_cl = math.sqrt(side_variance(fl, s, False) + side_variance(fr, s, False))
    se_rb = math.sqrt(side_variance(fl, s, True) + side_variance(fr, s, True))
    n_clusters = None
    if fl.cluster is not None and fr.cluster is not None:
        n_clusters = int(np.unique(np.r_[fl.cluster, fr.cluster]).shape[0])
    return RDFit(
        tau_cl=tau_cl,
        tau_bc=tau_bc,
        se_cl=se_cl,
        se_rb=se_rb,
        n_h=(fl.n_h, fr.n_h),
        n_b=(fl.n_b, fr.n_b),
        first_stage=first_stage,
        gamma=gamma,
        n_clusters=n_clusters,
    )

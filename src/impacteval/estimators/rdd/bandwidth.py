"""MSE- and CER-optimal bandwidths for local polynomial RD estimators.

Implements the data-driven selectors of Calonico, Cattaneo and Titiunik (2014, *Econometrica*,
section 3 and the supplement), Calonico, Cattaneo and Farrell (2018, *JASA*; 2020,
*Econometrics Journal*) for the CER-optimal rescaling, with the implementation choices of
``rdrobust`` 2.1.1 (``rdbwselect``) so that the selected bandwidths agree with it:

1. a pilot bandwidth ``c = C_K * min(sd, IQR/1.349) * N^(-1/5)`` (on the standardised
   running variable; ``N`` is the number of distinct values when adjusting for mass points);
2. a bandwidth ``d`` for the order-``q+1`` derivative (needed for the bias of the bias);
3. the MSE-optimal ``b`` for the bias correction (order ``q``, derivative ``p+1``);
4. the MSE-optimal ``h`` for the order-``p`` estimator, each step
   ``(V / (B^2 + R))^(1/(2o+3))`` with variance ``V``, squared bias ``B^2`` and the
   regularisation ``R`` that keeps the denominator away from zero.

``mserd`` uses one bandwidth for both sides (the MSE of the difference), ``msetwo`` one per
side; ``cerrd``/``certwo`` shrink ``h`` by ``N^(-p/((3+p)(3+2p)))`` (number of clusters
instead of ``N`` when clustered) and keep ``b``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from impacteval.estimators.rdd.local_poly import (
    FloatArray,
    Kernel,
    Side,
    Vce,
    n_distinct,
    residuals,
    sandwich_meat,
    support,
    sym_inverse,
    vander,
)

BwSelect = Literal["mserd", "msetwo", "cerrd", "certwo"]

#: Kernel constants of the pilot bandwidth (rdrobust's rule-of-thumb constants).
PILOT_CONSTANT: dict[str, float] = {"triangular": 2.576, "epanechnikov": 2.34, "uniform": 1.843}

_PAD = 1.0 + math.sqrt(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Bandwidths:
    """Selected bandwidths on the original scale of the running variable."""

    h_left: float
    h_right: float
    b_left: float
    b_right: float
    method: str


def quantile_type2(x: FloatArray, prob: float) -> float:
    """Hyndman-Fan type 2 quantile (averaging at discontinuities), as R ``quantile(type=2)``."""
    xs = np.sort(x)
    n = xs.shape[0]
    pos = n * prob
    j = int(math.floor(pos))
    if pos == j:
        return float(0.5 * (xs[j - 1] + xs[j]))
    return float(xs[j])


@dataclass(frozen=True)
class _Pieces:
    v: float
    b: float
    r: float
    rate: float


class _SideSelector:
    """Variance and bias constants for one side (pilot fits cached by (order, derivative))."""

    def __init__(
        self, side: Side, pilot: float, kernel: Kernel, vce: Vce, nnmatch: int, fuzzy: bool,
        n_cov: int,
    ) -> None:
        self.side = side
        self.pilot = pilot
        self.kernel = kernel
        self.vce = vce
        self.nnmatch = nnmatch
        self.fuzzy = fuzzy
        self.n_cov = n_cov
        self._cache: dict[tuple[int, int], tuple[float, float, FloatArray]] = {}
        self._nn_cache: dict[tuple[int, int], FloatArray] = {}

    def _residuals(self, sub: Side, r: FloatArray, w: FloatArray, inv_g: FloatArray,
                   beta: FloatArray, window: slice) -> FloatArray:
        if self.vce != "nn":
            return residuals(sub, r, w, inv_g, beta, self.vce, self.nnmatch)
        # Nearest-neighbour residuals depend only on the window, not on the fit.
        key = (window.start, window.stop)
        if key not in self._nn_cache:
            self._nn_cache[key] = residuals(sub, r, w, inv_g, beta, "nn", self.nnmatch)
        return self._nn_cache[key]

    def _pilot_fit(self, o: int, nu: int) -> tuple[float, float, FloatArray]:
        key = (o, nu)
        if key in self._cache:
            return self._cache[key]
        h_v = self.pilot
        window, w = support(self.side.x, h_v, self.kernel)
        sub = self.side.subset(window)
        if n_distinct(sub.x) < o + 1:
            out = (math.nan, math.nan, np.ones(1))
            self._cache[key] = out
            return out
        r = vander(sub.x, o)
        rw = r * w[:, None]
        inv_g = sym_inverse(r.T @ rw)
        beta = inv_g @ (rw.T @ sub.d)
        k = sub.d.shape[1]
        n_resp = k - self.n_cov
        s = np.zeros(k)
        s[0] = 1.0
        if self.n_cov:
            u = rw.T @ sub.d
            zc = (sub.d[:, n_resp:] * w[:, None]).T @ sub.d - u[:, n_resp:].T @ inv_g @ u
            gamma = np.linalg.pinv(zc[:, n_resp:]) @ zc[:, :n_resp]
            s[n_resp:] = -gamma[:, 0]
        if self.fuzzy:
            s_t = np.zeros(k)
            s_t[1] = 1.0
            if self.n_cov:
                s_t[n_resp:] = -gamma[:, 1]
            fact = math.factorial(nu)
            tau_y = fact * float(s @ beta[nu])
            tau_t = fact * float(s_t @ beta[nu])
            s = s / tau_t - (tau_y / tau_t**2) * s_t
        res = self._residuals(sub, r, w, inv_g, beta, window)
        meat = sandwich_meat(rw, res, s, sub.cluster, k_df=o + 1)
        v_v = float((inv_g @ meat @ inv_g)[nu, nu])
        v = rw.T @ (sub.x / h_v) ** (o + 1)
        b_const = float(h_v**nu * (inv_g @ v)[nu])
        out = (v_v, b_const, s)
        self._cache[key] = out
        return out

    def pieces(self, o: int, nu: int, o_b: int, h_b: float, scale: float) -> _Pieces:
        """Variance ``V``, bias ``B`` and regularisation ``R`` for order ``o``, derivative ``nu``."""
        nan = _Pieces(math.nan, math.nan, math.nan, 1.0 / (2 * o + 3))
        v_v, b_const, s = self._pilot_fit(o, nu)
        if not math.isfinite(v_v) or not (math.isfinite(h_b) and h_b > 0):
            return nan
        window, w = support(self.side.x, h_b, self.kernel)
        sub = self.side.subset(window)
        if n_distinct(sub.x) < o_b + 1:
            return nan
        r = vander(sub.x, o_b)
        rw = r * w[:, None]
        inv_g = sym_inverse(r.T @ rw)
        beta = inv_g @ (rw.T @ sub.d)
        reg = 0.0
        if scale > 0:
            res = self._residuals(sub, r, w, inv_g, beta, window)
            meat = sandwich_meat(rw, res, s, sub.cluster, k_df=o_b + 1)
            v_b = float((inv_g @ meat @ inv_g)[-1, -1])
            reg = 3.0 * b_const**2 * v_b
        bias = math.sqrt(2 * (o + 1 - nu)) * b_const * float(s @ beta[-1])
        var = (2 * nu + 1) * self.pilot ** (2 * nu + 1) * v_v
        return _Pieces(var, bias, scale * 2 * (o + 1 - nu) * reg, 1.0 / (2 * o + 3))


def select_bandwidths(
    left: Side,
    right: Side,
    *,
    p: int,
    q: int,
    kernel: Kernel,
    bwselect: BwSelect,
    vce: Vce,
    nnmatch: int,
    fuzzy: bool,
    n_cov: int,
    bwcheck: int | None,
    adjust_mass_points: bool,
    n_clusters: tuple[int, int] | None,
) -> Bandwidths:
    """Select ``h`` and ``b`` (left and right) by ``bwselect``.

    ``left``/``right`` hold the running variable centred at the cutoff. Internally the
    running variable and the outcome are divided by their standard deviations (as rdrobust's
    default ``stdvars=True``) and the bandwidths are scaled back at the end.

    Raises
    ------
    ValueError
        If a pilot fit is not identified (too little variation near the cutoff); the
        estimator turns this into a :class:`~impacteval.exceptions.DesignError`.
    """
    x_all = np.r_[left.x, right.x]
    y_all = np.r_[left.d[:, 0], right.d[:, 0]]
    n = x_all.shape[0]
    x_sd = float(np.std(x_all, ddof=1))
    y_sd = float(np.std(y_all, ddof=1))
    iqr = quantile_type2(x_all, 0.75) - quantile_type2(x_all, 0.25)
    spread = min(1.0, (iqr / x_sd) / 1.349)

    def standardise(side: Side, use_t: bool) -> Side:
        d = side.d.copy()
        d[:, 0] = d[:, 0] / y_sd
        if fuzzy and not use_t:
            d = np.delete(d, 1, axis=1)
        return Side(x=side.x / x_sd, d=d, cluster=side.cluster)

    # A side with a constant treatment (one-sided compliance) gives a sharp-style bandwidth.
    use_t = fuzzy and bool(np.var(left.d[:, 1]) > 0 and np.var(right.d[:, 1]) > 0)
    sl = standardise(left, use_t)
    sr = standardise(right, use_t)
    uniq_l = sl.x[np.r_[sl.x[1:] != sl.x[:-1], True]][::-1]  # distinct, nearest first
    uniq_r = sr.x[np.r_[True, sr.x[1:] != sr.x[:-1]]]
    m_total = uniq_l.shape[0] + uniq_r.shape[0]

    pilot = PILOT_CONSTANT[kernel] * spread * (m_total if adjust_mass_points else n) ** (-0.2)
    bw_max_l = float(-sl.x[0])
    bw_max_r = float(sr.x[-1])
    bw_max = max(bw_max_l, bw_max_r)
    pilot = min(pilot, bw_max)
    bw_min_l = bw_min_r = 0.0
    if bwcheck is not None:
        bw_min_l = float(np.abs(uniq_l[min(bwcheck, uniq_l.shape[0]) - 1])) * _PAD
        bw_min_r = float(np.abs(uniq_r[min(bwcheck, uniq_r.shape[0]) - 1])) * _PAD
        pilot = max(pilot, bw_min_l, bw_min_r)

    sel_l = _SideSelector(sl, pilot, kernel, vce, nnmatch, use_t, n_cov)
    sel_r = _SideSelector(sr, pilot, kernel, vce, nnmatch, use_t, n_cov)

    d_l = sel_l.pieces(q + 1, q + 1, q + 2, bw_max_l * _PAD, 0.0)
    d_r = sel_r.pieces(q + 1, q + 1, q + 2, bw_max_r * _PAD, 0.0)

    def common(pl: _Pieces, pr: _Pieces) -> float:
        """One bandwidth for the difference of the two sides' estimates."""
        return float(((pl.v + pr.v) / ((pr.b - pl.b) ** 2 + pl.r + pr.r)) ** pl.rate)

    def own(pc: _Pieces) -> float:
        """One side's own bandwidth."""
        return float((pc.v / (pc.b**2 + pc.r)) ** pc.rate)

    if bwselect in ("mserd", "cerrd"):
        d_bw = min(common(d_l, d_r), bw_max)
        if bwcheck is not None:
            d_bw = max(d_bw, bw_min_l, bw_min_r)
        b_bw = min(common(sel_l.pieces(q, p + 1, q + 1, d_bw, 1.0),
                          sel_r.pieces(q, p + 1, q + 1, d_bw, 1.0)), bw_max)
        h_bw = min(common(sel_l.pieces(p, 0, q, b_bw, 1.0),
                          sel_r.pieces(p, 0, q, b_bw, 1.0)), bw_max)
        h_l = h_r = h_bw
        b_l = b_r = b_bw
    else:
        d_bw_l = min(own(d_l), bw_max_l)
        d_bw_r = min(own(d_r), bw_max_r)
        if bwcheck is not None:
            d_bw_l = max(d_bw_l, bw_min_l)
            d_bw_r = max(d_bw_r, bw_min_r)
        b_l = min(own(sel_l.pieces(q, p + 1, q + 1, d_bw_l, 1.0)), bw_max_l)
        b_r = min(own(sel_r.pieces(q, p + 1, q + 1, d_bw_r, 1.0)), bw_max_r)
        h_l = min(own(sel_l.pieces(p, 0, q, b_l, 1.0)), bw_max_l)
        h_r = min(own(sel_r.pieces(p, 0, q, b_r, 1.0)), bw_max_r)

    if bwselect.startswith("cer"):
        base = n if n_clusters is None else sum(n_clusters)
        shrink = base ** (-(p / ((3 + p) * (3 + 2 * p))))
        h_l *= shrink
        h_r *= shrink
    out = np.array([h_l, h_r, b_l, b_r]) * x_sd
    if not (np.all(np.isfinite(out)) and np.all(out > 0)):
        raise ValueError("bandwidth selection failed: too little variation in the running variable")
    return Bandwidths(float(out[0]), float(out[1]), float(out[2]), float(out[3]), bwselect)


def distinct_share(x: NDArray[np.float64]) -> float:
    """Share of observations that repeat an earlier value (``1 - distinct / n``; x sorted)."""
    return 1.0 - n_distinct(x) / x.shape[0]

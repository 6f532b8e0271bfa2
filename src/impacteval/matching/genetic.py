"""Genetic matching (Diamond and Sekhon 2013): search covariate weights for balance.

Matching is nearest-neighbour on the generalised Mahalanobis distance
``d(x, y)^2 = (x - y)' (S^{-1/2})' W S^{-1/2} (x - y)`` (see :mod:`.distance`) with
``W = diag(w)``. An evolutionary search over ``w`` maximises balance of the matched sample on
a *balance matrix* (by default the covariates; :func:`balance_terms` adds squares and
interactions):

``loss = "pvalue"`` (GenMatch's default ``fit.func = "pvals"``, ``loss = 1``)
    For every balance column a paired t-test of treated minus matched-control values, and for
    every non-binary column a two-sample Kolmogorov-Smirnov test of the treated values
    against the matched controls' values (the asymptotic Kolmogorov p-value: "bootstrap-free",
    GenMatch's ``ks = TRUE, nboots = 0`` setting up to its small-sample exact p-value). The
    p-values are sorted ascending and compared *lexically*: the smallest is maximised first,
    ties broken by the second smallest, and so on.
``loss = "smd"``
    The absolute standardised mean differences (treated-arm SD of the unmatched sample, as
    :func:`~impacteval.matching.balance.balance_table` for the ATT), sorted descending and
    minimised lexically (the largest first).

The search (``seed``-deterministic; one ``numpy`` Generator drives everything):

* Genomes are ``log10(w)`` in ``[0, 3]`` (GenMatch's weight domain 1..1000). Generation 0
  holds the all-ones genome (plain Mahalanobis matching) and ``pop_size - 1`` uniform draws.
* Each generation keeps the best ``elite`` genomes; the rest of the population comes from
  tournament selection (size 3) followed by one of: blend crossover of two parents, Gaussian
  mutation of one parent (SD shrinking from 0.5 to 0.05 over ``max_generations``), or a
  small perturbation of the current best (a cheap local search, the role of rgenoud's BFGS
  step). Genomes are clipped to the domain.
* After each generation the best genome gets one sweep of coordinate moves (``+-step`` in
  each ``log10`` weight, ``2 p`` evaluations) and then ``local_trials`` (default ``2 p``)
  Gaussian moves of all coordinates at once (SD half the mutation SD), each kept if it
  improves the loss; ``local_search = False`` turns both off.
* The search stops after ``max_generations`` generations after generation 0, or earlier
  when the best loss has not improved for ``wait_generations`` generations in a row.
* Warm start (``warm_start = True``, p-value loss only): a first search with the SMD loss
  (``max(1, max_generations // 2)`` generations, same population size) finds weights that
  balance the means; its best quarter of the population then seeds generation 0 of the
  p-value search, next to the all-ones genome. The p-value loss is flat over wide regions
  (a p-value moves only when a match changes), so starting from mean-balancing weights
  reaches high smallest p-values in far fewer generations.

Each candidate is evaluated by matching with replacement through a KD-tree on
``Z diag(sqrt(w))`` (``Z`` the Cholesky-whitened covariates): one tree build and one batched
query per candidate, with the tie rule of :mod:`.multivariate` (equal distances: the control
earliest in the data), so the fitness of the winning weights is exactly the balance of the
returned match.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.covariates import as_treatment, encode
from impacteval.matching.distance import cholesky_whitening, design_matrix, pooled_covariance
from impacteval.matching.multivariate import _result, _Searcher, _tree
from impacteval.matching.result import MatchResult

_WHERE = "matching.genetic"
_LOG_LOW, _LOG_HIGH = 0.0, 3.0


def balance_terms(
    X: pd.DataFrame, *, squares: bool = True, interactions: bool = True
) -> pd.DataFrame:
    """Covariates plus squares of non-binary columns and pairwise products, for balance checks.

    Categorical columns are first coded as indicators of every level but the first.
    Interactions of two indicators of the same categorical covariate (always 0) are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> list(balance_terms(pd.DataFrame({"a": [1.0, 2, 3], "b": [0, 1, 1]})).columns)
    ['a', 'b', 'a^2', 'a*b']
    """
    Z, names, enc = encode(X, drop_first=True, where=_WHERE)
    source = []
    for col in enc.columns:
        if col in enc.levels:
            source.extend([col] * (len(enc.levels[col]) - 1))
        else:
            source.append(col)
    cols: dict[str, np.ndarray] = {name: Z[:, j] for j, name in enumerate(names)}
    if squares:
        for j, name in enumerate(names):
            if not np.all((Z[:, j] == 0) | (Z[:, j] == 1)):
                cols[f"{name}^2"] = Z[:, j] ** 2
    if interactions:
        for a, b in combinations(range(len(names)), 2):
            if source[a] != source[b]:
                cols[f"{names[a]}*{names[b]}"] = Z[:, a] * Z[:, b]
    return pd.DataFrame(cols, index=X.index)


@dataclass(frozen=True, kw_only=True)
class GeneticMatch:
    """Result of :meth:`GeneticMatcher.fit`.

    Attributes
    ----------
    match
        The matching at the best weights (``distance = "generalized_mahalanobis"``).
    weights
        The best weights, one per design column of ``X`` (``names``).
    names
        Design columns of the matching covariates (constant columns dropped).
    loss
        The best sorted loss vector (p-values ascending, or |SMD| descending).
    history
        One row per generation: ``generation, best, evaluations`` where ``best`` is the
        smallest p-value (or the largest |SMD|) of the best genome so far.
    generations
        Generations run (early stopping may end the search before ``max_generations``).
    """

    match: MatchResult
    weights: np.ndarray
    names: tuple[str, ...]
    loss: np.ndarray
    history: pd.DataFrame
    generations: int


@dataclass(frozen=True, kw_only=True)
class GeneticMatcher:
    """Genetic matching (Diamond and Sekhon 2013), with KD-tree matching per candidate.

    Parameters
    ----------
    loss
        ``"pvalue"`` (maximise the smallest t-test / KS p-value, lexically) or ``"smd"``
        (minimise the largest absolute SMD, lexically).
    pop_size
        Genomes per generation (GenMatch's ``pop.size``).
    max_generations
        Generation limit (GenMatch's ``max.generations``).
    wait_generations
        Stop when the best loss has not improved for this many generations.
    ratio
        Controls per treated unit (matching is with replacement, as GenMatch's default).
    elite
        Best genomes carried over unchanged to the next generation.
    local_search
        After each generation, try moving the best genome by +-step along each coordinate
        (``2 p`` evaluations, the step shrinking as the mutation SD), keeping improvements:
        the role of rgenoud's BFGS step on the best individual in GenMatch.
    local_trials
        Random all-coordinate moves tried around the best genome after each generation
        (``None``: twice the number of covariates).
    warm_start
        With the p-value loss, seed the search with the best genomes of a shorter SMD-loss
        search (see the module docstring).
    seed
        Seed of the search; the same seed gives the same weights and matches.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> t = (rng.random(300) < 1 / (1 + np.exp(-X["a"]))).astype(int)
    >>> g = GeneticMatcher(pop_size=10, max_generations=3, seed=1).fit(X, t)
    >>> g.weights.shape
    (2,)
    """

    loss: Literal["pvalue", "smd"] = "pvalue"
    pop_size: int = 50
    max_generations: int = 25
    wait_generations: int = 5
    ratio: int = 1
    elite: int = 2
    local_search: bool = True
    warm_start: bool = True
    local_trials: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.loss not in ("pvalue", "smd"):
            raise ConfigError(
                f"loss must be 'pvalue' or 'smd', got {self.loss!r}", where=f"{_WHERE}.loss"
            )
        for name, low in (
            ("pop_size", 2),
            ("max_generations", 1),
            ("wait_generations", 1),
            ("ratio", 1),
            ("elite", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(
                    f"{name} must be a whole number >= {low}, got {value!r}",
                    where=f"{_WHERE}.{name}",
                )
        if self.elite >= self.pop_size:
            raise ConfigError("elite must be smaller than pop_size", where=f"{_WHERE}.elite")

    def fit(
        self,
        X: pd.DataFrame,
        treated: np.ndarray,
        *,
        balance: pd.DataFrame | None = None,
    ) -> GeneticMatch:
        """Search the weights and return the matching at the best weights.

        Parameters
        ----------
        X
            Matching covariates, one row per unit; not modified.
        treated
            Treatment indicator (bool or 0/1).
        balance
            Balance matrix (numeric or categorical columns, one row per unit); defaults to
            ``X``. Use :func:`balance_terms` to add squares and interactions.
        """
        Z, names = design_matrix(X)
        t = as_treatment(treated, Z.shape[0], where=_WHERE)
        n1 = int(t.sum())
        if n1 < 2 or Z.shape[0] - n1 < 1:
            raise DesignError(
                f"genetic matching needs at least 2 treated units and 1 control "
                f"(treated: {n1}, control: {Z.shape[0] - n1})",
                where=_WHERE,
            )
        constant = (Z.max(axis=0) - Z.min(axis=0)) < np.sqrt(np.finfo(float).eps)
        if constant.all():
            raise DesignError("every matching covariate is constant", where=_WHERE)
        Z = Z[:, ~constant]
        kept = tuple(n for n, c in zip(names, constant, strict=True) if not c)
        base = Z @ cholesky_whitening(pooled_covariance(Z, t))
        # every level of a categorical covariate, as in the balance table
        B, _, _ = encode(X if balance is None else balance, drop_first=False, where=_WHERE)
        if B.shape[0] != Z.shape[0]:
            raise DesignError("balance must have one row per unit", where=_WHERE)
        ev = _Evaluator(base, t, B, self.loss, self.ratio)
        rng = np.random.default_rng(self.seed)
        seeds = None
        if self.loss == "pvalue" and self.warm_start:
            ev_smd = _Evaluator(base, t, B, "smd", self.ratio)
            smd_pop, _, _, _ = self._search(
                ev_smd, base.shape[1], rng, generations=max(1, self.max_generations // 2)
            )
            seeds = smd_pop[: max(1, self.pop_size // 4)]
        best_pop, best_loss, history, gens = self._search(ev, base.shape[1], rng, seeds=seeds)
        best_genome = best_pop[0]
        w = 10.0**best_genome
        ti, ci = ev.match(w)
        match = _result(
            Z.shape[0], t, ti, ci, "generalized_mahalanobis", None, float("inf"),
            self.ratio, True, "data",
        )  # fmt: skip
        return GeneticMatch(
            match=match, weights=w, names=kept, loss=best_loss, history=history, generations=gens
        )

    def _search(
        self,
        ev: _Evaluator,
        p: int,
        rng: np.random.Generator,
        *,
        seeds: np.ndarray | None = None,
        generations: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
        """Evolve; returns the final population (best first), the best loss, history, gens."""
        max_gens = self.max_generations if generations is None else generations
        first = [np.zeros((1, p))]
        if seeds is not None:
            first.append(np.asarray(seeds, dtype=float).reshape(-1, p))
        n_first = sum(f.shape[0] for f in first)
        pop = np.vstack(
            [*first, rng.uniform(_LOG_LOW, _LOG_HIGH, (max(self.pop_size - n_first, 0), p))]
        )[: self.pop_size]
        losses = np.vstack([ev.loss(10.0**g) for g in pop])
        rank = _lexical_rank(losses)
        pop, losses = pop[rank], losses[rank]
        evaluations = pop.shape[0]
        rows = [(0, ev.headline(losses[0]), evaluations)]
        stale = 0
        gen = 0
        while gen < max_gens and stale < self.wait_generations:
            gen += 1
            sd = 0.5 - 0.45 * (gen - 1) / max(max_gens - 1, 1)
            new = np.vstack(
                [self._child(pop, p, sd, rng) for _ in range(self.pop_size - self.elite)]
            )
            new_losses = np.vstack([ev.loss(10.0**g) for g in new])
            evaluations += new.shape[0]
            previous_best = losses[0]
            pop = np.vstack([pop[: self.elite], new])
            losses = np.vstack([losses[: self.elite], new_losses])
            rank = _lexical_rank(losses)
            pop, losses = pop[rank], losses[rank]
            if self.local_search:
                pop[0], losses[0], used = _pattern_search(ev, pop[0], losses[0], sd)
                evaluations += used
                trials = 2 * p if self.local_trials is None else self.local_trials
                if trials:
                    pop[0], losses[0] = _random_search(ev, pop[0], losses[0], sd / 2, rng, trials)
                    evaluations += trials
            stale = 0 if _lexically_better(losses[0], previous_best) else stale + 1
            rows.append((gen, ev.headline(losses[0]), evaluations))
        history = pd.DataFrame(rows, columns=["generation", "best", "evaluations"])
        return pop, losses[0], history, gen

    def _child(self, pop: np.ndarray, p: int, sd: float, rng: np.random.Generator) -> np.ndarray:
        """One offspring from the sorted population (best first)."""
        u = rng.random()
        a = pop[_tournament(rng, self.pop_size)]
        if u < 0.4:
            b = pop[_tournament(rng, self.pop_size)]
            mix = rng.random(p)
            child = mix * a + (1 - mix) * b
        elif u < 0.8:
            child = a + rng.normal(0.0, sd, p) * (rng.random(p) < 0.5)
        else:
            child = pop[0] + rng.normal(0.0, sd / 5, p)
        return np.clip(child, _LOG_LOW, _LOG_HIGH)


class _Evaluator:
    """Balance loss of the with-replacement matching at given weights."""

    def __init__(
        self, base: np.ndarray, t: np.ndarray, B: np.ndarray, loss: str, ratio: int
    ) -> None:
        self.base, self.t, self.loss_kind, self.ratio = base, t, loss, ratio
        self.tu = np.flatnonzero(t)
        self.cu = np.flatnonzero(~t)
        self.Bt = B[t]
        self.Bc = B[~t]
        self.binary = np.all((B == 0) | (B == 1), axis=0)
        # the balance table's ATT denominator: treated-arm SD, sqrt(p (1 - p)) for binaries
        p1 = B[t].mean(axis=0)
        sd = np.where(
            self.binary, np.sqrt(np.clip(p1 * (1 - p1), 0, None)), B[t].std(axis=0, ddof=1)
        )
        self.sd = np.where(sd > 0, sd, 1.0)
        self.n1 = self.tu.shape[0]
        self.sign = 1.0 if loss == "pvalue" else -1.0

    def match(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(treated, control) positions of the with-replacement k-NN match at weights ``w``."""
        P = self.base * np.sqrt(w)
        k = self.ratio
        m = self.cu.shape[0]
        tree = _tree(P[self.cu])
        kq = min(k + 1, m)
        d, j = tree.query(P[self.tu], k=kq)
        d, j = d.reshape(self.n1, kq), j.reshape(self.n1, kq)
        order = np.lexsort((j, d), axis=-1)
        d = np.take_along_axis(d, order, axis=1)
        j = np.take_along_axis(j, order, axis=1)
        chosen = j[:, :k] if kq > k else j
        if kq > k:
            # a tie at the boundary may hide an earlier control beyond the queried set
            tied = d[:, k - 1] == d[:, k]
            if tied.any():
                searcher = _Searcher(P, None, None, float("inf"), self.tu, self.cu, tree=tree)
                chosen = chosen.copy()
                for i in np.flatnonzero(tied):
                    chosen[i] = searcher.nearest(int(i), k, True, 2 * kq)
        ti = np.repeat(self.tu, chosen.shape[1])
        ci = self.cu[chosen.ravel()]
        return ti, ci

    def loss(self, w: np.ndarray) -> np.ndarray:
        ti, ci = self.match(w)
        k = ci.shape[0] // self.n1
        ctrl_rows = np.searchsorted(self.cu, ci)
        Bm = self.Bc[ctrl_rows]
        if self.loss_kind == "smd":
            means = Bm.reshape(self.n1, k, -1).mean(axis=1)
            smd = np.abs(self.Bt.mean(axis=0) - means.mean(axis=0)) / self.sd
            return -np.sort(smd)[::-1]  # larger is better throughout the search
        return np.sort(self._pvalues(Bm, k))

    def _pvalues(self, Bm: np.ndarray, k: int) -> np.ndarray:
        diff = self.Bt - Bm.reshape(self.n1, k, -1).mean(axis=1)
        mean = diff.mean(axis=0)
        sd = diff.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = np.abs(mean) / (sd / np.sqrt(self.n1))
        p_t = np.where(sd > 0, 2 * stats.t.sf(tstat, self.n1 - 1), np.where(mean == 0, 1.0, 0.0))
        cont = np.flatnonzero(~self.binary)
        p_ks = np.array([_ks_pvalue(self.Bt[:, j], Bm[:, j]) for j in cont])
        return np.concatenate([p_t, p_ks])

    def headline(self, loss: np.ndarray) -> float:
        """Smallest p-value, or largest |SMD|."""
        return float(loss[0]) if self.loss_kind == "pvalue" else float(-loss[0])


def _pattern_search(
    ev: _Evaluator, genome: np.ndarray, loss: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """One sweep of coordinate moves of +-step from ``genome``, keeping each improvement."""
    best, best_loss = genome.copy(), loss
    used = 0
    for j in range(best.shape[0]):
        for sign in (1.0, -1.0):
            trial = best.copy()
            trial[j] = np.clip(trial[j] + sign * step, _LOG_LOW, _LOG_HIGH)
            if trial[j] == best[j]:
                continue
            trial_loss = ev.loss(10.0**trial)
            used += 1
            if _lexically_better(trial_loss, best_loss):
                best, best_loss = trial, trial_loss
                break
    return best, best_loss, used


def _random_search(
    ev: _Evaluator,
    genome: np.ndarray,
    loss: np.ndarray,
    sd: float,
    rng: np.random.Generator,
    trials: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``trials`` Gaussian moves of every coordinate around the best genome, kept if better.

    The p-value loss is flat between match changes and jumps at them, so random moves in all
    coordinates at once find improving directions that single-coordinate moves miss.
    """
    best, best_loss = genome.copy(), loss
    for _ in range(trials):
        trial = np.clip(best + rng.normal(0.0, sd, best.shape[0]), _LOG_LOW, _LOG_HIGH)
        trial_loss = ev.loss(10.0**trial)
        if _lexically_better(trial_loss, best_loss):
            best, best_loss = trial, trial_loss
    return best, best_loss


def _ks_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS test, asymptotic p-value (Kolmogorov distribution)."""
    a = np.sort(a)
    b = np.sort(b)
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.shape[0]
    fb = np.searchsorted(b, grid, side="right") / b.shape[0]
    dstat = float(np.max(np.abs(fa - fb)))
    en = np.sqrt(a.shape[0] * b.shape[0] / (a.shape[0] + b.shape[0]))
    return float(special.kolmogorov(en * dstat)) if dstat > 0 else 1.0


def _lexical_rank(losses: np.ndarray) -> np.ndarray:
    """Row order, best first: larger first element, then larger second, ... (stable)."""
    keys = tuple(-losses[:, j] for j in range(losses.shape[1] - 1, -1, -1))
    return np.lexsort(keys)


def _lexically_better(a: np.ndarray, b: np.ndarray) -> bool:
    diff = np.flatnonzero(a != b)
    return bool(diff.size and a[diff[0]] > b[diff[0]])


def _tournament(rng: np.random.Generator, n: int, size: int = 3) -> int:
    """Index of the best of ``size`` random genomes (the population is sorted best first)."""
    return int(rng.integers(0, n, size).min())

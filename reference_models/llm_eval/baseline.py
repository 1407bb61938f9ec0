"""Non-LLM reference point: logistic regression on per-video MG-class histograms.

Features: each video's class histogram as proportions :math:`h_v \\in \\Delta^{K-1}` (see
:func:`~reference_models.llm_eval.evidence.histogram`), standardised with the training mean and
standard deviation (zero-variance columns left at 0). Model: multinomial logistic regression

.. math:: p(y = k \\mid x) = \\mathrm{softmax}(W x + b)_k,\\qquad
          \\min_{W, b}\\; -\\sum_i \\log p(y_i \\mid x_i) + \\frac{\\lambda}{2} \\lVert W \\rVert_F^2

fitted by Newton's method with step halving (the problem is small and strictly convex in
:math:`W` for :math:`\\lambda > 0`; the bias gets a tiny :math:`10^{-8}` ridge for a unique optimum).
:math:`\\lambda` is chosen on the training videos by stratified ``folds``-fold cross-validation
(mean held-out log-loss over a log-spaced grid; ties go to the stronger penalty), then the model is
refitted on all training videos and scored on the test videos with bootstrap intervals.

Example:
    >>> import numpy as np
    >>> from reference_models.llm_eval.baseline import fit_logistic, predict_proba
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> w = fit_logistic(x, y, 2, lam=0.1)
    >>> predict_proba(w, np.array([[0.0], [3.0]])).argmax(1).tolist()
    [0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_models.llm_eval.events import VideoRecord
from reference_models.llm_eval.evidence import histograms
from reference_models.llm_eval.metrics import METRICS, bootstrap_ci
from reference_models.llm_eval.vocabulary import IMIGUE, MGVocabulary

__all__ = ["BaselineResult", "cross_validate", "fit_logistic", "predict_proba", "run_baseline"]

F64 = NDArray[np.float64]
DEFAULT_GRID: tuple[float, ...] = tuple(float(x) for x in np.logspace(-2, 3, 11))


def _design(x: F64) -> F64:
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)


def predict_proba(w: F64, x: F64) -> F64:
    """Class probabilities ``(n, K)`` of weights ``w`` ``(K, D + 1)`` (last column: bias) for ``x`` ``(n, D)``."""
    z = _design(np.asarray(x, dtype=np.float64)) @ w.T
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


def _objective(w: F64, xd: F64, y1: F64, reg: F64) -> float:
    z = xd @ w.T
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(-(y1 * z).sum() + lse.sum() + 0.5 * (reg * w * w).sum())


def fit_logistic(x: F64, y: NDArray[np.integer], num_classes: int, lam: float, *, max_iter: int = 100,
                 tol: float = 1e-10) -> F64:
    """Fit the L2-penalised multinomial logistic regression by Newton's method; returns ``(K, D + 1)``.

    The Hessian of the negative log-likelihood is
    :math:`\\sum_i (\\mathrm{diag}(p_i) - p_i p_i^T) \\otimes \\tilde x_i \\tilde x_i^T` plus the ridge.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x {x.shape} must be (n, D) and y {y.shape} must be (n,)")
    if not lam > 0:
        raise ValueError(f"lam is {lam}; use a positive penalty")
    n, d = x.shape
    k = num_classes
    xd = _design(x)
    y1 = np.eye(k)[y]
    reg = np.full((k, d + 1), float(lam))
    reg[:, -1] = 1e-8
    w = np.zeros((k, d + 1))
    f = _objective(w, xd, y1, reg)
    for _ in range(max_iter):
        p = predict_proba(w, x)
        g = (p - y1).T @ xd + reg * w  # (K, D+1)
        s = p[:, :, None] * (np.eye(k)[None] - p[:, None, :])  # (n, K, K)
        h = np.einsum("nab,ni,nj->aibj", s, xd, xd).reshape(k * (d + 1), k * (d + 1))
        h += np.diag(reg.reshape(-1))
        step = np.linalg.solve(h, g.reshape(-1)).reshape(k, d + 1)
        t = 1.0
        while True:
            w_new = w - t * step
            f_new = _objective(w_new, xd, y1, reg)
            if f_new <= f or t < 1e-8:
                break
            t *= 0.5
        done = f - f_new < tol * max(1.0, abs(f))
        w, f = w_new, min(f, f_new)
        if done:
            break
    return w


def _folds(y: NDArray[np.integer], folds: int, rng: np.random.Generator) -> NDArray[np.int64]:
    fold = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        fold[idx] = np.arange(len(idx)) % folds
    return fold


def _standardise(train: F64, *others: F64) -> list[F64]:
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return [(a - mu) / sd for a in (train, *others)]


def cross_validate(x: F64, y: NDArray[np.integer], num_classes: int, grid: Sequence[float] = DEFAULT_GRID,
                   folds: int = 5, seed: int = 0) -> tuple[float, dict[float, float]]:
    """Pick ``lam`` by stratified k-fold CV (mean held-out log-loss); returns it and the loss per ``lam``."""
    y = np.asarray(y, dtype=np.int64)
    if folds < 2 or np.bincount(y, minlength=num_classes).min() < folds:
        raise ValueError(f"folds is {folds}; need 2 <= folds <= the smallest class count "
                         f"{np.bincount(y, minlength=num_classes).tolist()}")
    fold = _folds(y, folds, np.random.default_rng(seed))
    losses: dict[float, float] = {}
    for lam in grid:
        tot = 0.0
        for f in range(folds):
            tr, te = fold != f, fold == f
            xtr, xte = _standardise(x[tr], x[te])
            w = fit_logistic(xtr, y[tr], num_classes, lam)
            p = predict_proba(w, xte)
            tot += float(-np.log(np.clip(p[np.arange(te.sum()), y[te]], 1e-12, None)).sum())
        losses[float(lam)] = tot / len(y)
    best = min(losses.values())
    chosen = max(lam for lam, v in losses.items() if v <= best + 1e-12)
    return chosen, losses


@dataclass(frozen=True)
class BaselineResult:
    """Test-set outcome of the histogram baseline (metrics with their bootstrap intervals)."""

    options: tuple[str, ...]
    lam: float
    cv_logloss: dict[float, float]
    n_train: int
    n_test: int
    metrics: dict[str, dict[str, float]]
    predictions: dict[str, str]
    features: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": "L2 multinomial logistic regression on standardised MG-class histograms",
                "features": self.features, "options": list(self.options), "lambda": self.lam,
                "cv_logloss": {f"{k:g}": v for k, v in self.cv_logloss.items()}, "n_train": self.n_train,
                "n_test": self.n_test, "metrics": self.metrics, "predictions": self.predictions}


def run_baseline(train: Sequence[VideoRecord], test: Sequence[VideoRecord], options: Sequence[str],
                 vocabulary: MGVocabulary = IMIGUE, *, include_non_mg: bool = True, folds: int = 5,
                 grid: Sequence[float] = DEFAULT_GRID, n_boot: int = 2000, seed: int = 0) -> BaselineResult:
    """Fit on ``train``, score on ``test`` (every video needs a label among ``options``).

    ``folds`` is lowered to the smallest per-label count of the training videos when that is smaller.
    """
    index = {o: i for i, o in enumerate(options)}
    for v in list(train) + list(test):
        if v.label not in index:
            raise ValueError(f"video {v.video!r} has label {v.label!r}; the baseline needs one of {list(options)}")
    if not train or not test:
        raise ValueError(f"need training and test videos (got {len(train)} and {len(test)})")
    k = len(options)
    xtr = histograms(train, vocabulary, include_non_mg=include_non_mg)
    xte = histograms(test, vocabulary, include_non_mg=include_non_mg)
    ytr = np.array([index[str(v.label)] for v in train])
    yte = np.array([index[str(v.label)] for v in test])
    smallest = int(np.bincount(ytr, minlength=k).min())
    if smallest < 2:
        raise ValueError(f"the training videos have {smallest} example(s) of some label "
                         f"({np.bincount(ytr, minlength=k).tolist()}); cross-validation needs at least 2 of each")
    lam, losses = cross_validate(xtr, ytr, k, grid, min(folds, smallest), seed)
    xtr_s, xte_s = _standardise(xtr, xte)
    w = fit_logistic(xtr_s, ytr, k, lam)
    pred = predict_proba(w, xte_s).argmax(axis=1)
    metrics = {}
    for name, f in METRICS.items():
        lo, hi = bootstrap_ci(yte, pred, k, name, n_boot=n_boot, seed=seed)
        metrics[name] = {"value": float(f(yte, pred, k)), "ci_low": lo, "ci_high": hi}
    return BaselineResult(
        options=tuple(options), lam=lam, cv_logloss=losses, n_train=len(train), n_test=len(test), metrics=metrics,
        predictions={v.video: options[int(p)] for v, p in zip(test, pred, strict=True)},
        features=f"class proportions over {xtr.shape[1]} classes"
                 f" ({'with' if include_non_mg else 'without'} the non-MG class)")

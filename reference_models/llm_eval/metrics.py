"""Classification metrics with bootstrap confidence intervals, and McNemar's paired test.

Labels are integer class indices ``0..K-1``; a prediction of ``-1`` means "no valid answer" and
counts as wrong (it is a false negative of its true class and a true positive of nothing).

* accuracy :math:`= \\frac1n \\sum_i [\\hat y_i = y_i]`;
* macro-F1 :math:`= \\frac1K \\sum_k \\frac{2\\,TP_k}{2\\,TP_k + FP_k + FN_k}` (a class with no true
  and no predicted sample contributes 0, as in scikit-learn's ``zero_division=0``);
* balanced accuracy :math:`= \\frac1{K'} \\sum_{k: n_k > 0} TP_k / n_k` over the :math:`K'` classes
  present in ``y_true``;
* percentile bootstrap: resample the :math:`n` items with replacement :math:`B` times (one
  ``numpy.random.Generator`` seeded by ``seed``), recompute the metric, report the
  :math:`\\alpha/2` and :math:`1-\\alpha/2` quantiles;
* McNemar's exact test on paired correctness: with :math:`b` items right only under A and
  :math:`c` right only under B, :math:`p = \\min(1, 2\\,P[X \\le \\min(b, c)])`,
  :math:`X \\sim \\mathrm{Bin}(b + c, 1/2)` (two-sided; :math:`p = 1` when :math:`b + c = 0`).

Example:
    >>> import numpy as np
    >>> from reference_models.llm_eval.metrics import accuracy, balanced_accuracy, macro_f1, mcnemar
    >>> y = np.array([0, 0, 0, 1]); p = np.array([0, 0, 1, 1])
    >>> accuracy(y, p), round(macro_f1(y, p, 2), 4), round(balanced_accuracy(y, p, 2), 4)
    (0.75, 0.7333, 0.8333)
    >>> mcnemar(np.array([1, 1, 1, 0], bool), np.array([0, 0, 0, 0], bool))
    McNemarResult(b=3, c=0, p_value=0.25)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "METRICS",
    "McNemarResult",
    "accuracy",
    "balanced_accuracy",
    "bootstrap_ci",
    "confusion_counts",
    "macro_f1",
    "mcnemar",
    "paired_bootstrap_diff",
]

IntArray = NDArray[np.int64]


def _check(y_true: NDArray[np.integer], y_pred: NDArray[np.integer], k: int | None = None) -> tuple[IntArray, IntArray]:
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must be 1-D of equal length")
    if t.size and (t.min() < 0 or (k is not None and t.max() >= k)):
        raise ValueError(f"y_true has values outside 0..{'K-1' if k is None else k - 1}: {np.unique(t).tolist()}")
    if p.size and (p.min() < -1 or (k is not None and p.max() >= k)):
        raise ValueError(f"y_pred has values outside -1..{'K-1' if k is None else k - 1}")
    return t, p


def confusion_counts(y_true: IntArray, y_pred: IntArray, num_classes: int) -> tuple[IntArray, IntArray, IntArray]:
    """Per-class ``(TP, FP, FN)`` for the last axis of (possibly batched, ``(..., n)``) label arrays."""
    k = np.arange(num_classes)
    t = y_true[..., None] == k  # (..., n, K)
    p = y_pred[..., None] == k
    tp = (t & p).sum(-2)
    fp = (~t & p).sum(-2)
    fn = (t & ~p).sum(-2)
    return tp, fp, fn


def _acc(t: IntArray, p: IntArray, k: int) -> NDArray[np.float64]:
    return np.asarray((t == p).mean(-1), dtype=np.float64)


def _f1(t: IntArray, p: IntArray, k: int) -> NDArray[np.float64]:
    tp, fp, fn = confusion_counts(t, p, k)
    den = 2 * tp + fp + fn
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)
    return np.asarray(f1.mean(-1), dtype=np.float64)


def _bal(t: IntArray, p: IntArray, k: int) -> NDArray[np.float64]:
    tp, _, fn = confusion_counts(t, p, k)
    n = tp + fn
    rec = np.where(n > 0, tp / np.maximum(n, 1), 0.0)
    present = (n > 0).sum(-1)
    return np.asarray(rec.sum(-1) / np.maximum(present, 1), dtype=np.float64)


#: name -> batched metric ``f(y_true (..., n), y_pred (..., n), K) -> (...)``.
METRICS: dict[str, Callable[[IntArray, IntArray, int], NDArray[np.float64]]] = {
    "accuracy": _acc,
    "macro_f1": _f1,
    "balanced_accuracy": _bal,
}


def accuracy(y_true: NDArray[np.integer], y_pred: NDArray[np.integer]) -> float:
    """Fraction of exact matches (``-1`` predictions count as wrong)."""
    t, p = _check(y_true, y_pred)
    return float(_acc(t, p, 0)) if t.size else float("nan")


def macro_f1(y_true: NDArray[np.integer], y_pred: NDArray[np.integer], num_classes: int) -> float:
    """Unweighted mean of the per-class F1 over ``num_classes`` classes."""
    t, p = _check(y_true, y_pred, num_classes)
    return float(_f1(t, p, num_classes)) if t.size else float("nan")


def balanced_accuracy(y_true: NDArray[np.integer], y_pred: NDArray[np.integer], num_classes: int) -> float:
    """Mean per-class recall over the classes present in ``y_true``."""
    t, p = _check(y_true, y_pred, num_classes)
    return float(_bal(t, p, num_classes)) if t.size else float("nan")


def bootstrap_ci(y_true: NDArray[np.integer], y_pred: NDArray[np.integer], num_classes: int,
                 metric: str = "accuracy", *, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` (a key of :data:`METRICS`) over the items.

    >>> import numpy as np
    >>> y = np.array([0, 1] * 50); p = np.where(np.arange(100) < 70, y, 1 - y)
    >>> lo, hi = bootstrap_ci(y, p, 2, "accuracy", seed=0)
    >>> lo < 0.7 < hi, round(hi - lo, 2)
    (True, 0.18)
    """
    if metric not in METRICS:
        raise ValueError(f"metric is {metric!r}; use one of {sorted(METRICS)}")
    if n_boot < 1 or not 0 < alpha < 1:
        raise ValueError(f"n_boot={n_boot}, alpha={alpha}; need n_boot >= 1 and 0 < alpha < 1")
    t, p = _check(y_true, y_pred, num_classes)
    if t.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = []
    chunk = max(1, 2_000_000 // max(1, t.size * num_classes))
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, t.size, size=(min(chunk, n_boot - start), t.size))
        vals.append(METRICS[metric](t[idx], p[idx], num_classes))
    v = np.concatenate(vals)
    lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def paired_bootstrap_diff(y_true: NDArray[np.integer], pred_a: NDArray[np.integer], pred_b: NDArray[np.integer],
                          num_classes: int, metric: str = "accuracy", *, n_boot: int = 2000, alpha: float = 0.05,
                          seed: int = 0) -> tuple[float, float, float]:
    """``metric(A) - metric(B)`` and its paired percentile bootstrap interval (same resampled items for both)."""
    t, a = _check(y_true, pred_a, num_classes)
    _, b = _check(y_true, pred_b, num_classes)
    f = METRICS[metric]
    diff = float(f(t, a, num_classes) - f(t, b, num_classes))
    if t.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, t.size, size=(n_boot, t.size))
    v = f(t[idx], a[idx], num_classes) - f(t[idx], b[idx], num_classes)
    lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
    return diff, float(lo), float(hi)


@dataclass(frozen=True)
class McNemarResult:
    """``b``: items right under A only; ``c``: right under B only; exact two-sided ``p_value``."""

    b: int
    c: int
    p_value: float


def mcnemar(correct_a: NDArray[np.bool_], correct_b: NDArray[np.bool_]) -> McNemarResult:
    """McNemar's exact test on paired per-item correctness (see the module docstring)."""
    a = np.asarray(correct_a, dtype=bool)
    b_ = np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape or a.ndim != 1:
        raise ValueError(f"correct_a {a.shape} and correct_b {b_.shape} must be 1-D of equal length")
    b = int((a & ~b_).sum())
    c = int((~a & b_).sum())
    n = b + c
    if n == 0:
        return McNemarResult(b, c, 1.0)
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2.0 ** n
    return McNemarResult(b, c, min(1.0, 2.0 * tail))

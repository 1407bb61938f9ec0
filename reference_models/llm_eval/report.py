"""Per-condition metrics, with-vs-without-MG comparisons, and the JSON / Markdown report (atomic writes).

For each condition: accuracy, macro-F1 and balanced accuracy with percentile-bootstrap intervals
over the videos, counting only **strict** answers (explicit commitments, see
:mod:`~reference_models.llm_eval.parsing`; anything else counts as wrong); the share of videos with a
strict answer (``answered``); the same share and the accuracy when lenient matches (one option named
in unhedged prose) count too (``answered_lenient``, ``accuracy_lenient``); how the answer orders
were combined, how often the two orders agreed and how often the first listed option was chosen
(position bias).

Each condition that shows MG cues is compared with the ``reference`` condition (default ``context``:
the same question without MG cues) on the videos both answered or not: the accuracy difference with
a paired bootstrap interval, and McNemar's exact test on per-video correctness (``b`` = right only
with MG cues, ``c`` = right only without).

Example:
    >>> from reference_models.llm_eval.report import fmt_ci
    >>> fmt_ci({"value": 0.62, "ci_low": 0.52, "ci_high": 0.72})
    '0.620 [0.520, 0.720]'
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from reference_models.llm_eval.metrics import METRICS, bootstrap_ci, mcnemar, paired_bootstrap_diff
from reference_models.llm_eval.runner import VideoPrediction

__all__ = ["evaluate", "fmt_ci", "to_markdown", "write_json_atomic", "write_text_atomic"]


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    with _UMASK_LOCK:  # reading the umask means setting it; keep the window closed to other writers
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    The file gets the mode a plain ``open(path, "w")`` would give (``0o666`` less the umask, e.g.
    ``0o644``), not ``mkstemp``'s private ``0o600``.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """:func:`write_text_atomic` of indented JSON (NaN written as ``null``)."""
    write_text_atomic(path, json.dumps(_clean(obj), indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def fmt_ci(m: Mapping[str, float | None], digits: int = 3) -> str:
    """``value [low, high]``; ``n/a`` when undefined."""
    v, lo, hi = m.get("value"), m.get("ci_low"), m.get("ci_high")
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if lo is None or hi is None:
        return f"{v:.{digits}f}"
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _encode(preds: Sequence[VideoPrediction], options: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    idx = {o: i for i, o in enumerate(options)}
    y = np.array([idx[str(p.label)] for p in preds], dtype=np.int64)
    yhat = np.array([idx.get(p.prediction, -1) if p.prediction is not None else -1 for p in preds], dtype=np.int64)
    return y, yhat


def _lenient(p: VideoPrediction) -> VideoPrediction:
    """``p`` with its lenient prediction as the prediction (files written before the split lack it)."""
    return replace(p, prediction=p.lenient if p.lenient is not None else p.prediction)


def evaluate(predictions: Sequence[VideoPrediction], options: Sequence[str], *, reference: str = "context",
             comparisons: Sequence[tuple[str, str]] | None = None, n_boot: int = 2000, alpha: float = 0.05,
             seed: int = 0) -> dict[str, Any]:
    """Metrics per condition and the paired comparisons (see the module docstring); JSON-ready.

    Videos without a label are left out of the metrics (their answers stay in the predictions file).
    """
    k = len(options)
    by_cond: dict[str, list[VideoPrediction]] = {}
    for p in predictions:
        if p.label is not None:
            if p.label not in options:
                raise ValueError(f"video {p.video!r} has label {p.label!r}, not one of {list(options)}")
            by_cond.setdefault(p.condition, []).append(p)
    conditions: dict[str, Any] = {}
    for cond, ps in by_cond.items():
        ps = sorted(ps, key=lambda p: p.video)
        y, yhat = _encode(ps, options)
        _, yhat_len = _encode([_lenient(p) for p in ps], options)
        metrics = {}
        for name, f in METRICS.items():
            lo, hi = bootstrap_ci(y, yhat, k, name, n_boot=n_boot, alpha=alpha, seed=seed)
            metrics[name] = {"value": float(f(y, yhat, k)), "ci_low": lo, "ci_high": hi}
        lo, hi = bootstrap_ci(y, yhat_len, k, "accuracy", n_boot=n_boot, alpha=alpha, seed=seed)
        pairs = [p.consistent for p in ps if p.consistent is not None]
        firsts = [f for p in ps for f in p.first_position.values() if f is not None]
        conditions[cond] = {
            "shows_context": ps[0].shows_context, "shows_mg": ps[0].shows_mg, "n": len(ps),
            "answered": float(np.mean(yhat >= 0)),
            "answered_lenient": float(np.mean(yhat_len >= 0)),
            "accuracy_lenient": {"value": float(METRICS["accuracy"](y, yhat_len, k)), "ci_low": lo, "ci_high": hi},
            "combined_by": dict(Counter(p.how for p in ps)),
            "order_agreement": float(np.mean(pairs)) if pairs else None,
            "first_option_rate": float(np.mean(firsts)) if firsts else None,
            "predicted": {o: int((yhat == i).sum()) for i, o in enumerate(options)} | {"none": int((yhat < 0).sum())},
            "metrics": metrics,
        }
    if comparisons is None:
        comparisons = [(c, reference) for c, v in conditions.items() if v["shows_mg"] and c != reference
                       and reference in conditions]
    comp = []
    for a, b in comparisons:
        if a not in by_cond or b not in by_cond:
            missing = a if a not in by_cond else b
            raise ValueError(f"comparison {a} vs {b}: condition {missing!r} has no labelled results")
        pa = {p.video: p for p in by_cond[a]}
        pb = {p.video: p for p in by_cond[b]}
        common = sorted(set(pa) & set(pb))
        ya, ha = _encode([pa[v] for v in common], options)
        _, hb = _encode([pb[v] for v in common], options)
        test = mcnemar(ha == ya, hb == ya)
        d, lo, hi = paired_bootstrap_diff(ya, ha, hb, k, "accuracy", n_boot=n_boot, alpha=alpha, seed=seed)
        comp.append({"with": a, "without": b, "n": len(common),
                     "accuracy_diff": {"value": d, "ci_low": lo, "ci_high": hi},
                     "mcnemar": {"b_only_with": test.b, "c_only_without": test.c, "p_value": test.p_value}})
    return {"options": list(options), "n_boot": n_boot, "alpha": alpha, "seed": seed, "conditions": conditions,
            "comparisons": comp}


def _yes(b: bool) -> str:
    return "yes" if b else "no"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.0f}%"


def to_markdown(report: Mapping[str, Any], title: str = "LLM emotion understanding with MG cues") -> str:
    """Markdown tables of a report from :func:`evaluate` (plus ``run`` / ``baseline`` sections if present)."""
    ci = round(100 * (1 - float(report.get("alpha", 0.05))))
    out = [f"# {title}", ""]
    run = report.get("run")
    if run:
        out += [", ".join(f"{k}: `{v}`" for k, v in run.items() if not isinstance(v, dict | list)), ""]
    if report["conditions"]:
        out += ["Strict answers only (an explicit choice of one option); anything else counts as wrong. "
                "The last two columns also accept lenient matches (one option named in unhedged prose).", "",
                f"| condition | setting | MG cues | n | answered | accuracy [{ci}% CI] | macro-F1 [{ci}% CI] | "
                f"balanced accuracy [{ci}% CI] | order agreement | first-option rate | answered incl. lenient | "
                "accuracy incl. lenient |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for cond, c in report["conditions"].items():
        m = c["metrics"]
        len_acc = c.get("accuracy_lenient")
        out.append(f"| {cond} | {_yes(c['shows_context'])} | {_yes(c['shows_mg'])} | {c['n']} | "
                   f"{_pct(c['answered'])} | {fmt_ci(m['accuracy'])} | {fmt_ci(m['macro_f1'])} | "
                   f"{fmt_ci(m['balanced_accuracy'])} | {_pct(c['order_agreement'])} | "
                   f"{_pct(c['first_option_rate'])} | {_pct(c.get('answered_lenient'))} | "
                   f"{'n/a' if len_acc is None else fmt_ci(len_acc)} |")
    if report.get("comparisons"):
        out += ["", "With vs without MG cues (paired on videos; McNemar exact test):", "",
                f"| with MG | without MG | n | accuracy difference [{ci}% CI] | right only with | right only without "
                "| McNemar p |", "|---|---|---|---|---|---|---|"]
        for c in report["comparisons"]:
            mc = c["mcnemar"]
            out.append(f"| {c['with']} | {c['without']} | {c['n']} | {fmt_ci(c['accuracy_diff'])} | "
                       f"{mc['b_only_with']} | {mc['c_only_without']} | {mc['p_value']:.4f} |")
    base = report.get("baseline")
    if base:
        out += ["", f"Non-LLM reference: {base['model']} ({base['features']}, lambda={base['lambda']:g}, "
                f"{base['n_train']} training videos).", "",
                f"| metric | test value [{ci}% CI] |", "|---|---|"]
        out += [f"| {name} | {fmt_ci(m)} |" for name, m in base["metrics"].items()]
    stats = report.get("stats")
    if stats:
        out += ["", "Requests: " + ", ".join(f"{k} {v}" for k, v in stats.items() if not isinstance(v, dict))]
    return "\n".join(out) + "\n"

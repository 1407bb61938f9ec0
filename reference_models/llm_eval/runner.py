"""Run prompt items through a backend: cache first, bounded retries, a concurrency limit, a progress bar.

:func:`run_items`

1. computes each item's cache key (SHA-256 of ``backend.cache_payload``); identical prompts share one
   key and one request (the ``context`` condition shows the same prompt for every video);
2. answers the keys already in the :class:`~reference_models.llm_eval.cache.ResponseCache` without a
   request;
3. sends the others with at most ``concurrency`` in flight. A transient failure is retried up to
   ``retry.max_retries`` times after a delay of
   :math:`\\min(d_{max}, d_0 2^{a}) \\cdot u`, :math:`u \\sim U[0.5, 1)` drawn from a generator seeded
   by ``(seed, key)``, and at least the server's ``Retry-After`` (capped at :math:`d_{max}`). Each
   reply is written to the cache (fsync) as soon as it arrives;
4. parses every reply with :func:`~reference_models.llm_eval.parsing.parse_answer`. Failed requests
   (retries exhausted, HTTP 400, ...) and unparseable replies are results too, with the reason; only
   successful replies are cached, so a rerun asks again exactly the failed ones.

A :class:`~reference_models.llm_eval.backends.base.FatalBackendError`, or ``max_consecutive_failures``
failed requests in a row, stops the run (what was answered is in the cache).

:func:`combine_orders` merges the answers a video got under different answer orders into one
prediction per (video, condition).
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_models.llm_eval.backends.base import (
    Backend,
    BackendError,
    FatalBackendError,
    Reply,
    Request,
    TransientBackendError,
    cache_key,
)
from reference_models.llm_eval.cache import ResponseCache
from reference_models.llm_eval.parsing import parse_answer
from reference_models.llm_eval.scenarios import PromptItem

__all__ = ["ItemResult", "RetryPolicy", "RunStats", "VideoPrediction", "combine_orders", "run_items"]


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures: ``max_retries`` after the first attempt, exponential backoff.

    >>> p = RetryPolicy(max_retries=3, base_delay=1.0, max_delay=5.0)
    >>> [round(p.delay(a, random.Random(0)), 3) for a in range(4)]
    [0.922, 1.844, 3.689, 4.611]
    >>> p.delay(0, random.Random(0), retry_after=60.0)
    5.0
    """

    max_retries: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries is {self.max_retries}; use 0 or more")
        if not (0 <= self.base_delay <= self.max_delay):
            raise ValueError(f"base_delay={self.base_delay}, max_delay={self.max_delay}; need 0 <= base <= max")

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        d = min(self.max_delay, self.base_delay * 2.0 ** attempt) * (0.5 + 0.5 * rng.random())
        if retry_after is not None:
            d = max(d, min(float(retry_after), self.max_delay))
        return d


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one prompt item.

    ``prediction`` is the parsed option key or ``None``; ``parse`` says which rule found it (or why
    none did); ``error`` is set when no reply was obtained; ``displayed`` is the option order shown.
    """

    item_id: str
    video: str
    condition: str
    order: str
    label: str | None
    displayed: tuple[str, ...]
    shows_context: bool
    shows_mg: bool
    key: str
    prediction: str | None
    parse: str
    text: str | None
    scores: dict[str, float] | None
    error: str | None
    attempts: int
    cached: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class RunStats:
    """Counters of one run: ``requests`` is the number of backend calls actually made."""

    items: int = 0
    unique_prompts: int = 0
    cache_hits: int = 0
    requests: int = 0
    retries: int = 0
    failed: int = 0
    unparseable: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Progress:
    """tqdm when installed, else a plain stderr line; silent when disabled."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.total, self.n, self.enabled, self.desc = total, 0, enabled, desc
        self._bar: Any = None
        self._last = 0.0
        if enabled:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

                self._bar = tqdm(total=total, desc=desc, unit="req", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self._bar = None

    def update(self, k: int = 1, **postfix: object) -> None:
        self.n += k
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(k)
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
        elif time.monotonic() - self._last > 0.5 or self.n == self.total:
            self._last = time.monotonic()
            extra = " ".join(f"{k}={v}" for k, v in postfix.items())
            print(f"\r{self.desc}: {self.n}/{self.total} {extra}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def _seeded(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:{key}")


def run_items(items: Sequence[PromptItem], backend: Backend, cache: ResponseCache, *,
              concurrency: int | None = None, retry: RetryPolicy | None = None, seed: int = 0,
              progress: bool = True, max_consecutive_failures: int = 25,
              sleep: Callable[[float], None] = time.sleep) -> tuple[list[ItemResult], RunStats]:
    """Answer every item (see the module docstring); results come back in the order of ``items``.

    Args:
        items: Prompt items (:func:`~reference_models.llm_eval.scenarios.build_items`).
        backend: The backend.
        cache: The response cache (read and appended).
        concurrency: Requests in flight (default and cap: ``backend.max_concurrency``).
        retry: Retry policy for transient failures.
        seed: Seed of the backoff jitter.
        progress: Show a progress bar on stderr.
        max_consecutive_failures: Stop after this many failed requests in a row (0: never).
        sleep: The wait function (tests pass a fake).

    Raises:
        FatalBackendError: the backend is misconfigured, or too many requests failed in a row.
    """
    pol = retry if retry is not None else RetryPolicy()
    workers = min(concurrency or backend.max_concurrency, backend.max_concurrency)
    if workers < 1:
        raise ValueError(f"concurrency is {concurrency}; use at least 1")
    t0 = time.monotonic()
    stats = RunStats(items=len(items))
    keys: list[str] = []
    payloads: dict[str, tuple[Request, dict[str, Any]]] = {}
    for it in items:
        req = Request.of(it)
        payload = backend.cache_payload(req)
        k = cache_key(payload)
        keys.append(k)
        payloads.setdefault(k, (req, payload))
    stats.unique_prompts = len(payloads)
    replies: dict[str, Reply] = {}
    failures: dict[str, tuple[str, int]] = {}
    attempts_of: dict[str, int] = {}
    todo = []
    for k in payloads:
        hit = cache.get(k)
        if hit is not None:
            replies[k] = hit
        else:
            todo.append(k)
    stats.cache_hits = len(replies)
    lock = threading.Lock()

    def call(k: str) -> tuple[str, Reply | None, str | None, int]:
        req, payload = payloads[k]
        rng = _seeded(seed, k)
        attempt = 0
        while True:
            attempt += 1
            with lock:
                stats.requests += 1
            try:
                reply = backend.complete(req)
            except TransientBackendError as e:
                if attempt > pol.max_retries:
                    return k, None, f"gave up after {attempt} attempts: {e}", attempt
                with lock:
                    stats.retries += 1
                sleep(pol.delay(attempt - 1, rng, e.retry_after))
                continue
            except BackendError as e:
                return k, None, f"request failed: {e}", attempt
            cache.put(k, reply, payload)
            return k, reply, None, attempt

    bar = _Progress(len(todo), progress and bool(todo), f"{backend.kind}:{backend.model}")
    consecutive = 0
    if todo:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-eval")
        pending: set[Future[tuple[str, Reply | None, str | None, int]]] = set()
        queue = iter(todo)
        try:
            for k in queue:  # keep at most 2 x workers queued so a stop does not leave thousands pending
                pending.add(pool.submit(call, k))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    k, reply, err, n = fut.result()  # re-raises FatalBackendError
                    attempts_of[k] = n
                    if reply is not None:
                        replies[k] = reply
                        consecutive = 0
                    else:
                        assert err is not None
                        failures[k] = (err, n)
                        consecutive += 1
                        if max_consecutive_failures and consecutive >= max_consecutive_failures:
                            raise FatalBackendError(f"{consecutive} requests failed in a row; last error: {err}. "
                                                    "Answers so far are cached; fix the server and rerun")
                    bar.update(1, failed=len(failures))
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.add(pool.submit(call, nxt))
        except BaseException:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            raise
        pool.shutdown(wait=True)
    bar.close()

    results = []
    for it, k in zip(items, keys, strict=True):
        r = replies.get(k)
        err, n = failures.get(k, (None, attempts_of.get(k, 0)))
        parsed = parse_answer(r.text, it.choices) if r is not None else None
        results.append(ItemResult(
            item_id=it.item_id, video=it.video, condition=it.condition, order=it.order, label=it.label,
            displayed=tuple(c.key for c in it.choices), shows_context=it.shows_context, shows_mg=it.shows_mg, key=k,
            prediction=parsed.key if parsed is not None else None,
            parse=parsed.how if parsed is not None else "no-reply",
            text=r.text if r is not None else None, scores=r.scores if r is not None else None, error=err,
            attempts=n, cached=r is not None and k not in attempts_of))
        if err is not None:
            stats.failed += 1
            kind = err.split(":", 1)[0]
            stats.errors[kind] = stats.errors.get(kind, 0) + 1
        elif parsed is not None and parsed.key is None:
            stats.unparseable += 1
    stats.seconds = round(time.monotonic() - t0, 3)
    return results, stats


@dataclass(frozen=True)
class VideoPrediction:
    """One prediction per (video, condition), after combining answer orders.

    ``how``: ``single`` (one order asked), ``scores`` (mean of per-order option log-softmax),
    ``agree``, ``one-parsed`` (the other order gave no answer), ``tie-break`` (the orders disagreed:
    a seeded coin among the answers, so a purely position-biased model scores at chance), ``none``.
    ``consistent`` is whether the answered orders agreed (``None`` with fewer than two answers).
    """

    video: str
    condition: str
    label: str | None
    prediction: str | None
    how: str
    consistent: bool | None
    shows_context: bool
    shows_mg: bool
    answers: dict[str, str | None]
    first_position: dict[str, bool | None]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _log_softmax(scores: dict[str, float], keys: Sequence[str]) -> NDArray[np.float64]:
    v = np.array([scores[k] for k in keys], dtype=np.float64)
    m = float(v.max())
    return np.asarray(v - (m + np.log(np.exp(v - m).sum())), dtype=np.float64)


def combine_orders(results: Iterable[ItemResult], seed: int = 0) -> list[VideoPrediction]:
    """Merge the answers one (video, condition) got under different answer orders (see :class:`VideoPrediction`).

    >>> from reference_models.llm_eval.runner import ItemResult, combine_orders
    >>> def r(order, disp, pred):
    ...     return ItemResult("x", "9", "mg", order, "positive", disp, False, True, "k", pred, "answer-line",
    ...                       "", None, None, 1, False)
    >>> p = combine_orders([r("fixed", ("positive", "negative"), "positive"),
    ...                     r("swapped", ("negative", "positive"), "negative")])[0]
    >>> p.how, p.consistent, p.first_position
    ('tie-break', False, {'fixed': True, 'swapped': True})
    """
    groups: dict[tuple[str, str], list[ItemResult]] = {}
    for r in results:
        groups.setdefault((r.video, r.condition), []).append(r)
    out = []
    for (video, cond), rs in groups.items():
        answered = [r for r in rs if r.prediction is not None]
        preds = [r.prediction for r in answered]
        consistent = (len(set(preds)) == 1) if len(answered) >= 2 else None
        pred: str | None
        if len(rs) == 1:
            pred, how = rs[0].prediction, ("single" if rs[0].prediction is not None else "none")
        elif len(rs) == len([r for r in rs if r.scores]) and all(r.scores for r in rs):
            keys = sorted(rs[0].displayed)
            total = sum(_log_softmax(r.scores or {}, keys) for r in rs)
            pred, how = keys[int(np.argmax(total))], "scores"
        elif not answered:
            pred, how = None, "none"
        elif consistent is None:
            pred, how = answered[0].prediction, "one-parsed"
        elif consistent:
            pred, how = answered[0].prediction, "agree"
        else:
            options = sorted({p for p in preds if p is not None})
            coin = _seeded(seed, f"{video}/{cond}").randrange(len(options))
            pred, how = options[coin], "tie-break"
        out.append(VideoPrediction(
            video=video, condition=cond, label=rs[0].label, prediction=pred, how=how, consistent=consistent,
            shows_context=rs[0].shows_context, shows_mg=rs[0].shows_mg,
            answers={r.order: r.prediction for r in rs},
            first_position={r.order: (None if r.prediction is None else r.prediction == r.displayed[0]) for r in rs}))
    return out

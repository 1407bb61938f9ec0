"""Run prompt items through a backend: cache first, bounded retries, a concurrency limit, a progress bar.

:func:`run_items`

1. computes each item's cache key (SHA-256 of ``backend.cache_payload``); identical prompts share one
   key and one request (the ``context`` condition shows the same prompt for every video);
2. answers the keys already in the :class:`~reference_models.llm_eval.cache.ResponseCache` without a
   request (with ``retry_unparsed=True``, cached replies that parse to no answer are asked again);
3. sends the others from ``concurrency`` worker threads. A transient failure is retried up to
   ``retry.max_retries`` times after a delay of
   :math:`\\min(d_{max}, d_0 2^{a}) \\cdot u`, :math:`u \\sim U[0.5, 1)` drawn from a generator seeded
   by ``(seed, key)``, and at least the server's ``Retry-After`` (capped at :math:`d_{max}`). Each
   non-empty reply is written to the cache (by the calling thread, flushed and fsynced) as soon as it
   arrives; an empty reply (HTTP 200 without text) is recorded but not cached, so a rerun asks again;
4. parses every reply with :func:`~reference_models.llm_eval.parsing.parse_answer`. Failed requests
   (retries exhausted, HTTP 400, ...) and unparsed replies are results too, with the reason; failed
   ones are not cached, so a rerun asks again exactly those.

**Stopping.** Ctrl-C (``KeyboardInterrupt`` in the calling thread) or cancelling the ``cancel``
token stops the run at once: the shared :class:`~reference_models.llm_eval.backends.base.CancelToken`
is cancelled, which aborts the requests in flight (their sockets are shut) and every backoff wait,
and no request is started after it. The workers are daemon threads and are not waited for; the
answers already received are in the cache, and :class:`RunInterrupted` (a ``KeyboardInterrupt``)
says how many. A :class:`~reference_models.llm_eval.backends.base.FatalBackendError`, or
``max_consecutive_failures`` failed prompts in a row, stops the run the same way.

:func:`combine_orders` merges the answers a video got under different answer orders into one
prediction per (video, condition), from strict answers only, and separately with lenient ones.
"""

from __future__ import annotations

import inspect
import itertools
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_models.llm_eval.backends.base import (
    Backend,
    BackendError,
    CancelToken,
    FatalBackendError,
    Reply,
    Request,
    RequestCancelled,
    TransientBackendError,
    cache_key,
)
from reference_models.llm_eval.cache import ResponseCache
from reference_models.llm_eval.parsing import STRICT_RULES, parse_answer
from reference_models.llm_eval.scenarios import PromptItem

__all__ = ["ItemResult", "RetryPolicy", "RunInterrupted", "RunStats", "VideoPrediction", "combine_orders", "run_items"]


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
    none did); :attr:`strict` whether that rule is a strict one; ``error`` is set when no reply was
    obtained; ``displayed`` is the option order shown.
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

    @property
    def strict(self) -> bool:
        """Whether ``prediction`` came from a strict parsing rule (or from option scores)."""
        return self.prediction is not None and (self.parse in STRICT_RULES or self.scores is not None)

    def to_dict(self) -> dict[str, Any]:
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        d["strict"] = self.strict
        return d


@dataclass
class RunStats:
    """Counters of one run.

    ``requests`` is the number of backend calls actually made (retries included); ``failed`` the
    number of distinct prompts that got no reply (``failed_items`` the prompt items they affect: the
    ``context`` prompt is shared by every video); ``unparsed`` items whose reply gave no answer,
    ``lenient`` items answered only by the lenient rule; ``empty`` empty replies (not cached);
    ``reasked`` cached unparsed replies asked again (``retry_unparsed``); ``errors`` failed prompts
    by kind.
    """

    items: int = 0
    unique_prompts: int = 0
    cache_hits: int = 0
    reasked: int = 0
    requests: int = 0
    retries: int = 0
    failed: int = 0
    failed_items: int = 0
    unparsed: int = 0
    lenient: int = 0
    empty: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped (Ctrl-C or a cancelled token); ``saved`` replies of this run are in the cache,
    ``remaining`` prompts are still unanswered; ``stats`` are the counters so far."""

    def __init__(self, stats: RunStats, saved: int, remaining: int) -> None:
        super().__init__(f"interrupted: {saved} replies saved in this run, {remaining} prompts left")
        self.stats, self.saved, self.remaining = stats, saved, remaining


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


def _caller(backend: Backend) -> Callable[[Request, CancelToken], Reply]:
    """``backend.complete`` with the cancel token when the backend takes one (older backends do not)."""
    try:
        takes = "cancel" in inspect.signature(backend.complete).parameters
    except (TypeError, ValueError):
        takes = False
    if takes:
        return lambda req, token: backend.complete(req, cancel=token)  # type: ignore[call-arg]
    return lambda req, token: backend.complete(req)


_Outcome = tuple[str, Reply | None, str | None, int]


def run_items(items: Sequence[PromptItem], backend: Backend, cache: ResponseCache, *,
              concurrency: int | None = None, retry: RetryPolicy | None = None, seed: int = 0,
              progress: bool = True, max_consecutive_failures: int = 25,
              sleep: Callable[[float], None] | None = None, cancel: CancelToken | None = None,
              retry_unparsed: bool = False) -> tuple[list[ItemResult], RunStats]:
    """Answer every item (see the module docstring); results come back in the order of ``items``.

    Args:
        items: Prompt items (:func:`~reference_models.llm_eval.scenarios.build_items`).
        backend: The backend.
        cache: The response cache (read and appended).
        concurrency: Requests in flight (default and cap: ``backend.max_concurrency``).
        retry: Retry policy for transient failures.
        seed: Seed of the backoff jitter.
        progress: Show a progress bar on stderr.
        max_consecutive_failures: Stop after this many failed prompts in a row (0: never).
        sleep: The backoff wait (tests pass a fake); default: a wait that a cancel interrupts.
        cancel: A token another thread may cancel to stop the run (as Ctrl-C does).
        retry_unparsed: Ask again the prompts whose cached reply parses to no answer (refusals,
            hedges, empty replies of older runs); the new reply supersedes the cached one.

    Raises:
        FatalBackendError: the backend is misconfigured, or too many requests failed in a row.
        RunInterrupted: Ctrl-C or ``cancel``; answers so far are in the cache.
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
    for k, (req, _) in payloads.items():
        hit = cache.get(k)
        if hit is not None and retry_unparsed and parse_answer(hit.text, req.choices).key is None \
                and hit.scores is None:
            stats.reasked += 1
            hit = None
        if hit is not None:
            replies[k] = hit
        else:
            todo.append(k)
    stats.cache_hits = len(replies)
    lock = threading.Lock()
    token = CancelToken()
    unlink = cancel.on_cancel(token.cancel) if cancel is not None else None
    complete = _caller(backend)

    def call(k: str) -> _Outcome:
        req, _ = payloads[k]
        rng = _seeded(seed, k)
        attempt = 0
        while True:
            if token.cancelled:  # never start a request after a stop
                raise RequestCancelled("cancelled")
            attempt += 1
            with lock:
                stats.requests += 1
            try:
                return k, complete(req, token), None, attempt
            except TransientBackendError as e:
                if attempt > pol.max_retries:
                    return k, None, f"gave up after {attempt} attempts: {e}", attempt
                with lock:
                    stats.retries += 1
                delay = pol.delay(attempt - 1, rng, e.retry_after)
                if sleep is not None:
                    sleep(delay)
                elif token.wait(delay):
                    raise RequestCancelled("cancelled during backoff") from None
            except (RequestCancelled, FatalBackendError):
                raise
            except BackendError as e:
                return k, None, f"request failed: {e}", attempt

    tasks: queue.Queue[str | None] = queue.Queue()
    done: queue.Queue[_Outcome | tuple[str, BaseException]] = queue.Queue()

    def worker() -> None:
        while True:
            k = tasks.get()
            if k is None or token.cancelled:
                return
            try:
                done.put(call(k))
            except BaseException as e:  # handed to the calling thread
                done.put((k, e))

    bar = _Progress(len(todo), progress and bool(todo), f"{backend.kind}:{backend.model}")
    consecutive = 0
    saved = 0
    nthreads = min(workers, len(todo))
    threads = [threading.Thread(target=worker, name=f"llm-eval-{i}", daemon=True) for i in range(nthreads)]
    queue_iter = iter(todo)
    outstanding = 0
    try:
        for k in itertools.islice(queue_iter, 2 * workers):  # a bounded queue: a stop leaves little pending
            tasks.put(k)
            outstanding += 1
        for t in threads:
            t.start()
        while outstanding:
            try:
                msg = done.get(timeout=0.25)
            except queue.Empty:
                if token.cancelled:
                    raise RequestCancelled("cancelled") from None
                continue
            outstanding -= 1
            if len(msg) == 2:
                raise msg[1]  # FatalBackendError, RequestCancelled, or a bug
            k, reply, err, n = msg
            attempts_of[k] = n
            if reply is not None:
                replies[k] = reply
                if reply.text.strip() or reply.scores is not None:
                    cache.put(k, reply, payloads[k][1])
                    saved += 1
                consecutive = 0
            else:
                assert err is not None
                failures[k] = (err, n)
                consecutive += 1
                if max_consecutive_failures and consecutive >= max_consecutive_failures:
                    raise FatalBackendError(f"{consecutive} prompts failed in a row; last error: {err}. "
                                            "Answers so far are cached; fix the server and rerun")
            bar.update(1, failed=len(failures))
            nxt = next(queue_iter, None)
            if nxt is not None:
                tasks.put(nxt)
                outstanding += 1
    except (KeyboardInterrupt, RequestCancelled):
        token.cancel()
        bar.close()
        stats.seconds = round(time.monotonic() - t0, 3)
        raise RunInterrupted(stats, saved, sum(1 for k in todo if k not in replies)) from None
    except BaseException:
        token.cancel()
        bar.close()
        raise
    finally:
        token.cancel()  # stops idle workers; nothing is in flight on a normal exit
        for _ in threads:
            tasks.put(None)
        if unlink is not None:
            unlink()
    bar.close()

    results = []
    failed_keys = set()
    for it, k in zip(items, keys, strict=True):
        r = replies.get(k)
        err, n = failures.get(k, (None, attempts_of.get(k, 0)))
        parsed = parse_answer(r.text, it.choices) if r is not None else None
        res = ItemResult(
            item_id=it.item_id, video=it.video, condition=it.condition, order=it.order, label=it.label,
            displayed=tuple(c.key for c in it.choices), shows_context=it.shows_context, shows_mg=it.shows_mg, key=k,
            prediction=parsed.key if parsed is not None else None,
            parse=parsed.how if parsed is not None else "no-reply",
            text=r.text if r is not None else None, scores=r.scores if r is not None else None, error=err,
            attempts=n, cached=r is not None and k not in attempts_of)
        results.append(res)
        if err is not None:
            stats.failed_items += 1
            if k not in failed_keys:
                failed_keys.add(k)
                kind = err.split(":", 1)[0]
                stats.errors[kind] = stats.errors.get(kind, 0) + 1
        elif res.prediction is None:
            stats.unparsed += 1
        elif not res.strict:
            stats.lenient += 1
    stats.failed = len(failed_keys)
    stats.empty = sum(1 for k in attempts_of if k in replies and not replies[k].text.strip()
                      and replies[k].scores is None)
    stats.seconds = round(time.monotonic() - t0, 3)
    return results, stats


@dataclass(frozen=True)
class VideoPrediction:
    """One prediction per (video, condition), after combining answer orders.

    ``prediction`` uses strict answers only (see :mod:`~reference_models.llm_eval.parsing`);
    ``lenient`` is the same combination when lenient matches count too.
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
    lenient: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _log_softmax(scores: dict[str, float], keys: Sequence[str]) -> NDArray[np.float64]:
    v = np.array([scores[k] for k in keys], dtype=np.float64)
    m = float(v.max())
    return np.asarray(v - (m + np.log(np.exp(v - m).sum())), dtype=np.float64)


def _combine(rs: Sequence[ItemResult], preds: Sequence[str | None], coin_key: str,
             seed: int) -> tuple[str | None, str, bool | None]:
    """One (video, condition): the combined prediction, how it was reached, and order consistency."""
    answered = [p for p in preds if p is not None]
    consistent = (len(set(answered)) == 1) if len(answered) >= 2 else None
    if len(rs) == 1:
        return preds[0], ("single" if preds[0] is not None else "none"), consistent
    if all(r.scores for r in rs):
        keys = sorted(rs[0].displayed)
        total = sum(_log_softmax(r.scores or {}, keys) for r in rs)
        return keys[int(np.argmax(total))], "scores", consistent
    if not answered:
        return None, "none", consistent
    if consistent is None:
        return answered[0], "one-parsed", consistent
    if consistent:
        return answered[0], "agree", consistent
    options = sorted(set(answered))
    return options[_seeded(seed, coin_key).randrange(len(options))], "tie-break", consistent


def combine_orders(results: Iterable[ItemResult], seed: int = 0) -> list[VideoPrediction]:
    """Merge the answers one (video, condition) got under different answer orders (see :class:`VideoPrediction`).

    >>> from reference_models.llm_eval.runner import ItemResult, combine_orders
    >>> def r(order, disp, pred, how="answer-line"):
    ...     return ItemResult("x", "9", "mg", order, "positive", disp, False, True, "k", pred, how,
    ...                       "", None, None, 1, False)
    >>> p = combine_orders([r("fixed", ("positive", "negative"), "positive"),
    ...                     r("swapped", ("negative", "positive"), "negative")])[0]
    >>> p.how, p.consistent, p.first_position
    ('tie-break', False, {'fixed': True, 'swapped': True})
    >>> p = combine_orders([r("fixed", ("positive", "negative"), "positive", how="mention"),
    ...                     r("swapped", ("negative", "positive"), None, how="refusal")])[0]
    >>> p.prediction, p.how, p.lenient
    (None, 'none', 'positive')
    """
    groups: dict[tuple[str, str], list[ItemResult]] = {}
    for r in results:
        groups.setdefault((r.video, r.condition), []).append(r)
    out = []
    for (video, cond), rs in groups.items():
        strict = [r.prediction if r.strict else None for r in rs]
        pred, how, consistent = _combine(rs, strict, f"{video}/{cond}", seed)
        lenient, _, _ = _combine(rs, [r.prediction for r in rs], f"{video}/{cond}", seed)
        out.append(VideoPrediction(
            video=video, condition=cond, label=rs[0].label, prediction=pred, how=how, consistent=consistent,
            shows_context=rs[0].shows_context, shows_mg=rs[0].shows_mg,
            answers={r.order: p for r, p in zip(rs, strict, strict=True)},
            first_position={r.order: (None if p is None else p == r.displayed[0])
                            for r, p in zip(rs, strict, strict=True)},
            lenient=lenient))
    return out

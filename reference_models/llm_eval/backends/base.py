"""The backend interface: one request (chat messages + answer choices) in, one reply out.

A backend implements :class:`Backend`:

* ``complete(request)`` returns a :class:`Reply` (the answer text, and per-option scores when the
  backend can score options) or raises one of three errors, which tell the runner what to do:
  :class:`TransientBackendError` (timeout, HTTP 429 / 5xx, dropped connection, garbled body: retry
  with backoff), :class:`BackendError` (this request cannot succeed, e.g. HTTP 400: record it, carry
  on) and :class:`FatalBackendError` (wrong URL, key or model: stop the run).
* ``cache_payload(request)`` returns everything that determines the reply (backend kind, model,
  messages, sampling parameters); the runner hashes it into the cache key. Things that do not change
  the answer (a server's URL, timeouts) stay out, so moving a server keeps the cache valid.
* ``max_concurrency`` caps the runner's parallel requests (1 for a local model).

``complete`` may take a keyword argument ``cancel`` (a :class:`CancelToken`): the runner passes its
token, and cancelling it (Ctrl-C) must make the call return promptly by raising
:class:`RequestCancelled`, without sending anything new. A backend that cannot stop mid-call (a local
forward pass) checks the token before it starts; the runner never waits for it after a cancel.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reference_models.llm_eval.scenarios import Choice, PromptItem

__all__ = [
    "Backend",
    "BackendError",
    "CancelToken",
    "FatalBackendError",
    "Reply",
    "Request",
    "RequestCancelled",
    "TransientBackendError",
    "cache_key",
]


@dataclass(frozen=True)
class Request:
    """What a backend is asked: chat ``messages`` and the ``choices`` in displayed order."""

    messages: tuple[tuple[str, str], ...]
    choices: tuple[Choice, ...]

    @classmethod
    def of(cls, item: PromptItem) -> Request:
        return cls(item.messages, item.choices)

    def chat(self) -> list[dict[str, str]]:
        """Messages in the OpenAI chat format."""
        return [{"role": r, "content": c} for r, c in self.messages]


@dataclass(frozen=True)
class Reply:
    """A backend's answer.

    Args:
        text: The answer text (parsed by :func:`~reference_models.llm_eval.parsing.parse_answer`).
        scores: Option key -> log-likelihood, for backends that score options; else ``None``.
        meta: Provenance (token usage, finish reason, model fingerprint ...), stored in the cache.
    """

    text: str
    scores: dict[str, float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "scores": self.scores, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reply:
        scores = d.get("scores")
        parsed = None if scores is None else {str(k): float(v) for k, v in scores.items()}
        return cls(text=str(d["text"]), scores=parsed, meta=dict(d.get("meta") or {}))


class TransientBackendError(Exception):
    """A failure worth retrying (timeout, 429, 5xx, reset connection, garbled body).

    ``retry_after`` is the server's requested wait in seconds (``Retry-After``), if any.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendError(Exception):
    """This request cannot succeed as posed (e.g. HTTP 400, prompt too long): recorded, not retried."""


class FatalBackendError(Exception):
    """The backend is misconfigured (wrong URL, key, model): the run stops."""


class RequestCancelled(Exception):
    """The call was abandoned because its :class:`CancelToken` was cancelled (nothing to record or retry)."""


class CancelToken:
    """A thread-safe, one-way cancellation switch shared by the runner, its workers and the backend.

    ``cancel()`` sets it and runs every callback registered with :meth:`on_cancel` (a transport
    registers one that shuts its socket, so a blocked read returns at once); ``wait(s)`` is an
    interruptible sleep for backoff delays.

    >>> t = CancelToken()
    >>> closed = []
    >>> undo = t.on_cancel(lambda: closed.append("socket"))
    >>> t.cancelled, t.wait(0.01)
    (False, False)
    >>> t.cancel(); t.cancelled, closed, t.wait(10.0)
    (True, ['socket'], True)
    >>> _ = t.on_cancel(lambda: closed.append("late"))  # registered after the cancel: runs at once
    >>> closed
    ['socket', 'late']
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next = 0

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        """Set the token and run the registered callbacks (each once; errors in them are ignored)."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for cb in callbacks:
            try:
                cb()
            except Exception:  # an abort callback must not stop the others
                pass

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return ``True`` (early) if the token is or gets cancelled."""
        return self._event.wait(max(0.0, seconds))

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` on cancel (at once if already cancelled); returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                key = self._next
                self._next += 1
                self._callbacks[key] = callback

                def unregister() -> None:
                    with self._lock:
                        self._callbacks.pop(key, None)

                return unregister
        callback()
        return lambda: None


@runtime_checkable
class Backend(Protocol):
    """What the runner needs from a backend (see the module docstring)."""

    kind: str
    model: str
    max_concurrency: int

    def complete(self, request: Request) -> Reply: ...

    def cache_payload(self, request: Request) -> dict[str, Any]: ...


def cache_key(payload: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a cache payload (sorted keys, no whitespace).

    >>> cache_key({"b": 1, "a": [1, 2]}) == cache_key({"a": [1, 2], "b": 1})
    True
    >>> len(cache_key({}))
    64
    """
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()

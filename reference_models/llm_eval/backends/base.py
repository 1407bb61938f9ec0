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
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reference_models.llm_eval.scenarios import Choice, PromptItem

__all__ = [
    "Backend",
    "BackendError",
    "FatalBackendError",
    "Reply",
    "Request",
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

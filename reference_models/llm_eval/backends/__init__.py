"""Backends behind one interface (:class:`~.base.Backend`): an OpenAI-compatible HTTP client and a
local transformers log-likelihood scorer (optional extra, imported on use)."""

from reference_models.llm_eval.backends.base import (
    Backend,
    BackendError,
    FatalBackendError,
    Reply,
    Request,
    TransientBackendError,
    cache_key,
)
from reference_models.llm_eval.backends.openai_http import OpenAIChatBackend

__all__ = [
    "Backend",
    "BackendError",
    "FatalBackendError",
    "OpenAIChatBackend",
    "Reply",
    "Request",
    "TransientBackendError",
    "cache_key",
]

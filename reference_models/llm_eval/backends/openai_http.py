"""OpenAI-compatible chat-completions client (standard library only).

Speaks ``POST {base_url}/chat/completions``, which vLLM (``vllm serve``), llama.cpp (``llama-server``),
Ollama (``http://host:11434/v1``), LM Studio, TGI and hosted APIs all accept. Configuration comes from
arguments or the environment:

=====================  ===========================================================================
``LLM_EVAL_BASE_URL``   server root including ``/v1`` (fallback ``OPENAI_BASE_URL``); required
``LLM_EVAL_MODEL``      model name as the server knows it
``LLM_EVAL_API_KEY``    bearer token (fallback ``OPENAI_API_KEY``); optional for local servers
=====================  ===========================================================================

Requests use temperature 0 and a fixed ``seed`` (servers that support it: vLLM, llama.cpp, OpenAI);
``extra_body`` adds or overrides request fields (``None`` removes one, e.g.
``{"max_tokens": None, "max_completion_tokens": 512}`` for APIs that renamed the field).

Error mapping (see :mod:`.base`): timeouts, dropped connections, HTTP 408/409/425/429/5xx and
unreadable 200 bodies are transient (retried by the runner, honouring ``Retry-After``); 401/403/404
are fatal (key, URL or model wrong); other 4xx fail the single request.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from reference_models.llm_eval.backends.base import (
    BackendError,
    FatalBackendError,
    Reply,
    Request,
    TransientBackendError,
)

__all__ = ["OpenAIChatBackend"]

_TRANSIENT_STATUS = {408, 409, 425, 429}
_FATAL_STATUS = {401, 403, 404}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIChatBackend:
    """Chat-completions over HTTP.

    Args:
        base_url: Server root including the API prefix, e.g. ``http://127.0.0.1:8000/v1``.
        model: Model name sent in each request.
        api_key: Bearer token, or ``None``.
        timeout: Socket timeout in seconds (connect and each read).
        temperature: Sampling temperature (0: greedy).
        seed: Sampling seed sent to the server (``None``: not sent).
        max_tokens: Completion length cap (room for a short reasoning is fine; the parser finds the answer).
        extra_body: Extra request fields; a ``None`` value deletes the field.
        max_concurrency: Parallel requests the runner may make.

    Example:
        >>> b = OpenAIChatBackend("http://127.0.0.1:8000/v1", "qwen2.5-7b-instruct")
        >>> b.url
        'http://127.0.0.1:8000/v1/chat/completions'
        >>> sorted(b.body([("user", "hi")]))
        ['max_tokens', 'messages', 'model', 'n', 'seed', 'temperature']
    """

    kind = "openai-chat"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 120.0,
                 temperature: float = 0.0, seed: int | None = 0, max_tokens: int = 256,
                 extra_body: Mapping[str, Any] | None = None, max_concurrency: int = 8) -> None:
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url is {base_url!r}; give an http(s) URL such as http://127.0.0.1:8000/v1")
        if not model:
            raise ValueError("model is empty; give the model name the server serves (GET {base_url}/models lists them)")
        if not timeout > 0:
            raise ValueError(f"timeout is {timeout}; give positive seconds")
        if max_tokens < 1:
            raise ValueError(f"max_tokens is {max_tokens}; give at least 1")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency is {max_concurrency}; give at least 1")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = float(timeout)
        self.temperature = float(temperature)
        self.seed = seed
        self.max_tokens = int(max_tokens)
        self.extra_body = dict(extra_body or {})
        self.max_concurrency = int(max_concurrency)
        loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        # Never send a local server's traffic through an HTTP proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}) if loopback
                                                   else urllib.request.ProxyHandler())

    @classmethod
    def from_env(cls, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 env: Mapping[str, str] | None = None, **kwargs: Any) -> OpenAIChatBackend:
        """Fill missing ``base_url``, ``model`` and ``api_key`` from the environment (see module docs)."""
        e = os.environ if env is None else env
        url = base_url or e.get("LLM_EVAL_BASE_URL") or e.get("OPENAI_BASE_URL")
        if not url:
            raise ValueError("no server URL: pass --base-url or set LLM_EVAL_BASE_URL, e.g. http://127.0.0.1:8000/v1")
        name = model or e.get("LLM_EVAL_MODEL")
        if not name:
            raise ValueError("no model name: pass --model or set LLM_EVAL_MODEL")
        key = api_key or e.get("LLM_EVAL_API_KEY") or e.get("OPENAI_API_KEY")
        return cls(url, name, api_key=key, **kwargs)

    def __repr__(self) -> str:
        return f"OpenAIChatBackend({self.base_url!r}, model={self.model!r})"

    def body(self, messages: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> dict[str, Any]:
        """The JSON request body for these messages."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": r, "content": c} for r, c in messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "n": 1,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        for k, v in self.extra_body.items():
            if v is None:
                body.pop(k, None)
            else:
                body[k] = v
        return body

    def cache_payload(self, request: Request) -> dict[str, Any]:
        """Everything that determines the answer (not the URL: moving a server keeps the cache)."""
        body = self.body(request.messages)
        return {"kind": self.kind, **body}

    def complete(self, request: Request) -> Reply:
        """POST one chat completion; raise the error class that tells the runner what to do."""
        data = json.dumps(self.body(request.messages)).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            status = e.code
            try:
                detail = e.read(500).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                detail = ""
            msg = f"HTTP {status} from {self.url}: {detail.strip()[:300]}"
            if status in _TRANSIENT_STATUS or status >= 500:
                raise TransientBackendError(msg, _retry_after(e.headers.get("Retry-After"))) from None
            if status in _FATAL_STATUS:
                raise FatalBackendError(msg + " (check the base URL, the model name and the API key)") from None
            raise BackendError(msg) from None
        except TimeoutError:
            raise TransientBackendError(f"no answer from {self.url} within {self.timeout:g} s") from None
        except urllib.error.URLError as e:
            raise TransientBackendError(f"cannot reach {self.url}: {e.reason}") from None
        except (http.client.HTTPException, ConnectionError, OSError) as e:
            raise TransientBackendError(f"connection to {self.url} failed: {e!r}") from None
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Reply:
        try:
            payload = json.loads(raw.decode("utf-8"))
            choice = payload["choices"][0]
            message = choice["message"]
            content = message.get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise TransientBackendError(f"unreadable response body from {self.url}: {raw[:200]!r}") from None
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        text = content if isinstance(content, str) else ""
        meta: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        for k in ("usage", "system_fingerprint", "model"):
            if k in payload:
                meta[k] = payload[k]
        return Reply(text=text, scores=None, meta=meta)

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

**Deadline and cancellation.** ``timeout`` bounds the *whole* request: connecting, sending, the
status line, headers and every byte of the body (a server that dribbles a few bytes a second is cut
at the deadline, not merely when it pauses). The connection is made non-blocking in short slices;
once connected, a watchdog timer shuts the socket down at the deadline, and so does a
:class:`~.base.CancelToken` passed as ``complete(request, cancel=token)``, so a blocked read returns
at once and the call raises :class:`~.base.RequestCancelled`. Nothing is sent once the token is
cancelled. Only host-name resolution (``getaddrinfo``) cannot be interrupted; the runner does not wait
for it. HTTP(S) proxies from the environment are honoured (except for loopback servers).

**Credentials.** A URL such as ``https://user:secret@host/v1`` is accepted: the user name and password
are removed from the URL and sent as HTTP Basic authentication; an API key is sent as a bearer
token (one or the other: both at once is an error). Neither ever appears in ``base_url``, ``url``,
``repr``, error messages or the cache payload, and server error texts are scrubbed of them.

Error mapping (see :mod:`.base`): timeouts, dropped connections, HTTP 408/409/425/429/5xx and
unreadable 200 bodies are transient (retried by the runner, honouring ``Retry-After``); 401/403/404
are fatal (key, URL or model wrong); other 4xx fail the single request.
"""

from __future__ import annotations

import base64
import email.utils
import errno
import functools
import http.client
import json
import os
import selectors
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from reference_models.llm_eval.backends.base import (
    BackendError,
    CancelToken,
    FatalBackendError,
    Reply,
    Request,
    RequestCancelled,
    TransientBackendError,
)

__all__ = ["OpenAIChatBackend", "redact_url"]

_TRANSIENT_STATUS = {408, 409, 425, 429}
_FATAL_STATUS = {401, 403, 404}
_CONNECT_SLICE = 0.05  # seconds between checks of the deadline / cancel switch while connecting


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


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (for messages).

    >>> redact_url("http://me:sk-123@127.0.0.1:8000/v1")
    'http://***@127.0.0.1:8000/v1'
    >>> redact_url("http://127.0.0.1:8000/v1")
    'http://127.0.0.1:8000/v1'
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class _Call:
    """One request's deadline and abort switch: the sockets it opens are shut down on either.

    ``reason`` becomes ``"deadline"`` or ``"cancelled"`` when the call is aborted; sockets attached
    after that are refused, so a cancelled call never sends anything.
    """

    def __init__(self, timeout: float, token: CancelToken | None) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.reason: str | None = None
        self._token = token
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(timeout, self.abort, args=("deadline",))
        self._timer.daemon = True
        self._unregister: Any = None

    def __enter__(self) -> _Call:
        if self._token is not None:
            if self._token.cancelled:
                raise RequestCancelled("cancelled before the request was sent")
            self._unregister = self._token.on_cancel(functools.partial(self.abort, "cancelled"))
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()
        if self._unregister is not None:
            self._unregister()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            s.close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise if the call was aborted or its time is up (before each blocking step)."""
        if self.reason == "cancelled" or (self._token is not None and self._token.cancelled):
            raise RequestCancelled("cancelled")
        if self.reason == "deadline" or self.remaining() <= 0:
            self.reason = self.reason or "deadline"
            raise TimeoutError("deadline")

    def attach(self, sock: socket.socket) -> None:
        """Watch ``sock``: it is shut down when the call is aborted (at once if it already was)."""
        dup = sock.dup()  # shutdown() acts on the connection, so a duplicate survives SSL wrapping
        with self._lock:
            if self.reason is None:
                self._socks.append(dup)
                return
        dup.close()
        self.check()

    def abort(self, reason: str) -> None:
        with self._lock:
            if self.reason is not None:
                return
            self.reason = reason
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _connect(call: _Call, address: tuple[str, int], timeout: object = None,
             source_address: tuple[str, int] | None = None) -> socket.socket:
    """``socket.create_connection`` that gives up at the call's deadline or cancel, checking every 50 ms."""
    host, port = address
    call.check()
    last: OSError | None = None
    for af, socktype, proto, _, sa in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        call.check()
        sock = socket.socket(af, socktype, proto)
        try:
            if source_address:
                sock.bind(source_address)
            sock.setblocking(False)
            err = sock.connect_ex(sa)
            if err in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EINTR):
                with selectors.DefaultSelector() as sel:
                    sel.register(sock, selectors.EVENT_WRITE)
                    while True:
                        call.check()
                        if sel.select(min(call.remaining(), _CONNECT_SLICE)):
                            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                            break
            if err:
                raise OSError(err, os.strerror(err))
            call.check()
            sock.settimeout(max(call.remaining(), 1e-3))  # a backstop; the watchdog enforces the deadline
            call.attach(sock)
            return sock
        except BaseException as e:
            sock.close()
            if not isinstance(e, OSError) or isinstance(e, TimeoutError):
                raise
            last = e
    raise last if last is not None else OSError(f"getaddrinfo returned nothing for {host!r}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, call: _Call, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_connect, call)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, call: _Call, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_connect, call)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, call: _Call) -> None:
        super().__init__()
        self.call = call

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_HTTPConnection, call=self.call), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, call: _Call) -> None:
        super().__init__()
        self.call = call

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = getattr(self, "_context", None)  # the handler's SSL context (None: the default one)
        return self.do_open(functools.partial(_HTTPSConnection, call=self.call), req, context=context)


class OpenAIChatBackend:
    """Chat-completions over HTTP.

    Args:
        base_url: Server root including the API prefix, e.g. ``http://127.0.0.1:8000/v1``. A
            ``user:password@`` in it is sent as HTTP Basic authentication and removed from the URL.
        model: Model name sent in each request.
        api_key: Bearer token, or ``None``.
        timeout: Deadline in seconds for each whole request (connect, send, all reads).
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
        >>> OpenAIChatBackend("http://me:sk-123@127.0.0.1:8000/v1", "m")
        OpenAIChatBackend('http://127.0.0.1:8000/v1', model='m', auth='basic')
    """

    kind = "openai-chat"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 120.0,
                 temperature: float = 0.0, seed: int | None = 0, max_tokens: int = 256,
                 extra_body: Mapping[str, Any] | None = None, max_concurrency: int = 8) -> None:
        try:
            parsed = urllib.parse.urlsplit(base_url)
            hostname, port = parsed.hostname, parsed.port
        except ValueError:
            raise ValueError(f"base_url is {redact_url(base_url)!r}, not a valid URL; give an http(s) URL such "
                             "as http://127.0.0.1:8000/v1") from None
        if parsed.scheme not in ("http", "https") or not hostname:
            raise ValueError(f"base_url is {redact_url(base_url)!r}; give an http(s) URL such as "
                             "http://127.0.0.1:8000/v1")
        if not model:
            raise ValueError("model is empty; give the model name the server serves (GET {base_url}/models lists them)")
        if not timeout > 0:
            raise ValueError(f"timeout is {timeout}; give positive seconds")
        if max_tokens < 1:
            raise ValueError(f"max_tokens is {max_tokens}; give at least 1")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency is {max_concurrency}; give at least 1")
        secrets: list[str] = []
        self._auth: str | None = None
        self.auth = "none"
        if parsed.username is not None or parsed.password is not None:
            if api_key:
                raise ValueError("base_url carries a user:password and an API key is also set (argument, "
                                 "LLM_EVAL_API_KEY or OPENAI_API_KEY); both go in the Authorization header: "
                                 "keep one of them")
            user = urllib.parse.unquote(parsed.username or "")
            password = urllib.parse.unquote(parsed.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._auth, self.auth = f"Basic {token}", "basic"
            secrets += [s for s in (password, parsed.password, token) if s]
        elif api_key:
            self._auth, self.auth = f"Bearer {api_key}", "bearer"
            secrets.append(api_key)
        self._secrets = sorted(set(secrets), key=len, reverse=True)
        netloc = hostname if ":" not in hostname else f"[{hostname}]"
        if port is not None:
            netloc += f":{port}"
        self.base_url = urllib.parse.urlunsplit(parsed._replace(netloc=netloc)).rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.model = model
        self.timeout = float(timeout)
        self.temperature = float(temperature)
        self.seed = seed
        self.max_tokens = int(max_tokens)
        self.extra_body = dict(extra_body or {})
        self.max_concurrency = int(max_concurrency)
        # Never send a local server's traffic through an HTTP proxy from the environment.
        self._loopback = hostname in ("127.0.0.1", "localhost", "::1")

    @property
    def api_key(self) -> str | None:
        """The bearer token, if one was given (never printed by ``repr``)."""
        return self._auth[len("Bearer "):] if self._auth and self._auth.startswith("Bearer ") else None

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
        auth = "" if self.auth == "none" else f", auth={self.auth!r}"
        return f"OpenAIChatBackend({self.base_url!r}, model={self.model!r}{auth})"

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

    def _scrub(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def _opener(self, call: _Call) -> urllib.request.OpenerDirector:
        proxies = urllib.request.ProxyHandler({}) if self._loopback else urllib.request.ProxyHandler()
        return urllib.request.build_opener(proxies, _HTTPHandler(call), _HTTPSHandler(call))

    def complete(self, request: Request, *, cancel: CancelToken | None = None) -> Reply:
        """POST one chat completion within ``timeout`` seconds; raise the error class that tells the runner
        what to do (:class:`~.base.RequestCancelled` when ``cancel`` is cancelled)."""
        data = json.dumps(self.body(request.messages)).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._auth:
            headers["Authorization"] = self._auth
        req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        with _Call(self.timeout, cancel) as call:
            try:
                with self._opener(call).open(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                if call.reason is not None:  # aborted mid-headers: http.client may see a short, "complete" reply
                    call.check()
            except RequestCancelled:
                raise
            except urllib.error.HTTPError as e:
                if call.reason == "cancelled":
                    raise RequestCancelled("cancelled") from None
                status = e.code
                try:
                    detail = e.read(500).decode("utf-8", "replace")
                except (OSError, http.client.HTTPException):
                    detail = ""
                msg = self._scrub(f"HTTP {status} from {self.url}: {detail.strip()[:300]}")
                if status in _TRANSIENT_STATUS or status >= 500:
                    raise TransientBackendError(msg, _retry_after(e.headers.get("Retry-After"))) from None
                if status in _FATAL_STATUS:
                    raise FatalBackendError(msg + " (check the base URL, the model name and the API key)") from None
                raise BackendError(msg) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                if call.reason == "cancelled" or (cancel is not None and cancel.cancelled):
                    raise RequestCancelled("cancelled") from None
                if call.reason == "deadline" or isinstance(e, TimeoutError) or call.remaining() <= 0 or (
                        isinstance(e, urllib.error.URLError) and isinstance(e.reason, TimeoutError)):
                    raise TransientBackendError(f"no complete answer from {self.url} within the "
                                                f"{self.timeout:g} s deadline") from None
                if isinstance(e, urllib.error.URLError):
                    raise TransientBackendError(self._scrub(f"cannot reach {self.url}: {e.reason}")) from None
                raise TransientBackendError(self._scrub(f"connection to {self.url} failed: {e!r}")) from None
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Reply:
        try:
            payload = json.loads(raw.decode("utf-8"))
            choice = payload["choices"][0]
            message = choice["message"]
            content = message.get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise TransientBackendError(self._scrub(f"unreadable response body from {self.url}: {raw[:200]!r}")) \
                from None
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        text = content if isinstance(content, str) else ""
        meta: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        for k in ("usage", "system_fingerprint", "model"):
            if k in payload:
                meta[k] = payload[k]
        return Reply(text=text, scores=None, meta=meta)

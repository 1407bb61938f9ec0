"""On-disk response cache: an append-only JSONL file, one line per answered request.

Each line is ``{"key": <sha256 of the cache payload>, "reply": {...}, "request": {...}, "time": ...}``.
Every line is flushed and ``fsync`` ed before the runner moves on, so a killed run loses at most the
request in flight. On open, a truncated last line (a kill mid-write) is cut off the file, and any
other unreadable line is skipped with a warning naming the file and line (its request is simply
asked again). Appends take an advisory ``flock`` where the platform has one, so two runs sharing a
cache do not interleave lines.

Example:
    >>> import tempfile, os
    >>> from reference_models.llm_eval.backends.base import Reply
    >>> from reference_models.llm_eval.cache import ResponseCache
    >>> path = os.path.join(tempfile.mkdtemp(), "cache.jsonl")
    >>> with ResponseCache(path) as c:
    ...     c.put("k1", Reply("Answer: A"))
    >>> with open(path, "a") as f:
    ...     _ = f.write('{"key": "k2", "rep')  # a kill mid-write
    >>> with ResponseCache(path) as c:
    ...     len(c), c.get("k1").text, c.get("k2")
    (1, 'Answer: A', None)
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from reference_models.llm_eval.backends.base import Reply

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["ResponseCache"]


class ResponseCache:
    """JSONL response cache (see the module docstring).

    Args:
        path: The ``.jsonl`` file (created with its folder if missing).
        store_request: Also store the request payload on each line (for auditing; larger file).
    """

    def __init__(self, path: str | os.PathLike[str], *, store_request: bool = True) -> None:
        self.path = Path(path)
        self.store_request = store_request
        self._entries: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self.skipped_lines: list[int] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fh = open(self.path, "a", encoding="utf-8")  # kept open for appends

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:  # drop the partial line left by a kill mid-write
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
            warnings.warn(f"{self.path}: dropped a truncated last line ({len(data) - cut} bytes) left by an "
                          "interrupted run; that request will be asked again", RuntimeWarning, stacklevel=3)
            data = data[:cut]
        for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                self._entries[str(rec["key"])] = Reply.from_dict(rec["reply"])
            except (ValueError, KeyError, TypeError, AttributeError):
                self.skipped_lines.append(lineno)
                warnings.warn(f"{self.path}, line {lineno}: unreadable cache entry skipped; its request will be "
                              "asked again", RuntimeWarning, stacklevel=3)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> Reply | None:
        """The cached reply for ``key``, or ``None``."""
        return self._entries.get(key)

    def put(self, key: str, reply: Reply, request: dict[str, Any] | None = None) -> None:
        """Append one entry durably (flush + fsync) and remember it."""
        rec: dict[str, Any] = {"key": key, "reply": reply.to_dict(), "time": round(time.time(), 3)}
        if self.store_request and request is not None:
            rec["request"] = request
        line = json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            if fcntl is not None:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX)
            try:
                self._fh.write(line)
                self._fh.flush()
                os.fsync(self._fh.fileno())
            finally:
                if fcntl is not None:
                    fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._entries[key] = reply

    def close(self) -> None:
        """Close the file (entries stay readable in memory)."""
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

"""The LLM recipe's HTTP client against loopback faults (issue 21), and httpx2 under the same faults.

Measures: seconds from SIGINT to exit for a ``run`` whose every request hangs (``--timeout 3``,
``--concurrency 4``) and the requests the server saw after the signal; seconds one request is held by
a reply dribbled at 30 bytes/s under a 2 s timeout; the same for ``httpx2.Client(timeout=2)``, and
whether ``Client.close()`` from another thread ends a hanging request. Only 127.0.0.1 is used.

    python benchmarks/llm_http_faults.py .            # this checkout
    python benchmarks/llm_http_faults.py ../main      # another checkout, for comparison
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RELEASE = threading.Event()
COUNT = [0]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK:
            COUNT[0] += 1
        if self.path.startswith("/hang"):
            RELEASE.wait(60)
            return
        body = json.dumps({"choices": [{"message": {"content": "Answer: A" + " " * 600}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):  # 30 bytes/s
                if RELEASE.is_set():
                    return
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(1 / 30)
        except OSError:
            pass


def held(f: Callable[[], object]) -> tuple[float, str]:
    t0 = time.monotonic()
    try:
        f()
        outcome = "answered"
    except Exception as e:  # the error class is the result
        outcome = type(e).__name__
    return time.monotonic() - t0, outcome


def main(repo: Path) -> None:
    sys.path.insert(0, str(repo))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{srv.server_address[1]}"

    tmp = Path(tempfile.mkdtemp())
    ev, lab = tmp / "events.csv", tmp / "labels.csv"
    ev.write_text("video_id,start_time,end_time,class\n" + "".join(f"v{i},0,1,{1 + i % 30}\n" for i in range(30)))
    lab.write_text("video_id,label,split\n" + "".join(
        f"v{i},{'confident' if i % 2 else 'anxious'},{'train' if i < 6 else 'test'}\n" for i in range(30)))
    args = ["run", "--scenario", "interview", "--events", str(ev), "--video-labels", str(lab), "--conditions", "mg",
            "--order", "fixed", "--base-url", f"{root}/hang/v1", "--model", "m", "--out", str(tmp / "out"),
            "--no-progress", "--timeout", "3", "--concurrency", "4", "--no-baseline"]
    proc = subprocess.Popen([sys.executable, "-m", "reference_models.llm_eval", *args], cwd=repo,
                            env={**os.environ, "PYTHONPATH": str(repo)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,  # SIG_DFL: a benchmark started with `&` inherits SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while COUNT[0] < 4:
        time.sleep(0.01)
    time.sleep(0.3)
    before = COUNT[0]
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=900)[1].decode()
    print(f"SIGINT with 4 hanging requests: exit after {time.monotonic() - t0:.2f} s, {COUNT[0] - before} requests "
          f"sent after it, exit status {proc.returncode}, traceback printed: {'Traceback' in err}")

    from reference_models.llm_eval.backends.base import Request
    from reference_models.llm_eval.backends.openai_http import OpenAIChatBackend

    backend = OpenAIChatBackend(f"{root}/drip/v1", "m", timeout=2)
    s, outcome = held(lambda: backend.complete(Request((("user", "x"),), ())))
    print(f"recipe client, reply dribbled at 30 B/s, timeout 2: held {s:.2f} s ({outcome})")
    try:
        import httpx2  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print("httpx2 not installed: skipped")
        RELEASE.set()
        return
    with httpx2.Client(timeout=2) as client:
        s, outcome = held(lambda: client.post(f"{root}/drip/v1/chat/completions", json={}))
        print(f"httpx2.Client(timeout=2), same dribble: held {s:.2f} s ({outcome})")
    client = httpx2.Client(timeout=30)
    threading.Timer(0.5, client.close).start()
    s, outcome = held(lambda: client.post(f"{root}/hang/v1/chat/completions", json={}))
    print(f"httpx2, Client.close() from another thread 0.5 s into a hanging request: returned after {s:.2f} s "
          f"({outcome})")
    RELEASE.set()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())

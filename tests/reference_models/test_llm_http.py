"""The OpenAI-compatible HTTP backend and the runner against a scripted local server on 127.0.0.1.

The server answers ``/v1/chat/completions``; for each distinct prompt the test installs a *plan*, a
list of behaviours for its successive requests (``ok:<reply text>``, ``500``, ``429``, ``slow``,
``garbled``, ``400``, ``401``, ``echo`` (a 400 whose body repeats the Authorization header),
``hang`` (never answers until the server closes), ``dribble`` (a reply sent at 30 bytes/s),
``dribble-head`` (even the status line dribbles)); ``first`` scripts the first requests overall. It
counts every request per prompt, which is the oracle for "retries are bounded", "nothing is asked
twice", "a second run makes no request" and "nothing is sent after Ctrl-C".
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reference_models.llm_eval.__main__ import main
from reference_models.llm_eval.backends.base import (
    BackendError,
    CancelToken,
    FatalBackendError,
    Request,
    RequestCancelled,
    TransientBackendError,
)
from reference_models.llm_eval.backends.openai_http import OpenAIChatBackend
from reference_models.llm_eval.cache import ResponseCache
from reference_models.llm_eval.events import MGEvent, VideoRecord
from reference_models.llm_eval.runner import RetryPolicy, RunInterrupted, run_items
from reference_models.llm_eval.scenarios import BuildConfig, Scenario, build_items

REPO = Path(__file__).resolve().parents[2]


def prompt_id(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


class FakeServer:
    """A scripted OpenAI-compatible chat server (threaded, 127.0.0.1, ephemeral port)."""

    def __init__(self, slow_seconds: float = 1.0) -> None:
        self.plans: dict[str, list[str]] = {}
        self.default = "ok:Answer: A"
        self.first: list[str] = []  # behaviours of the next requests overall, before any plan (see script)
        self.first_at = 0
        self.cycle: list[str] = []  # plans handed in turn to prompts without one
        self.counts: Counter[str] = Counter()
        self.bodies: list[dict[str, object]] = []
        self.auth: list[str | None] = []
        self.dribbled: list[tuple[int, int]] = []  # (bytes sent before the client hung up, bytes in the reply)
        self.lock = threading.Lock()
        self.released = threading.Event()  # ends every "hang" (set on close)
        self.slow_seconds = slow_seconds
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _dribble(self, head: bool) -> None:
                body = _completion("Answer: A" + " " * 3000)
                data = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode())
                if not head:
                    self.wfile.write(data)
                    self.wfile.flush()
                    data = b""
                data += body
                sent = 0
                try:
                    for i in range(len(data)):  # 30 bytes/s: about 100 s in all
                        if server.released.is_set():
                            break
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        sent += 1
                        time.sleep(1 / 30)
                except OSError:
                    pass
                with server.lock:
                    server.dribbled.append((sent, len(data)))
                self.close_connection = True

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": "not found"}')
                    return
                pid = prompt_id(body["messages"])
                with server.lock:
                    attempt = server.counts[pid]
                    nth = server.total
                    server.counts[pid] += 1
                    server.bodies.append(body)
                    server.auth.append(self.headers.get("Authorization"))
                    if server.cycle and pid not in server.plans:
                        server.plans[pid] = [server.cycle[len(server.plans) % len(server.cycle)]]
                    plan = server.plans.get(pid, [server.default])
                i = nth - server.first_at
                step = server.first[i] if 0 <= i < len(server.first) else plan[min(attempt, len(plan) - 1)]
                if server.delay:
                    time.sleep(server.delay)
                if step == "500":
                    self._send(500, b'{"error": "internal"}')
                elif step == "429":
                    self._send(429, b'{"error": "rate limited"}', {"Retry-After": "0.2"})
                elif step == "400":
                    self._send(400, b'{"error": "context length exceeded"}')
                elif step == "401":
                    self._send(401, b'{"error": "bad key"}')
                elif step == "garbled":
                    self._send(200, b'{"choices": [{"mess')
                elif step == "echo":
                    self._send(400, json.dumps({"error": f"bad auth {self.headers.get('Authorization')}"}).encode())
                elif step == "hang":
                    server.released.wait(30.0)  # bounded even if the test forgets to close
                elif step in ("dribble", "dribble-head"):
                    self._dribble(step == "dribble-head")
                elif step == "slow":
                    time.sleep(server.slow_seconds)
                    self._send(200, _completion("Answer: A"))
                else:
                    assert step.startswith("ok:"), step
                    self._send(200, _completion(step[3:]))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, steps: list[str]) -> None:
        """The next ``len(steps)`` requests, whatever their prompt, behave as ``steps``."""
        with self.lock:
            self.first, self.first_at = list(steps), self.total

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _completion(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "model": "fake",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 3}}).encode()


@pytest.fixture()
def server():
    s = FakeServer()
    yield s
    s.close()


def _videos(n: int) -> list[VideoRecord]:
    out = []
    for i in range(n):
        evs = tuple(MGEvent(2.0 * j, 2.0 * j + 1.0, 1 + (i * 7 + j) % 31) for j in range(1 + i % 4))
        out.append(VideoRecord(str(100 + i), evs, label="positive" if i % 2 else "negative", split="test"))
    return out


def _items(n_videos: int = 10, order: str = "both", conditions: tuple[str, ...] = ("context", "mg")):
    sc = Scenario.load("press_conference")
    return build_items(sc, _videos(n_videos), BuildConfig(conditions=conditions, order=order))


def _backend(server: FakeServer, timeout: float = 5.0) -> OpenAIChatBackend:
    return OpenAIChatBackend(server.url, "fake-model", api_key="sk-test", timeout=timeout, max_concurrency=4)


class _Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


def test_mixed_server_run_completes_retries_are_bounded_and_second_run_makes_no_request(server, tmp_path):
    items = _items(10)
    mg_items = [it for it in items if it.condition == "mg"]
    pids = [prompt_id(it.chat()) for it in mg_items]
    replies = ["Answer: A", "B", '{"answer": "Negative"}', "<think>hmm, A?</think>\nAnswer: B",
               "I really cannot tell from this.", "Answer: Positive or negative, unclear"]
    transients = [[], ["500"], ["429"], ["garbled"], ["500", "429"], ["slow"], ["500", "500", "500"]]
    expected = {}
    for i, (it, pid) in enumerate(zip(mg_items, pids, strict=True)):
        text = replies[i % len(replies)]
        server.plans[pid] = transients[i % len(transients)] + [f"ok:{text}"]
        expected[it.item_id] = text
    sleeps = _Sleeps()
    retry = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.5)
    cache_path = tmp_path / "cache.jsonl"
    with ResponseCache(cache_path) as cache:
        results, stats = run_items(items, _backend(server, timeout=0.3), cache, retry=retry, progress=False,
                                   sleep=sleeps)
    # every item has a result, in order, and nothing failed: all plans succeed within 3 retries
    assert [r.item_id for r in results] == [it.item_id for it in items]
    assert stats.failed == 0 and all(r.error is None for r in results)
    # the context prompt is the same for every video: asked once per answer order
    ctx_pids = {prompt_id(it.chat()) for it in items if it.condition == "context"}
    assert len(ctx_pids) == 2 and all(server.counts[p] == 1 for p in ctx_pids)
    # bounded retries: each mg prompt was requested exactly (#transient failures + 1) times
    for i, pid in enumerate(pids):
        assert server.counts[pid] == len(transients[i % len(transients)]) + 1
    assert stats.requests == server.total
    assert stats.retries == sum(len(transients[i % len(transients)]) for i in range(len(pids)))
    # Retry-After of the 429s was honoured (0.2 s, above the 0.01..0.08 s backoff)
    n429 = sum(transients[i % len(transients)].count("429") for i in range(len(pids)))
    assert n429 > 0 and sum(1 for s in sleeps.calls if s >= 0.2) == n429
    assert max(sleeps.calls) <= 0.5
    # answers: parsed where well-formed, recorded (not crashed) where not
    by_id = {r.item_id: r for r in results}
    for it in mg_items:
        r = by_id[it.item_id]
        text = expected[it.item_id]
        assert r.text == text
        letter_key = {c.letter: c.key for c in it.choices}
        if text in ("Answer: A", "B") or text.endswith("Answer: B"):
            assert r.prediction == letter_key[text[-1]]
        elif text.startswith("{"):
            assert r.prediction == "negative"
        else:
            assert r.prediction is None and r.parse == ("refusal" if "cannot" in text else "ambiguous")
    assert stats.unparsed == sum(1 for it in mg_items if by_id[it.item_id].prediction is None)
    # every reply is on disk, one line per distinct prompt
    lines = cache_path.read_text().splitlines()
    assert len(lines) == stats.unique_prompts == len(pids) + 2
    # the request carried temperature 0, a seed and the bearer-key-free body fields
    assert all(b["temperature"] == 0.0 and b["seed"] == 0 and b["model"] == "fake-model" for b in server.bodies)

    before = server.total
    with ResponseCache(cache_path) as cache:
        results2, stats2 = run_items(items, _backend(server), cache, retry=retry, progress=False, sleep=sleeps)
    assert server.total == before and stats2.requests == 0 and stats2.cache_hits == stats.unique_prompts
    assert [(r.prediction, r.text) for r in results2] == [(r.prediction, r.text) for r in results]
    assert all(r.cached for r in results2)


def test_persistent_failures_are_recorded_not_cached_and_only_they_are_asked_again(server, tmp_path):
    items = _items(4, order="fixed", conditions=("mg",))
    bad = prompt_id(items[1].chat())
    rejected = prompt_id(items[2].chat())
    server.plans[bad] = ["500"]  # always
    server.plans[rejected] = ["400"]
    retry = RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0)
    path = tmp_path / "c.jsonl"
    with ResponseCache(path) as cache:
        results, stats = run_items(items, _backend(server), cache, retry=retry, progress=False, sleep=_Sleeps())
    assert server.counts[bad] == 3  # 1 + max_retries, no more
    assert server.counts[rejected] == 1  # a 400 is not retried
    assert results[1].prediction is None and "gave up after 3 attempts" in (results[1].error or "")
    assert results[2].error is not None and results[2].error.startswith("request failed: HTTP 400")
    assert results[0].prediction is not None and results[3].prediction is not None
    assert stats.failed == 2 and len(path.read_text().splitlines()) == 2
    server.plans[bad] = ["ok:Answer: B"]
    server.plans[rejected] = ["ok:Answer: A"]
    before = dict(server.counts)
    with ResponseCache(path) as cache:
        results2, stats2 = run_items(items, _backend(server), cache, retry=retry, progress=False, sleep=_Sleeps())
    asked_again = {p for p in server.counts if server.counts[p] != before.get(p, 0)}
    assert asked_again == {bad, rejected} and stats2.requests == 2 and stats2.failed == 0
    assert results2[1].prediction == items[1].choices[1].key


def test_fatal_status_stops_the_run(server, tmp_path):
    items = _items(3, order="fixed", conditions=("mg",))
    server.default = "401"
    with ResponseCache(tmp_path / "c.jsonl") as cache, pytest.raises(FatalBackendError, match="401"):
        run_items(items, _backend(server), cache, progress=False, sleep=_Sleeps())
    assert server.total <= 3


def test_many_consecutive_failures_stop_the_run(server, tmp_path):
    items = _items(8, order="fixed", conditions=("mg",))
    server.default = "500"
    with ResponseCache(tmp_path / "c.jsonl") as cache, pytest.raises(FatalBackendError, match="in a row"):
        run_items(items, _backend(server), cache, retry=RetryPolicy(1, 0.0, 0.0), progress=False,
                  sleep=_Sleeps(), max_consecutive_failures=3, concurrency=1)
    # three prompts x (1 + 1 retry), plus at most the one already handed to the single worker
    assert 3 * 2 <= server.total <= 4 * 2


def test_backend_maps_errors_and_builds_the_request(server):
    b = _backend(server, timeout=0.3)
    req = Request((("system", "s"), ("user", "u")), ())
    server.plans[prompt_id(req.chat())] = ["500", "429", "400", "garbled", "slow", "ok:Answer: B"]
    with pytest.raises(TransientBackendError):
        b.complete(req)
    with pytest.raises(TransientBackendError) as e429:
        b.complete(req)
    assert e429.value.retry_after == pytest.approx(0.2)
    with pytest.raises(BackendError):
        b.complete(req)
    with pytest.raises(TransientBackendError, match="unreadable"):
        b.complete(req)
    with pytest.raises(TransientBackendError, match=r"within the 0\.3 s deadline"):
        b.complete(req)
    reply = b.complete(req)
    assert reply.text == "Answer: B" and reply.meta["finish_reason"] == "stop"
    assert reply.meta["usage"] == {"prompt_tokens": 10, "completion_tokens": 3}
    wrong = OpenAIChatBackend(server.url.replace("/v1", "/nope"), "m")
    with pytest.raises(FatalBackendError, match="404"):
        wrong.complete(req)
    with pytest.raises(TransientBackendError, match="cannot reach"):
        OpenAIChatBackend("http://127.0.0.1:9/v1", "m", timeout=1).complete(req)
    # cache payload leaves the URL out, keeps what changes answers
    other = OpenAIChatBackend("http://127.0.0.1:1234/v1", "fake-model")
    assert other.cache_payload(req) == _backend(server).cache_payload(req)
    assert OpenAIChatBackend(server.url, "fake-model", seed=1).cache_payload(req) != other.cache_payload(req)
    body = OpenAIChatBackend(server.url, "m", extra_body={"max_tokens": None, "max_completion_tokens": 9}).body([])
    assert "max_tokens" not in body and body["max_completion_tokens"] == 9


def test_from_env_and_validation(monkeypatch):
    env = {"LLM_EVAL_BASE_URL": "http://127.0.0.1:8000/v1", "LLM_EVAL_MODEL": "m", "OPENAI_API_KEY": "k"}
    b = OpenAIChatBackend.from_env(env=env)
    assert (b.base_url, b.model, b.api_key) == ("http://127.0.0.1:8000/v1", "m", "k")
    with pytest.raises(ValueError, match="LLM_EVAL_BASE_URL"):
        OpenAIChatBackend.from_env(env={})
    with pytest.raises(ValueError, match="LLM_EVAL_MODEL"):
        OpenAIChatBackend.from_env(env={"LLM_EVAL_BASE_URL": "http://x/v1"})
    with pytest.raises(ValueError, match="base_url"):
        OpenAIChatBackend("127.0.0.1:8000", "m")


def _write_interview_data(folder: Path, n: int) -> tuple[Path, Path]:
    ev = folder / "events.csv"
    lab = folder / "labels.csv"
    rows = ["video_id,start_time,end_time,class,score"]
    labels = ["video_id,label,split"]
    for i in range(n):
        for j in range(1 + i % 3):
            rows.append(f"cand{i},{3.0 * j},{3.0 * j + 1.5},{1 + (5 * i + j) % 31},0.9")
        labels.append(f"cand{i},{'anxious' if i % 2 else 'confident'},{'train' if i < 6 else 'test'}")
    ev.write_text("\n".join(rows) + "\n")
    lab.write_text("\n".join(labels) + "\n")
    return ev, lab


def test_killed_cli_run_resumes_without_repeating_or_losing_answers(server, tmp_path):
    ev, lab = _write_interview_data(tmp_path, 30)
    out = tmp_path / "run"
    server.default = "ok:Answer: B"
    server.delay = 0.05
    args = ["run", "--scenario", "interview", "--events", str(ev), "--video-labels", str(lab),
            "--conditions", "mg,context_mg", "--order", "both", "--base-url", server.url, "--model", "fake",
            "--concurrency", "2", "--out", str(out), "--no-progress", "--n-boot", "200"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "reference_models.llm_eval", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while server.total < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    cached_after_kill = len((out / "cache.jsonl").read_text().splitlines())
    assert 15 <= cached_after_kill < 96
    with open(out / "cache.jsonl", "a") as f:  # and a half-written line, as if killed mid-write
        f.write('{"key": "abc", "reply": {"te')
    server.delay = 0.0
    with pytest.warns(RuntimeWarning, match="truncated"):
        assert main(args) == 0
    unique = 24 * 2 * 2  # 24 test videos x 2 conditions x 2 orders, all prompts distinct
    assert len(server.counts) == unique
    repeated = [p for p, c in server.counts.items() if c > 1]
    assert len(repeated) <= 2 and all(server.counts[p] == 2 for p in repeated)  # only the requests in flight
    assert len((out / "cache.jsonl").read_text().splitlines()) == unique
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 24 * 2 and all(p["prediction"] is not None for p in preds)
    # a constant "B" is a purely position-biased model: the orders always disagree
    assert all(p["consistent"] is False and p["how"] == "tie-break" for p in preds)
    report = json.loads((out / "report.json").read_text())
    assert report["conditions"]["mg"]["order_agreement"] == 0.0
    assert report["conditions"]["mg"]["first_option_rate"] == 0.0
    assert (out / "report.md").read_text().startswith("# LLM emotion understanding")
    before = server.total
    assert main(args) == 0
    assert server.total == before
    # the report can be recomputed from the run folder alone
    (out / "report.json").unlink()
    assert main(["report", "--out", str(out), "--n-boot", "100"]) == 0
    assert json.loads((out / "report.json").read_text())["n_boot"] == 100 and server.total == before


def test_readme_python_example_runs_against_the_local_server(server, tmp_path, monkeypatch, shared_dir):
    labels = shared_dir / "data" / "imigue" / "labels_20200831.csv"
    if not labels.is_file():
        pytest.skip(f"{labels} not found; set SKELAUG_SHARED")
    text = (REPO / "reference_models" / "README.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"../shared/data/imigue/labels_20200831.csv"', repr(str(labels)))
    code = code.replace('"out/llm_eval/cache.jsonl"', repr(str(tmp_path / "cache.jsonl")))
    monkeypatch.setenv("LLM_EVAL_BASE_URL", server.url)
    monkeypatch.setenv("LLM_EVAL_MODEL", "fake")
    server.default = "ok:Answer: A"
    scope: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), scope)
    report = scope["report"]
    assert server.total == 2 + 100 * 2  # one context prompt per order, every context_mg prompt
    # "always A" flips with the order: every video is a coin toss, answered
    assert report["conditions"]["context_mg"]["answered"] == 1.0
    assert report["conditions"]["context"]["order_agreement"] == 0.0


# ---------------------------------------------------------------- deadlines, Ctrl-C, honesty, credentials


def _cli_args(server_url: str, ev: Path, lab: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--scenario", "interview", "--events", str(ev), "--video-labels", str(lab),
            "--conditions", "mg", "--order", "fixed", "--base-url", server_url, "--model", "fake",
            "--out", str(out), "--no-progress", "--n-boot", "100", "--no-baseline", *extra]


def _default_sigint() -> None:
    # A child inherits an ignored SIGINT (a test run started in the background by a non-interactive shell,
    # `cmd &`, ignores it), and Python then installs no KeyboardInterrupt handler: the Ctrl-C tests would
    # hang for reasons outside the code under test. Start the child as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spawn(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "reference_models.llm_eval", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)


def _wait_for(cond, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is not None or not cond():
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the run did not reach the expected state; stderr:\n{err.decode()}")


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_sigint_with_hanging_requests_exits_at_once_sends_nothing_after_and_resumes(server, tmp_path):
    ev, lab = _write_interview_data(tmp_path, 30)  # 24 test videos: 24 prompts
    out = tmp_path / "run"
    server.default = "hang"
    server.first = ["ok:Answer: A"] * 3  # three answers, then every request hangs
    # old behaviour: each hanging call runs out 30 s x 5 attempts before the process can exit
    args = _cli_args(server.url, ev, lab, out, "--concurrency", "2", "--timeout", "30", "--max-retries", "4")
    proc = _spawn(args)
    _wait_for(lambda: server.total == 5 and _lines(out / "cache.jsonl") == 3, proc)  # 3 answered + 2 hanging
    time.sleep(0.3)
    sent_before = server.total
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=3.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the run did not exit within 3 s of Ctrl-C")
    exit_s = time.monotonic() - t0
    time.sleep(0.5)  # a request sent late would have arrived by now
    stderr = err.decode()
    assert server.total == sent_before == 5, "a request was sent after the interrupt"
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert "3 new replies saved" in stderr and "Rerun the same command to resume" in stderr
    assert _lines(out / "cache.jsonl") == 3 and not (out / "report.md").exists()
    print(f"exit after SIGINT: {exit_s:.2f} s")
    # resume: only the 21 unanswered prompts are asked (the two that hung among them)
    server.released.set()
    server.default, server.first = "ok:Answer: B", []
    before = dict(server.counts)
    assert main(args) == 0
    asked = {p: server.counts[p] - before.get(p, 0) for p in server.counts}
    assert sum(asked.values()) == 21 and set(asked.values()) == {0, 1}
    assert _lines(out / "cache.jsonl") == 24


def test_a_second_ctrl_c_exits_without_a_traceback(server, tmp_path):
    ev, lab = _write_interview_data(tmp_path, 30)
    out = tmp_path / "run"
    server.default = "hang"
    proc = _spawn(_cli_args(server.url, ev, lab, out, "--concurrency", "2", "--timeout", "30"))
    _wait_for(lambda: server.total == 2, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=5.0)
    assert proc.returncode == 130 and "Traceback" not in err.decode() and "KeyboardInterrupt" not in err.decode()
    assert server.total == 2
    # the first interrupt usually ends the process before a second one lands; drive the handler directly
    code = ("import os, signal, time\n"
            "from reference_models.llm_eval.__main__ import _exit_on_second_interrupt\n"
            "_exit_on_second_interrupt()\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "time.sleep(10)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, timeout=60)
    assert done.returncode == 130 and done.stderr.decode().strip() == "interrupted again: exiting now"


def test_cancel_token_stops_requests_and_backoff_in_process(server, tmp_path):
    items = _items(6, order="fixed", conditions=("mg",))
    server.default = "500"  # every call fails, then waits 20 s to retry: the cancel must cut the wait
    server.first = ["ok:Answer: A", "hang"]
    token = CancelToken()
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        t = threading.Timer(1.0, token.cancel)
        t.start()
        with pytest.raises(RunInterrupted) as e:
            run_items(items, _backend(server, timeout=30), cache, concurrency=3,
                      retry=RetryPolicy(4, 20.0, 20.0), progress=False, cancel=token)
        sent_at_cancel = server.total
    time.sleep(0.3)
    # one answer, one hanging, two 500s (one of them asked by the worker freed by the answer) in backoff
    assert server.total == sent_at_cancel == 4
    assert e.value.saved == 1 and e.value.remaining == 5 and e.value.stats.requests == 4
    assert _lines(tmp_path / "c.jsonl") == 1


@pytest.mark.parametrize("step", ["dribble", "dribble-head"])
def test_a_dribbling_server_is_cut_at_the_deadline(server, step):
    server.default = step
    b = _backend(server, timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(TransientBackendError, match=r"within the 1 s deadline"):
        b.complete(Request((("user", "u"),), ()))
    held = time.monotonic() - t0
    deadline = time.monotonic() + 5
    while not server.dribbled and time.monotonic() < deadline:
        time.sleep(0.02)
    (sent, total), = server.dribbled
    # the client hung up long before the reply was complete (it takes about 100 s): at 30 bytes/s, the
    # server got about one second's worth out (plus what the kernel buffers before it notices)
    assert sent < total // 10
    print(f"dribbling request held {held:.2f} s under a 1 s deadline ({sent} of {total} bytes)")


REFUSALS = ["I cannot tell whether the player felt positive.", "Not negative, but I cannot say more.",
            "It is hard to say; maybe confident, maybe not.", "I'm sorry, I can't determine emotions from this.",
            "<think>The candidate touched the face a lot, so anxious?</think>", "",
            "Confident or anxious? The evidence is mixed.", "Answer: not anxious"]


def test_a_server_that_never_answers_yields_zero_answered_and_retry_unparsed_asks_again(server, tmp_path, capfd):
    ev, lab = _write_interview_data(tmp_path, 30)
    out = tmp_path / "run"
    args = _cli_args(server.url, ev, lab, out, "--conditions", "mg,context_mg", "--order", "both")
    server.cycle = ["ok:" + r for r in REFUSALS]  # every prompt gets one of them, in turn
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    for cond in ("mg", "context_mg"):
        c = report["conditions"][cond]
        assert c["answered"] == 0.0 and c["answered_lenient"] == 0.0
        assert c["metrics"]["accuracy"]["value"] == 0.0 and c["accuracy_lenient"]["value"] == 0.0
    stats = report["stats"]
    n_prompts = 24 * 2 * 2
    assert stats["unparsed"] == n_prompts and stats["failed"] == 0 and stats["requests"] == n_prompts
    empty = sum(1 for p in server.plans.values() if p == ["ok:"])
    assert stats["empty"] == empty > 0
    assert _lines(out / "cache.jsonl") == n_prompts - empty  # empty replies are not cached
    assert "--retry-unparsed" in capfd.readouterr().err
    # a plain rerun asks only the empty ones again; --retry-unparsed asks every unanswered prompt again
    server.cycle, server.default = [], "ok:Answer: A"
    server.plans.clear()
    before = server.total
    assert main(args) == 0
    assert server.total - before == empty
    before = server.total
    assert main(args + ["--retry-unparsed"]) == 0
    assert server.total - before == n_prompts - empty
    report = json.loads((out / "report.json").read_text())
    assert report["conditions"]["mg"]["answered"] == 1.0 and report["stats"]["reasked"] == n_prompts - empty
    before = server.total
    assert main(args + ["--retry-unparsed"]) == 0 and server.total == before  # answered now: nothing to ask


def _all_output(out: Path, *texts: str) -> str:
    blobs = [p.read_bytes().decode("utf-8", "replace") for p in sorted(out.rglob("*")) if p.is_file()]
    return "\n".join(blobs + list(texts))


def test_credentials_in_the_url_or_the_environment_are_never_written(server, tmp_path, capfd, monkeypatch):
    ev, lab = _write_interview_data(tmp_path, 30)
    secret = "s3cr3t-PASS"
    basic = "Basic " + base64.b64encode(f"alice:{secret}".encode()).decode()
    out = tmp_path / "run"
    url = server.url.replace("http://", f"http://alice:{secret}@")
    # transient errors, a 400 whose body echoes the Authorization header, then answers
    server.first = ["500", "echo", "429"]
    args = _cli_args(url, ev, lab, out, "--concurrency", "1", "--retry-base", "0", "--retry-max", "0.3")
    monkeypatch.delenv("LLM_EVAL_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(args) == 1  # the echoed 400 fails one prompt
    assert set(server.auth) == {basic}  # supported: sent as HTTP Basic authentication
    cap = capfd.readouterr()
    results = (out / "results.jsonl").read_text()
    assert "HTTP 400" in results and "bad auth Basic ***" in results  # the server's echo was scrubbed
    # an unreachable server, a malformed URL, and a key given twice: clear errors, still no credential
    bad = [_cli_args(f"http://alice:{secret}@127.0.0.1:9/v1", ev, lab, tmp_path / "r2", "--max-retries", "0"),
           _cli_args(f"http://alice:{secret}@127.0.0.1:port/v1", ev, lab, tmp_path / "r3")]
    assert main(bad[0]) == 1 and main(bad[1]) == 2
    monkeypatch.setenv("LLM_EVAL_API_KEY", "sk-env-SECRET")
    assert main(_cli_args(url, ev, lab, tmp_path / "r4")) == 2
    cap2 = capfd.readouterr()
    assert "keep one of them" in cap2.err and "not a valid URL" in cap2.err and "cannot reach" in (
        tmp_path / "r2" / "results.jsonl").read_text()
    # an API key from the environment: a bearer token, never written either
    server.script(["echo"])
    assert main(_cli_args(server.url, ev, lab, tmp_path / "r5")) == 1
    assert server.auth[-1] == "Bearer sk-env-SECRET"
    cap3 = capfd.readouterr()
    for d in (out, tmp_path / "r2", tmp_path / "r3", tmp_path / "r4", tmp_path / "r5"):
        text = _all_output(d, cap.out, cap.err, cap2.out, cap2.err, cap3.out, cap3.err)
        for s in (secret, basic.split()[1], f"alice:{secret}", "sk-env-SECRET"):
            assert s not in text
    # and in a subprocess, where warnings, tracebacks or a repr would reach stderr
    server.script(["500", "echo"])
    proc = _spawn(_cli_args(url, ev, lab, tmp_path / "r6", "--retry-base", "0", "--retry-max", "0"),
                  {"LLM_EVAL_API_KEY": "", "OPENAI_API_KEY": ""})
    o, e = proc.communicate(timeout=120)
    assert proc.returncode == 1
    text = _all_output(tmp_path / "r6", o.decode(), e.decode())
    assert secret not in text and basic.split()[1] not in text


def test_output_files_share_the_cache_mode_and_a_changed_rerun_removes_the_old_report(server, tmp_path):
    ev, lab = _write_interview_data(tmp_path, 30)
    out = tmp_path / "run"
    args = _cli_args(server.url, ev, lab, out)
    assert main(args) == 0
    mask = os.umask(0o022)
    os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert set(modes) == {"config.json", "cache.jsonl", "results.jsonl", "predictions.jsonl", "report.json",
                          "report.md"}
    assert set(modes.values()) == {0o666 & ~mask}
    # a rerun with other options that stops before its report (here: the server rejects the key)
    server.default = "401"
    assert main([*args, "--conditions", "context_mg"]) == 2
    assert json.loads((out / "config.json").read_text())["build"]["conditions"] == ["context_mg"]
    assert sorted(p.name for p in out.iterdir()) == ["cache.jsonl", "config.json"]
    # the same options again keep the previous outputs until they are rewritten
    server.default = "ok:Answer: A"
    assert main(args) == 0
    server.default = "401"
    (out / "cache.jsonl").unlink()
    assert main(args) == 2 and (out / "report.md").exists()


def test_failures_count_prompts_not_items_and_empty_replies_are_not_cached(server, tmp_path):
    items = _items(5, order="fixed", conditions=("context",))  # five items, one shared prompt
    server.default = "500"
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        _, stats = run_items(items, _backend(server), cache, retry=RetryPolicy(1, 0.0, 0.0), progress=False,
                             sleep=_Sleeps())
    assert (stats.failed, stats.failed_items, stats.requests) == (1, 5, 2)
    assert stats.errors == {"gave up after 2 attempts": 1}
    server.default = "ok:"
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        results, stats = run_items(items, _backend(server), cache, progress=False)
    assert stats.empty == 1 and stats.unparsed == 5 and {r.parse for r in results} == {"empty"}
    assert _lines(tmp_path / "c.jsonl") == 0


def test_https_is_cut_at_the_deadline_and_cancellable(tmp_path, monkeypatch):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a throwaway certificate")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's default context trusts it
    s = FakeServer()
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        s.httpd.socket = ctx.wrap_socket(s.httpd.socket, server_side=True)
        url = s.url.replace("http://", "https://")
        req = Request((("user", "u"),), ())
        assert OpenAIChatBackend(url, "m", timeout=5).complete(req).text == "Answer: A"
        s.default = "dribble"
        with pytest.raises(TransientBackendError, match="deadline"):
            OpenAIChatBackend(url, "m", timeout=1).complete(req)
        s.default = "hang"
        token = CancelToken()
        threading.Timer(0.5, token.cancel).start()
        with pytest.raises(RequestCancelled):
            OpenAIChatBackend(url, "m", timeout=30).complete(req, cancel=token)
        deadline = time.monotonic() + 5
        while not s.dribbled and time.monotonic() < deadline:
            time.sleep(0.02)
        (sent, total), = s.dribbled
        assert sent < total // 10
    finally:
        s.close()

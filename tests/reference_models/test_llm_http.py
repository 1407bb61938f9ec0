"""The OpenAI-compatible HTTP backend and the runner against a scripted local server on 127.0.0.1.

The server answers ``/v1/chat/completions``; for each distinct prompt the test installs a *plan*, a
list of behaviours for its successive requests (``ok:<reply text>``, ``500``, ``429``, ``slow``,
``garbled``, ``400``, ``401``). It counts every request per prompt, which is the oracle for "retries
are bounded", "nothing is asked twice" and "a second run makes no request".
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reference_models.llm_eval.__main__ import main
from reference_models.llm_eval.backends.base import BackendError, FatalBackendError, Request, TransientBackendError
from reference_models.llm_eval.backends.openai_http import OpenAIChatBackend
from reference_models.llm_eval.cache import ResponseCache
from reference_models.llm_eval.events import MGEvent, VideoRecord
from reference_models.llm_eval.runner import RetryPolicy, run_items
from reference_models.llm_eval.scenarios import BuildConfig, Scenario, build_items

REPO = Path(__file__).resolve().parents[2]


def prompt_id(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


class FakeServer:
    """A scripted OpenAI-compatible chat server (threaded, 127.0.0.1, ephemeral port)."""

    def __init__(self, slow_seconds: float = 1.0) -> None:
        self.plans: dict[str, list[str]] = {}
        self.default = "ok:Answer: A"
        self.counts: Counter[str] = Counter()
        self.bodies: list[dict[str, object]] = []
        self.lock = threading.Lock()
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

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": "not found"}')
                    return
                pid = prompt_id(body["messages"])
                with server.lock:
                    attempt = server.counts[pid]
                    server.counts[pid] += 1
                    server.bodies.append(body)
                    plan = server.plans.get(pid, [server.default])
                step = plan[min(attempt, len(plan) - 1)]
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
        self.httpd.shutdown()
        self.httpd.server_close()

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
            assert r.prediction is None and r.parse in ("unparseable", "ambiguous")
    assert stats.unparseable == sum(1 for it in mg_items if by_id[it.item_id].prediction is None)
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
    with pytest.raises(TransientBackendError, match=r"within 0\.3 s"):
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

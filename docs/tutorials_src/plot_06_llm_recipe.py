"""
Running the LLM emotion recipe against a local server
=====================================================

The recipe in ``reference_models/llm_eval`` asks an LLM whether a press-conference speaker won or lost,
with and without the micro-gesture (MG) evidence of the real iMiGUE annotations. It talks to any
OpenAI-compatible chat-completions server (vLLM, llama.cpp, Ollama, hosted APIs). Here a tiny stand-in
server on 127.0.0.1 answers by a fixed rule, so the whole pipeline (prompts, requests, cache, answer
parsing, order-swapping, metrics, paired test) runs without a model; point ``base_url`` at a real server
to get real numbers.
"""

import json
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from reference_models.llm_eval.backends import OpenAIChatBackend
from reference_models.llm_eval.cache import ResponseCache
from reference_models.llm_eval.protocol import load_imigue
from reference_models.llm_eval.report import evaluate, to_markdown
from reference_models.llm_eval.runner import combine_orders, run_items
from reference_models.llm_eval.scenarios import BuildConfig, Scenario, build_items


# %%
# A stand-in "model": "Negative" when the prompt reports at least 30 recorded micro-gestures, else
# "Positive"; without MG cues it always picks the first option, a pure position bias that the
# order-swapping control exposes. (A real model reads the evidence; this rule only exercises the plumbing.)
class Rule(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        letters = {line[3:].split()[0]: line[0] for line in prompt.splitlines() if line[:3] in ("A. ", "B. ")}
        count = re.search(r"Gestures recorded: (\d+)", prompt)
        if count is None:
            answer = "A"
        else:
            answer = letters["Negative" if int(count.group(1)) >= 30 else "Positive"]
        reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": f"Answer: {answer}"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Rule)
threading.Thread(target=server.serve_forever, daemon=True).start()
base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"

# %%
# Build prompts for 20 test videos in two conditions (context only, context + MG cues), asking each
# question twice with the answer options swapped, then run them with an on-disk response cache.
labels = Path(os.environ.get("SKELAUG_SHARED", "../shared")) / "data" / "imigue" / "labels_20200831.csv"
videos = load_imigue(labels)
test = [v for v in videos if v.split == "test"][:20]
scenario = Scenario.load("press_conference")
items = build_items(scenario, test, BuildConfig(conditions=("context", "context_mg")))
print(len(items), "prompts; the first one:\n")
print(items[0].messages[-1][1][:600])

backend = OpenAIChatBackend(base_url, "rule-based-stand-in", timeout=5.0)  # a deadline for each whole request
with tempfile.TemporaryDirectory() as tmp, ResponseCache(Path(tmp) / "cache.jsonl") as cache:
    results, stats = run_items(items, backend, cache, concurrency=4, progress=False)
    again, stats2 = run_items(items, backend, cache, concurrency=4, progress=False)
print(stats)
print("second run, served from the cache:", stats2)

# %%
# Metrics with bootstrap intervals per condition, and the paired with-vs-without-MG test. Only strict
# answers (an explicit "Answer: B" and the like) count; replies that merely name one option in prose
# appear in the separate "incl. lenient" columns, and refusals, hedges and negations count as wrong.
report = evaluate(combine_orders(results), scenario.options)
print(to_markdown(report))
server.shutdown()

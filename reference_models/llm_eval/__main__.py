"""Command line: ``python -m reference_models.llm_eval {baseline,build,run,report} ...``.

* ``baseline``: the histogram logistic-regression reference on the protocol's train/test videos;
* ``build``: write the prompts (``prompts.jsonl``) or print a few, without calling any model;
* ``run``: build, ask a backend (cached, resumable), combine answer orders, write
  ``results.jsonl`` (per request), ``predictions.jsonl`` (per video and condition),
  ``report.json`` and ``report.md``;
* ``report``: recompute the report from a finished run folder (e.g. another ``--n-boot``).

Every option has a ``--help`` entry; the README has worked commands.

Ctrl-C during ``run`` stops within about a second: requests in flight are abandoned, nothing new is
sent, the replies received so far stay in the cache, and the message says how to resume (rerun the
same command). A second Ctrl-C while it winds down exits at once, without a traceback. When a rerun
changes what is asked (``config.json`` differs), the previous run's results and report are removed
first, so a folder never holds a report of another configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reference_models.llm_eval.backends.base import Backend, FatalBackendError, Request, cache_key
from reference_models.llm_eval.backends.openai_http import OpenAIChatBackend
from reference_models.llm_eval.baseline import run_baseline
from reference_models.llm_eval.cache import ResponseCache
from reference_models.llm_eval.events import VideoRecord, make_videos, read_events_csv, read_video_labels
from reference_models.llm_eval.protocol import load_imigue
from reference_models.llm_eval.report import evaluate, to_markdown, write_json_atomic, write_text_atomic
from reference_models.llm_eval.runner import RetryPolicy, RunInterrupted, VideoPrediction, combine_orders, run_items
from reference_models.llm_eval.scenarios import DEFAULT_CONDITIONS, BuildConfig, Scenario, build_items
from reference_models.llm_eval.vocabulary import IMIGUE


def _default_labels() -> str:
    shared = os.environ.get("SKELAUG_SHARED", str(Path("..") / "shared"))
    return str(Path(shared) / "data" / "imigue" / "labels_20200831.csv")


def _add_data(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--scenario", default="press_conference",
                   help="shipped scenario name (press_conference, interview) or a scenario folder")
    g.add_argument("--prompt-version", default="v1", help="prompt template version folder (default v1)")
    g.add_argument("--labels", default=None,
                   help="iMiGUE labels_20200831.csv (default $SKELAUG_SHARED/data/imigue/labels_20200831.csv, "
                        "SKELAUG_SHARED defaulting to ../shared)")
    g.add_argument("--video-labels", default=None,
                   help="CSV video_id,label,split for your own scenario (instead of the iMiGUE protocol)")
    g.add_argument("--events", default=None,
                   help="MG events CSV (a recognizer's predictions: video_id,start_time,end_time,class[,score]) "
                        "used as evidence instead of the annotations")
    g.add_argument("--fps", type=float, default=None, help="frame rate, if --events gives frames instead of seconds")
    g.add_argument("--min-score", type=float, default=None, help="drop predicted events with a lower score")
    g.add_argument("--split", default="test", choices=("train", "test"), help="videos to evaluate (default test)")
    g.add_argument("--limit", type=int, default=None, help="only the first N evaluation videos (smoke tests)")
    g.add_argument("--no-non-mg", action="store_true",
                   help="drop the non-MG class (illustrative body language) from the evidence")


def _add_build(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("prompts")
    g.add_argument("--conditions", default=",".join(DEFAULT_CONDITIONS),
                   help=f"comma-separated conditions (default {','.join(DEFAULT_CONDITIONS)})")
    g.add_argument("--order", default="both", choices=("fixed", "swapped", "both", "shuffled"),
                   help="answer order; 'both' asks twice with swapped options and combines (default)")
    g.add_argument("--evidence-parts", default="sequence,counts,regions",
                   help="which evidence to show: any of sequence,counts,regions")
    g.add_argument("--max-sequence", type=int, default=200, help="show at most N events of the sequence")
    g.add_argument("--fewshot-k", type=int, default=4, help="few-shot examples per prompt (balanced over labels)")
    g.add_argument("--fewshot-sampling", default="per_item", choices=("per_item", "fixed"))
    g.add_argument("--seed", type=int, default=0, help="seed of few-shot draws, shuffles, backoff and bootstrap")


def _videos(args: argparse.Namespace, scenario: Scenario) -> tuple[list[VideoRecord], list[VideoRecord]]:
    events = None
    if args.events:
        events = {k: list(v) for k, v in read_events_csv(args.events, vocabulary=IMIGUE, fps=args.fps,
                                                         min_score=args.min_score).items()}
    if args.video_labels:
        if events is None:
            raise ValueError("--video-labels needs --events (the MG evidence of your videos)")
        labels = read_video_labels(args.video_labels, scenario.options)
        allv = make_videos(events, labels)
    else:
        allv = load_imigue(args.labels or _default_labels(), events=events)
    evalv = [v for v in allv if v.split == args.split]
    pool = [v for v in allv if v.split == "train"]
    if args.limit is not None:
        evalv = evalv[: args.limit]
    if not evalv:
        raise ValueError(f"no videos in split {args.split!r}; check the split column of --video-labels")
    return evalv, pool


def _config(args: argparse.Namespace) -> BuildConfig:
    return BuildConfig(
        conditions=tuple(c.strip() for c in args.conditions.split(",") if c.strip()), order=args.order,
        include_non_mg=not args.no_non_mg,
        evidence_parts=tuple(c.strip() for c in args.evidence_parts.split(",") if c.strip()),
        max_sequence=args.max_sequence, fewshot_k=args.fewshot_k, fewshot_sampling=args.fewshot_sampling,
        seed=args.seed)


def _backend(args: argparse.Namespace) -> Backend:
    if args.backend == "openai":
        extra = json.loads(args.extra_body) if args.extra_body else None
        key = os.environ.get(args.api_key_env) if args.api_key_env else None
        return OpenAIChatBackend.from_env(args.base_url, args.model, key, timeout=args.timeout,
                                          temperature=args.temperature, seed=args.request_seed,
                                          max_tokens=args.max_tokens, extra_body=extra,
                                          max_concurrency=args.concurrency)
    from reference_models.llm_eval.backends.hf import TransformersBackend

    if not args.model:
        raise ValueError("--model is required for the hf backend (a Hugging Face model name or local folder)")
    return TransformersBackend(args.model, device=args.device, dtype=args.dtype, normalize=args.normalize)


def _cmd_baseline(args: argparse.Namespace) -> int:
    scenario = Scenario.load(args.scenario, args.prompt_version)
    args.split = "test"
    evalv, pool = _videos(args, scenario)
    res = run_baseline(pool, evalv, scenario.options, include_non_mg=not args.no_non_mg, n_boot=args.n_boot,
                       seed=args.seed)
    rep: dict[str, Any] = {"conditions": {}, "baseline": res.to_dict(), "alpha": 0.05}
    md = to_markdown(rep, title=f"Histogram baseline, scenario {scenario.name}")
    if args.out:
        write_json_atomic(Path(args.out) / "baseline.json", res.to_dict())
        write_text_atomic(Path(args.out) / "baseline.md", md)
    print(md, end="")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    scenario = Scenario.load(args.scenario, args.prompt_version)
    evalv, pool = _videos(args, scenario)
    items = build_items(scenario, evalv, _config(args), fewshot_pool=pool)
    if args.print:
        for it in items[: args.print]:
            print(f"===== {it.item_id} (label {it.label})")
            for role, content in it.messages:
                print(f"--- {role}\n{content}")
    if args.out:
        text = "".join(json.dumps(it.to_dict(), ensure_ascii=False) + "\n" for it in items)
        write_text_atomic(Path(args.out) / "prompts.jsonl", text)
        print(f"wrote {len(items)} prompts to {Path(args.out) / 'prompts.jsonl'}", file=sys.stderr)
    return 0


def _write_report(out: Path, preds: list[VideoPrediction], options: Sequence[str], run_info: dict[str, Any],
                  args: argparse.Namespace, baseline: dict[str, Any] | None, stats: dict[str, Any] | None) -> None:
    rep = evaluate(preds, options, reference=args.reference, n_boot=args.n_boot, seed=args.seed)
    rep["run"] = run_info
    if baseline is not None:
        rep["baseline"] = baseline
    if stats is not None:
        rep["stats"] = stats
    write_json_atomic(out / "report.json", rep)
    write_text_atomic(out / "report.md", to_markdown(rep))
    print(to_markdown(rep), end="")


_DERIVED = ("results.jsonl", "predictions.jsonl", "report.json", "report.md")


def _exit_on_second_interrupt() -> None:
    """From now on a Ctrl-C ends the process at once (the cache is line-atomic and fsynced)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def now(signum: int, frame: object) -> None:
        os.write(2, b"\ninterrupted again: exiting now\n")
        os._exit(130)

    signal.signal(signal.SIGINT, now)


def _start_run_folder(out: Path, run_info: dict[str, Any]) -> None:
    """Write ``config.json``; if it changes, first remove the outputs of the previous configuration."""
    cfg = out / "config.json"
    new = json.loads(json.dumps(run_info))
    try:
        old = json.loads(cfg.read_text(encoding="utf-8")) if cfg.exists() else None
    except ValueError:
        old = None
    if old != new:
        for name in _DERIVED:
            (out / name).unlink(missing_ok=True)
    write_json_atomic(cfg, run_info)


def _cmd_run(args: argparse.Namespace) -> int:
    scenario = Scenario.load(args.scenario, args.prompt_version)
    evalv, pool = _videos(args, scenario)
    cfg = _config(args)
    items = build_items(scenario, evalv, cfg, fewshot_pool=pool)
    backend = _backend(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # what is asked, in one number: the cache keys cover model, sampling, prompts and so the evidence
    keys = sorted(cache_key(backend.cache_payload(Request.of(it))) for it in items)
    asked = hashlib.sha256("".join(keys).encode()).hexdigest()[:16]
    run_info = {"scenario": scenario.name, "prompt_version": scenario.version,
                "templates": scenario.templates().fingerprint(), "backend": backend.kind, "model": backend.model,
                "split": args.split, "videos": len(evalv), "order": cfg.order,
                "include_non_mg": cfg.include_non_mg, "prompt_set": asked, "build": asdict(cfg)}
    _start_run_folder(out, run_info)
    retry = RetryPolicy(args.max_retries, args.retry_base, args.retry_max)
    with ResponseCache(args.cache or out / "cache.jsonl") as cache:
        try:
            results, stats = run_items(items, backend, cache, concurrency=args.concurrency, retry=retry,
                                       seed=args.seed, progress=not args.no_progress,
                                       retry_unparsed=args.retry_unparsed)
        except FatalBackendError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except RunInterrupted as e:
            _exit_on_second_interrupt()
            print(f"\ninterrupted: {e.saved} new replies saved in {cache.path} ({len(cache)} cached in all); "
                  f"{e.remaining} prompts not answered yet. Rerun the same command to resume: cached answers "
                  "are not asked again.", file=sys.stderr)
            return 130
    for name in _DERIVED:  # an interrupt while writing leaves part of this run's outputs, never an old report
        (out / name).unlink(missing_ok=True)
    write_text_atomic(out / "results.jsonl", "".join(json.dumps(r.to_dict()) + "\n" for r in results))
    preds = combine_orders(results, seed=args.seed)
    write_text_atomic(out / "predictions.jsonl", "".join(json.dumps(p.to_dict()) + "\n" for p in preds))
    baseline = None
    if not args.no_baseline and len({v.label for v in pool}) == len(scenario.options):
        baseline = run_baseline(pool, [v for v in evalv if v.label is not None], scenario.options,
                                include_non_mg=cfg.include_non_mg, n_boot=args.n_boot, seed=args.seed).to_dict()
        baseline.pop("predictions")
    _write_report(out, preds, scenario.options, run_info, args, baseline, stats.to_dict())
    if stats.unparsed:
        print(f"{stats.unparsed} items got a reply with no answer (refusals, hedges, empty ...: see the 'parse' "
              "field of results.jsonl); add --retry-unparsed to ask those prompts again", file=sys.stderr)
    if stats.failed:
        print(f"{stats.failed} prompts got no reply ({stats.failed_items} items; {stats.requests} requests "
              f"made, errors: {stats.errors}); rerun the same command to ask only those", file=sys.stderr)
    return 1 if stats.failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out)
    run_info = json.loads((out / "config.json").read_text(encoding="utf-8"))
    scenario = Scenario.load(args.scenario or run_info["scenario"], run_info["prompt_version"])
    preds = []
    for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            d.setdefault("lenient", d.get("prediction"))  # folders written before strict/lenient answers
            preds.append(VideoPrediction(**d))
    old = json.loads((out / "report.json").read_text(encoding="utf-8")) if (out / "report.json").exists() else {}
    _write_report(out, preds, scenario.options, run_info, args, old.get("baseline"), old.get("stats"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    ap = argparse.ArgumentParser(prog="python -m reference_models.llm_eval",
                                 description="Micro-gesture cues for emotion understanding with LLMs (iMiGUE).")
    sub = ap.add_subparsers(dest="command", required=True)

    b = sub.add_parser("baseline", help="histogram logistic-regression reference (train -> test videos)")
    _add_data(b)
    b.add_argument("--out", default=None, help="folder for baseline.json / baseline.md")
    b.add_argument("--n-boot", type=int, default=2000)
    b.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("build", help="write or print the prompts without calling a model")
    _add_data(p)
    _add_build(p)
    p.add_argument("--out", default=None, help="folder for prompts.jsonl")
    p.add_argument("--print", type=int, default=0, help="print the first N prompts")

    r = sub.add_parser("run", help="ask a model and write the report")
    _add_data(r)
    _add_build(r)
    r.add_argument("--out", required=True, help="run folder (cache, results, predictions, report)")
    r.add_argument("--cache", default=None, help="response cache JSONL (default <out>/cache.jsonl)")
    g = r.add_argument_group("backend")
    g.add_argument("--backend", default="openai", choices=("openai", "hf"))
    g.add_argument("--base-url", default=None,
                   help="OpenAI-compatible server root with /v1 (or LLM_EVAL_BASE_URL); a user:password@ in it is "
                        "sent as HTTP Basic authentication and never written anywhere")
    g.add_argument("--model", default=None, help="model name (or LLM_EVAL_MODEL); for hf a hub name or folder")
    g.add_argument("--api-key-env", default=None,
                   help="environment variable holding the API key (default LLM_EVAL_API_KEY, then OPENAI_API_KEY)")
    g.add_argument("--timeout", type=float, default=120.0,
                   help="deadline in seconds for each whole request: connect, send and every byte of the reply")
    g.add_argument("--max-tokens", type=int, default=256)
    g.add_argument("--temperature", type=float, default=0.0)
    g.add_argument("--request-seed", type=int, default=0, help="sampling seed sent to the server")
    g.add_argument("--extra-body", default=None, help='JSON merged into each request, e.g. \'{"top_p": 1}\'')
    g.add_argument("--concurrency", type=int, default=8)
    g.add_argument("--max-retries", type=int, default=4)
    g.add_argument("--retry-base", type=float, default=1.0, help="first backoff delay in seconds")
    g.add_argument("--retry-max", type=float, default=30.0, help="longest backoff delay in seconds")
    g.add_argument("--device", default=None, help="hf: torch device (default cuda if available)")
    g.add_argument("--dtype", default="auto", help="hf: auto, bfloat16, float16, float32")
    g.add_argument("--normalize", default="sum", choices=("sum", "mean"), help="hf: answer log-prob reduction")
    r.add_argument("--retry-unparsed", action="store_true",
                   help="ask again the prompts whose cached reply gave no answer (refusal, hedge, empty ...)")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--no-baseline", action="store_true", help="skip the histogram baseline section")
    r.add_argument("--reference", default="context", help="condition without MG cues to compare against")
    r.add_argument("--n-boot", type=int, default=2000)

    q = sub.add_parser("report", help="recompute report.json / report.md of a run folder")
    q.add_argument("--out", required=True)
    q.add_argument("--scenario", default=None)
    q.add_argument("--reference", default="context")
    q.add_argument("--n-boot", type=int, default=2000)
    q.add_argument("--seed", type=int, default=0)
    return ap


def main(argv: Sequence[str] | None = None, *, restore_signals: bool = True) -> int:
    """Entry point; returns the exit status (0 ok, 1 some requests failed, 2 usage / fatal error,
    130 interrupted). ``restore_signals=False`` (the command line) keeps the "second Ctrl-C exits at once"
    handler installed after a first Ctrl-C until the interpreter has shut down."""
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        return int({"baseline": _cmd_baseline, "build": _cmd_build, "run": _cmd_run,
                    "report": _cmd_report}[args.command](args))
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _exit_on_second_interrupt()
        print("\ninterrupted; rerun the same command to resume (replies received so far are kept in the cache)",
              file=sys.stderr)
        return 130
    finally:
        if restore_signals and main_thread and previous is not None:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    status = main(restore_signals=False)
    if status == 130:  # interrupted: files are closed; skip the interpreter's teardown (and its window for a
        sys.stdout.flush()  # second Ctrl-C to print a traceback) and the abandoned daemon workers
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)

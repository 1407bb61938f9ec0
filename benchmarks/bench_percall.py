"""Where the time of one call goes: the MG preset on one clip and on the 256-sample batch, part by part.

A call of an augmentation (``Augmentation.__call__``) is, in order:

* ``validate``  -- shape, layout and lengths checks (:func:`skelaug.tensors.check_skeleton`, ``check_lengths``);
* ``scan``      -- one read of the batch: NaN/Inf check, body size and centre (``numba_cpu.scan_batch``);
* ``generator`` -- the NumPy generator from the seed (``as_generator``);
* ``sample``    -- parameter sampling (Python, one augmentation after the other);
* ``plan``      -- folding and packing the sampled ops into the fused kernel's tables (``fusion.plan``);
* ``kernel``    -- the fused numba kernel (``numba_cpu.run_segment``).

:func:`staged_call` runs exactly those steps with a timer between them (the test suite checks that its
output and parameters equal ``aug(x, generator=seed)`` bit for bit); the whole call is timed too,
interleaved. Then the compiled pipeline (:func:`skelaug.augment.compile_pipeline`: sampling, planning
and the kernel in one numba call) against the ordinary call, alternating call by call on the same
inputs and seeds (:func:`measure_compiled`; rows ``compiled call`` and ``ordinary call (alternating)``,
and the ratio). Wall-clock and process-CPU-time medians, 1 thread. Results:
``results/augment_percall.json``.

Run: ``python -m benchmarks.bench_percall [--clip-repeats 3000] [--batch-repeats 40] [--quick]``
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_augment import LAYOUT, RESULTS, batch, loadavg, machine, set_threads, versions, write_json  # noqa: E402
from skelaug.augment import compile_pipeline, fusion, numba_cpu, presets  # noqa: E402
from skelaug.augment._rng import as_generator  # noqa: E402
from skelaug.augment.base import Augmentation, Context, _check_finite_and_scan  # noqa: E402
from skelaug.augment.compiled import CompiledPipeline  # noqa: E402
from skelaug.augment.ops import Program  # noqa: E402
from skelaug.tensors import check_lengths, check_skeleton, restore_rank  # noqa: E402

PARTS = ("validate", "scan", "generator", "sample", "plan", "kernel")


def staged_call(aug: Augmentation, x: np.ndarray, lengths: np.ndarray | None, seed: int,
                clock: Any = time.perf_counter) -> tuple[np.ndarray, Program, dict[str, float]]:
    """``aug(x, lengths, generator=seed)`` on the numba backend (NumPy input, a program without ``mix``),
    step by step as ``Augmentation.__call__`` runs it; returns the output, the program and the seconds
    of each part (``clock``: ``time.perf_counter`` or ``time.process_time``)."""
    t0 = clock()
    xb, rank = check_skeleton(x, finite=False)
    layout, dims = aug.resolve(xb)
    xb, rank = check_skeleton(x, num_joints=layout.num_joints if layout is not None else None, dims=dims,
                              layout_name=layout.name if layout is not None else None, finite=False)
    n, t = int(xb.shape[0]), int(xb.shape[2])
    lens_in = check_lengths(lengths, n, t) if lengths is not None else np.full(n, t, dtype=np.int64)
    t1 = clock()
    scan = _check_finite_and_scan(xb, lens_in, dims, layout, size=aug.uses_body_size)
    t2 = clock()
    rng = as_generator(seed, aug._rng)
    t3 = clock()
    ctx = Context(xb, dims, lens_in, layout)
    if scan is not None:
        ctx.use_scan(scan)
    ops = aug.sample(ctx, rng)
    program = Program(tuple(ops), n, lens_in, ctx.lengths.astype(np.int64), t)
    t4 = clock()
    segments = fusion.plan(list(program.ops), lens_in, tuple(int(s) for s in xb.shape), dims)  # type: ignore[arg-type]
    t5 = clock()
    out = xb
    for seg in segments:
        if not isinstance(seg, fusion.Segment):
            raise ValueError("staged_call times programs without 'mix' only")
        out = numba_cpu.run_segment(out, seg, dims)
    if not segments:
        out = np.array(xb, copy=True)
    t6 = clock()
    parts = dict(zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True))
    return restore_rank(out, rank), program, parts


def measure_parts(aug: Augmentation, x: np.ndarray, lengths: np.ndarray | None, repeats: int,
                  warmup: int) -> dict[str, dict[str, float]]:
    """Medians (ms) of each part and of the whole call, by wall clock and by process CPU time (a staged
    call per clock; a CPU-time read costs about 0.3 us here); staged and whole calls alternate."""
    def whole(seed: int) -> Any:
        return aug(x, generator=seed) if lengths is None else aug(x, lengths, generator=seed)

    for i in range(warmup):
        staged_call(aug, x, lengths, i)
        whole(i)
    acc: dict[str, list[float]] = {}
    for i in range(repeats):
        for clock, tag in ((time.perf_counter, ""), (time.process_time, " cpu")):
            _, _, parts = staged_call(aug, x, lengths, 10**6 + i, clock)
            for k, v in parts.items():
                acc.setdefault(k + tag, []).append(v)
            acc.setdefault("sum of parts" + tag, []).append(sum(parts.values()))
        t0, c0 = time.perf_counter(), time.process_time()
        whole(i)
        acc.setdefault("whole call", []).append(time.perf_counter() - t0)
        acc.setdefault("whole call cpu", []).append(time.process_time() - c0)
    return {k: {"median_ms": 1e3 * statistics.median(acc[k]), "cpu_median_ms": 1e3 * statistics.median(acc[k + " cpu"])}
            for k in [*PARTS, "sum of parts", "whole call"]}


def measure_compiled(aug: Augmentation, fast: CompiledPipeline, x: np.ndarray, lengths: np.ndarray | None,
                     repeats: int, warmup: int) -> dict[str, dict[str, float]]:
    """Medians (ms, wall and process CPU time) of the compiled and the ordinary call, alternating call
    by call with the same seed (so both see the same cache state and machine load); checks first that
    both return the same output."""
    def call(f: Any, seed: int) -> Any:
        return f(x, generator=seed) if lengths is None else f(x, lengths, generator=seed)

    def ordinary(xx: np.ndarray, lengths: Any = None, *, generator: int) -> Any:
        return aug(xx, lengths, generator)

    def copy(xx: np.ndarray, lengths: Any = None, *, generator: int) -> Any:
        return xx.copy()

    got, want = call(fast, 7), call(ordinary, 7)
    got, want = (got, want) if lengths is None else (got[0], want[0])
    if not np.allclose(got, want, rtol=1e-6, atol=1e-6):
        raise AssertionError("the compiled call's output differs from the ordinary call's")
    for i in range(warmup):
        call(fast, i)
        call(ordinary, i)
    acc: dict[str, list[float]] = {}
    for i in range(repeats):
        for name, f in (("compiled call", fast), ("ordinary call (alternating)", ordinary),
                        ("copy of the input (alternating)", copy)):
            t0, c0 = time.perf_counter(), time.process_time()
            call(f, 2 * 10**6 + i)
            acc.setdefault(name, []).append(time.perf_counter() - t0)
            acc.setdefault(name + " cpu", []).append(time.process_time() - c0)
    return {k: {"median_ms": 1e3 * statistics.median(acc[k]), "cpu_median_ms": 1e3 * statistics.median(acc[k + " cpu"])}
            for k in ("compiled call", "ordinary call (alternating)", "copy of the input (alternating)")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--clip-repeats", type=int, default=3000)
    ap.add_argument("--batch-repeats", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="few repeats, small batch (a smoke test)")
    ap.add_argument("--out", type=Path, default=RESULTS / "augment_percall.json")
    args = ap.parse_args(argv)
    set_threads(1)
    n, t = (4, 16) if args.quick else (256, 64)
    clip_rep, batch_rep, warm = (3, 2, 1) if args.quick else (args.clip_repeats, args.batch_repeats, args.warmup)
    x, lengths = batch(n, t)
    aug = presets.micro_gesture(LAYOUT)
    fast = compile_pipeline(aug)
    load_before, started = loadavg(), time.time()
    settings = {f"one clip (2, {t}, 25, 3)": (np.ascontiguousarray(x[0]), None, clip_rep),
                f"batch ({n}, 2, {t}, 25, 3)": (x, lengths, batch_rep)}
    rows = []
    compiled = []
    for setting, (xx, ll, rep) in settings.items():
        m = measure_parts(aug, xx, ll, rep, warm)
        whole = m["whole call"]
        for part, v in m.items():
            rows.append({"setting": setting, "part": part, "median_ms": v["median_ms"],
                         "cpu_median_ms": v["cpu_median_ms"],
                         "share_of_whole_cpu": v["cpu_median_ms"] / whole["cpu_median_ms"]})
        c = measure_compiled(aug, fast, xx, ll, rep, warm)
        comp, ordi, cp = c["compiled call"], c["ordinary call (alternating)"], c["copy of the input (alternating)"]
        for part, v in c.items():
            rows.append({"setting": setting, "part": part, "median_ms": v["median_ms"],
                         "cpu_median_ms": v["cpu_median_ms"],
                         "share_of_whole_cpu": v["cpu_median_ms"] / whole["cpu_median_ms"]})
        compiled.append({"setting": setting, "compiled_ms": comp["median_ms"], "ordinary_ms": ordi["median_ms"],
                         "compiled_cpu_ms": comp["cpu_median_ms"], "ordinary_cpu_ms": ordi["cpu_median_ms"],
                         "speedup": ordi["median_ms"] / comp["median_ms"],
                         "speedup_cpu": ordi["cpu_median_ms"] / comp["cpu_median_ms"],
                         "copy_ms": cp["median_ms"], "compiled_x_copy": comp["median_ms"] / cp["median_ms"],
                         "ordinary_x_copy": ordi["median_ms"] / cp["median_ms"]})
    clip_whole = next(r for r in rows if r["part"] == "whole call")
    clip_comp = compiled[0]
    result = {
        "benchmark": "augment_percall",
        "unit": "milliseconds per call (medians; parts timed by staged_call, the whole call interleaved with them)",
        "pipeline": f"presets.micro_gesture({LAYOUT!r}), numba backend, 1 thread, a new seed each call",
        "repeats_clip": clip_rep, "repeats_batch": batch_rep, "warmup": warm, "quick": args.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_before": load_before, "load_average_after": loadavg(),
        "wall_s": round(time.time() - started, 1),
        "machine": machine(),
        "versions": versions(),
        "targets": [{"target": "MG preset, one clip per call <= 0.1 ms (1 thread)", "goal": "<= 0.1",
                     "measured": clip_whole["median_ms"], "measured_cpu_time": clip_whole["cpu_median_ms"],
                     "met": "yes" if clip_whole["median_ms"] <= 0.1 else "no"},
                    {"target": "MG preset, one clip per call <= 0.1 ms (1 thread), compiled pipeline",
                     "goal": "<= 0.1", "measured": clip_comp["compiled_ms"],
                     "measured_cpu_time": clip_comp["compiled_cpu_ms"],
                     "met": "yes" if clip_comp["compiled_ms"] <= 0.1 else "no"}],
        "compiled_vs_ordinary": compiled,
        "parts": rows,
    }
    write_json(args.out, result)
    print(markdown(result))
    print(f"wrote {args.out}")
    return 0


def markdown(result: dict[str, Any]) -> str:
    """The parts table as Markdown (pasted into benchmarks/README.md)."""
    lines = ["| setting | part | wall ms (median) | CPU ms (median) | share of the whole call (CPU) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['setting']} | {r['part']} | {r['median_ms']:.4g} | {r['cpu_median_ms']:.4g} | "
              f"{100 * r['share_of_whole_cpu']:.0f} % |" for r in result["parts"]]
    lines += ["", "| setting | compiled ms | ordinary ms | speedup | compiled CPU ms | ordinary CPU ms "
              "| speedup (CPU) | copy ms | compiled x copy | ordinary x copy |", "|---" * 10 + "|"]
    lines += [f"| {c['setting']} | {c['compiled_ms']:.4g} | {c['ordinary_ms']:.4g} | {c['speedup']:.2f}x | "
              f"{c['compiled_cpu_ms']:.4g} | {c['ordinary_cpu_ms']:.4g} | {c['speedup_cpu']:.2f}x | "
              f"{c['copy_ms']:.4g} | {c['compiled_x_copy']:.1f} | {c['ordinary_x_copy']:.1f} |"
              for c in result.get("compiled_vs_ordinary", [])]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

"""Augmentation throughput: skelaug's executors against a plain copy and per-sample NumPy baselines.

Suites (methodology in ``benchmarks/README.md``):

* ``floor``      -- copying the batch (the physical floor of any augmentation that returns a new array);
* ``primitives`` -- each primitive x backend (``numpy`` reference, ``torch``, ``numba``) x batch size;
* ``pipelines``  -- the micro-gesture preset and AimCLR's normal and extreme pipelines through skelaug
  (whole call: parameter sampling + statistics + execution; and execution alone), and the per-sample
  NumPy baselines of the same pipelines (:mod:`benchmarks.baselines_aimclr`); the MG pipeline also on
  the batch with its second person absent (zeros), as in NTU's single-actor samples;
* ``threads``    -- the MG pipeline on 1 and 2 numba threads (whole call, execution, and the fused kernel alone);
* ``steps``      -- where the MG pipeline's execution time goes: each sampled op run alone and the whole
  program without it (1 thread), beside the load + store of an empty program and a copy;
* ``cuda``       -- with a GPU: the MG pipeline on ``numba_cuda`` for a batch of at least 32 MB, as a
  fraction of the device's memory bandwidth;
* ``targets``    -- the ratios the project set as goals, measured side by side in this run, met or not.

Everything is measured in one process, one suite after the other, medians of repeated runs after
warm-up (which includes numba compilation). Results go to ``benchmarks/results/augment_cpu.json``.

Run: ``python -m benchmarks.bench_augment [--repeats 15] [--quick] [--out PATH]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numba
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import skelaug  # noqa: E402
from benchmarks import baselines_aimclr as base  # noqa: E402
from skelaug import augment as A  # noqa: E402
from skelaug import layouts  # noqa: E402
from skelaug.augment import backends, config, fusion, numba_cpu, numba_cuda, presets  # noqa: E402

LAYOUT = "ntu25"


# ------------------------------------------------------------------------------ measurement
def measure(fn: Callable[[], Any], repeats: int, warmup: int, sync: Callable[[], None] | None = None) -> dict[str, Any]:
    """Median / min / interquartile range of ``repeats`` timed calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    q = np.quantile(times, [0.25, 0.75]) if len(times) > 1 else (times[0], times[0])
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "iqr_ms": 1e3 * float(q[1] - q[0]), "repeats": repeats}


def measure_interleaved(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int,
                        setup: dict[str, Callable[[], None]] | None = None) -> dict[str, dict[str, Any]]:
    """Like :func:`measure` for several functions timed in turn within each repeat (round-robin), so that
    load changes on a shared machine affect all of them alike and their ratios stay meaningful.
    ``setup[name]`` (untimed) runs before each call of ``fns[name]`` (e.g. to set the thread count)."""
    setup = setup or {}
    for name, fn in fns.items():
        for _ in range(warmup):
            setup.get(name, lambda: None)()
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            setup.get(name, lambda: None)()
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    out = {}
    for name, ts in times.items():
        q = np.quantile(ts, [0.25, 0.75])
        out[name] = {"median_ms": 1e3 * statistics.median(ts), "min_ms": 1e3 * min(ts),
                     "iqr_ms": 1e3 * float(q[1] - q[0]), "cpu_median_ms": 1e3 * statistics.median(cpu[name]),
                     "repeats": repeats}
    return out


def set_threads(k: int) -> None:
    numba.set_num_threads(min(k, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(k)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "processor": cpu or platform.processor(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "numba_threads_max": numba.config.NUMBA_NUM_THREADS,
            "numba_threading_layer": _threading_layer()}


def _threading_layer() -> str:
    try:
        return str(numba.threading_layer())
    except ValueError:
        return "(not initialised)"


def loadavg() -> float:
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return float("nan")


# ------------------------------------------------------------------------------ inputs
def batch(n: int, t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A plausible NTU-layout batch ``(N, 2, T, 25, 3)`` float32 of full-length clips: bodies built along
    the kinematic tree with random bones and a small random-walk motion, 2 % of joints missing."""
    lay = layouts.get(LAYOUT)
    rng = np.random.default_rng(seed)
    bone = rng.normal(size=(n, 2, 1, lay.num_joints, 3)) * 0.2
    drift = np.cumsum(rng.normal(size=(n, 2, t, lay.num_joints, 3)) * 0.01, axis=2)
    root = rng.normal(size=(n, 2, 1, 3)) + 2.0
    x = np.zeros((n, 2, t, lay.num_joints, 3))
    for j in lay.topological_order:
        p = lay.parent[j]
        x[:, :, :, j] = (root if p < 0 else x[:, :, :, p]) + bone[:, :, :, j] + drift[:, :, :, j]
    x[rng.random(x.shape[:4]) < 0.02] = 0.0
    return np.ascontiguousarray(x, dtype=np.float32), np.full(n, t, dtype=np.int64)


def primitive_ops() -> dict[str, A.Augmentation]:
    lay = layouts.get(LAYOUT)
    return {
        "affine (rotate)": A.RandomRotate(30.0, layout=lay),
        "local_affine (part)": A.RandomPartTransform(lay),
        "bone_scale": A.RandomBoneLength(lay),
        "resample (crop-resize)": A.RandomCropResize(layout=lay),
        "mask (joints)": A.RandomJointMask(layout=lay),
        "noise (white)": A.RandomGaussianNoise(layout=lay),
        "noise (smooth)": A.RandomPerturb(layout=lay),
        "blur (15 taps)": A.RandomGaussianBlur(layout=lay),
        "mix (parts)": A.RandomPartMix(lay),
    }


# ------------------------------------------------------------------------------ suites
def _call_seeded(aug: A.Augmentation, x: Any, lengths: Any, backend: str) -> Callable[[], Any]:
    """A fresh generator seed on every call, as in training (sampling cost included)."""
    counter = iter(range(10**9))
    return lambda: aug(x, lengths, generator=next(counter), backend=backend)


def suite_primitives(sizes: list[int], t: int, repeats: int, warmup: int, reference: bool) -> list[dict[str, Any]]:
    rows = []
    set_threads(1)
    for n in sizes:
        x, lengths = batch(n, t)
        xt, lt = torch.from_numpy(x), torch.from_numpy(lengths)
        copy = measure(x.copy, repeats, warmup)["median_ms"]
        for name, aug in primitive_ops().items():
            aug(x, lengths, generator=0, backend="numba")
            ops = list(aug.last_params.ops)
            runs: dict[str, Callable[[], Any]] = {
                "numba": partial(numba_cpu.run_program, x, lengths, 3, ops),
                "torch": partial(backends.execute, xt, lt, 3, ops, backends.resolve_backend(xt, "torch")),
            }
            if reference:
                runs["numpy"] = partial(backends.execute, x, lengths, 3, ops, backends.resolve_backend(x, "numpy"))
            for backend, fn in runs.items():
                slow = backend == "numpy"
                m = measure(fn, max(1, repeats // 5) if slow else repeats, 1 if slow else warmup)
                rows.append({"primitive": name, "backend": backend, "batch": n, "threads": 1,
                             "median_ms": m["median_ms"], "min_ms": m["min_ms"], "x_copy": m["median_ms"] / copy})
    return rows


#: Rows of the MG pipeline on the same batch with the second person absent (all zeros) in every sample.
SINGLE = "skelaug numba, second person absent"


def suite_pipelines(n: int, t: int, repeats: int, warmup: int, reference: bool) -> tuple[list[dict[str, Any]], dict]:
    set_threads(1)
    x, lengths = batch(n, t)
    xt = torch.from_numpy(x)
    lay = layouts.get(LAYOUT)
    samples = [np.ascontiguousarray(s) for s in x.transpose(0, 4, 2, 3, 1)]      # (C, T, V, M) per sample
    baselines: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
        "micro_gesture": partial(_mg, centre=int(lay.centre[0])),
        "aimclr_normal": base.aimclr_normal_pipeline,
        "aimclr_extreme": partial(_extreme, mirror=tuple(lay.mirror)),
    }
    rows: list[dict[str, Any]] = []
    summary: dict[str, dict[str, float]] = {}
    for name, per_sample in baselines.items():
        aug = getattr(presets, name)(LAYOUT)
        aug(x, lengths, generator=12345, backend="numba")
        runs = {
            "(copy of the batch)": x.copy,
            "skelaug numba, whole call": _call_seeded(aug, x, lengths, "numba"),
            "skelaug numba, execution only": partial(numba_cpu.run_program, x, lengths, 3, list(aug.last_params.ops)),
            "skelaug torch (CPU), whole call": _call_seeded(aug, xt, None, "torch"),
            "per-sample NumPy (AimCLR style)": partial(base.run_batch, samples, per_sample, np.random.default_rng(0)),
        }
        if name == "micro_gesture":                  # most NTU samples have one actor: the second slab is zeros
            single = x.copy()
            single[:, 1] = 0.0
            aug(single, lengths, generator=12345, backend="numba")
            runs[f"{SINGLE}, whole call"] = _call_seeded(aug, single, lengths, "numba")
            runs[f"{SINGLE}, execution only"] = partial(numba_cpu.run_program, single, lengths, 3,
                                                        list(aug.last_params.ops))
        m = measure_interleaved(runs, repeats, warmup)
        if reference:
            m["skelaug numpy reference, whole call"] = measure(_call_seeded(aug, x, lengths, "numpy"), 1, 0)
        copy = m["(copy of the batch)"]
        rows += [{"pipeline": name, "how": how, **_row(stats, copy)} for how, stats in m.items()]
        summary[name] = {f"{key}{suffix}": m[how][stat] for key, how in (
            ("whole", "skelaug numba, whole call"), ("exec", "skelaug numba, execution only"),
            ("baseline", "per-sample NumPy (AimCLR style)"), ("copy", "(copy of the batch)"))
            for suffix, stat in (("", "median_ms"), ("_cpu", "cpu_median_ms"))}
    return rows, summary


def _mg(sample: np.ndarray, rng: np.random.Generator, centre: int) -> np.ndarray:
    return base.micro_gesture_pipeline(sample, rng, centre)


def _extreme(sample: np.ndarray, rng: np.random.Generator, mirror: tuple[int, ...]) -> np.ndarray:
    return base.aimclr_extreme_pipeline(sample, rng, mirror)


def _row(m: dict[str, Any], copy: dict[str, Any]) -> dict[str, Any]:
    cpu = m.get("cpu_median_ms", float("nan"))
    return {"median_ms": m["median_ms"], "min_ms": m["min_ms"], "iqr_ms": m["iqr_ms"],
            "x_copy": m["median_ms"] / copy["median_ms"], "cpu_median_ms": cpu,
            "cpu_x_copy": cpu / copy.get("cpu_median_ms", float("nan"))}


def suite_threads(n: int, t: int, repeats: int, warmup: int) -> tuple[list[dict[str, Any]], dict]:
    x, lengths = batch(n, t)
    aug = presets.micro_gesture(LAYOUT)
    aug(x, lengths, generator=7)
    ops = list(aug.last_params.ops)
    segments = fusion.plan(ops, lengths, x.shape, 3)       # the MG preset has no mix: one fused segment
    assert all(isinstance(s, fusion.Segment) for s in segments)

    def kernel() -> None:
        for seg in segments:
            numba_cpu.run_segment(x, seg, 3)               # type: ignore[arg-type]

    counts = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
    runs, setup = {}, {}
    for k in counts:                               # 1 and 2 threads alternate within every repeat
        runs[f"whole {k}"] = _call_seeded(aug, x, lengths, "numba")
        runs[f"exec {k}"] = partial(numba_cpu.run_program, x, lengths, 3, ops)
        runs[f"kernel {k}"] = kernel
        setup[f"whole {k}"] = setup[f"exec {k}"] = setup[f"kernel {k}"] = partial(set_threads, k)
    m = measure_interleaved(runs, repeats, warmup, setup)
    set_threads(1)
    rows, med = [], {}
    for k in counts:
        med[k] = (m[f"whole {k}"]["median_ms"], m[f"exec {k}"]["median_ms"], m[f"kernel {k}"]["median_ms"])
        rows.append({"pipeline": "micro_gesture", "threads": k, "whole_call_ms": med[k][0], "execution_ms": med[k][1],
                     "kernel_ms": med[k][2], "whole_speedup": med[1][0] / med[k][0],
                     "execution_speedup": med[1][1] / med[k][1], "kernel_speedup": med[1][2] / med[k][2]})
    return rows, med


def suite_steps(n: int, t: int, repeats: int, warmup: int) -> list[dict[str, Any]]:
    """The MG preset's execution op by op (1 thread, numba): each op of one sampled program alone, and
    the whole program without it, timed round-robin with the whole program, the empty program (the
    slab load and store alone) and a copy. ``marginal_ms`` (whole minus whole-without-the-op) is what
    the op costs inside the fused pass; ``applied`` the fraction of samples it is not skipped on."""
    x, lengths = batch(n, t)
    aug = presets.micro_gesture(LAYOUT)
    aug(x, lengths, generator=7)
    ops = list(aug.last_params.ops)
    names = [type(step).__name__ for step in aug]
    labels = [f"{i}: {op.kind} ({names[i]})" if len(names) == len(ops) else f"{i}: {op.kind}"
              for i, op in enumerate(ops)]
    set_threads(1)
    runs: dict[str, Callable[[], Any]] = {
        "whole program": partial(numba_cpu.run_program, x, lengths, 3, ops),
        "empty program (load + store)": partial(numba_cpu.run_program, x, lengths, 3, []),
        "copy": x.copy,
    }
    for i, op in enumerate(ops):
        runs[f"alone {i}"] = partial(numba_cpu.run_program, x, lengths, 3, [op])
        runs[f"without {i}"] = partial(numba_cpu.run_program, x, lengths, 3, ops[:i] + ops[i + 1:])
    m = measure_interleaved(runs, repeats, warmup)
    whole, copy = m["whole program"]["cpu_median_ms"], m["copy"]["cpu_median_ms"]
    rows: list[dict[str, Any]] = [
        {"step": k, "cpu_ms": m[k]["cpu_median_ms"], "x_copy": m[k]["cpu_median_ms"] / copy}
        for k in ("whole program", "empty program (load + store)", "copy")
    ]
    for i, op in enumerate(ops):
        seg = fusion.plan([op], lengths, x.shape, 3)[0]
        applied = 1.0 - float(np.mean(seg.skip)) if isinstance(seg, fusion.Segment) else 1.0
        marginal = whole - m[f"without {i}"]["cpu_median_ms"]
        rows.append({"step": labels[i], "applied": applied, "alone_cpu_ms": m[f"alone {i}"]["cpu_median_ms"],
                     "marginal_cpu_ms": marginal, "marginal_x_copy": marginal / copy,
                     "marginal_share": marginal / whole})
    return rows


# ------------------------------------------------------------------------------ CUDA
#: Peak memory bandwidth (GB/s) from vendor datasheets, by a substring of the device name; used when the
#: device does not report its memory clock and bus width (and recorded next to the computed figure).
PEAK_GB_S_DATASHEET: dict[str, float] = {
    "H200": 4800.0, "H100 SXM": 3350.0, "H100 80GB HBM3": 3350.0, "H100 PCIe": 2000.0, "H100 NVL": 3900.0,
    "A100-SXM4-80GB": 2039.0, "A100 80GB PCIe": 1935.0, "A100-SXM4-40GB": 1555.0, "A100-PCIE-40GB": 1555.0,
    "L40S": 864.0, "L4": 300.0, "A10": 600.0, "V100": 900.0, "T4": 320.0, "RTX 4090": 1008.0, "RTX 3090": 936.0,
}


def peak_bandwidth(name: str, memory_clock_khz: float | None, bus_width_bits: float | None) -> dict[str, Any]:
    """The device's peak memory bandwidth in GB/s: ``2 * memory clock * bus width / 8`` (double data rate,
    from the device attributes) when both are known, else the datasheet figure of
    :data:`PEAK_GB_S_DATASHEET` matched on the device name (``nan`` when neither is known)."""
    sheet = next((v for k, v in PEAK_GB_S_DATASHEET.items() if k.lower() in name.lower()), float("nan"))
    if memory_clock_khz and bus_width_bits:
        computed = 2.0 * float(memory_clock_khz) * 1e3 * float(bus_width_bits) / 8 / 1e9
        return {"peak_gb_per_s": computed, "peak_source": "device attributes (2 x memory clock x bus width)",
                "datasheet_gb_per_s": sheet}
    return {"peak_gb_per_s": sheet, "peak_source": "datasheet table" if sheet == sheet else "unknown",
            "datasheet_gb_per_s": sheet}


def cuda_unavailable_reason() -> str | None:
    """Why the CUDA rows cannot run here (``None`` when they can: a GPU seen by torch and by numba, or the
    simulator, ``NUMBA_ENABLE_CUDASIM=1``, for a ``--quick`` smoke run)."""
    if not numba_cuda.available():
        return f"numba's CUDA target sees no GPU ({numba_cuda.REQUIREMENT})"
    if not torch.cuda.is_available() and not _simulator():
        return (f"torch {torch.__version__} sees no CUDA device (torch.version.cuda={torch.version.cuda}); "
                "install a CUDA build of torch (benchmarks/gpu_check.sh says how)")
    return None


def _simulator() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "") not in ("", "0")


def device_info() -> dict[str, Any]:
    """Name, compute capability, multiprocessors, memory clock and bus width of numba's current device."""
    from numba import cuda

    dev: Any = cuda.get_current_device() if hasattr(cuda, "get_current_device") else None   # not simulated
    raw = getattr(dev, "name", "numba CUDA simulator")
    name = raw.decode() if isinstance(raw, bytes) else str(raw)

    def attr(key: str) -> Any:
        try:
            return getattr(dev, key)
        except Exception:                      # the simulator's device lacks most attributes
            return None

    clock, bus = attr("MEMORY_CLOCK_RATE"), attr("GLOBAL_MEMORY_BUS_WIDTH")
    cc = attr("compute_capability")
    return {"device": name, "compute_capability": ".".join(map(str, cc)) if cc else "",
            "multiprocessors": attr("MULTIPROCESSOR_COUNT"), "memory_clock_khz": clock, "bus_width_bits": bus,
            "simulator": _simulator(), **peak_bandwidth(name, clock, bus)}


def _fused_kernel_launcher(x: Any, lengths: np.ndarray, ops: list[Any]) -> Callable[[], Any]:
    """The fused CUDA kernel of a one-segment program with its tables already on the device: what is left
    of :func:`numba_cuda.run_program` without planning (Python) and the host-to-device table copies."""
    from numba import cuda

    segments = fusion.plan(ops, lengths, tuple(x.shape), 3)
    assert len(segments) == 1 and isinstance(segments[0], fusion.Segment), "the MG program is one segment"
    seg = segments[0]
    xd = cuda.as_cuda_array(x) if isinstance(x, torch.Tensor) else cuda.to_device(x)
    num_n, num_m, num_t, nv, nc = (int(s) for s in x.shape)
    dtype = np.dtype(np.float32)
    size = num_t * nv
    blocks = numba_cuda._grid(num_n * num_m)
    threads = int(config.CUDA_THREADS_PER_BLOCK)
    scratch_bytes = 2 * nc * size * dtype.itemsize
    shared = scratch_bytes <= config.CUDA_MAX_SHARED_BYTES
    stream = numba_cuda._stream_for(x)
    out = cuda.device_array(tuple(x.shape), dtype=dtype, stream=stream)
    gscratch = cuda.device_array((1, 1) if shared else (blocks, 2 * nc * size), dtype=dtype, stream=stream)
    knot_len = ((num_t - 1) // 2 + 2) * nv * 3 if seg.noise_stride.size and (seg.noise_stride > 1).any() else 1
    gknots = cuda.device_array((blocks, knot_len), dtype=np.float64, stream=stream)
    lens = cuda.to_device(np.ascontiguousarray(seg.lengths_in, dtype=np.int64), stream=stream)
    tables = numba_cuda._tables_to_device(seg, stream)
    launch = numba_cuda._kernel(dtype, shared)[blocks, threads, stream, scratch_bytes if shared else 0]
    flat_in, flat_out = xd.reshape(num_n * num_m, size * nc), out.reshape(num_n * num_m, size * nc)
    return lambda: launch(flat_in, flat_out, gscratch, gknots, lens, 3, num_m, num_t, nv, nc, *tables)


def suite_cuda(repeats: int, warmup: int, sizes: tuple[int, ...] = (1024, 8192), t: int = 64) -> list[dict[str, Any]]:
    """The MG pipeline on the GPU: ``numba_cuda`` (whole call, execution, fused kernel alone) and skelaug's
    torch executor on CUDA tensors, next to ``torch.clone`` of the same tensor; effective bandwidth
    ``2 * bytes / time`` (one read, one write of the batch) as a fraction of the device's peak.

    ``sizes`` are batch sizes ``N`` of ``(N, 2, t, 25, 3)`` float32: 1024 is the 39 MB batch of the target
    (at least 32 MB), 8192 (315 MB) is several times the largest L2 (H100/H200: 50-60 MB), so that the
    figure is DRAM bandwidth, not cache. Under the simulator (``--quick`` smoke runs only) the batch is
    NumPy (copied to the simulated device) and the torch rows are skipped; its figures mean nothing.
    """
    if cuda_unavailable_reason() is not None:
        return [{"suite": "cuda", "status": f"not measured: {cuda_unavailable_reason()} (kernels are checked on "
                                            "the CUDA simulator by the test suite)"}]
    from numba import cuda

    info = device_info()
    on_torch = torch.cuda.is_available() and not info["simulator"]
    sync = torch.cuda.synchronize if on_torch else cuda.synchronize
    aug = presets.micro_gesture(LAYOUT)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        x, lengths = batch(n, t)
        xt: Any = torch.from_numpy(x).cuda() if on_torch else x
        lt: Any = torch.from_numpy(lengths) if on_torch else lengths
        aug(x, lengths, generator=3)                          # sampled on the host batch: same program
        ops = list(aug.last_params.ops)
        runs: dict[str, Callable[[], Any]] = {
            "numba_cuda, fused kernel alone": _fused_kernel_launcher(xt, lengths, ops),
            "numba_cuda, execution only": partial(numba_cuda.run_program, xt, lengths, 3, ops),
            "numba_cuda, whole call": _call_seeded(aug, xt, lt, "numba_cuda"),
        }
        if on_torch:
            tb = backends.resolve_backend(xt, "torch")
            runs = {"torch clone (floor)": xt.clone, **runs,
                    "skelaug torch (CUDA), execution only": partial(backends.execute, xt, lt.cuda(), 3, ops, tb),
                    "skelaug torch (CUDA), whole call": _call_seeded(aug, xt, lt.cuda(), "torch")}
        for how, fn in runs.items():
            m = measure(fn, repeats, warmup, sync)
            gbs = 2 * x.nbytes / (m["median_ms"] / 1e3) / 1e9
            rows.append({"suite": "cuda", "device": info["device"], "how": how, "batch": n,
                         "batch_mb": x.nbytes / 2**20, "median_ms": m["median_ms"], "min_ms": m["min_ms"],
                         "gb_per_s": gbs, "fraction_of_peak": gbs / info["peak_gb_per_s"],
                         "peak_gb_per_s": info["peak_gb_per_s"]})
        del runs, xt                                          # free the device memory before the next size
    return rows


def cuda_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CUDA goal (>= 50 % of peak memory bandwidth for the MG preset on a >= 32 MB batch): the best
    of the execution-only and kernel-only rows on each batch of at least 32 MB."""
    out = []
    for how in ("numba_cuda, execution only", "numba_cuda, fused kernel alone"):
        hit = [r for r in rows if r.get("how") == how and r["batch_mb"] >= 32]
        val = max((r["fraction_of_peak"] for r in hit), default=float("nan"))
        out.append({"target": f"CUDA MG pipeline >= 50% of memory bandwidth (>= 32 MB batch; {how})",
                    "goal": ">= 0.5", "measured": val, "measured_cpu_time": float("nan"),
                    "met": "unmeasured" if val != val else ("yes" if val >= 0.5 else "no")})
    return out


def main_cuda(args: argparse.Namespace) -> int:
    """``--device cuda``: only the CUDA rows, written to ``results/augment_cuda.json``."""
    reason = cuda_unavailable_reason()
    if reason is None and _simulator() and not args.quick:
        reason = "NUMBA_ENABLE_CUDASIM=1 is set: the simulator is only for --quick smoke runs, not figures"
    if reason is not None:
        print(f"bench_augment --device cuda: cannot run: {reason}", file=sys.stderr)
        return 2
    sizes, t = ((2,), 8) if args.quick else ((1024, 8192), 64)
    repeats, warmup = (1, 0) if args.quick else (args.repeats, args.warmup)
    if args.quick:
        config.CUDA_THREADS_PER_BLOCK = 8                  # the simulator runs one Python thread per CUDA thread
    started, load_before = time.time(), loadavg()
    rows = suite_cuda(repeats, warmup, sizes, t)
    info = device_info()
    result = {
        "benchmark": "augment_cuda",
        "unit": "milliseconds per batch (median of repeats, torch.cuda.synchronize() inside the timing); "
                "gb_per_s = 2 x batch bytes / time",
        "batch_shape": f"(N, 2, {t}, 25, 3) float32 for N in {list(sizes)}, layout {LAYOUT}, full-length clips",
        "repeats": repeats, "warmup": warmup, "quick": args.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_before": load_before, "load_average_after": loadavg(),
        "wall_s": round(time.time() - started, 1),
        "machine": {**machine(), **{k: v for k, v in info.items() if not isinstance(v, list | dict)}},
        "versions": versions(),
        "targets": cuda_targets(rows),
        "cuda": rows,
    }
    write_json(args.out, result)
    print("\n".join(f"| {r['how']} | N={r['batch']} | {r['median_ms']:.4g} ms | {r['gb_per_s']:.4g} GB/s | "
                    f"{r['fraction_of_peak']:.3g} of peak |" for r in rows))
    print(f"wrote {args.out}")
    return 0


def targets(summary: dict[str, dict[str, float]], thread_med: dict[int, tuple[float, float, float]],
            cuda_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    mg, ex = summary["micro_gesture"], summary["aimclr_extreme"]

    def ratio(d: dict[str, float], a: str, b: str) -> dict[str, float]:   # wall-clock, and CPU time (1 thread)
        return {"measured": d[a] / d[b], "measured_cpu_time": d[a + "_cpu"] / d[b + "_cpu"]}

    rows = [
        {"target": "MG pipeline, whole call, <= 4x copy (1 thread)", "goal": "<= 4", **ratio(mg, "whole", "copy")},
        {"target": "MG pipeline, execution only, <= 4x copy (1 thread)", "goal": "<= 4",
         **ratio(mg, "exec", "copy")},
        {"target": "MG pipeline >= 100x faster than per-sample NumPy (1 thread)", "goal": ">= 100",
         **ratio(mg, "baseline", "whole")},
        {"target": "AimCLR extreme >= 100x faster than per-sample NumPy (1 thread)", "goal": ">= 100",
         **ratio(ex, "baseline", "whole")},
    ]
    if 2 in thread_med:
        rows.append({"target": "MG pipeline, 2 threads >= 1.7x faster than 1 (whole call)", "goal": ">= 1.7",
                     "measured": thread_med[1][0] / thread_med[2][0], "measured_cpu_time": float("nan")})
        rows.append({"target": "MG pipeline, 2 threads >= 1.7x faster than 1 (execution)", "goal": ">= 1.7",
                     "measured": thread_med[1][1] / thread_med[2][1], "measured_cpu_time": float("nan")})
        rows.append({"target": "MG pipeline, 2 threads >= 1.7x faster than 1 (fused kernel alone, without the "
                               "Python planning of execution)", "goal": ">= 1.7",
                     "measured": thread_med[1][2] / thread_med[2][2], "measured_cpu_time": float("nan")})
    rows.append({"target": "CUDA MG pipeline >= 50% of memory bandwidth (>= 32 MB batch)", "goal": ">= 0.5",
                 "measured": cuda_targets(cuda_rows)[0]["measured"], "measured_cpu_time": float("nan")})
    for r in rows:
        goal = float(r["goal"].split()[-1])
        val = r["measured"]
        r["met"] = "unmeasured" if val != val else ("yes" if (val <= goal if "<=" in r["goal"] else val >= goal)
                                                     else "no")
    return rows


def versions() -> dict[str, Any]:
    out = {"skelaug": skelaug.__version__, "numpy": np.__version__, "numba": numba.__version__,
           "torch": torch.__version__, "llvmlite": __import__("llvmlite").__version__}
    if torch.version.cuda:
        out["torch_cuda"] = str(torch.version.cuda)
    try:
        from importlib.metadata import version

        out["numba_cuda"] = version("numba-cuda")
    except Exception:                              # not installed: numba's bundled CUDA target, or none
        pass
    return out


def write_json(path: Path, result: dict[str, Any]) -> None:
    """Write a result as indented JSON (NaN stays NaN, NumPy scalars become numbers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=float) + "\n")


RESULTS = ROOT / "benchmarks" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cpu: every CPU suite (and the CUDA rows when a GPU is present) -> augment_cpu.json; "
                         "cuda: only the CUDA rows, failing with exit status 2 without a GPU -> augment_cuda.json")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny sizes and 2 repeats (a smoke test, not a benchmark)")
    ap.add_argument("--no-reference", action="store_true", help="skip the (slow) NumPy reference backend")
    ap.add_argument("--out", type=Path, default=None,
                    help="output JSON (default: results/augment_cpu.json, or results/augment_cuda.json)")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        ap.error(f"--repeats={args.repeats} --warmup={args.warmup}: need repeats >= 1 and warmup >= 0")
    if args.out is None:
        args.out = RESULTS / f"augment_{args.device}.json"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda":
        return main_cuda(args)
    n, t, sizes = (8, 16, [8]) if args.quick else (256, 64, [32, 256])
    repeats, warmup = (2, 1) if args.quick else (args.repeats, args.warmup)
    load_before = loadavg()
    started = time.time()
    prim = suite_primitives(sizes, t, repeats, warmup, not args.no_reference)
    pipes, summary = suite_pipelines(n, t, repeats, warmup, not args.no_reference and not args.quick)
    thr, thread_med = suite_threads(n, t, repeats, warmup)
    steps = suite_steps(n, t, repeats, warmup)
    gpu = suite_cuda(repeats, warmup) if not args.quick else [{"suite": "cuda", "status": "skipped (--quick)"}]
    result = {
        "benchmark": "augment",
        "unit": "milliseconds per batch (median of repeats); x_copy = time / time of x.copy()",
        "batch_shape": f"({n}, 2, {t}, 25, 3) float32, layout {LAYOUT}, full-length clips",
        "repeats": repeats, "warmup": warmup, "quick": args.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_before": load_before, "load_average_after": loadavg(),
        "wall_s": round(time.time() - started, 1),
        "machine": machine(),
        "versions": versions(),
        "targets": targets(summary, thread_med, gpu),
        "pipelines": pipes,
        "threads": thr,
        "steps": steps,
        "cuda": gpu,
        "primitives": prim,
    }
    write_json(args.out, result)
    print(markdown(result))
    print(f"wrote {args.out}")
    return 0


def markdown(result: dict[str, Any]) -> str:
    """The targets and pipeline tables of a result as Markdown (pasted into benchmarks/README.md)."""
    lines = ["| target | goal | measured (wall) | measured (CPU time) | met (wall) |", "|---|---|---|---|---|"]
    lines += [f"| {r['target']} | {r['goal']} | {r['measured']:.3g} | {r['measured_cpu_time']:.3g} | {r['met']} |"
              for r in result["targets"]]
    lines += ["", "| pipeline | how | median ms | x copy | CPU ms | x copy (CPU) |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['pipeline']} | {r['how']} | {r['median_ms']:.3g} | {r['x_copy']:.3g} | "
              f"{r['cpu_median_ms']:.3g} | {r['cpu_x_copy']:.3g} |" for r in result["pipelines"]]
    lines += ["", "| threads | whole call ms | execution ms | fused kernel ms "
              "| speed-up (whole / execution / kernel) |", "|---|---|---|---|---|"]
    lines += [f"| {r['threads']} | {r['whole_call_ms']:.3g} | {r['execution_ms']:.3g} | {r['kernel_ms']:.3g} | "
              f"{r['whole_speedup']:.2f} / {r['execution_speedup']:.2f} / {r['kernel_speedup']:.2f} |"
              for r in result["threads"]]
    lines += ["", "| MG execution, 1 thread | applied to | alone CPU ms | marginal CPU ms | marginal x copy "
              "| share of the program |", "|---|---|---|---|---|---|"]
    for r in result.get("steps", []):
        if "applied" in r:
            lines.append(f"| {r['step']} | {100 * r['applied']:.0f} % | {r['alone_cpu_ms']:.3g} | "
                         f"{r['marginal_cpu_ms']:.3g} | {r['marginal_x_copy']:.3g} | "
                         f"{100 * r['marginal_share']:.0f} % |")
        else:
            lines.append(f"| {r['step']} | | {r['cpu_ms']:.3g} | | {r['x_copy']:.3g} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

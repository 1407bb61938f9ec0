"""skelaug next to peer libraries, operation by operation: same batch, same machine, one run, 1 thread.

Peers (benchmark-only extras, ``pip install -e ".[bench]"``; never runtime dependencies of skelaug):

* **torch-skeleton** (PyPI ``torch-skeleton``): NumPy transforms on one ``(M, T, V, C)`` sample at a
  time, drawing from NumPy's global generator: ``RandomRotate`` (three axes about the origin) and
  ``RandomShift`` (one offset per sample). It mutates its input, so each call gets a copy of the
  sample (what a ``Dataset`` holding its arrays has to do); the copy is part of its time.
* **pybvh-ml** (PyPI ``pybvh-ml``): array-level augmentation of one clip ``MotionArrays`` (one person:
  ``joint_pos`` ``(T, V, 3)``, ``root_pos`` the centre joint) at a time, computed in float64:
  ``rotate_vertical`` (one axis), ``mirror``, ``add_joint_position_noise``,
  ``speed_perturbation_arrays`` (changes the frame count) and ``dropout_arrays`` (drops frames and
  interpolates them back, same length). The containers are built before timing (a dataset holds them).
* **kornia** (``kornia.geometry``): batched torch; a 3D affine matrix per sample from
  ``get_affine_matrix3d`` (rotation, scale, translation, shear; random parameters drawn with torch) and
  ``transform_points`` on the sample's ``M * T * V`` joints. It moves missing (all-zero) joints like
  any other point and uses the origin as centre, so it does less than skelaug (which keeps missing
  joints at zero and transforms about each body's centre).

skelaug is timed as a training loop calls it: the whole call, ``aug(x, lengths, generator=seed)``,
validation and sampling included, a new seed each call, numba executor. Each operation is timed
interleaved with ``x.copy()`` and every peer that implements it (in turn within each repeat), in
two settings: the ``(256, 2, 64, 25, 3)`` float32 batch of ``bench_augment`` (per-sample peers loop
over its 256 samples, or 512 single-person clips for pybvh-ml) and one clip ``(2, 64, 25, 3)`` per
call (what ``Dataset.__getitem__`` does). The order of the calls rotates from one repeat to the next
(:func:`measure_rotated`). Peers that are not installed, or that do not implement an operation, are
listed as such.

Run: ``python -m benchmarks.bench_peers [--repeats 7] [--clip-repeats 301] [--quick] [--out PATH]``
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # 1 thread, before NumPy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_augment import (  # noqa: E402
    LAYOUT,
    RESULTS,
    batch,
    loadavg,
    machine,
    set_threads,
    versions,
    write_json,
)
from skelaug import augment as A  # noqa: E402
from skelaug import layouts  # noqa: E402

#: PyPI name -> import name of each peer.
PEERS = {"torch-skeleton": "torch_skeleton", "pybvh-ml": "pybvh_ml", "kornia": "kornia"}

Runner = Callable[[], Any]


def peer_status() -> dict[str, str]:
    """``version`` of each installed peer, or why it is not usable here."""
    out = {}
    for dist, mod in PEERS.items():
        try:
            installed = version(dist)                          # the distribution first: absent -> not installed
            importlib.import_module(mod)
            out[dist] = installed
        except PackageNotFoundError:
            out[dist] = "not installed (pip install -e '.[bench]')"
        except Exception as err:                               # installed but broken
            out[dist] = f"import failed: {type(err).__name__}: {err}"
    return out


def _usable(status: dict[str, str], dist: str) -> bool:
    return not status[dist].startswith(("not installed", "import failed"))


# ------------------------------------------------------------------------------ skelaug
def skelaug_ops() -> dict[str, A.Augmentation]:
    lay = layouts.get(LAYOUT)
    return {
        "rotate (3 axes, +-30 deg)": A.RandomRotate(30.0, layout=lay),
        "rotate (vertical axis, +-30 deg)": A.RandomRotate(((0.0, 0.0), (-30.0, 30.0), (0.0, 0.0)), layout=lay),
        "scale (0.9-1.1)": A.RandomScale((0.9, 1.1), layout=lay),
        "translate": A.RandomTranslate(0.1, layout=lay),
        "shear (0.5)": A.RandomShear(0.5, layout=lay),
        "mirror": A.RandomMirror(lay, p=1.0),
        "Gaussian noise (sigma 0.01)": A.RandomGaussianNoise(sigma=0.01, layout=lay),
        "speed (0.75-1.5)": A.RandomSpeed((0.75, 1.5), layout=lay),
        "frame dropout (10 %)": A.RandomFrameDrop(rate=(0.1, 0.1), layout=lay),
        "crop-resize (0.6-1)": A.RandomCropResize(scale=(0.6, 1.0), layout=lay),
    }


def skelaug_runner(aug: A.Augmentation, x: np.ndarray, lengths: np.ndarray | None) -> Runner:
    counter = iter(range(10**9))
    if lengths is None:
        return lambda: aug(x, generator=next(counter))
    return lambda: aug(x, lengths, generator=next(counter))


# ------------------------------------------------------------------------------ peers
def torch_skeleton_runners(samples: list[np.ndarray]) -> dict[str, Runner]:
    """``samples``: ``(M, T, V, C)`` arrays. Its functions draw from NumPy's global generator."""
    from torch_skeleton.transforms import RandomRotate, RandomShift

    rot, shift = RandomRotate(30), RandomShift(-0.1, 0.1)
    return {
        "rotate (3 axes, +-30 deg)": lambda: [rot(s.copy()) for s in samples],
        "translate": lambda: [shift(s) for s in samples],              # returns x + offset: no copy needed
    }


def pybvh_ml_runners(clips: list[Any], rng: np.random.Generator) -> dict[str, Runner]:
    """``clips``: one :class:`pybvh_ml.MotionArrays` per person of each sample."""
    import pybvh_ml as P

    lay = layouts.get(LAYOUT)
    pairs = [(i, int(j)) for i, j in enumerate(lay.mirror) if i < int(j)]
    return {
        "rotate (vertical axis, +-30 deg)": lambda: [
            P.rotate_vertical(c, angle=float(rng.uniform(-30, 30)), up_axis="+y", degrees=True) for c in clips],
        "mirror": lambda: [P.mirror(c, lr_joint_pairs=pairs, lateral_axis="+x") for c in clips],
        "Gaussian noise (sigma 0.01)": lambda: [P.add_joint_position_noise(c, sigma=0.01, rng=rng) for c in clips],
        "speed (0.75-1.5)": lambda: [P.speed_perturbation_arrays(c, factor=float(rng.uniform(0.75, 1.5)))
                                     for c in clips],
        "frame dropout (10 %)": lambda: [P.dropout_arrays(c, drop_rate=0.1, rng=rng) for c in clips],
    }


def kornia_runners(xt: torch.Tensor, gen: torch.Generator) -> dict[str, Runner]:
    """Batched: one ``(4, 4)`` matrix per sample, applied to its ``M * T * V`` joints."""
    from kornia.geometry.linalg import transform_points
    from kornia.geometry.transform import get_affine_matrix3d

    n = xt.shape[0]
    pts = xt.reshape(n, -1, xt.shape[-1])
    zeros, ones = torch.zeros(n, 3), torch.ones(n, 3)

    def uni(lo: float, hi: float, *size: int) -> torch.Tensor:
        return torch.rand(*size, generator=gen) * (hi - lo) + lo

    def apply(mat: torch.Tensor) -> torch.Tensor:
        return transform_points(mat, pts).reshape(xt.shape)

    def shear() -> torch.Tensor:
        s = [uni(-0.5, 0.5, n) for _ in range(6)]
        return apply(get_affine_matrix3d(zeros, zeros, ones, zeros, *s))

    return {
        "rotate (3 axes, +-30 deg)": lambda: apply(get_affine_matrix3d(zeros, zeros, ones, uni(-30, 30, n, 3))),
        "rotate (vertical axis, +-30 deg)": lambda: apply(get_affine_matrix3d(
            zeros, zeros, ones, torch.stack([torch.zeros(n), uni(-30, 30, n), torch.zeros(n)], -1))),
        "scale (0.9-1.1)": lambda: apply(get_affine_matrix3d(zeros, zeros, uni(0.9, 1.1, n, 1).expand(n, 3),
                                                             zeros)),
        "translate": lambda: apply(get_affine_matrix3d(uni(-0.1, 0.1, n, 3), zeros, ones, zeros)),
        "shear (0.5)": shear,
    }


# ------------------------------------------------------------------------------ suite
def measure_rotated(fns: dict[str, Runner], repeats: int, warmup: int) -> dict[str, dict[str, float]]:
    """Median wall and process CPU time (ms) of each function, timed in turn within every repeat with the
    order rotated by one each repeat: what runs just before a call changes how warm the caches are (on
    this machine a one-clip call right after a 2 MB sort takes 4x as long as back to back), so every
    function follows every other equally often."""
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0, c0 = time.perf_counter(), time.process_time()
            fns[name]()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {k: {"median_ms": 1e3 * statistics.median(wall[k]), "cpu_median_ms": 1e3 * statistics.median(cpu[k])}
            for k in names}


def run_setting(setting: str, x: np.ndarray, lengths: np.ndarray | None, status: dict[str, str],
                repeats: int, warmup: int) -> list[dict[str, Any]]:
    """Every operation in one setting: skelaug, ``x.copy()`` and the peers that implement it, interleaved."""
    xb = x if x.ndim == 5 else x[None]
    samples = [np.ascontiguousarray(s) for s in xb]                               # (M, T, V, C) each
    peers: dict[str, dict[str, Runner]] = {}
    if _usable(status, "torch-skeleton"):
        peers["torch-skeleton"] = torch_skeleton_runners(samples)
    if _usable(status, "pybvh-ml"):
        import pybvh_ml as P

        centre = int(layouts.get(LAYOUT).centre[0])
        clips = [P.MotionArrays(root_pos=p[:, centre], joint_pos=p) for s in samples for p in s]
        peers["pybvh-ml"] = pybvh_ml_runners(clips, np.random.default_rng(0))
    if _usable(status, "kornia"):
        peers["kornia"] = kornia_runners(torch.from_numpy(xb), torch.Generator().manual_seed(0))
    rows = []
    for op, aug in skelaug_ops().items():
        runs: dict[str, Runner] = {"(copy)": x.copy, "skelaug": skelaug_runner(aug, x, lengths)}
        for name, table in peers.items():
            if op in table:
                runs[name] = table[op]
        m = measure_rotated(runs, repeats, warmup)
        sk = m["skelaug"]["median_ms"]
        for how, stats in m.items():
            rows.append({"setting": setting, "operation": op, "library": how, "median_ms": stats["median_ms"],
                         "cpu_median_ms": stats["cpu_median_ms"],
                         "x_copy": stats["median_ms"] / m["(copy)"]["median_ms"],
                         "vs_skelaug": stats["median_ms"] / sk,
                         "vs_skelaug_cpu": stats["cpu_median_ms"] / m["skelaug"]["cpu_median_ms"], "note": ""})
        for dist in PEERS:
            if dist not in runs:
                why = status[dist] if not _usable(status, dist) else "does not implement this operation"
                rows.append({"setting": setting, "operation": op, "library": dist, "median_ms": float("nan"),
                             "cpu_median_ms": float("nan"), "x_copy": float("nan"), "vs_skelaug": float("nan"),
                             "vs_skelaug_cpu": float("nan"), "note": why})
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per setting and peer: operations where the peer is faster than skelaug (``vs_skelaug < 1``), by wall
    clock and by process CPU time (the faithful one on a loaded machine)."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        for dist in PEERS:
            mine = [r for r in rows if r["setting"] == setting and r["library"] == dist
                    and r["median_ms"] == r["median_ms"]]

            def faster(key: str, mine: list[dict[str, Any]] = mine) -> str:
                hits = [f"{r['operation']} ({r[key]:.2f}x)" for r in mine if r[key] < 1]
                return "; ".join(hits) or "none"

            out.append({"setting": setting, "peer": dist, "operations_compared": len(mine),
                        "peer_faster_on_wall": faster("vs_skelaug"),
                        "peer_faster_on_cpu_time": faster("vs_skelaug_cpu"),
                        "peer_time_over_skelaug_cpu": (f"{min(r['vs_skelaug_cpu'] for r in mine):.2f}-"
                                                       f"{max(r['vs_skelaug_cpu'] for r in mine):.2f}x")
                        if mine else "--"})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per operation on the batch")
    ap.add_argument("--clip-repeats", type=int, default=301, help="timed calls per operation on one clip")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="tiny batch, 2 repeats (a smoke test, not a benchmark)")
    ap.add_argument("--out", type=Path, default=RESULTS / "augment_peers.json")
    args = ap.parse_args(argv)
    set_threads(1)
    n, t = (4, 16) if args.quick else (256, 64)
    rep, clip_rep, warm = (2, 2, 1) if args.quick else (args.repeats, args.clip_repeats, args.warmup)
    status = peer_status()
    load_before, started = loadavg(), time.time()
    x, lengths = batch(n, t)
    rows = run_setting(f"batch ({n}, 2, {t}, 25, 3)", x, lengths, status, rep, warm)
    rows += run_setting(f"one clip (2, {t}, 25, 3) per call", np.ascontiguousarray(x[0]), None, status, clip_rep,
                        warm)
    result = {
        "benchmark": "augment_peers",
        "unit": "milliseconds per call (median of repeats, interleaved); vs_skelaug = time / skelaug's time "
                "(above 1: skelaug is faster)",
        "batch_shape": f"({n}, 2, {t}, 25, 3) float32, layout {LAYOUT}, full-length clips; and one clip x[0]",
        "threads": 1, "repeats_batch": rep, "repeats_clip": clip_rep, "warmup": warm, "quick": args.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_before": load_before, "load_average_after": loadavg(),
        "wall_s": round(time.time() - started, 1),
        "machine": machine(),
        "versions": {**versions(), **{f"peer {k}": v for k, v in status.items()}},
        "summary": summary(rows),
        "operations": rows,
    }
    write_json(args.out, result)
    print(markdown(result))
    print(f"wrote {args.out}")
    return 0


def markdown(result: dict[str, Any]) -> str:
    """The comparison as Markdown tables (pasted into benchmarks/README.md): one row per operation and
    setting, one column per library, each cell ``wall ms (wall / skelaug's wall; CPU time / skelaug's)``."""
    libs = ["(copy)", "skelaug", *PEERS]
    lines = []
    for setting in dict.fromkeys(r["setting"] for r in result["operations"]):
        lines += [f"{setting}, 1 thread: median wall ms (x skelaug's wall time; x skelaug's CPU time)", "",
                  "| operation | " + " | ".join(libs) + " |", "|---" * (len(libs) + 1) + "|"]
        for op in dict.fromkeys(r["operation"] for r in result["operations"]):
            cells = []
            for lib in libs:
                hit = [r for r in result["operations"]
                       if r["setting"] == setting and r["operation"] == op and r["library"] == lib]
                r = hit[0] if hit else None
                if r is None or r["median_ms"] != r["median_ms"]:
                    cells.append("--" if r is None or "implement" in r["note"] else "n/a")
                elif lib == "skelaug":
                    cells.append(f"{r['median_ms']:.3g} (CPU {r['cpu_median_ms']:.3g})")
                else:
                    cells.append(f"{r['median_ms']:.3g} ({r['vs_skelaug']:.2f}x; {r['vs_skelaug_cpu']:.2f}x)")
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

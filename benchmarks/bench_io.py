"""Reader throughput: frames per second for every pose-file reader, plus the synthetic generator.

Method: each input is read ``repeats`` times after one warm-up read; the median wall time gives
frames/s (``T / time``; a frame holds all persons of that instant) and MB/s of input. Inputs are the
shared fixtures (``$SKELAUG_SHARED/fixtures``), the iMiGUE video-298 OpenPose archive (21,068 JSON
files in a tar.xz; read once, it takes seconds) and files generated here for the formats without a
fixture (SMG CSV, MediaPipe long CSV). Results go to ``benchmarks/results/io_cpu.json`` with the
machine and library versions.

Run: ``python benchmarks/bench_io.py [--repeats 5] [--no-imigue]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import skelaug  # noqa: E402
import skelaug.io as sio  # noqa: E402
from skelaug.data.synthetic import generate  # noqa: E402

SHARED = Path(os.environ.get("SKELAUG_SHARED", ROOT.parent / "shared"))


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size


def _time_read(path: Path, repeats: int) -> dict[str, object]:
    seq = sio.read(path)  # warm-up (page cache, imports)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        seq = sio.read(path)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {
        "format": seq.source.get("format"),
        "layout": seq.layout,
        "frames": seq.num_frames,
        "persons": seq.num_persons,
        "bytes": _size(path),
        "median_s": med,
        "min_s": min(times),
        "frames_per_s": seq.num_frames / med,
        "mb_per_s": _size(path) / med / 1e6,
    }


def _generated_inputs(tmp: Path) -> list[Path]:
    g = generate(40, "ntu25", num_frames=64, seed=0)
    frames = np.concatenate([g.data[i, 0, : g.lengths[i]] for i in range(40)])
    smg = tmp / "Sample0001_skeleton.csv"
    vals = np.zeros((len(frames), 25, 11))
    vals[..., :3] = frames
    np.savetxt(smg, vals.reshape(len(frames), -1), delimiter=",", fmt="%.6f")
    mp = sio.read(SHARED / "fixtures" / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv").data[0]
    long = tmp / "mediapipe_long.csv"
    rows = [
        f"{t},{k},{x:.6f},{y:.6f},{z:.6f},{v:.6f}"
        for t in range(len(mp))
        for k, (x, y, z, v) in enumerate(mp[t])
    ]
    long.write_text("frame,landmark,x,y,z,visibility\n" + "\n".join(rows) + "\n")
    return [smg, long]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-imigue", action="store_true", help="skip the 21,068-file iMiGUE archive")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "io_cpu.json")
    args = ap.parse_args()
    fx = SHARED / "fixtures"
    if not fx.is_dir():
        sys.exit(f"shared fixtures not found at {fx}; set SKELAUG_SHARED")
    inputs = sorted(p for p in fx.glob("*/*") if p.name != "SOURCES.md")
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for p in [*inputs, *_generated_inputs(Path(tmp))]:
            key = str(p.relative_to(fx)) if p.is_relative_to(fx) else f"generated/{p.name}"
            results[key] = _time_read(p, args.repeats)
            r = results[key]
            print(f"{key:58s} {r['format']:20s} {r['frames']:6d} frames {r['frames_per_s']:10.0f} frames/s")
    arc = SHARED / "data" / "imigue" / "skeleton_298_openpose.tar.xz"
    if arc.exists() and not args.no_imigue:
        results["imigue/skeleton_298_openpose.tar.xz"] = _time_read(arc, 1)
        r = results["imigue/skeleton_298_openpose.tar.xz"]
        print(
            f"{'imigue/skeleton_298_openpose.tar.xz':58s} {r['format']:20s} {r['frames']:6d} frames "
            f"{r['frames_per_s']:10.0f} frames/s"
        )
    t0 = time.perf_counter()
    g = generate(2000, "imigue22", num_frames=64, seed=0)
    dt = time.perf_counter() - t0
    gen = {
        "clips": 2000,
        "frames": int(g.lengths.sum()),
        "seconds": dt,
        "clips_per_s": 2000 / dt,
        "frames_per_s": float(g.lengths.sum()) / dt,
    }
    print(
        f"synthetic generator (imigue22): {gen['clips_per_s']:.0f} clips/s, "
        f"{gen['frames_per_s']:.0f} frames/s"
    )
    import torch

    out = {
        "benchmark": "io_readers",
        "repeats": args.repeats,
        "unit": "frames per second (median of repeats)",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "versions": {"skelaug": skelaug.__version__, "numpy": np.__version__, "torch": torch.__version__},
        "readers": results,
        "synthetic_generator": gen,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

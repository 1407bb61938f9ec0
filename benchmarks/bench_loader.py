"""Training-loop throughput: clips/s through a ``DataLoader``, per-sample augmentation vs AugmentedCollate.

Two ways to augment clips that a dataset returns one at a time, on NW-UCLA-sized clips (one person,
20 joints, 3D, 40-60 frames; synthetic arrays of that shape, each cut to its valid length as a
reader returns it):

* ``getitem``  -- the augmentation runs in ``Dataset.__getitem__`` on each ``(1, L, 20, 3)`` clip, and
  :class:`skelaug.data.AugmentedCollate` ``(None)`` only pads the batch (the pyskl / AimCLR pattern);
* ``collate``  -- ``__getitem__`` returns the raw clip and ``AugmentedCollate(aug)`` pads the batch and
  augments it in one call.

Each is run with ``num_workers=0`` and ``2`` (``persistent_workers=True``, so worker start-up is not in
the figures), batch 64, one numba/torch thread per process. The four loaders are timed in turn within
every repeat (round-robin, in one process) after one warm-up epoch each; a figure is the median epoch.
Results go to ``benchmarks/results/loader_cpu.json`` with the machine, versions and load average.

Run: ``python -m benchmarks.bench_loader [--clips 2048] [--repeats 5] [--quick]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one thread per process: workers are the parallelism here

import numba
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import skelaug  # noqa: E402
from benchmarks.bench_augment import loadavg, machine  # noqa: E402
from skelaug import augment as A  # noqa: E402
from skelaug.data import AugmentedCollate  # noqa: E402

V, C = 20, 3
BATCH = 64


def pipeline() -> A.Compose:
    """AimCLR's normal augmentation (shear + crop-resize) plus rotation and noise; layout-free."""
    return A.Compose([
        A.RandomShear(shear=0.5),
        A.RandomCropResize(scale=(5 / 6, 1.0), min_length=1),
        A.RandomRotate(degrees=30.0, p=0.5),
        A.RandomGaussianNoise(sigma=0.01, p=0.5),
    ], dims=3)


class Clips(torch.utils.data.Dataset[Any]):
    """Variable-length clips ``(1, L, 20, 3)`` float32; ``aug`` (if any) runs per clip in ``__getitem__``."""

    def __init__(self, n: int, aug: A.Augmentation | None, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.lengths = rng.integers(40, 61, size=n)
        self.clips = [(rng.normal(size=(1, int(t), V, C)) * 0.3 + [0.0, 0.0, 3.0]).astype(np.float32)
                      for t in self.lengths]
        self.labels = rng.integers(0, 10, size=n)
        self.aug = aug

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[Any, int, int]:
        x, n = self.clips[i], int(self.lengths[i])
        if self.aug is not None:
            x, n = self.aug(x, n)
        return x, n, int(self.labels[i])


def loaders(n: int, workers: list[int]) -> dict[str, torch.utils.data.DataLoader[Any]]:
    out = {}
    for w in workers:
        for how in ("getitem", "collate"):
            aug = pipeline()
            ds = Clips(n, aug if how == "getitem" else None)
            collate = AugmentedCollate(None if how == "getitem" else aug)
            out[f"{how}, {w} workers"] = torch.utils.data.DataLoader(
                ds, batch_size=BATCH, shuffle=True, num_workers=w, collate_fn=collate,
                persistent_workers=w > 0, drop_last=False)
    return out


def epoch(loader: torch.utils.data.DataLoader[Any]) -> int:
    count = 0
    for x, _lengths, _labels in loader:
        count += int(x.shape[0])
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="64 clips, 1 repeat (a smoke test, not a benchmark)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "loader_cpu.json")
    args = ap.parse_args(argv)
    n, repeats = (64, 1) if args.quick else (args.clips, args.repeats)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    load_before = loadavg()
    started = time.time()
    pipeline()(np.zeros((2, 1, 8, V, C), np.float32) + 1.0)  # compile before the workers fork
    runs = loaders(n, [0, 2])
    times: dict[str, list[float]] = {k: [] for k in runs}
    for loader in runs.values():
        epoch(loader)  # warm-up: starts the persistent workers
    for _ in range(repeats):
        for name, loader in runs.items():
            t0 = time.perf_counter()
            seen = epoch(loader)
            times[name].append(time.perf_counter() - t0)
            assert seen == n
    rows = []
    for name, ts in times.items():
        how, workers = name.split(", ")
        med = statistics.median(ts)
        rows.append({"how": how, "workers": int(workers.split()[0]), "median_epoch_s": med, "min_epoch_s": min(ts),
                     "clips_per_s": n / med})
    base = {r["workers"]: r["clips_per_s"] for r in rows if r["how"] == "getitem"}
    for r in rows:
        r["x_getitem_same_workers"] = r["clips_per_s"] / base[r["workers"]]
    result = {
        "benchmark": "loader",
        "unit": "clips per second through a DataLoader (median epoch of repeats)",
        "clips": f"{n} clips (1, L, {V}, {C}) float32, L uniform in 40..60 (NW-UCLA-sized), batch {BATCH}",
        "pipeline": "Compose(RandomShear(0.5), RandomCropResize((5/6, 1)), RandomRotate(30, p=0.5), "
                    "RandomGaussianNoise(0.01, p=0.5)), default (numba) executor",
        "repeats": repeats, "quick": args.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_before": load_before, "load_average_after": loadavg(),
        "wall_s": round(time.time() - started, 1),
        "machine": machine(),
        "versions": {"skelaug": skelaug.__version__, "numpy": np.__version__, "numba": numba.__version__,
                     "torch": torch.__version__},
        "loader": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(markdown(result))
    print(f"wrote {args.out}")
    return 0


def markdown(result: dict[str, Any]) -> str:
    """The loader table of a result as Markdown (pasted into benchmarks/README.md)."""
    lines = ["| augmentation | workers | clips/s | median epoch s | x getitem (same workers) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['how']} | {r['workers']} | {r['clips_per_s']:.0f} | {r['median_epoch_s']:.3g} | "
              f"{r['x_getitem_same_workers']:.2f} |" for r in result["loader"]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

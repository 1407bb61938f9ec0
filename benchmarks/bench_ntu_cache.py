"""NTUDataset item access with and without the parsed cache (``cache_dir``).

Method: a dataset over the NTU RGB+D fixtures (``$SKELAUG_SHARED/fixtures/ntu_skeleton``, 4 files,
70-103 frames) is read item by item. Per repeat, in turn (round-robin, one process, so machine load
hits every row alike): every item of an uncached dataset (parses the ``.skeleton`` text), every item
of a dataset on a fresh, empty cache folder (parse + write the item's ``.npy``: the first epoch) and
every item of a dataset on the filled cache (later epochs, workers and runs). Figures are medians
over repeats of the mean time per item, wall clock and process CPU time, single-threaded (no
transform, so this is the loading cost alone). Results go to ``benchmarks/results/ntu_cache_cpu.json``.

Run: ``python benchmarks/bench_ntu_cache.py [--repeats 15]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import skelaug  # noqa: E402
from skelaug.data import NTUDataset  # noqa: E402

SHARED = Path(os.environ.get("SKELAUG_SHARED", ROOT.parent / "shared"))


def _epoch(ds: NTUDataset) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(len(ds)):
        ds[i]
    n = max(len(ds), 1)
    return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    folder = SHARED / "fixtures" / "ntu_skeleton"
    if not folder.is_dir():
        raise SystemExit(f"NTU fixtures not found at {folder}; set SKELAUG_SHARED")
    work = Path(tempfile.mkdtemp(prefix="skelaug_ntu_cache_"))
    try:
        plain = NTUDataset(folder, split=None)
        warm = NTUDataset(folder, split=None, cache_dir=work / "warm")
        _epoch(plain)
        _epoch(warm)                                               # fills the warm cache
        rows: dict[str, list[tuple[float, float]]] = {"parse (no cache)": [], "cold cache (parse + write)": [],
                                                      "warm cache (load .npy)": []}
        for r in range(args.repeats):
            rows["parse (no cache)"].append(_epoch(plain))
            cold = NTUDataset(folder, split=None, cache_dir=work / f"cold{r}")
            rows["cold cache (parse + write)"].append(_epoch(cold))
            rows["warm cache (load .npy)"].append(_epoch(warm))
        base = statistics.median(w for w, _ in rows["parse (no cache)"])
        base_cpu = statistics.median(c for _, c in rows["parse (no cache)"])
        results = []
        for name, vals in rows.items():
            wall = statistics.median(w for w, _ in vals)
            cpu = statistics.median(c for _, c in vals)
            results.append({"access": name, "ms_per_item": wall * 1e3, "cpu_ms_per_item": cpu * 1e3,
                            "speedup": base / wall, "cpu_speedup": base_cpu / cpu})
        out = {
            "benchmark": "NTUDataset item access, 4 NTU RGB+D fixture files",
            "repeats": args.repeats,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "processor": platform.processor(), "skelaug": skelaug.__version__},
            "ntu_cache": results,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = ROOT / "benchmarks" / "results" / "ntu_cache_cpu.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    for row in results:
        print(f"{row['access']:<28} {row['ms_per_item']:7.2f} ms/item (cpu {row['cpu_ms_per_item']:6.2f})"
              f"  x{row['speedup']:.1f} (cpu x{row['cpu_speedup']:.1f})")


if __name__ == "__main__":
    main()

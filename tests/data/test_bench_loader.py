"""Smoke test of the DataLoader benchmark script (64 clips, one repeat; it measures nothing here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_loader_benchmark_runs_and_writes_its_json(tmp_path):
    out = tmp_path / "loader.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_loader", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["quick"] is True and data["versions"]["torch"] and data["machine"]["cpu_count"]
    assert {(r["how"], r["workers"]) for r in data["loader"]} == {
        ("getitem", 0), ("collate", 0), ("getitem", 2), ("collate", 2)}
    assert all(r["clips_per_s"] > 0 for r in data["loader"])

"""Smoke test of the augmentation benchmark script (tiny sizes; it measures nothing meaningful here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_script_runs_and_writes_its_json(tmp_path):
    out = tmp_path / "augment.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_augment", "--quick", "--no-reference",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(out.read_text())
    for key in ("machine", "versions", "targets", "pipelines", "threads", "primitives", "cuda"):
        assert key in data
    assert data["quick"] is True and data["versions"]["numba"]
    hows = {(r["pipeline"], r["how"]) for r in data["pipelines"]}
    for name in ("micro_gesture", "aimclr_normal", "aimclr_extreme"):
        assert (name, "per-sample NumPy (AimCLR style)") in hows
        assert (name, "skelaug numba, whole call") in hows
    assert all(r["median_ms"] > 0 and np.isfinite(r["x_copy"]) for r in data["pipelines"])
    assert {r["backend"] for r in data["primitives"]} == {"numba", "torch"}
    assert {r["met"] for r in data["targets"]} <= {"yes", "no", "unmeasured"}


def test_per_sample_baselines_do_what_they_claim():
    sys.path.insert(0, str(ROOT))
    from benchmarks import baselines_aimclr as base

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12, 25, 2))                          # (C, T, V, M)
    assert base.temporal_crop(x, rng).shape == x.shape
    y = base.shear(x, rng, r=0.0)                                 # zero shear is the identity
    np.testing.assert_allclose(y, x)
    rot = base.random_rotate(x, rng, p=1.0)                       # rotations keep distances to the origin
    np.testing.assert_allclose(np.linalg.norm(rot, axis=0), np.linalg.norm(x, axis=0))
    assert np.array_equal(base.time_flip(x, rng, p=1.0), x[:, ::-1])
    masked = base.axis_mask(x, rng, p=1.0)
    assert sum(bool((masked[c] == 0).all()) for c in range(3)) == 1
    blurred = base.gaussian_blur(np.ones((3, 40, 25, 2)), rng, sigma=(1.5, 1.5), p=1.0)   # interior kept,
    np.testing.assert_allclose(blurred[:, 7:-7], 1.0)        # ends pulled towards the zero padding
    assert (blurred[:, 0] < 1.0).all()
    for fn in (base.aimclr_normal_pipeline, lambda s, r: base.aimclr_extreme_pipeline(s, r, list(range(25))),
               lambda s, r: base.micro_gesture_pipeline(s, r, 1)):
        out = base.run_batch([x, x], fn, rng)
        assert len(out) == 2 and out[0].shape == x.shape and out[0].dtype == np.float32

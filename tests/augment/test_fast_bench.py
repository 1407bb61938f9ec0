"""Smoke test of the augmentation benchmark script (tiny sizes; it measures nothing meaningful here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

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
    per_op = [r for r in data["steps"] if "applied" in r]
    assert [r["step"].split(" ")[1] for r in per_op] == [
        "resample", "resample", "resample", "affine", "affine", "noise", "mask"]   # the MG preset, in order
    assert "(RandomCropResize)" in per_op[0]["step"] and "(RandomJointMask)" in per_op[-1]["step"]
    assert all(0.0 <= r["applied"] <= 1.0 and r["alone_cpu_ms"] >= 0 for r in per_op)
    assert per_op[0]["applied"] == 1.0                            # the crop runs on every clip (p = 1)
    assert "| MG execution, 1 thread |" in proc.stdout


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


def _bench():
    sys.path.insert(0, str(ROOT))
    from benchmarks import bench_augment

    return bench_augment


def test_peak_bandwidth_from_attributes_else_the_datasheet():
    bench = _bench()
    # H200: 3201 MHz HBM3e clock, 6144-bit bus -> 2 * 3.201e9 * 6144 / 8 bytes/s
    got = bench.peak_bandwidth("NVIDIA H200", 3_201_000, 6144)
    assert got["peak_gb_per_s"] == 2 * 3.201e9 * 6144 / 8 / 1e9
    assert got["datasheet_gb_per_s"] == 4800.0 and got["peak_source"].startswith("device attributes")
    got = bench.peak_bandwidth("NVIDIA H200", None, None)            # attributes unknown: the table
    assert got["peak_gb_per_s"] == 4800.0 and got["peak_source"] == "datasheet table"
    got = bench.peak_bandwidth("Some Future GPU", None, 0)
    assert np.isnan(got["peak_gb_per_s"]) and got["peak_source"] == "unknown"


def test_cuda_targets_take_batches_of_at_least_32_mb():
    bench = _bench()
    rows = [{"how": "numba_cuda, execution only", "batch_mb": 9.4, "fraction_of_peak": 0.9},   # too small
            {"how": "numba_cuda, execution only", "batch_mb": 37.5, "fraction_of_peak": 0.3},
            {"how": "numba_cuda, execution only", "batch_mb": 300.0, "fraction_of_peak": 0.45},
            {"how": "numba_cuda, fused kernel alone", "batch_mb": 300.0, "fraction_of_peak": 0.7}]
    got = {r["target"].split("; ")[1].rstrip(")"): (r["measured"], r["met"]) for r in bench.cuda_targets(rows)}
    assert got == {"numba_cuda, execution only": (0.45, "no"), "numba_cuda, fused kernel alone": (0.7, "yes")}
    assert [r["met"] for r in bench.cuda_targets([])] == ["unmeasured", "unmeasured"]


def test_benchmark_arguments():
    bench = _bench()
    assert bench.parse_args([]).out.name == "augment_cpu.json"
    assert bench.parse_args(["--device", "cuda"]).out.name == "augment_cuda.json"
    assert bench.parse_args(["--device", "cuda", "--out", "x.json"]).out == Path("x.json")
    for bad in (["--device", "tpu"], ["--repeats", "0"], ["--warmup", "-1"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_json_writer_keeps_nan_and_numpy_scalars(tmp_path):
    bench = _bench()
    out = tmp_path / "sub" / "r.json"
    bench.write_json(out, {"a": np.float32(1.5), "b": float("nan"), "rows": [{"n": np.int64(3)}]})
    data = json.loads(out.read_text())
    assert data["a"] == 1.5 and np.isnan(data["b"]) and data["rows"] == [{"n": 3.0}]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_mode_fails_clearly_without_a_gpu(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = tmp_path / "cuda.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_augment", "--device", "cuda", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "cannot run" in proc.stderr and "GPU" in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()
    script = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env={**env, "SKELAUG_GPU_INSTALL": "0", "PYTHON": sys.executable})
    assert script.returncode == 2 and "no CUDA GPU usable" in script.stderr, script.stdout + script.stderr


def test_cuda_mode_smoke_run_on_the_simulator(tmp_path):
    """The --device cuda path end to end on numba's CUDA simulator (tiny batch; numbers meaningless)."""
    out = tmp_path / "cuda.json"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_augment", "--device", "cuda", "--quick",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["benchmark"] == "augment_cuda" and data["machine"]["simulator"] is True
    assert {r["how"] for r in data["cuda"]} == {"numba_cuda, fused kernel alone", "numba_cuda, execution only",
                                                "numba_cuda, whole call"}
    assert all(r["median_ms"] > 0 and r["batch"] == 2 for r in data["cuda"])
    assert {r["met"] for r in data["targets"]} == {"unmeasured"}              # 0.01 MB: below the 32 MB goal
    # the full run refuses the simulator (its figures would be meaningless)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_augment", "--device", "cuda", "--out",
                           str(tmp_path / "no.json")], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "simulator" in proc.stderr


def test_peer_benchmark_runs_and_reports_every_peer(tmp_path):
    """bench_peers --quick: every operation has skelaug and the copy; every peer is either timed or listed
    with the reason (not installed, or the operation is not one it implements)."""
    out = tmp_path / "peers.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_peers", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(out.read_text())
    rows = data["operations"]
    settings = {r["setting"] for r in rows}
    assert len(settings) == 2
    ops = {r["operation"] for r in rows}
    for setting in settings:
        for op in ops:
            libs = {r["library"]: r for r in rows if r["setting"] == setting and r["operation"] == op}
            assert {"(copy)", "skelaug", "torch-skeleton", "pybvh-ml", "kornia"} <= set(libs)
            assert libs["skelaug"]["vs_skelaug"] == 1.0 and libs["skelaug"]["median_ms"] > 0
            for peer in ("torch-skeleton", "pybvh-ml", "kornia"):
                r = libs[peer]
                timed = r["median_ms"] == r["median_ms"]
                assert timed != bool(r["note"]), r                     # a time, or the reason there is none
                assert timed or "not installed" in r["note"] or "implement" in r["note"]
    assert {s["peer"] for s in data["summary"]} == {"torch-skeleton", "pybvh-ml", "kornia"}
    assert "| operation |" in proc.stdout


def test_staged_call_is_the_call_it_times():
    """bench_percall.staged_call runs the steps of Augmentation.__call__: same parameters, same output."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import bench_percall
    from skelaug.augment import presets
    from skelaug.testing import skeleton_batch_numpy

    aug = presets.micro_gesture("ntu25")
    x, lengths = skeleton_batch_numpy(np.random.default_rng(3), "ntu25", n=5, m=2, t=24)
    for xx, ll in ((x, lengths), (x[0], None)):
        for seed in range(6):
            got, prog, parts = bench_percall.staged_call(aug, xx, ll, seed)
            want = aug(xx, ll, generator=seed) if ll is not None else aug(xx, generator=seed)
            want = want[0] if ll is not None else want
            assert got.shape == want.shape and np.array_equal(got, want)
            assert [op.kind for op in prog.ops] == [op.kind for op in aug.last_params.ops]
            for a, b in zip(prog.ops, aug.last_params.ops, strict=True):
                assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
            assert set(parts) == set(bench_percall.PARTS) and all(v >= 0 for v in parts.values())


def test_per_call_benchmark_writes_its_json(tmp_path):
    out = tmp_path / "percall.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_percall", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(out.read_text())
    parts = {(r["setting"].split(" (")[0], r["part"]) for r in data["parts"]}
    names = ("validate", "scan", "generator", "sample", "plan", "kernel", "whole call", "compiled call",
             "ordinary call (alternating)")
    for setting in ("one clip", "batch"):
        assert {(setting, p) for p in names} <= parts
    assert [t["met"] for t in data["targets"]] in (["no", "yes"], ["no", "no"], ["yes", "yes"], ["yes", "no"])
    assert len(data["compiled_vs_ordinary"]) == 2
    assert all(c["compiled_ms"] > 0 and c["speedup"] > 0 for c in data["compiled_vs_ordinary"])

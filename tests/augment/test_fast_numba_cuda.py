"""numba CUDA executor (skelaug.augment.numba_cuda) against the NumPy reference.

Without a GPU the kernels run on numba's CUDA simulator, which must be switched on before numba is
imported: that test runs in a subprocess with ``NUMBA_ENABLE_CUDASIM=1`` on tiny batches and small
launch sizes (so grid- and block-stride loops and both scratch placements are exercised). With a GPU,
the same checks run on the device, and torch CUDA tensors are also checked in-process (zero-copy
path); ``benchmarks/gpu_check.sh`` runs these GPU tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from skelaug import augment as A
from skelaug.augment import numba_cuda, presets
from skelaug.testing import skeleton_batch_numpy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

SIMULATOR_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from test_fast_fusion import random_batch, random_op, random_program, run_reference
    from skelaug.augment import config, numba_cuda, presets, reference
    from skelaug.augment._rng import gaussian_field_numpy
    from skelaug.augment.ops import KINDS
    from skelaug.testing import skeleton_batch_numpy

    assert numba_cuda.available(), "the simulator should make the backend available"
    config.CUDA_THREADS_PER_BLOCK = 8          # fewer threads than positions: block-stride loops
    config.CUDA_MAX_BLOCKS = 3                 # fewer blocks than slabs: grid-stride loops

    def check(got, want, tol, what):
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        err = float(np.abs(got.astype(np.float64) - want).max(initial=0.0))
        assert got.dtype == want.dtype and got.shape == want.shape, what
        assert err <= tol * scale, f"{what}: max error {err:.3g}"

    variants = [("resample", "linear"), ("resample", "nearest"), ("noise", 0), ("noise", 1), ("noise", 3),
                ("blur", 3), ("blur", 5), ("affine", None), ("local_affine", None), ("bone_scale", None),
                ("mask", None), ("mix", None)]
    for case, (kind, variant) in enumerate(variants):
        for dtype, extra, tol in ((np.float64, 0, 1e-12), (np.float32, 1, 1e-6)):
            rng = np.random.default_rng(100 + case)
            x, lengths = random_batch(rng, 3, 2, 5, 4, 3 + extra, 3, dtype)
            op = random_op(rng, kind, 3, 5, 4, 3, variant=variant)
            check(numba_cuda.run_op(x, lengths, 3, op), reference.run_op(x, lengths, 3, op), tol, f"{kind} {variant}")

    for shared_bytes in (48 * 1024, 0):         # scratch in shared memory, then in global memory
        config.CUDA_MAX_SHARED_BYTES = shared_bytes
        for seed in range(3):
            rng = np.random.default_rng(seed)
            x, lengths = random_batch(rng, 3, 1, 6, 4, 2, 2, np.float64)
            ops = random_program(rng, 3, 6, 4, 2, 6, KINDS)
            want, _ = run_reference(x, lengths, 2, ops)
            check(numba_cuda.run_program(x, lengths, 2, ops), want, 1e-10, f"program {seed} shared={shared_bytes}")

    aug = presets.micro_gesture("ntu25")
    x, lengths = skeleton_batch_numpy(np.random.default_rng(5), "ntu25", n=3, m=1, t=8)
    want, want_len = aug(x, lengths, generator=2, backend="numpy")
    got, got_len = aug(x, lengths, params=aug.last_params, backend="numba_cuda")
    assert np.array_equal(got_len, want_len)
    check(got, want, 1e-5, "micro_gesture preset")

    seeds = np.array([0, 9, 2**32 - 1])
    check(numba_cuda.gaussian_field(seeds, 40), gaussian_field_numpy(seeds, 40), 1e-12, "gaussian field")
    print("SIMULATOR OK")
""")


def test_kernels_match_reference_on_the_cuda_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-c", SIMULATOR_SCRIPT, str(HERE)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "SIMULATOR OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-6000:]


@pytest.mark.skipif(not (torch.cuda.is_available() and numba_cuda.available()) or bool(os.environ.get(
    "NUMBA_ENABLE_CUDASIM")), reason="needs a real CUDA GPU")
def test_kernels_match_reference_on_a_real_gpu():
    """The simulator checks above (every primitive, both scratch placements, grid- and block-stride loops,
    the preset, the Gaussian field), run on the device itself (benchmarks/gpu_check.sh runs this)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    proc = subprocess.run([sys.executable, "-c", SIMULATOR_SCRIPT, str(HERE)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "SIMULATOR OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-6000:]


@pytest.mark.skipif(numba_cuda.available(), reason="a GPU (or the simulator) is available here")
def test_asking_for_cuda_without_a_gpu_names_what_to_install():
    assert "numba_cuda" not in A.available_backends()
    x = np.zeros((1, 1, 4, 25, 3), np.float32)
    with pytest.raises(RuntimeError, match="numba-cuda"):
        A.RandomRotate()(x, backend="numba_cuda")
    y = A.RandomRotate()(x, generator=0)                 # the rest of the API is unchanged
    assert y.shape == x.shape


@pytest.mark.skipif(not (torch.cuda.is_available() and numba_cuda.available()), reason="needs a CUDA GPU")
def test_cuda_tensors_zero_copy_match_reference():
    from skelaug.augment import backends

    aug = presets.micro_gesture("ntu25")
    x, lengths = skeleton_batch_numpy(np.random.default_rng(0), "ntu25", n=64, m=2, t=40)
    want, _ = aug(x, lengths, generator=1, backend="numpy")
    xt = torch.from_numpy(x).cuda()
    assert backends.resolve_backend(xt, None).name == "numba_cuda"
    got, _ = aug(xt, torch.from_numpy(lengths), params=aug.last_params)
    assert got.is_cuda and got.dtype == torch.float32
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
    assert backends.resolve_backend(xt.requires_grad_(), None).name == "torch"

"""Half-precision input (torch float16 / bfloat16, NumPy float16): computed in float32, returned in its dtype.

The oracle is the same call on the input converted to float32, rounded once to the input's dtype:
every backend must give exactly that (sampling included), whatever the rank or container.
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
from skelaug.augment import presets
from skelaug.augment.ops import Op, Program
from skelaug.testing import skeleton_batch_numpy

ROOT = Path(__file__).resolve().parents[2]


def _low_inputs(x32: np.ndarray) -> list[tuple[str, object, object]]:
    """(name, half-precision input, its float32 twin) for every supported half dtype."""
    t = torch.from_numpy(x32)
    out = []
    for name, low in (("torch.bfloat16", t.bfloat16()), ("torch.float16", t.half())):
        out.append((name, low, low.float()))
    x16 = x32.astype(np.float16)
    out.append(("numpy.float16", x16, x16.astype(np.float32)))
    return out


def _rounded(y32: object, like: object) -> np.ndarray:
    if isinstance(y32, torch.Tensor):
        return y32.to(like.dtype).float().numpy()          # type: ignore[attr-defined]
    return np.asarray(y32).astype(like.dtype).astype(np.float32)  # type: ignore[attr-defined]


def _as32(y: object) -> np.ndarray:
    return y.float().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float32)


@pytest.mark.parametrize("backend", ["numpy", "numba", "torch", None])
def test_half_precision_preset_computes_in_float32_on_every_backend(backend):
    x, lengths = skeleton_batch_numpy(np.random.default_rng(3), "ntu25", n=5, m=2, t=24)
    aug = presets.micro_gesture("ntu25")
    for name, low, twin in _low_inputs(x):
        y, out_len = aug(low, lengths, generator=7, backend=backend)
        assert type(y) is type(low) and y.dtype == low.dtype and y.shape == low.shape, name
        want, want_len = aug(twin, lengths, generator=7, backend=backend)   # same sampling, float32 compute
        np.testing.assert_array_equal(out_len, want_len)
        np.testing.assert_array_equal(_as32(y), _rounded(want, low), err_msg=f"{name} on {backend}")
        replay = aug(low, lengths, params=aug.last_params, backend=backend)[0]
        np.testing.assert_array_equal(_as32(replay), _as32(y))


def test_half_precision_single_sample_and_gradients():
    x, _ = skeleton_batch_numpy(np.random.default_rng(4), "ntu25", n=1, m=1, t=12)
    clip = torch.from_numpy(x[0, 0]).bfloat16()                       # (T, V, C)
    y = presets.micro_gesture("ntu25")(clip, generator=0)
    assert y.shape == clip.shape and y.dtype == torch.bfloat16
    leaf = torch.from_numpy(x).half().requires_grad_(True)
    out = A.RandomRotate(degrees=20, layout="ntu25")(leaf, generator=1)
    assert out.dtype == torch.float16
    out.float().sum().backward()
    assert leaf.grad is not None and leaf.grad.dtype == torch.float16 and bool(torch.isfinite(leaf.grad).all())


@pytest.mark.parametrize("backend", ["numpy", "numba", "torch"])
def test_a_joint_moved_onto_zero_stays_present_after_rounding(backend):
    """Executors nudge a present joint that lands on the origin to float32's smallest normal value,
    which float16 rounds to zero (= missing): the result must keep it present."""
    x = np.zeros((1, 1, 2, 25, 3), np.float32)
    x[0, 0, :, :, :] = np.arange(1, 26, dtype=np.float32)[:, None] * np.array([1.0, 2.0, 0.5], np.float32)
    x[0, 0, :, 3] = 0.0                                                   # a missing joint
    shift = -x[0, 0, 0, 5].astype(np.float64)                             # joint 5 lands exactly on 0
    op = Op("affine", {"matrix": np.eye(3)[None], "offset": shift[None], "perm": np.arange(25)[None]})
    prog = Program((op,), 1, np.array([2]), np.array([2]), 2)
    aug = A.RandomTranslate(layout="ntu25")
    for name, low, _ in _low_inputs(x):
        y = _as32(aug(low, params=prog, backend=backend))
        present_in = np.any(_as32(low)[..., :3] != 0, axis=-1)
        present_out = np.any(y[..., :3] != 0, axis=-1)
        np.testing.assert_array_equal(present_out, present_in, err_msg=name)
        assert 0 < y[0, 0, 0, 5, 0] <= float(torch.finfo(low.dtype).tiny if isinstance(low, torch.Tensor)
                                              else np.finfo(np.float16).tiny)


SIM = textwrap.dedent("""
    import numpy as np
    from skelaug.augment import numba_cuda, presets
    from skelaug.testing import skeleton_batch_numpy
    assert numba_cuda.available()
    x, lengths = skeleton_batch_numpy(np.random.default_rng(1), "ntu25", n=2, m=1, t=6)
    x16 = x.astype(np.float16)
    aug = presets.micro_gesture("ntu25")
    y, _ = aug(x16, lengths, generator=3, backend="numba_cuda")
    want, _ = aug(x16.astype(np.float32), lengths, generator=3, backend="numba_cuda")
    assert y.dtype == np.float16, y.dtype
    assert np.array_equal(y, want.astype(np.float16))
    print("HALF OK")
""")


def test_half_precision_on_the_cuda_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-c", SIM], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0 and "HALF OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]

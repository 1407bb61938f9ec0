"""Relative amplitudes are fractions of one body, measured per person and frame, on real multi-person clips.

Oracle: the body size computed here with plain loops (each person's extent in each frame, median over
the person-frames with a positive extent), independent of skelaug's reductions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _factory import NAMES, make

from skelaug import augment as A
from skelaug import io as sio
from skelaug.augment import backends
from skelaug.augment.base import _reduce_present

CLIPS = {
    "running (OpenPose MPI-15)": ("openpose_json", "kth_mpi15_jogging"),
    "5 people (COCO keypoints)": ("coco_keypoints_json", "mmpose_test_coco.json"),
    "up to 3 people (Kinetics OpenPose-18)": ("kinetics_skeleton_json", "--33Lscn6sk.json"),
    "2 people (NTU RGB+D)": ("ntu_skeleton", "S001C003P008R002A058.skeleton"),
}


def body_size_loops(clip: np.ndarray, dims: int) -> float:
    """Median over person-frames of max_d (max - min) of the present joints' coordinates."""
    extents = []
    for m in range(clip.shape[0]):
        for t in range(clip.shape[1]):
            joints = [clip[m, t, v, :dims].astype(np.float64) for v in range(clip.shape[2])
                      if np.any(clip[m, t, v, :dims] != 0)]
            if not joints:
                continue
            pts = np.stack(joints)
            e = max(pts[:, d].max() - pts[:, d].min() for d in range(dims))
            if e > 0:
                extents.append(e)
    return float(np.median(extents))


@pytest.fixture(scope="module", params=list(CLIPS))
def real_clip(request, shared_dir):
    folder, name = CLIPS[request.param]
    path = shared_dir / "fixtures" / folder / name
    if not path.exists():
        pytest.skip(f"fixture {path} not found")
    seq = sio.read(path)
    return request.param, seq.data[None].astype(np.float32), seq.dims, seq.layout


def test_noise_sigma_is_a_fraction_of_one_body(real_clip):
    name, x, dims, layout = real_clip
    body = body_size_loops(x[0], dims)
    aug = A.RandomGaussianNoise(sigma=0.01, layout=layout)
    y = aug(x, generator=0)
    (op,) = aug.last_params.ops
    np.testing.assert_allclose(op.params["sigma"], [0.01 * body], rtol=1e-12, err_msg=name)
    present = np.any(x[..., :dims] != 0, axis=-1)
    noise = (y - x)[..., :dims][present].astype(np.float64)
    assert noise.size > 100
    ratio = noise.std() / body
    assert 0.009 < ratio < 0.011, f"{name}: noise std is {100 * ratio:.2f} % of a body, not 1 %"


def test_translation_is_in_body_units(real_clip):
    """The sampled translation is in body units, not in units of the clip's coordinate range."""
    name, x, dims, layout = real_clip
    body = body_size_loops(x[0], dims)
    aug = A.RandomTranslate(translate=(0.05, 0.05), layout=layout)
    aug(x, generator=1)
    (op,) = aug.last_params.ops
    np.testing.assert_allclose(op.params["offset"][0], 0.05 * body, rtol=1e-9, err_msg=name)


def test_running_clip_ratio_against_the_clip_extent(shared_dir):
    path = shared_dir / "fixtures" / "openpose_json" / "kth_mpi15_jogging"
    if not path.exists():
        pytest.skip(f"fixture {path} not found")
    x = sio.read(path).data[None]
    coords = x[..., :2][np.any(x[..., :2] != 0, axis=-1)]
    clip_extent = float((coords.max(axis=0) - coords.min(axis=0)).max())
    body = body_size_loops(x[0], 2)
    assert clip_extent > 2 * body                       # the runner crosses the image
    aug = A.RandomPerturb(sigma=(0.01, 0.01), layout="mpi15")
    aug(x, generator=0)
    np.testing.assert_allclose(aug.last_params.ops[0].params["sigma"], [0.01 * body], rtol=1e-12)


def test_every_input_path_measures_the_same_size(monkeypatch):
    """numba scan (NumPy and CPU tensors), numba reducer, the NumPy path and the torch path agree bit for
    bit (same extremes, float64 differences, same median), so every backend samples the same program."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 9, 25, 3)).astype(np.float32) * [[[[[1.0, 2.0, 0.5]]]]]
    x[rng.random(x.shape[:4]) < 0.3] = 0.0
    x[1, 1:] = 0.0                                      # one person only
    x[2, :, :, 1:] = 0.0                                # one joint per frame: no body size (falls back to 1)
    x[3, :, 5:] = 0.0
    lengths = np.array([9, 7, 9, 5])
    want = np.array([body_size_loops(x[n, :, :lengths[n]], 3) if n != 2 else 0.0 for n in range(4)])
    found = np.array([True, True, False, True])
    fast, scan = backends.numpy_reducer, backends.numpy_scanner
    results = [fast(x, lengths, 3, None, "size"), scan(x, lengths, 3, None)]
    monkeypatch.setattr(backends, "numpy_reducer", None)
    results.append(_reduce_present(x, lengths, 3, None, "size"))
    results.append(_reduce_present(torch.from_numpy(x), lengths, 3, None, "size"))
    results.append(_reduce_present(torch.from_numpy(x).double(), lengths, 3, None, "size"))
    for r in results:
        size, ok = (r.size, r.size_found) if hasattr(r, "size_found") else r
        np.testing.assert_array_equal(ok, found)
        np.testing.assert_array_equal(size, results[0][0])
    np.testing.assert_allclose(results[0][0], want, rtol=1e-12)
    monkeypatch.setattr(backends, "numpy_reducer", fast)
    sigmas = []
    for inp, backend in ((x, "numba"), (x, "numpy"), (torch.from_numpy(x), "torch"),
                         (torch.from_numpy(x).requires_grad_(), None)):
        aug = A.RandomGaussianNoise(sigma=0.01)
        aug(inp, lengths, generator=3, backend=backend)
        sigmas.append(aug.last_params.ops[0].params["sigma"])
    for s in sigmas:
        np.testing.assert_array_equal(s, np.where(found, 0.01 * results[0][0], 0.01))


def _clip_batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 2, 12, 25, 3)).astype(np.float32)
    x[rng.random(x.shape[:4]) < 0.2] = 0.0
    return x, np.array([12, 7, 12, 3, 10])


def test_augmentations_that_read_the_body_size_say_so(monkeypatch):
    """``uses_body_size`` (the call then measures the size in the scan) is true exactly for the
    augmentations whose sampling asks for ``Context.extent`` (oracle: a counting wrapper around it),
    and a container's is the union of its children's."""
    from skelaug.augment.base import Context

    calls: list[int] = []
    original = Context.extent

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(Context, "extent", counting)
    x, lengths = _clip_batch()
    for name in NAMES:
        aug = make(name, "ntu25")
        calls.clear()
        for seed in range(4):                      # containers choose children at random
            aug(x, lengths, generator=seed)
        assert bool(calls) == aug.uses_body_size, name
    assert A.Compose([A.RandomRotate(), A.RandomGaussianNoise()]).uses_body_size
    assert not A.Compose([A.RandomRotate(), A.OneOf([A.RandomShear(), A.RandomJointMask()])]).uses_body_size
    assert A.presets.micro_gesture("ntu25").uses_body_size
    assert not A.presets.aimclr_normal("ntu25").uses_body_size


class _UndeclaredNoise(A.RandomGaussianNoise):
    uses_body_size = False                         # reads ctx.extent() without saying so


def test_an_undeclared_body_size_reader_gets_the_same_size_on_demand():
    """Skipping the size in the scan only moves where it is measured: an augmentation that reads it
    without declaring ``uses_body_size`` samples and returns exactly what the declared one does."""
    x, lengths = _clip_batch(1)
    for inp in (x, torch.from_numpy(x)):
        declared, undeclared = A.RandomGaussianNoise(sigma=0.05), _UndeclaredNoise(sigma=0.05)
        want, _ = declared(inp, lengths, generator=7)
        got, _ = undeclared(inp, lengths, generator=7)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
        np.testing.assert_array_equal(undeclared.last_params.ops[0].params["sigma"],
                                      declared.last_params.ops[0].params["sigma"])


def test_scan_without_the_size_keeps_the_rest():
    """``scan_batch(size=False)``: no size, the same finiteness and centre bits."""
    x, lengths = _clip_batch(2)
    scan = backends.numpy_scanner
    full, light = scan(x, lengths, 3, [0, 1, 20]), scan(x, lengths, 3, [0, 1, 20], size=False)
    assert light.size is None and light.size_found is None and full.size is not None
    assert light.finite and full.finite
    np.testing.assert_array_equal(light.centre, full.centre)
    np.testing.assert_array_equal(light.centre_found, full.centre_found)
    x[3, 1, 2, 4, 0] = np.nan
    assert not scan(x, lengths, 3, None, size=False).finite

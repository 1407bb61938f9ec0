"""numba CPU executor (skelaug.augment.numba_cpu) against the NumPy reference, the oracle.

Every primitive with arbitrary parameters, arbitrary programs (folded and fused), every registered
augmentation and the presets; shapes, valid lengths, channel counts, dtypes and non-contiguous inputs
come from hypothesis. Also: the counter-based noise field, the batch statistics, backend selection.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_fusion import random_batch, random_op, random_program, run_reference

from skelaug import augment as A
from skelaug.augment import backends, config, numba_cpu, presets, reference
from skelaug.augment._rng import gaussian_field_numpy, hash32_numpy
from skelaug.augment.base import AUGMENTATIONS, _reduce_present
from skelaug.augment.ops import KINDS
from skelaug.testing import example_augmentation, skeleton_batch_numpy

EXACT = {"resample", "mask", "blur", "mix"}       # same float64 operations in the same order as the reference


def close(got: np.ndarray, want: np.ndarray, dtype: Any, exact: bool = False) -> None:
    assert got.dtype == want.dtype
    if exact:
        np.testing.assert_array_equal(got, want)
        return
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    tol = 1e-6 if np.dtype(dtype) == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def strided(x: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other element of a wider buffer)."""
    big = np.zeros((*x.shape[:-1], 2 * x.shape[-1]), dtype=x.dtype)
    big[..., ::2] = x
    view = big[..., ::2]
    assert view.size == 0 or not view.flags.c_contiguous
    return view


batches = st.tuples(st.integers(0, 4), st.integers(1, 2), st.integers(1, 9), st.integers(2, 7),
                    st.sampled_from([1, 2, 3, 4]), st.integers(0, 1), st.sampled_from([np.float32, np.float64]),
                    st.booleans())


# ------------------------------------------------------------------------------ primitives
VARIANTS = [("resample", "linear"), ("resample", "nearest"), *[("noise", s) for s in (0, 1, 2, 3, 5)],
            *[("blur", k) for k in (1, 3, 5)], *[(k, None) for k in KINDS if k not in ("resample", "noise", "blur")]]


@pytest.mark.parametrize(("kind", "variant"), VARIANTS)
@given(batch=batches, seed=st.integers(0, 2**32 - 1))
def test_every_primitive_matches_reference(kind, variant, batch, seed):
    n, m, t, v, dims, extra, dtype, contiguous = batch
    rng = np.random.default_rng(seed)
    x, lengths = random_batch(rng, n, m, t, v, dims + extra, dims, dtype)
    op = random_op(rng, kind, n, t, v, dims, variant=variant)
    xin = x if contiguous else strided(x)
    before = xin.copy()
    got = numba_cpu.run_op(xin, lengths, dims, op)
    np.testing.assert_array_equal(xin, before)                     # never writes to its input
    close(got, reference.run_op(x, lengths, dims, op), dtype, exact=kind in EXACT)


@settings(max_examples=40)
@given(batch=batches, seed=st.integers(0, 2**32 - 1), length=st.integers(1, 8))
def test_programs_run_folded_and_fused_like_sequential_reference(batch, seed, length):
    n, m, t, v, dims, extra, dtype, contiguous = batch
    rng = np.random.default_rng(seed)
    x, lengths = random_batch(rng, n, m, t, v, dims + extra, dims, dtype)
    ops = random_program(rng, n, t, v, dims, length)
    want, _ = run_reference(x, lengths, dims, ops)
    got = numba_cpu.run_program(x if contiguous else strided(x), lengths, dims, ops)
    # float32: the reference rounds after every op, the fused executor after every step (folded affines
    # round once), so allow a few ulps per op
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    tol = 1e-5 * length if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


@settings(max_examples=40)
@given(batch=batches, seed=st.integers(0, 2**32 - 1), length=st.integers(1, 8))
def test_absent_persons_come_out_as_the_reference_makes_them(batch, seed, length):
    """Slabs whose bits are all zero (absent persons) skip the steps: the result must still be the
    reference's, bit for bit there (+0.0 everywhere), and the other slabs are unaffected."""
    n, m, t, v, dims, extra, dtype, contiguous = batch
    rng = np.random.default_rng(seed)
    x, lengths = random_batch(rng, n, m, t, v, dims + extra, dims, dtype)
    absent = rng.random((n, m)) < 0.5
    x[absent] = 0.0
    ops = [op for op in random_program(rng, n, t, v, dims, length) if op.kind != "mix"]
    want, _ = run_reference(x, lengths, dims, ops)
    got = numba_cpu.run_program(x if contiguous else strided(x), lengths, dims, ops)
    ints = np.int32 if dtype == np.float32 else np.int64
    np.testing.assert_array_equal(got[absent].view(ints), 0)
    np.testing.assert_array_equal(want[absent].view(ints), 0)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    tol = 1e-5 * length if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


@given(size=st.integers(0, 1100), where=st.none() | st.integers(0, 1099),
       bits=st.sampled_from([1, -1, np.iinfo(np.int32).min, 0x3F800000]), wide=st.booleans())
def test_all_zero_sees_every_bit_of_every_block(size, where, bits, wide):
    """The absent-slab test against ``not xs.any()``: a single set bit anywhere (the sign bit of -0.0
    too) in full blocks or in the tail makes a slab present."""
    xs = np.zeros(size, dtype=np.int64 if wide else np.int32)
    if where is not None and where < size:
        xs[where] = bits
    assert numba_cpu._all_zero(xs) == (not xs.any())


def test_identity_and_degenerate_batches():
    rng = np.random.default_rng(0)
    x, lengths = random_batch(rng, 3, 2, 6, 5, 3, 3)
    y = numba_cpu.run_program(x, lengths, 3, [])
    assert y is not x and np.array_equal(y, x)                      # empty program: a copy
    empty = np.zeros((0, 1, 6, 5, 3), np.float32)
    op = random_op(rng, "affine", 0, 6, 5, 3)
    assert numba_cpu.run_op(empty, np.zeros(0, np.int64), 3, op).shape == empty.shape
    half = x.astype(np.float16)                                     # other float dtypes run in float64
    op = random_op(rng, "resample", 3, 6, 5, 3)
    y16 = numba_cpu.run_op(half, lengths, 3, op)
    assert y16.dtype == np.float16
    np.testing.assert_array_equal(y16, reference.run_op(half, lengths, 3, op))


def test_results_do_not_depend_on_threads_or_chunking(monkeypatch):
    rng = np.random.default_rng(1)
    x, lengths = random_batch(rng, 7, 2, 9, 6, 3, 3, np.float32)
    ops = random_program(rng, 7, 9, 6, 3, 6, tuple(k for k in KINDS if k != "mix"))
    first = numba_cpu.run_program(x, lengths, 3, ops)
    stats = [numba_cpu.reduce_present(x, lengths, 3, None, w)[0] for w in ("mean", "size")]
    monkeypatch.setattr(config, "CPU_PARALLEL_MIN_WORK", 0)              # split even this small batch
    before = numba.get_num_threads()
    try:
        for threads, per in [(1, 1), (2, 1), (2, 5)]:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            monkeypatch.setattr(config, "CPU_CHUNKS_PER_THREAD", per)
            np.testing.assert_array_equal(numba_cpu.run_program(x, lengths, 3, ops), first)
            for w, want in zip(("mean", "size"), stats, strict=True):
                np.testing.assert_array_equal(numba_cpu.reduce_present(x, lengths, 3, None, w)[0], want)
    finally:
        numba.set_num_threads(before)


def test_parallel_execution_survives_fork(monkeypatch):
    """DataLoader workers are forked after the parent has used the thread pool."""
    import multiprocessing as mp

    if numba.config.NUMBA_NUM_THREADS < 2 or "fork" not in mp.get_all_start_methods():
        pytest.skip("needs 2 threads and the fork start method")
    rng = np.random.default_rng(2)
    x, lengths = random_batch(rng, 6, 2, 8, 5, 3, 3, np.float32)
    ops = random_program(rng, 6, 8, 5, 3, 4, tuple(k for k in KINDS if k != "mix"))
    monkeypatch.setattr(config, "CPU_PARALLEL_MIN_WORK", 0)
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        want = numba_cpu.run_program(x, lengths, 3, ops)              # the parent's pool now exists
        with mp.get_context("fork").Pool(1) as pool:                  # (without the fork hook: deadlock)
            got = pool.apply_async(numba_cpu.run_program, (x, lengths, 3, ops)).get(timeout=120)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------ augmentations and presets
NAMES = sorted(n for n in AUGMENTATIONS if n != "MultiView")


@pytest.mark.parametrize("layout", ["ntu25", "openpose25"])
@pytest.mark.parametrize("name", NAMES)
def test_registered_augmentations_match_reference(name, layout):
    for dtype in (np.float32, np.float64):
        x, lengths = skeleton_batch_numpy(np.random.default_rng(len(name)), layout, n=5, m=2, t=14, dtype=dtype)
        aug = example_augmentation(name, layout)
        want, want_len = aug(x, lengths, generator=3, backend="numpy")
        got, got_len = aug(x, lengths, params=aug.last_params, backend="numba")
        np.testing.assert_array_equal(got_len, want_len)
        close(got, want, dtype)


@pytest.mark.parametrize("preset", ["micro_gesture", "aimclr_normal", "aimclr_extreme", "isc"])
def test_presets_match_reference(preset):
    aug = getattr(presets, preset)("ntu25")
    for dtype in (np.float32, np.float64):
        x, lengths = skeleton_batch_numpy(np.random.default_rng(7), "ntu25", n=24, m=2, t=40, dtype=dtype)
        want, _ = aug(x, lengths, generator=5, backend="numpy")
        got, _ = aug(x, lengths, params=aug.last_params, backend="numba")
        scale = max(1.0, float(np.abs(want).max()))
        tol = 1e-5 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


# ------------------------------------------------------------------------------ noise field
def test_hash_is_bit_identical_and_field_matches_numpy():
    h = np.random.default_rng(2).integers(0, 2**40, size=500)
    hashed = np.array([numba_cpu._hash32.py_func(int(i)) for i in h])
    np.testing.assert_array_equal(hashed, hash32_numpy(h))
    seeds = np.array([0, 1, 7, 2**31, 2**32 - 1])
    field = numba_cpu.gaussian_field(seeds, 3000)
    np.testing.assert_allclose(field, gaussian_field_numpy(seeds, 3000), rtol=0, atol=1e-13)


@numba.njit
def _logs_and_cosines(k: Any, j: Any) -> Any:
    return ([numba_cpu._log_u(k[i]) for i in range(k.shape[0])],
            [numba_cpu._cos_u(j[i]) for i in range(j.shape[0])])


def test_polynomial_log_and_cos_cover_their_whole_domain():
    k = np.unique(np.concatenate([np.arange(1, 5000), np.geomspace(1, 2**24, 5000).astype(np.int64),
                                  2 ** np.arange(25), 2 ** np.arange(1, 25) - 1, np.arange(2**24 - 5000, 2**24 + 1)]))
    j = np.unique(np.concatenate([np.arange(0, 2**24, 997), (np.arange(9) << 21), (np.arange(1, 9) << 21) - 1,
                                  np.arange(2**24 - 3000, 2**24)]))
    j = j[j < 2**24]
    log, cos = _logs_and_cosines(k, j)
    np.testing.assert_allclose(log, np.log(k / 16777216.0), rtol=4e-16, atol=1e-15)   # ~2 ulp
    np.testing.assert_allclose(cos, np.cos(2.0 * np.pi * (j / 16777216.0)), rtol=0, atol=2e-15)


# ------------------------------------------------------------------------------ batch statistics
@given(batch=batches, seed=st.integers(0, 2**32 - 1), what=st.sampled_from(["mean", "size"]),
       subset=st.booleans())
def test_batch_statistics_match_numpy(batch, seed, what, subset):
    n, m, t, v, dims, extra, dtype, _ = batch
    if what == "size":                                  # a body size is measured on 1 to 3 coordinates
        dims = min(dims, 3)
    rng = np.random.default_rng(seed)
    x, lengths = random_batch(rng, n, m, t, v, dims + extra, dims, dtype, missing=0.4)
    joints = sorted(rng.choice(v, size=2, replace=False).tolist()) if subset else None
    fast = backends.numpy_reducer
    assert fast is numba_cpu.reduce_present
    got_val, got_found = fast(x, lengths, dims, joints, what)
    backends.numpy_reducer = None
    try:
        want_val, want_found = _reduce_present(x, lengths, dims, joints, what)
    finally:
        backends.numpy_reducer = fast
    np.testing.assert_array_equal(got_found, want_found)
    np.testing.assert_allclose(got_val, want_val, rtol=1e-12, atol=1e-12)


@given(batch=batches, seed=st.integers(0, 2**32 - 1), subset=st.sampled_from([None, 0, 1, 2]))
def test_one_pass_scan_matches_the_separate_statistics(batch, seed, subset):
    """scan_batch = check_finite + reduce_present(size) + reduce_present(mean of the centre joints),
    bit for bit, whatever the shapes, dtypes, channels and missing joints (oracle: the NumPy path)."""
    n, m, t, v, dims, extra, dtype, contiguous = batch
    if dims not in (2, 3):
        dims = 3
    rng = np.random.default_rng(seed)
    x, lengths = random_batch(rng, n, m, t, v, dims + extra, dims, dtype, missing=0.4)
    joints = None if subset is None else sorted(rng.choice(v, size=min(subset, v), replace=False).tolist())
    got = numba_cpu.scan_batch(x if contiguous else strided(x), lengths, dims, joints)
    fast = backends.numpy_reducer
    backends.numpy_reducer = None
    try:
        ext, ext_found = _reduce_present(x, lengths, dims, None, "size")
        if joints is not None:
            cen, cen_found = _reduce_present(x, lengths, dims, joints, "mean")
    finally:
        backends.numpy_reducer = fast
    assert got.finite
    np.testing.assert_array_equal(got.size_found, ext_found)
    np.testing.assert_array_equal(got.size, ext)
    np.testing.assert_array_equal(got.size, numba_cpu.reduce_present(x, lengths, dims, None, "size")[0])
    if joints is None:
        assert got.centre is None and got.centre_found is None
    else:
        np.testing.assert_array_equal(got.centre_found, cen_found)
        np.testing.assert_allclose(got.centre, cen, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(got.centre, numba_cpu.reduce_present(x, lengths, dims, joints, "mean")[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(1, 0, 2, 3, 1), (1, 1, 5, 0, 0), (0, 0, 0, 4, 3)])
def test_scan_finds_every_non_finite_value(dtype, bad, where):
    """A NaN/Inf is found in a valid frame, in padding (frame 5 >= length 4) and in an extra channel;
    a call names its index, as check_finite does."""
    rng = np.random.default_rng(0)
    x, _ = random_batch(rng, 2, 2, 6, 5, 4, 3, dtype)
    lengths = np.array([6, 4])
    assert numba_cpu.scan_batch(x, lengths, 3, [0]).finite
    x[where] = bad
    assert not numba_cpu.scan_batch(x, lengths, 3, [0]).finite
    aug = A.RandomRotate(10, dims=3)
    idx = ", ".join(str(i) for i in where)
    with pytest.raises(ValueError, match=rf"NaN or Inf \(first at index \({idx}\)\)"):
        aug(x, lengths, generator=0)
    with pytest.raises(ValueError, match=rf"NaN or Inf \(first at index \({idx}\)\)"):
        aug(torch.from_numpy(x), torch.from_numpy(lengths), generator=0)


def test_calls_sample_the_same_with_and_without_the_scan(monkeypatch):
    """The one-pass scan only changes how the samplers' statistics are measured: with it switched off
    (separate checks) a call samples the same program and returns the same batch, including samples
    whose centre joints are all missing (the centre falls back to all joints)."""
    rng = np.random.default_rng(3)
    x, lengths = random_batch(rng, 6, 2, 12, 25, 3, 3, np.float32, missing=0.3)
    x[2, :, :, [1, 20]] = 0.0                      # ntu25's centre joints (spine): missing in sample 2
    aug = presets.micro_gesture("ntu25")
    got, got_len = aug(x, lengths, generator=5)
    got_ops = aug.last_params
    monkeypatch.setattr(backends, "numpy_scanner", None)
    want, want_len = aug(x, lengths, generator=5)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_len, want_len)
    for a, b in zip(got_ops.ops, aug.last_params.ops, strict=True):
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_size_order_keys_on_float_edge_values(dtype):
    """The body size compares float bit patterns as integers: check the values where that could go wrong
    (signed zeros, subnormals, large finite values, negatives only) against the NumPy path."""
    fi = np.finfo(dtype)
    x = np.zeros((5, 1, 3, 2, 3), dtype=dtype)
    x[0, 0, 0, 0] = [-0.0, -0.0, -0.0]                 # -0 everywhere: missing, not present
    x[0, 0, 0, 1] = [-0.0, 5.0, -3.0]                  # frame 0: one present joint, no extent
    x[0, 0, 1, 0] = [-0.0, 5.0, -3.0]                  # frame 1: present, with a -0 coordinate
    x[0, 0, 1, 1] = [2.0, -0.0, 0.0]                   # extent max(2, 5, 3) = 5
    x[0, 0, 2, 0] = [fi.smallest_subnormal, -fi.smallest_subnormal, 0.0]
    x[0, 0, 2, 1] = [-fi.smallest_subnormal, 0.0, 0.0]  # extent 2 subnormals: positive, counted
    x[1, 0, :, :] = -np.arange(1, 19, dtype=dtype).reshape(3, 2, 3) * [[1], [2]]   # all negative
    big = fi.max / 4
    x[2, 0, 0, 0] = [big, -big, fi.tiny]
    x[2, 0, 0, 1] = [-big, big, -fi.tiny]              # extent 2 big (in float64)
    x[3, 0, 0, 0] = [1.0, 2.0, 3.0]                    # one joint per frame only: no body size
    lengths = np.array([3, 2, 3, 3, 3])                # sample 4 stays all zero: nothing present
    got, got_found = numba_cpu.reduce_present(x, lengths, 3, None, "size")
    fast = backends.numpy_reducer
    backends.numpy_reducer = None
    try:
        want, want_found = _reduce_present(x, lengths, 3, None, "size")
    finally:
        backends.numpy_reducer = fast
    np.testing.assert_array_equal(got_found, [True, True, True, False, False])
    np.testing.assert_array_equal(got_found, want_found)
    np.testing.assert_array_equal(got, want)
    sub = 2.0 * float(fi.smallest_subnormal)
    frames1 = [max(abs(-(6 * t + 1) + 2 * (6 * t + 4)), abs(-(6 * t + 2) + 2 * (6 * t + 5)),
                   abs(-(6 * t + 3) + 2 * (6 * t + 6))) for t in range(2)]
    np.testing.assert_array_equal(got, [0.5 * (sub + 5.0), 0.5 * sum(frames1), 2.0 * float(big), 0.0, 0.0])


# ------------------------------------------------------------------------------ backend choice
def test_automatic_backend_choice_and_overrides():
    x = np.zeros((1, 1, 4, 25, 3), np.float32)
    assert backends.resolve_backend(x, None).name == "numba"
    t = torch.zeros(1, 1, 4, 25, 3)
    assert backends.resolve_backend(t, None).name == "numba"
    assert backends.resolve_backend(t.requires_grad_(), None).name == "torch"
    assert backends.resolve_backend(x, "numpy").name == "numpy"
    try:
        A.set_default_backend("numpy")
        assert backends.resolve_backend(x, None).name == "numpy"
        assert backends.resolve_backend(x, "numba").name == "numba"
    finally:
        A.set_default_backend(None)
    assert "numba" in A.available_backends()


def test_cpu_tensors_run_on_numba_zero_copy_and_keep_their_type():
    x, lengths = skeleton_batch_numpy(np.random.default_rng(4), "ntu25", n=4, m=1, t=12)
    aug = presets.micro_gesture("ntu25")
    want, _ = aug(x, lengths, generator=9, backend="numpy")
    got, got_len = aug(torch.from_numpy(x), torch.from_numpy(lengths), params=aug.last_params)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and isinstance(got_len, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="backend='torch'"):
        aug(torch.from_numpy(x).requires_grad_(), backend="numba")

"""Compose folding (skelaug.augment.fusion): every rewrite is checked against sequential application of
the original ops by the NumPy reference, so folding is tested independently of any fast executor.

Also home of ``random_program``, the generator of arbitrary primitive programs that the executor
tests (test_fast_numba_cpu.py, test_fast_numba_cuda.py) import.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skelaug.augment import fusion, reference
from skelaug.augment.ops import KINDS, Op


# ------------------------------------------------------------------------------ generators
def random_batch(rng: np.random.Generator, n: int, m: int, t: int, v: int, c: int, dims: int,
                 dtype: Any = np.float64, missing: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Generic coordinates (no accidental exact zeros or ties), missing joints, random lengths, zero padding."""
    x = rng.normal(size=(n, m, t, v, c)) * 2.0
    x[..., dims:] = rng.uniform(0.1, 1.0, size=(n, m, t, v, c - dims))     # scores
    x[rng.random((n, m, t, v)) < missing] = 0.0
    lengths = rng.integers(1, t + 1, size=n).astype(np.int64)
    x[np.broadcast_to(np.arange(t)[None, None, :] >= lengths[:, None, None], (n, m, t))] = 0.0
    return x.astype(dtype), lengths


def random_op(rng: np.random.Generator, kind: str, n: int, t: int, v: int, dims: int,
              applied: float | np.ndarray = 0.7, variant: Any = None) -> Op:
    """An op of ``kind`` with arbitrary parameters; samples not ``applied`` (a probability or a mask) get
    identity parameters (for ``resample``: the identity on clips of length ``t``). ``variant`` fixes the
    discrete setting: the resample mode, the noise stride or the blur kernel size."""
    from skelaug.augment.ops import identity_params

    if kind == "affine":
        perm = np.array([rng.permutation(v) if rng.random() < 0.5 else np.arange(v) for _ in range(n)]).reshape(n, v)
        op = Op("affine", {"matrix": rng.normal(size=(n, dims, dims)), "offset": rng.normal(size=(n, dims)),
                           "perm": perm.astype(np.int64)})
    elif kind == "local_affine":
        op = Op("local_affine", {"matrix": rng.normal(size=(n, dims, dims)), "moved": rng.random((n, v)) < 0.5,
                                 "pivot": rng.integers(0, v, size=n)})
    elif kind == "bone_scale":
        parent = np.array([-1] + [int(rng.integers(-1, j)) for j in range(1, v)], dtype=np.int64)
        op = Op("bone_scale", {"scale": rng.uniform(0.5, 1.5, size=(n, v))},
                {"parent": tuple(int(p) for p in parent), "order": tuple(range(v))})
    elif kind == "resample":
        op = Op("resample", {"src": rng.uniform(-1.0, t + 1.0, size=(n, t)),
                             "out_len": rng.integers(1, t + 1, size=n).astype(np.int64)},
                {"mode": variant or str(rng.choice(["linear", "nearest"]))})
    elif kind == "mask":
        op = Op("mask", {"joint": rng.random((n, v)) < 0.8, "frame": rng.random((n, t)) < 0.8,
                         "axis": rng.random((n, dims)) < 0.8})
    elif kind == "noise":
        stride = int(rng.choice([0, 1, 2, 3, 5]) if variant is None else variant)
        op = Op("noise", {"sigma": rng.uniform(0.0, 0.5, size=n), "seed": rng.integers(0, 2**32, size=n),
                          "weight": rng.uniform(0.0, 1.0, size=(n, v))}, {"stride": stride})
    elif kind == "blur":
        k = int(rng.choice([1, 3, 5]) if variant is None else variant)
        op = Op("blur", {"kernel": rng.uniform(0.0, 1.0, size=(n, k))}, {"kernel_size": k})
    elif kind == "mix":
        op = Op("mix", {"partner": rng.integers(0, max(n, 1), size=n).astype(np.int64),
                        "joints": rng.random((n, v)) < 0.5, "frames": rng.random((n, t)) < 0.5,
                        "offset": rng.normal(size=(n, dims))})
    else:
        raise ValueError(kind)
    keep = applied if isinstance(applied, np.ndarray) else rng.random(n) < applied
    if keep.all():
        return op
    ident = identity_params(kind, n, v=v, d=dims, t=t, lengths=np.full(n, t), static=op.static)
    params = {}
    for key, val in op.params.items():
        sel = keep.reshape((-1,) + (1,) * (np.ndim(val) - 1))
        params[key] = np.where(sel, val, ident[key])
    return Op(kind, params, op.static)


def random_program(rng: np.random.Generator, n: int, t: int, v: int, dims: int, length: int,
                   kinds: tuple[str, ...] = KINDS) -> list[Op]:
    return [random_op(rng, str(rng.choice(kinds)), n, t, v, dims) for _ in range(length)]


def run_reference(x: np.ndarray, lengths: np.ndarray, dims: int, ops: list[Op]) -> tuple[np.ndarray, np.ndarray]:
    lens = lengths.copy()
    for op in ops:
        x = reference.run_op(x, lens, dims, op)
        if op.kind == "resample":
            lens = np.asarray(op.params["out_len"], dtype=np.int64)
    return x, lens


shapes = st.tuples(st.integers(1, 4), st.integers(1, 2), st.integers(1, 9), st.integers(2, 7),
                   st.sampled_from([2, 3]), st.booleans())


# ------------------------------------------------------------------------------ folding == sequential
@settings(max_examples=100)            # pure NumPy on tiny batches: cheap, and folding bugs hide in rare programs
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), length=st.integers(1, 7),
       family=st.sampled_from(["affine", "mask", "resample", "foldable", "all"]))
def test_folded_program_equals_sequential_reference(shape, seed, length, family):
    n, m, t, v, dims, score = shape
    rng = np.random.default_rng(seed)
    x, lengths = random_batch(rng, n, m, t, v, dims + score, dims)
    kinds = {"foldable": ("affine", "mask", "resample"), "all": tuple(k for k in KINDS if k != "mix")}.get(
        family, (family,))
    ops = random_program(rng, n, t, v, dims, length, kinds)
    folded = fusion.fold(ops, lengths)
    assert len(folded) <= len(ops)
    want, want_len = run_reference(x, lengths, dims, ops)
    got, got_len = run_reference(x, lengths, dims, folded)
    np.testing.assert_array_equal(got_len, want_len)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(want).max(initial=0))))


def test_affine_chain_becomes_one_matrix():
    rng = np.random.default_rng(0)
    n, v, d = 3, 5, 3
    a1, a2 = rng.normal(size=(2, n, d, d))
    b1, b2 = rng.normal(size=(2, n, d))
    p1 = np.stack([rng.permutation(v) for _ in range(n)])
    p2 = np.stack([rng.permutation(v) for _ in range(n)])
    ops = [Op("affine", {"matrix": a1, "offset": b1, "perm": p1}),
           Op("affine", {"matrix": a2, "offset": b2, "perm": p2})]
    (one,) = fusion.fold(ops, np.full(n, 4))
    assert one.kind == "affine"
    np.testing.assert_allclose(one.params["matrix"], a2 @ a1)
    np.testing.assert_allclose(one.params["offset"], np.einsum("nij,nj->ni", a2, b1) + b2)
    for i in range(n):                                  # x''[v] = A2 x'[p2[v]] = A2 (A1 x[p1[p2[v]]] + b1)
        np.testing.assert_array_equal(one.params["perm"][i], p1[i][p2[i]])


def test_masks_fold_to_their_conjunction():
    rng = np.random.default_rng(1)
    ops = [random_op(rng, "mask", 2, 6, 4, 3, applied=1.0) for _ in range(3)]
    (one,) = fusion.fold(ops, np.array([6, 3]))
    for key in ("joint", "frame", "axis"):
        np.testing.assert_array_equal(one.params[key], ops[0].params[key] & ops[1].params[key] & ops[2].params[key])


def test_two_linear_resamples_are_not_folded_but_nearest_folds_into_its_predecessor():
    t = 8
    lin = Op("resample", {"src": np.linspace(0.3, 5.7, t)[None], "out_len": np.array([7])}, {"mode": "linear"})
    lin2 = Op("resample", {"src": np.linspace(0.5, 6.0, t)[None], "out_len": np.array([6])}, {"mode": "linear"})
    near = Op("resample", {"src": np.array([[0.0, 2.0, 2.0, 4.6, 6.0, 9.0, 1.0, 1.0]]), "out_len": np.array([5])},
              {"mode": "nearest"})
    assert [op.kind for op in fusion.fold([lin, lin2], np.array([t]))] == ["resample", "resample"]
    (one,) = fusion.fold([lin, near], np.array([t]))
    assert one.static["mode"] == "linear"
    # nearest frames of the 7-frame intermediate: round(clip(src, 0, 6)) = 0, 2, 2, 5, 6
    np.testing.assert_allclose(one.params["src"][0, :5], lin.params["src"][0, [0, 2, 2, 5, 6]])
    assert int(one.params["out_len"][0]) == 5


def test_nearest_resample_moves_left_past_frame_local_ops_and_reindexes_frame_masks():
    rng = np.random.default_rng(3)
    n, m, t, v, d = 2, 1, 7, 5, 3
    x, lengths = random_batch(rng, n, m, t, v, d, d)
    crop = random_op(rng, "resample", n, t, v, d, applied=1.0)
    crop = Op("resample", crop.params, {"mode": "linear"})
    aff = random_op(rng, "affine", n, t, v, d, applied=1.0)
    msk = random_op(rng, "mask", n, t, v, d, applied=1.0)
    rev = Op("resample", {"src": (crop.params["out_len"] - 1)[:, None] - np.arange(t)[None, :] + 0.2,
                          "out_len": crop.params["out_len"]}, {"mode": "nearest"})
    ops = [crop, aff, msk, rev]
    folded = fusion.fold(ops, lengths)
    assert [op.kind for op in folded] == ["resample", "affine", "mask"]
    np.testing.assert_allclose(run_reference(x, lengths, d, folded)[0], run_reference(x, lengths, d, ops)[0],
                               rtol=1e-12, atol=1e-12)


def test_noise_is_never_reordered():
    rng = np.random.default_rng(4)
    noise = random_op(rng, "noise", 2, 6, 4, 3, applied=1.0)
    near = Op("resample", {"src": np.tile(np.arange(6.0)[::-1], (2, 1)), "out_len": np.array([6, 6])},
              {"mode": "nearest"})
    assert [op.kind for op in fusion.fold([noise, near], np.array([6, 6]))] == ["noise", "resample"]


def test_plan_splits_at_mix_and_tracks_lengths():
    rng = np.random.default_rng(5)
    n, t, v, d = 3, 6, 4, 3
    ops = [random_op(rng, "resample", n, t, v, d, applied=1.0), random_op(rng, "mix", n, t, v, d, applied=1.0),
           random_op(rng, "affine", n, t, v, d)]
    steps = fusion.plan(ops, np.full(n, t), (n, 1, t, v, d), d)
    assert [type(s).__name__ for s in steps] == ["Segment", "Op", "Segment"]
    first, _, last = steps
    np.testing.assert_array_equal(first.lengths_out, ops[0].params["out_len"])
    np.testing.assert_array_equal(last.lengths_in, ops[0].params["out_len"])


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "mix"])
def test_skip_flags_mark_exactly_the_identity_samples(kind):
    rng = np.random.default_rng(6)
    n, m, t, v, d = 6, 1, 5, 4, 3
    x, lengths = random_batch(rng, n, m, t, v, d, d)
    lengths[:] = t
    applied = np.array([True, False, True, False, False, True])
    op = random_op(rng, kind, n, t, v, d, applied=applied)
    seg = fusion.pack([op], lengths, x.shape, d)
    np.testing.assert_array_equal(seg.skip[0], ~applied)
    y = reference.run_op(x, lengths, d, op)
    for i in np.flatnonzero(~applied):                  # a skipped sample really is unchanged
        np.testing.assert_allclose(y[i], x[i], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ the sampling helpers' fast paths
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**20), st.floats(0.0, 2.0**30, allow_nan=False), st.integers(0, 3))
def test_fast_mod_is_numpy_mod_bit_for_bit(b, a, ulps):
    """``temporal._mod`` (RandomRepeat's loop phase) against ``np.mod``, including values a few ulps below
    a multiple of ``b`` (where a quotient rounded up, e.g. ``a * (1 / b)``, would give a negative result)."""
    from skelaug.augment.temporal import _mod

    near = np.float64(b) * np.floor(a / b + 1.0)
    for _ in range(ulps):
        near = np.nextafter(near, 0.0)
    vals = np.array([a, near, np.float64(b) * np.floor(a / b), 0.0])[:, None]
    got = _mod(vals, np.full((4, 1), float(b)))
    want = np.mod(vals, float(b))
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


def test_take_rows_is_take_along_axis():
    rng = np.random.default_rng(3)
    for n, t, t_out, dtype in ((1, 1, 1, np.float64), (7, 5, 9, np.int64), (4, 6, 6, bool), (0, 3, 3, np.float64)):
        a = (rng.normal(size=(n, t)) * 9).astype(dtype)
        idx = rng.integers(0, t, size=(n, t_out))
        np.testing.assert_array_equal(fusion._take_rows(a[:, ::-1], idx), np.take_along_axis(a[:, ::-1], idx, 1))


@pytest.mark.parametrize("kind", KINDS)
def test_broadcast_identity_params_are_the_full_ones(kind):
    """``identity_params(..., broadcast=True)`` (used by ``where_applied``) broadcasts to the full arrays,
    with the same dtypes, so ``np.where`` gives the same parameters either way."""
    from skelaug.augment.ops import identity_params

    n, v, d, t = 5, 4, 3, 6
    kw: dict[str, Any] = dict(v=v, d=d, t=t, lengths=np.array([6, 1, 3, 6, 2]), static={"kernel_size": 5})
    full = identity_params(kind, n, **kw)
    small = identity_params(kind, n, broadcast=True, **kw)
    assert full.keys() == small.keys()
    for key in full:
        assert small[key].dtype == full[key].dtype, key
        assert small[key].shape[0] in (1, n), key
        np.testing.assert_array_equal(np.broadcast_to(small[key], full[key].shape), full[key], err_msg=key)

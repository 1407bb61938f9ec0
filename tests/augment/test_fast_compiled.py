"""Compiled pipelines (skelaug.augment.compiled) and the numba PCG64 port (skelaug.augment._pcg64).

Oracles: NumPy's own ``Generator`` for the port (values and the generator state after each draw), and
the ordinary call ``aug(x, lengths, generator=...)`` for the compiled pipelines (outputs, output
lengths, sampled parameters, the caller's generator state).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skelaug import augment as A
from skelaug.augment import _pcg64, backends, config, presets
from skelaug.augment.compiled import SUPPORTED, CompiledPipeline, compile_pipeline
from skelaug.testing import skeleton_batch_numpy, skeleton_batches

M128 = (1 << 128) - 1


# ------------------------------------------------------------------------------ PCG64 port
@settings(max_examples=60)
@given(st.one_of(st.integers(0, 2**32), st.integers(0, 2**64), st.integers(0, M128),
                 st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**62 - 1, 2**64 - 1, 2**64, M128])))
def test_seeding_matches_default_rng(seed: int) -> None:
    assert np.array_equal(_pcg64.seeded_state(seed), _pcg64.state_of(np.random.default_rng(seed)))


BOUNDS = [(0, 1), (3, 4), (0, 2), (2, 4), (-5, 7), (0, 25), (0, 2**31 + 1), (0, 2**32 - 1), (0, 2**32),
          (-(2**31), 2**31), (0, 2**32 + 1), (0, 3 * 2**40 + 5), (-(2**62), 2**62 + 1), (-(2**62), 2**62 + 3)]
DRAW = st.one_of(st.just(("random",)),
                 st.tuples(st.just("uniform"), st.floats(-1e3, 1e3), st.floats(0, 1e3)),
                 st.tuples(st.just("integers"), st.sampled_from(BOUNDS)))


def _draw_both(op: tuple[Any, ...], state: np.ndarray, g: np.random.Generator) -> tuple[Any, Any]:
    if op[0] == "random":
        return _pcg64.random(state), g.random()
    if op[0] == "uniform":
        lo, width = op[1], op[2]
        return _pcg64.uniform(state, lo, lo + width), g.uniform(lo, lo + width)
    lo, hi = op[1]
    return _pcg64.integers(state, lo, hi), g.integers(lo, hi)


@settings(max_examples=80)
@given(st.integers(0, 2**64), st.lists(DRAW, min_size=1, max_size=40))
def test_draws_and_state_match_numpy(seed: int, ops: list[tuple[Any, ...]]) -> None:
    """Every draw equals NumPy's bit for bit, interleaved in any order (the 32-bit buffer included),
    and the state afterwards is the generator's."""
    g = np.random.default_rng(seed)
    state = _pcg64.seeded_state(seed)
    for op in ops:
        got, want = _draw_both(op, state, g)
        assert got == want and type(float(got)) is float, (op, got, want)
        assert np.array_equal(state, _pcg64.state_of(g)), op


@pytest.mark.parametrize("bounds", [(0, 2**31 + 1), (-(2**62), 2**62 + 1)])
def test_lemire_rejections_match(bounds: tuple[int, int]) -> None:
    """Ranges just above a power of two reject about half of the raw draws: the loop must retry as NumPy."""
    g = np.random.default_rng(11)
    state = _pcg64.state_of(g)
    got = [_pcg64.integers(state, *bounds) for _ in range(400)]
    assert got == g.integers(*bounds, size=400).tolist()
    assert np.array_equal(state, _pcg64.state_of(g))


def test_state_round_trip_advances_the_generator() -> None:
    g = np.random.default_rng(3)
    g.integers(0, 10)                                  # leaves a buffered 32-bit half
    state = _pcg64.state_of(g)
    assert state[4] == 1
    mine = [_pcg64.integers(state, 0, 10) for _ in range(5)] + [_pcg64.random(state)]
    _pcg64.write_state(g, state)
    ref = np.random.default_rng(3)
    ref.integers(0, 10)
    assert mine == ref.integers(0, 10, size=5).tolist() + [ref.random()]
    assert g.random() == ref.random()
    with pytest.raises(ValueError, match="PCG64"):
        _pcg64.state_of(np.random.Generator(np.random.MT19937(0)))


# ------------------------------------------------------------------------------ compiled vs ordinary
def step_cases() -> list[tuple[str, Any]]:
    """One instance of every supported step class, with non-default settings where they matter."""
    cases = {
        A.RandomCropResize: A.RandomCropResize(scale=(0.3, 1.0), min_length=3),
        A.RandomRepeat: A.RandomRepeat(times=(1, 4)),
        A.RandomPosterize: A.RandomPosterize(stride=(1, 4)),
        A.RandomReverse: A.RandomReverse(p=1.0),
        A.RandomSpeed: A.RandomSpeed(speed=(0.5, 2.0)),
        A.RandomRotate: A.RandomRotate(degrees=[(-10, 20), (-30, 5), (-90, 90)]),
        A.RandomShear: A.RandomShear(shear=0.5),
        A.RandomScale: A.RandomScale(scale=(0.5, 1.5), isotropic=False),
        A.RandomTranslate: A.RandomTranslate(translate=0.2),
        A.RandomMirror: A.RandomMirror(p=1.0),
        A.RandomPerturb: A.RandomPerturb(sigma=(0.01, 0.05), temporal="smooth", knot_stride=3),
        A.RandomGaussianNoise: A.RandomGaussianNoise(sigma=(0.01, 0.03)),
        A.RandomGaussianBlur: A.RandomGaussianBlur(sigma=(0.1, 3.0), kernel_size=9),
        A.RandomJointMask: A.RandomJointMask(ratio=(0.1, 0.5)),
        A.RandomAxisMask: A.RandomAxisMask(),
        A.RandomFrameMask: A.RandomFrameMask(ratio=(0.1, 0.5)),
    }
    assert set(cases) == set(SUPPORTED), "a supported step has no test case"
    return [(cls.__name__, aug) for cls, aug in cases.items()]


def assert_same_call(aug: A.Augmentation, x: np.ndarray, lengths: Any, seed: int, *, exact: bool = False) -> None:
    """The compiled call equals the ordinary call: output, output lengths, parameters, generator state."""
    fast = compile_pipeline(aug)
    g_fast, g_ord = np.random.default_rng(seed), np.random.default_rng(seed)
    x_before = x.copy()
    aug.last_params = None
    got = fast(x, lengths, generator=g_fast)
    assert aug.last_params is None, "the compiled call ran the ordinary path"
    want = aug(x, lengths, g_ord)
    np.testing.assert_array_equal(x, x_before)          # the caller's array is never written
    assert np.array_equal(_pcg64.state_of(g_fast), _pcg64.state_of(g_ord))
    if lengths is not None:
        (got, got_len), (want, want_len) = got, want
        assert type(got_len) is type(want_len) and np.array_equal(got_len, want_len)
    assert got.shape == want.shape and got.dtype == want.dtype
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        tol = 1e-6 if x.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max(initial=0))))
        assert np.array_equal(got == 0, want == 0)     # the same joints missing, the same padding
    prog = fast.sample(x, lengths, generator=seed)
    ref = aug.last_params
    assert ref is not None and [op.kind for op in prog.ops] == [op.kind for op in ref.ops]
    assert np.array_equal(prog.lengths_out, ref.lengths_out) and np.array_equal(prog.lengths_in, ref.lengths_in)
    for a, b in zip(prog.ops, ref.ops, strict=True):
        assert dict(a.static) == dict(b.static) and set(a.params) == set(b.params)
        for k in a.params:
            pa, pb = np.asarray(a.params[k]), np.asarray(b.params[k])
            assert pa.shape == pb.shape and pa.dtype.kind == pb.dtype.kind, (a.kind, k)
            if pa.dtype.kind == "f":
                np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-12 * max(1.0, float(np.abs(pb).max(initial=0))))
            else:
                np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("name,step", step_cases())
@pytest.mark.parametrize("layout", ["ntu25", "openpose18"])
def test_every_supported_step_matches_the_ordinary_call(name: str, step: A.Augmentation, layout: str) -> None:
    rng = np.random.default_rng(len(name))
    x, lengths = skeleton_batch_numpy(rng, layout, n=4, m=2, t=12, missing=0.2)
    for p, same in ((1.0, False), (0.5, False), (0.6, True)):
        step.p, step.same_on_batch = p, same
        aug = A.Compose([step], layout=layout)
        for seed in range(4):
            assert_same_call(aug, x, lengths, seed)
    assert_same_call(A.Compose([step], layout=layout), x[0, 0], None, 5)           # one (T, V, C) clip


@pytest.mark.parametrize("preset", ["micro_gesture", "aimclr_normal", "aimclr_extreme", "isc"])
def test_presets_match_the_ordinary_call(preset: str) -> None:
    """Short padded clips, missing joints, one clip and batches: equal outputs, bit for bit for float32
    except with a blur (float64 results differ in the last bit where a folded matrix product does, which
    NumPy computes with BLAS; blur weights where NumPy's exp, its own SIMD code on AVX-512 machines,
    differs from libm's, which numba calls)."""
    aug = getattr(presets, preset)("ntu25")
    rng = np.random.default_rng(1)
    for n, t, dtype in ((1, 6, np.float32), (5, 20, np.float32), (3, 16, np.float64)):
        x, lengths = skeleton_batch_numpy(rng, "ntu25", n=n, m=2, t=t, missing=0.15, dtype=dtype)
        for seed in range(8):
            exact = dtype == np.float32 and preset != "aimclr_extreme"
            assert_same_call(aug, x, lengths, seed, exact=exact)
            assert_same_call(aug, x[0], None, seed + 100, exact=exact)
            assert_same_call(aug, x, int(lengths.min()), seed + 200, exact=exact)


@settings(max_examples=30)
@given(skeleton_batches(max_n=4, max_t=14), st.integers(0, 2**32),
       st.sampled_from(["micro_gesture", "isc", "aimclr_normal", "aimclr_extreme"]))
def test_presets_on_random_batches(batch: tuple[np.ndarray, np.ndarray, str], seed: int, preset: str) -> None:
    """Any layout (2D and 3D), persons, lengths down to one frame, score channel or not, either dtype."""
    x, lengths, layout = batch
    aug = getattr(presets, preset)(layout)
    if x.shape[0] == 0:                                 # an empty batch runs the ordinary call
        got, want = compile_pipeline(aug)(x, lengths, generator=seed), aug(x, lengths, seed)
        assert got[0].shape == want[0].shape and got[1].shape == want[1].shape
        return
    assert_same_call(aug, x, lengths, seed)


def test_a_longer_pipeline_folds_as_fusion_does() -> None:
    """Nearest resamples hoisted past affine ops and frame masks, affine and mask chains folded."""
    aug = A.Compose([
        A.RandomCropResize(scale=(0.5, 1.0), min_length=2), A.RandomFrameMask(ratio=(0.2, 0.5), p=0.7),
        A.RandomRotate(20, p=0.7), A.RandomPosterize(stride=(2, 3), p=0.7), A.RandomShear(0.3, p=0.5),
        A.RandomReverse(p=0.5), A.RandomJointMask(ratio=(0.0, 0.3), p=0.5), A.RandomAxisMask(p=0.3),
        A.Compose([A.RandomScale(), A.RandomPerturb(temporal="white", p=0.5)]), A.RandomMirror(p=0.5),
        A.RandomSpeed(p=0.5), A.RandomRepeat(p=0.5), A.RandomGaussianNoise(p=0.5),
        A.RandomGaussianBlur(kernel_size=5, p=0.5), A.RandomPosterize(p=0.5), A.RandomGaussianBlur(p=0.5),
    ], layout="openpose25")
    rng = np.random.default_rng(2)
    for n in (1, 6):
        x, lengths = skeleton_batch_numpy(rng, "openpose25", n=n, m=1, t=18, missing=0.2)
        for seed in range(12):
            assert_same_call(aug, x, lengths, seed)


def test_missing_joints_and_padding_stay_zero_and_same_seed_same_output() -> None:
    fast = compile_pipeline(presets.micro_gesture("ntu25"))
    x, lengths = skeleton_batch_numpy(np.random.default_rng(4), "ntu25", n=6, m=2, t=24, missing=0.3)
    y, new_len = fast(x, lengths, generator=9)
    missing = ~(x[..., :3] != 0).any(-1)
    valid = np.arange(24)[None, None, :] < new_len[:, None, None]
    joint_kept_everywhere = missing.all(axis=2, keepdims=True) & np.ones_like(missing)   # absent in every frame
    assert not (y[..., :3] != 0).any(-1)[joint_kept_everywhere].any()
    assert not y[~np.broadcast_to(valid[..., None, None], y.shape)].any()                 # zero padding
    y2, _ = fast(x, lengths, generator=9)
    np.testing.assert_array_equal(y, y2)
    y3, _ = fast(x, lengths, generator=10)
    assert not np.array_equal(y, y3)


def test_parallel_path_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """With several threads and a low work threshold, the kernel runs from Python over chunks: same result."""
    monkeypatch.setattr(config, "CPU_PARALLEL_MIN_WORK", 0)
    threads = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        aug = presets.micro_gesture("ntu25")
        x, lengths = skeleton_batch_numpy(np.random.default_rng(5), "ntu25", n=7, m=2, t=16)
        for seed in range(4):
            assert_same_call(aug, x, lengths, seed, exact=True)
    finally:
        numba.set_num_threads(threads)


def test_no_op_program_copies_the_input_as_the_ordinary_call() -> None:
    aug = A.Compose([A.RandomRotate(10, p=0.0), A.RandomJointMask(p=0.0)], layout="ntu25")
    x = np.random.default_rng(0).normal(size=(2, 1, 5, 25, 3)).astype(np.float32)   # non-zero "padding"
    lengths = np.array([3, 5])
    assert_same_call(aug, x, lengths, 0, exact=True)
    out, _ = compile_pipeline(aug)(x, lengths, generator=0)
    assert out is not x and np.array_equal(out, x)


# ------------------------------------------------------------------------------ generators
def test_generator_kinds_follow_the_ordinary_call() -> None:
    aug = presets.micro_gesture("ntu25")
    fast = compile_pipeline(aug)
    x, lengths = skeleton_batch_numpy(np.random.default_rng(6), "ntu25", n=3, m=2, t=16)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)          # torch.Generator
    for _ in range(3):
        np.testing.assert_array_equal(fast(x, lengths, generator=g1)[0], aug(x, lengths, g2)[0])
    torch.manual_seed(7)                                                                  # None: torch's stream
    a = [fast(x, generator=None) for _ in range(3)]
    torch.manual_seed(7)
    b = [aug(x) for _ in range(3)]
    for u, w in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, w)
    seeded, seeded_ref = presets.micro_gesture("ntu25"), presets.micro_gesture("ntu25")  # the aug's own seed=
    seeded.seed = seeded_ref.seed = 4
    seeded._rng, seeded_ref._rng = np.random.default_rng(4), np.random.default_rng(4)
    fast_seeded = compile_pipeline(seeded)
    for _ in range(3):
        np.testing.assert_array_equal(fast_seeded(x), seeded_ref(x))
    assert np.array_equal(_pcg64.state_of(seeded._rng), _pcg64.state_of(seeded_ref._rng))
    big = 2**130 + 5                                                                      # seeded by NumPy
    np.testing.assert_array_equal(fast(x, generator=big), aug(x, generator=big))


# ------------------------------------------------------------------------------ fallback and errors
def test_input_the_compiled_path_does_not_take_runs_the_ordinary_call() -> None:
    aug = presets.micro_gesture("ntu25")
    fast = compile_pipeline(aug)
    x, lengths = skeleton_batch_numpy(np.random.default_rng(8), "ntu25", n=3, m=1, t=16)
    xt = torch.from_numpy(x)
    aug.last_params = None
    got_t, len_t = fast(xt, torch.from_numpy(lengths), generator=1)
    assert aug.last_params is not None                     # fell back
    want_t, want_len = aug(xt, torch.from_numpy(lengths), 1)
    assert isinstance(got_t, torch.Tensor) and torch.equal(got_t, want_t) and torch.equal(len_t, want_len)
    x16 = x.astype(np.float16)
    np.testing.assert_array_equal(fast(x16, generator=2), aug(x16, generator=2))
    np.testing.assert_array_equal(fast(x, lengths.astype(np.float64), generator=2)[0],
                                  aug(x, lengths.astype(np.float64), 2)[0])
    backends.set_default_backend("numpy")
    try:
        aug.last_params = None
        np.testing.assert_array_equal(fast(x, generator=3), aug(x, generator=3))
        assert aug.last_params is not None
    finally:
        backends.set_default_backend(None)
    bad = x.copy()
    bad[1, 0, 2, 4, 1] = np.nan
    g = np.random.default_rng(0)
    state = _pcg64.state_of(g)
    with pytest.raises(ValueError, match="NaN"):
        fast(bad, generator=g)
    assert np.array_equal(_pcg64.state_of(g), state)       # nothing drawn
    with pytest.raises(ValueError, match="joints"):
        fast(x[..., :20, :], generator=0)                  # the layout's joint count, named by the ordinary call
    with pytest.raises(TypeError, match="generator"):
        fast(x, generator="seed")


def test_unsupported_steps_raise_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"RandomBoneLength.*ordinary call"):
        compile_pipeline(A.Compose([A.RandomRotate(), A.RandomBoneLength(), A.RandomShear()], layout="ntu25"))
    with pytest.raises(ValueError, match="kernel_size=128, got 129"):
        compile_pipeline(A.RandomGaussianBlur(kernel_size=129))
    with pytest.raises(ValueError, match="OneOf"):
        compile_pipeline(A.Compose([A.OneOf([A.RandomRotate(), A.RandomShear()])]))
    with pytest.raises(ValueError, match=r"p=0\.5"):
        compile_pipeline(A.Compose([A.RandomRotate()], p=0.5))
    with pytest.raises(ValueError, match="parts"):
        compile_pipeline(A.RandomPerturb(parts=["head"], layout="ntu25"))
    with pytest.raises(ValueError, match="MultiView"):
        compile_pipeline(A.MultiView(A.RandomRotate()))
    with pytest.raises(TypeError):
        compile_pipeline(lambda x: x)  # type: ignore[arg-type]
    single = compile_pipeline(A.RandomRotate(15))           # a single step compiles too
    assert isinstance(single, CompiledPipeline) and len(single.steps) == 1
    assert "CompiledPipeline(" in repr(single)

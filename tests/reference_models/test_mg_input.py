"""Encoder inputs (``model.input``): the clip-mean-free motion and the velocity-only input against
NumPy loops and closed forms, missing joints and padding, hard negatives built from them, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _mg_common import TINY
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_models.mg_contrastive.config import load_config
from reference_models.mg_contrastive.data import (
    add_velocity,
    destroy_motion,
    encoder_input,
    hard_negative_views,
    input_channels,
    subtract_clip_mean,
)
from reference_models.mg_contrastive.train import pretrain

KINDS = ("position", "position+velocity", "motion+velocity", "velocity")


def _clips(seed: int, n: int, m: int, t: int, v: int, c: int, p_missing: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Random float64 clips with missing joints (all channels 0) and zero padding after random lengths."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, m, t, v, c)) + 3.0
    x[rng.random((n, m, t, v)) < p_missing] = 0.0
    lengths = rng.integers(0, t + 1, size=n)
    for i, length in enumerate(lengths):
        x[i, :, length:] = 0.0
    return torch.from_numpy(x), torch.from_numpy(lengths)


def _mean_free_oracle(x: np.ndarray, lengths: np.ndarray, dims: int) -> np.ndarray:
    """subtract_clip_mean with plain loops."""
    n, m, t, v, _ = x.shape
    y = x.copy()
    y[..., :dims] = 0.0
    for i in range(n):
        for p in range(m):
            for j in range(v):
                frames = [s for s in range(lengths[i]) if any(x[i, p, s, j, k] != 0 for k in range(dims))]
                if not frames:
                    continue
                mean = [sum(x[i, p, s, j, k] for s in frames) / len(frames) for k in range(dims)]
                for s in frames:
                    for k in range(dims):
                        y[i, p, s, j, k] = x[i, p, s, j, k] - mean[k]
    return y


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 2), st.integers(1, 6), st.integers(1, 4),
       st.sampled_from([(2, 3), (3, 3), (2, 2)]), st.floats(0.0, 0.6))
def test_subtract_clip_mean_matches_loop_oracle(seed, n, m, t, v, dims_channels, p_missing):
    dims, c = dims_channels
    x, lengths = _clips(seed, n, m, t, v, c, p_missing)
    before = x.clone()
    y = subtract_clip_mean(x, lengths, dims)
    assert torch.equal(x, before)  # the input is not modified
    np.testing.assert_allclose(y.numpy(), _mean_free_oracle(x.numpy(), lengths.numpy(), dims), rtol=0, atol=1e-12)


def test_encoder_input_closed_form_on_a_tiny_clip():
    # one clip, T = 4 (length 3), joints: 0 present throughout, 1 missing in frame 1; (x, y, score)
    x = torch.zeros(1, 1, 4, 2, 3, dtype=torch.float64)
    x[0, 0, :3, 0] = torch.tensor([[1.0, 4.0, 0.5], [2.0, 6.0, 0.25], [6.0, 2.0, 0.75]], dtype=torch.float64)
    x[0, 0, [0, 2], 1] = torch.tensor([[-1.0, 1.0, 0.5], [3.0, 5.0, 0.5]], dtype=torch.float64)
    lengths = torch.tensor([3])
    motion = [[[-2.0, 0.0, 0.5], [-2.0, -2.0, 0.5]],  # means: joint 0 (3, 4), joint 1 (1, 3) over frames 0, 2
              [[-1.0, 2.0, 0.25], [0.0, 0.0, 0.0]],
              [[3.0, -2.0, 0.75], [2.0, 2.0, 0.5]],
              [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
    vel = [[[0.0, 0.0], [0.0, 0.0]],  # frame 0; joint 1 missing at frame 1: no velocity at 1 or 2
           [[1.0, 2.0], [0.0, 0.0]],
           [[4.0, -4.0], [0.0, 0.0]],
           [[0.0, 0.0], [0.0, 0.0]]]  # padding
    pos = x[0, 0].tolist()
    want = {
        "position": pos,
        "position+velocity": [[p + w for p, w in zip(pf, vf, strict=True)] for pf, vf in zip(pos, vel, strict=True)],
        "motion+velocity": [[p + w for p, w in zip(pf, vf, strict=True)] for pf, vf in zip(motion, vel, strict=True)],
        "velocity": vel,
    }
    cfg = load_config(TINY)
    for kind in KINDS:
        y = encoder_input(kind, x, lengths, 2)
        assert y[0, 0].tolist() == want[kind], kind
        cfg.model.input = kind
        assert y.size(-1) == input_channels(cfg, 3, "imigue22"), kind
    with pytest.raises(ValueError, match=r"model.input='acceleration'; use 'position', "):
        encoder_input("acceleration", x, lengths, 2)  # type: ignore[arg-type]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 0.4))
def test_motion_inputs_do_not_see_the_mean_pose(seed, p_missing):
    """A per-clip, per-joint offset of the pose (another subject's proportions, posture, camera) leaves
    ``motion+velocity`` and ``velocity`` unchanged; ``position+velocity`` sees it."""
    x, lengths = _clips(seed, 3, 1, 7, 5, 3, p_missing)
    offset = torch.from_numpy(np.random.default_rng([seed, 1]).normal(size=(3, 1, 1, 5, 2)) * 10)
    shifted = x.clone()
    present = (x[..., :2] != 0).any(-1, keepdim=True)
    shifted[..., :2] = torch.where(present, x[..., :2] + offset, x[..., :2])
    for kind in ("motion+velocity", "velocity"):
        a, b = encoder_input(kind, x, lengths, 2), encoder_input(kind, shifted, lengths, 2)
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)
    if present.any():
        assert not torch.equal(encoder_input("position+velocity", x, lengths, 2),
                               encoder_input("position+velocity", shifted, lengths, 2))


def test_hard_negatives_of_motion_inputs():
    """Hard negatives go through the same input transform: a static clip has no motion and no velocity
    (its scores are the held frame's); a shuffled one is the input of the shuffled positions."""
    g = torch.Generator().manual_seed(3)
    pos = torch.randn(3, 1, 10, 22, 3, generator=g)
    lengths = torch.tensor([10, 6, 1])
    pos[(torch.arange(10)[None, :] >= lengths[:, None])[:, None]] = 0.0
    kw = {"epoch": 0, "step": 4, "rank": 0, "view": 1}
    cfg = load_config(TINY, ['model.input="motion+velocity"', 'contrast.hard_negatives="static+shuffled"'])
    static, shuffled = hard_negative_views(cfg, pos, lengths, "imigue22", **kw)
    assert static.shape == shuffled.shape == (3, 1, 10, 22, 5)
    assert (static[..., [0, 1, 3, 4]] == 0).all()
    for i, length in enumerate(lengths.tolist()):
        held = static[i, 0, 0, :, 2]
        assert any(torch.equal(held, pos[i, 0, s, :, 2]) for s in range(length))
        assert (static[i, 0, :length, :, 2] == held).all() and (static[i, :, length:] == 0).all()
    rng = np.random.default_rng([cfg.seed, 7, 0, 4, 0, 1])  # the HARD stream: static draws, then shuffled
    destroy_motion(pos, lengths, "static", rng)
    want = encoder_input("motion+velocity", destroy_motion(pos, lengths, "shuffled", rng), lengths, 2)
    assert torch.equal(shuffled, want)
    vel = load_config(TINY, ['model.input="velocity"', 'contrast.hard_negatives="static"'])
    (only,) = hard_negative_views(vel, pos, lengths, "imigue22", **kw)
    assert only.shape == (3, 1, 10, 22, 2) and (only == 0).all()


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("kind", "channels"), [("motion+velocity", 5), ("velocity", 2)])
def test_pretrain_and_evaluate_with_a_motion_input(tmp_path, tiny_data, kind, channels):
    from reference_models.mg_contrastive.evaluate import evaluate

    sets = ["optim.epochs=1", f"model.input={kind!r}", 'contrast.hard_negatives="static"', 'contrast.loss="both"']
    res = pretrain(load_config(TINY, sets), tmp_path, device="cpu", show_progress=False, datasets=tiny_data)
    assert np.isfinite(res["loss"])
    enc = torch.load(tmp_path / "encoder.pt", weights_only=False)
    assert enc["meta"]["in_channels"] == channels
    out = evaluate(load_config(TINY), tmp_path, checkpoint=tmp_path / "encoder.pt", protocols=["knn"],
                   device="cpu", datasets=tiny_data, show_progress=False)
    assert set(out["protocols"]["knn"]["k=1"]) == {"graph", "recurrent", "fused"}


def test_add_velocity_of_the_motion_is_the_velocity_of_the_positions():
    """Where a joint is present in both frames the clip mean cancels: v(x - mean) = v(x)."""
    x, lengths = _clips(11, 2, 1, 9, 4, 3, 0.0)
    a = add_velocity(subtract_clip_mean(x, lengths, 2), lengths, 2)[..., 3:]
    torch.testing.assert_close(a, add_velocity(x, lengths, 2)[..., 3:], rtol=0, atol=1e-12)

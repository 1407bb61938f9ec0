"""Motion-forcing hard negatives (``contrast.hard_negatives``): InfoNCE with per-query negatives against
closed forms, the static / shuffled clip builders against a NumPy loop, routing, keys, training, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _mg_common import TINY, metrics_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_models.mg_contrastive import train as train_mod
from reference_models.mg_contrastive.config import ConfigError, load_config
from reference_models.mg_contrastive.data import (
    add_velocity,
    destroy_motion,
    hard_negative_views,
)
from reference_models.mg_contrastive.model import DualStreamMoCo, info_nce
from reference_models.mg_contrastive.train import pretrain


def _nce_oracle(q, k, negatives_per_query, tau):
    """-mean_i log(exp(q_i.k_i/tau) / (exp(q_i.k_i/tau) + sum_{n in negatives_i} exp(q_i.n/tau))), loops."""
    total = 0.0
    for i in range(len(q)):
        pos = math.exp(sum(a * b for a, b in zip(q[i], k[i], strict=True)) / tau)
        neg = sum(math.exp(sum(a * b for a, b in zip(q[i], n, strict=True)) / tau) for n in negatives_per_query[i])
        total += -math.log(pos / (pos + neg))
    return total / len(q)


# ------------------------------------------------------------------------------------ info_nce
def test_info_nce_hard_negatives_closed_form_by_hand():
    # dot products (tau = 0.5): query 0: positive 1, queue (0, -1), its hard negatives (-1, 0);
    # query 1: positive 0, queue (1, 0), its hard negatives (1, -1)
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    hard = torch.tensor([[[-1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, -1.0]]])  # (B=2, H=2, D=2)
    loss, acc = info_nce(q, k, queue, 0.5, hard=hard)
    e = math.exp
    l0 = -math.log(e(2) / (e(2) + (e(0) + e(-2)) + (e(-2) + e(0))))
    l1 = -math.log(e(0) / (e(0) + (e(2) + e(0)) + (e(2) + e(-2))))
    assert float(loss) == pytest.approx((l0 + l1) / 2, rel=1e-6)
    assert float(acc) == 0.5  # query 0's positive is first; query 1's is beaten by its hard negative
    # the hard negatives of one query are not the other's: swapping them changes the loss
    swapped, _ = info_nce(q, k, queue, 0.5, hard=hard.flip(0))
    assert float(swapped) != pytest.approx(float(loss), rel=1e-3)


@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 3), st.integers(2, 4), st.floats(0.05, 1.0),
       st.booleans(), st.integers(0, 10**6))
def test_info_nce_with_hard_matches_loop_oracle(b, kq, h, d, tau, masked, seed):
    g = torch.Generator().manual_seed(seed)

    def unit(*shape):
        return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)

    q, k, queue, hard = unit(b, d), unit(b, d), unit(kq, d), unit(b, h, d)
    mask = torch.rand(b, kq, generator=g) < 0.5 if masked else torch.ones(b, kq, dtype=torch.bool)
    loss, acc = info_nce(q, k, queue, tau, mask if masked else None, hard)
    # oracle: query i's negatives are its kept queue entries and its own H hard negatives (never masked)
    negs = [queue[mask[i]].tolist() + hard[i].tolist() for i in range(b)]
    assert float(loss) == pytest.approx(_nce_oracle(q.tolist(), k.tolist(), negs, tau), rel=1e-9)
    first = [
        all((q[i] @ k[i]) > (q[i] @ n) for n in torch.tensor(negs[i], dtype=torch.float64).reshape(-1, d))
        for i in range(b)
    ]
    assert float(acc) == pytest.approx(np.mean(first))


def test_info_nce_without_hard_negatives_is_bit_identical():
    g = torch.Generator().manual_seed(0)
    q, k = F.normalize(torch.randn(5, 8, generator=g), dim=1), F.normalize(torch.randn(5, 8, generator=g), dim=1)
    queue = F.normalize(torch.randn(7, 8, generator=g), dim=1)
    plain = info_nce(q, k, queue, 0.07)
    empty = info_nce(q, k, queue, 0.07, hard=torch.zeros(5, 0, 8))  # H = 0 reduces to plain MoCo, bitwise
    assert torch.equal(plain[0], empty[0]) and torch.equal(plain[1], empty[1])
    with pytest.raises(ValueError, match=r"hard has shape \(5, 8\); expected \(B, H, D\) = \(5, H, 8\)"):
        info_nce(q, k, queue, 0.07, hard=torch.zeros(5, 8))


# ------------------------------------------------------------------------------------ model
def _tiny(*sets: str):
    cfg = load_config(TINY, list(sets))
    return cfg, DualStreamMoCo(cfg, "imigue22", 22, 3, seed=0)


@pytest.mark.parametrize("mode", ["cross", "both"])
def test_loss_gives_each_term_the_hard_negatives_of_its_key_stream(mode):
    cfg, m = _tiny(f'contrast.loss="{mode}"', 'contrast.hard_negatives="static+shuffled"')
    g = torch.Generator().manual_seed(3)
    q = {s: torch.randn(4, 8, generator=g) for s in ("graph", "recurrent")}
    k = {s: F.normalize(torch.randn(4, 8, generator=g), dim=1) for s in ("graph", "recurrent")}
    hard = {s: F.normalize(torch.randn(4, 2, 8, generator=g), dim=-1) for s in ("graph", "recurrent")}
    loss, logs = m.loss(q, k, hard=hard)
    tau = cfg.contrast.temperature

    def term(a, b):  # oracle: the queue of b and b's hard negatives (b: the key's stream)
        qa = F.normalize(q[a], dim=1).tolist()
        negs = [m.queues[b].keys.tolist() + hard[b][i].tolist() for i in range(4)]
        return _nce_oracle(qa, k[b].tolist(), negs, tau)

    pairs = [("graph", "recurrent"), ("recurrent", "graph")]
    pairs += [("graph", "graph"), ("recurrent", "recurrent")] if mode == "both" else []
    assert float(loss) == pytest.approx(np.mean([term(a, b) for a, b in pairs]), rel=1e-5)
    for a, b in pairs:  # fraction of queries whose positive beats both hard negatives
        qa = F.normalize(q[a], dim=1)
        beats = [float(qa[i] @ k[b][i]) > max(float(qa[i] @ h) for h in hard[b][i]) for i in range(4)]
        assert logs[f"hacc_{a}->{b}"] == pytest.approx(np.mean(beats))
    plain, plain_logs = m.loss(q, k)
    assert not any(key.startswith("hacc_") for key in plain_logs) and float(plain) < float(loss)


def test_keys_with_hard_are_the_keys_of_each_clip_in_one_forward():
    """In eval mode (no batch statistics) the joint forward equals separate forwards, per clip and kind."""
    _, m = _tiny()
    m.eval()
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 1, 16, 22, 3, generator=g)
    hard = torch.randn(2, 3, 1, 16, 22, 3, generator=g)
    lengths = torch.tensor([16, 9, 4])
    keys, negs = m.keys_with_hard(x, lengths, hard)
    ref = m.keys(x, lengths)
    for s in ("graph", "recurrent"):
        assert negs[s].shape == (3, 2, 8)
        assert torch.allclose(keys[s], ref[s], atol=1e-6)
        for j in range(2):
            assert torch.allclose(negs[s][:, j], m.keys(hard[j], lengths)[s], atol=1e-6)
    with pytest.raises(ValueError, match="expected"):
        m.keys_with_hard(x, lengths, hard[:, :2])


# ------------------------------------------------------------------------------------ builders
def _destroy_oracle(x: np.ndarray, lengths: list[int], kind: str, seed: int) -> np.ndarray:
    """Plain loops with the documented draws: clips in order, one integers(L) / permutation(L) each."""
    rng = np.random.default_rng(seed)
    y = np.zeros_like(x)
    for i, length in enumerate(lengths):
        if length < 1:
            continue
        src = [int(rng.integers(length))] * length if kind == "static" else rng.permutation(length).tolist()
        for t in range(length):
            y[i, :, t] = x[i, :, src[t]]
    return y


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 2), st.integers(1, 9), st.sampled_from(["static", "shuffled"]),
       st.integers(0, 10**6))
def test_destroy_motion_matches_loop_oracle_and_keeps_padding_and_lengths(n, m, t, kind, seed):
    g = np.random.default_rng(seed)
    lengths = g.integers(0, t + 1, size=n)
    x = g.normal(size=(n, m, t, 3, 2)).astype(np.float32)
    for i, length in enumerate(lengths.tolist()):
        x[i, :, length:] = 0.0  # zero padding
    xt = torch.from_numpy(x.copy())
    y = destroy_motion(xt, torch.from_numpy(lengths), kind, np.random.default_rng(seed))  # type: ignore[arg-type]
    assert torch.equal(xt, torch.from_numpy(x))  # the input is not modified
    np.testing.assert_array_equal(y.numpy(), _destroy_oracle(x, lengths.tolist(), kind, seed))
    for i, length in enumerate(lengths.tolist()):
        assert (y[i, :, length:] == 0).all()  # padding stays padding
        frames = sorted(map(tuple, y[i, :, :length].transpose(0, 1).reshape(length, m * 6).tolist()))
        source = sorted(map(tuple, x[i, :, :length].transpose(1, 0, 2, 3).reshape(length, m * 6).tolist()))
        if kind == "shuffled":
            assert frames == source  # the same frames, in another order
        elif length:
            assert len(set(frames)) == 1 and frames[0] in source  # one valid frame, held


def test_destroy_motion_is_deterministic_per_seed_and_rejects_bad_input():
    x = torch.randn(4, 1, 20, 22, 3, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([20, 17, 12, 8])
    for kind in ("static", "shuffled"):
        a = destroy_motion(x, lengths, kind, np.random.default_rng([7, 1]))
        b = destroy_motion(x, lengths, kind, np.random.default_rng([7, 1]))
        c = destroy_motion(x, lengths, kind, np.random.default_rng([7, 2]))
        assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="kind='reversed'"):
        destroy_motion(x, lengths, "reversed", np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"lengths \[21, 1, 1, 1\]: expected 4 values in 0..20"):
        destroy_motion(x, torch.tensor([21, 1, 1, 1]), "static", np.random.default_rng(0))


def test_hard_negative_views_keep_the_key_normalisation_and_recompute_velocity():
    cfg = load_config(TINY, ['model.input="position+velocity"', 'contrast.hard_negatives="static+shuffled"'])
    g = torch.Generator().manual_seed(5)
    pos = torch.randn(3, 1, 12, 22, 3, generator=g)
    lengths = torch.tensor([12, 7, 3])
    pos[(torch.arange(12)[None, :] >= lengths[:, None])[:, None]] = 0.0  # zero padding
    view = add_velocity(pos, lengths, 2)  # (x, y, score, vx, vy): the finished key view
    kw = {"epoch": 1, "step": 2, "rank": 0, "view": 1}
    hard = hard_negative_views(cfg, pos, lengths, "imigue22", **kw)  # from the view before the velocity
    assert hard.shape == (2, *view.shape)
    assert torch.equal(hard, hard_negative_views(cfg, pos, lengths, "imigue22", **kw))
    assert not torch.equal(hard, hard_negative_views(cfg, pos, lengths, "imigue22", **{**kw, "step": 3}))
    static, shuffled = hard
    assert (static[..., 3:] == 0).all()  # a held pose has no velocity
    for i, length in enumerate(lengths.tolist()):
        # each static frame is one of the view's own (normalised) poses, the same for all valid frames
        f = static[i, 0, 0, :, :3]
        assert any(torch.equal(f, pos[i, 0, s]) for s in range(length))
        assert (static[i, 0, :length, :, :3] == f).all() and (static[i, :, length:] == 0).all()
    assert torch.equal(shuffled[..., 3:], add_velocity(shuffled[..., :3], lengths, 2)[..., 3:])
    assert not torch.equal(shuffled, view)
    pos_only = load_config(TINY, ['contrast.hard_negatives="shuffled"'])  # position input: no velocity
    assert hard_negative_views(pos_only, pos, lengths, "imigue22", **kw).shape == (1, *pos.shape)
    with pytest.raises(ValueError, match="'none'"):
        hard_negative_views(load_config(TINY), pos, lengths, "imigue22", **kw)


def test_unknown_hard_negatives_value_is_a_clear_config_error():
    with pytest.raises(ConfigError, match=r"'contrast.hard_negatives' = 'reversed'; expected one of 'none', "
                                          r"'static', 'shuffled', 'static\+shuffled'"):
        load_config(TINY, ['contrast.hard_negatives="reversed"'])
    assert load_config(TINY).contrast.hard_negatives == "none"


# ------------------------------------------------------------------------------------ training
one_thread = pytest.mark.usefixtures("one_torch_thread")


@one_thread
def test_none_never_builds_hard_negatives(tmp_path, tiny_data, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("hard negatives built with contrast.hard_negatives = 'none'")

    monkeypatch.setattr(train_mod, "hard_negative_views", boom)
    cfg = load_config(TINY, ["optim.epochs=1"])
    pretrain(cfg, tmp_path, device="cpu", show_progress=False, datasets=tiny_data, stop_after_steps=2)
    assert not any(k.startswith("hacc_") for k in metrics_rows(tmp_path / "metrics.csv")[0])


@one_thread
@pytest.mark.parametrize("sets", [['contrast.hard_negatives="static"', 'model.input="position+velocity"'],
                                  ['contrast.hard_negatives="static+shuffled"', "contrast.symmetric=true"]],
                         ids=["static-velocity", "both-symmetric"])
def test_pretrain_with_hard_negatives_resumes_exactly_and_never_enqueues_them(tmp_path, tiny_data, sets):
    cfg = load_config(TINY, ["optim.epochs=1", "train.checkpoint_every=2", 'contrast.loss="both"', *sets])
    steps = len(tiny_data[0]) // cfg.optim.batch_size
    full = pretrain(cfg, tmp_path / "full", device="cpu", show_progress=False, datasets=tiny_data)
    pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data, stop_after_steps=3)
    again = pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data)
    assert again["loss"] == full["loss"] and math.isfinite(full["loss"])
    a = torch.load(tmp_path / "full/last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "part/last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = metrics_rows(tmp_path / "full/metrics.csv")
    assert rows == metrics_rows(tmp_path / "part/metrics.csv")
    assert {"hacc_graph->recurrent", "hacc_recurrent->recurrent"} <= set(rows[0])
    per_step = cfg.optim.batch_size * (2 if cfg.contrast.symmetric else 1)  # keys only, no hard negatives
    assert int(a["queues.graph.ptr"]) == steps * per_step % cfg.contrast.queue_size

"""Cross-stream positive mining (``contrast.mine_k``): the multi-positive InfoNCE against closed forms
and loop oracles, the mined indices against a NumPy top-k, routing of the mining streams, the warm-up
switch, exact resume and 2-process DDP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from _mg_common import DDP_SETS, TINY, ddp_worker, free_port, metrics_rows
from hypothesis import given
from hypothesis import strategies as st

from reference_models.mg_contrastive import model as model_mod
from reference_models.mg_contrastive.config import ConfigError, load_config
from reference_models.mg_contrastive.model import DualStreamMoCo, KeyQueue, info_nce, mine_positives
from reference_models.mg_contrastive.train import pretrain

STREAMS = ("graph", "recurrent")


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def _multi_oracle(q, k, queue, tau, positives, form, keep=None, hard=None):
    """Plain loops: per query, logits [q.k, q.Q_j for kept j, q.h for its hard negatives] / tau; positives
    are the key and the kept mined j; "sum": -log(sum_pos e / sum_all e), "mean": -mean_pos log(e / sum)."""
    total = 0.0
    for i in range(len(q)):
        kept = [j for j in range(len(queue)) if keep is None or keep[i][j]]
        pos_logits = [_dot(q[i], k[i]) / tau] + [_dot(q[i], queue[j]) / tau for j in kept if positives[i][j]]
        all_logits = [_dot(q[i], k[i]) / tau] + [_dot(q[i], queue[j]) / tau for j in kept]
        all_logits += [_dot(q[i], h) / tau for h in (hard[i] if hard is not None else [])]
        z = sum(math.exp(v) for v in all_logits)
        if form == "sum":
            total += -math.log(sum(math.exp(v) for v in pos_logits) / z)
        else:
            total += -sum(math.log(math.exp(v) / z) for v in pos_logits) / len(pos_logits)
    return total / len(q)


# ------------------------------------------------------------------------------------ info_nce
def test_multi_positive_info_nce_closed_form_by_hand():
    # tau = 1; query 0: key 1, queue (0, -1, 1) with entries 0 and 2 mined; query 1: key 0, queue (1, 0, 0),
    # entry 1 mined
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]])
    mined = torch.tensor([[True, False, True], [False, True, False]])
    e = math.exp
    z0, z1 = e(1) + e(0) + e(-1) + e(1), e(0) + e(1) + e(0) + e(0)
    loss, acc = info_nce(q, k, queue, 1.0, positives=mined)
    assert float(loss) == pytest.approx((-math.log((e(1) + e(0) + e(1)) / z0) - math.log((e(0) + e(0)) / z1)) / 2)
    mean, acc_mean = info_nce(q, k, queue, 1.0, positives=mined, form="mean")
    l0 = -(math.log(e(1) / z0) + math.log(e(0) / z0) + math.log(e(1) / z0)) / 3
    l1 = -(math.log(e(0) / z1) + math.log(e(0) / z1)) / 2
    assert float(mean) == pytest.approx((l0 + l1) / 2)
    # the accuracy is still that of the key (query 0's key ties with the mined entry 2: argmax takes index 0)
    assert float(acc) == float(acc_mean) == 0.5
    # no mined entry: both forms are plain InfoNCE
    none = torch.zeros(2, 3, dtype=torch.bool)
    plain, _ = info_nce(q, k, queue, 1.0)
    for form in ("sum", "mean"):
        assert float(info_nce(q, k, queue, 1.0, positives=none, form=form)[0]) == pytest.approx(float(plain))


@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 2), st.integers(2, 4), st.floats(0.05, 1.0),
       st.sampled_from(["sum", "mean"]), st.booleans(), st.integers(0, 10**6))
def test_multi_positive_info_nce_matches_loop_oracle(b, kq, h, d, tau, form, masked, seed):
    g = torch.Generator().manual_seed(seed)

    def unit(*shape):
        return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)

    q, k, queue, hard = unit(b, d), unit(b, d), unit(kq, d), unit(b, h, d)
    positives = torch.rand(b, kq, generator=g) < 0.4
    mask = torch.rand(b, kq, generator=g) < 0.6 if masked else None
    loss, acc = info_nce(q, k, queue, tau, mask, hard if h else None, positives, form)
    keep = None if mask is None else mask.tolist()
    expected = _multi_oracle(q.tolist(), k.tolist(), queue.tolist(), tau, positives.tolist(), form, keep,
                             hard.tolist() if h else None)
    assert float(loss) == pytest.approx(expected, rel=1e-9)
    assert float(acc) == float(info_nce(q, k, queue, tau, mask, hard if h else None)[1])


def test_info_nce_without_positives_is_the_old_cross_entropy_bitwise_and_gradients_stay_finite():
    g = torch.Generator().manual_seed(0)
    q = F.normalize(torch.randn(6, 8, generator=g), dim=1)
    k = F.normalize(torch.randn(6, 8, generator=g), dim=1)
    queue = F.normalize(torch.randn(10, 8, generator=g), dim=1)
    loss, _ = info_nce(q, k, queue, 0.07)
    old = F.cross_entropy(torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / 0.07,
                          torch.zeros(6, dtype=torch.long))
    assert torch.equal(loss, old)
    # every queue entry masked out, some of them mined: finite loss and gradient in both forms
    for form in ("sum", "mean"):
        qq = q.clone().requires_grad_(True)
        out, _ = info_nce(qq, k, queue, 0.07, torch.zeros(6, 10, dtype=torch.bool), None,
                          torch.ones(6, 10, dtype=torch.bool), form)
        out.backward()
        assert torch.isfinite(out) and torch.isfinite(qq.grad).all()
        assert float(out.detach()) == pytest.approx(0.0, abs=1e-6)  # the key is the only logit left
    with pytest.raises(ValueError, match=r"positives has shape \(6, 9\)"):
        info_nce(q, k, queue, 0.07, positives=torch.zeros(6, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match="form='max'"):
        info_nce(q, k, queue, 0.07, positives=torch.zeros(6, 10, dtype=torch.bool), form="max")


# ------------------------------------------------------------------------------------ mine_positives
@given(st.integers(1, 4), st.integers(1, 8), st.integers(0, 8), st.booleans(), st.integers(0, 10**6))
def test_mine_positives_are_the_top_k_of_the_similarities(b, kq, k, masked, seed):
    k = min(k, kq)
    g = torch.Generator().manual_seed(seed)
    key = F.normalize(torch.randn(b, 3, generator=g, dtype=torch.float64), dim=1)
    queue = F.normalize(torch.randn(kq, 3, generator=g, dtype=torch.float64), dim=1)
    mask = torch.rand(b, kq, generator=g) < 0.5 if masked else None
    got = mine_positives(key, queue, k, mask)
    sim = key.numpy() @ queue.numpy().T
    for i in range(b):  # oracle: sort the candidates by similarity, take the k largest
        cand = [j for j in range(kq) if mask is None or bool(mask[i, j])]
        top = sorted(cand, key=lambda j, i=i: -sim[i, j])[:k]
        assert sorted(np.flatnonzero(got[i].numpy()).tolist()) == sorted(top)
    with pytest.raises(ValueError, match=f"k={kq + 1}; use 0..{kq}"):
        mine_positives(key, queue, kq + 1)


# ------------------------------------------------------------------------------------ model
def _tiny(*sets: str) -> tuple:
    cfg = load_config(TINY, list(sets))
    return cfg, DualStreamMoCo(cfg, "imigue22", 22, 3, seed=0)


def _inputs(seed: int, b: int = 5) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    q = {s: torch.randn(b, 8, generator=g) for s in STREAMS}
    k = {s: F.normalize(torch.randn(b, 8, generator=g), dim=1) for s in STREAMS}
    return q, k


@pytest.mark.parametrize(("space", "form", "mode"), [("other", "sum", "both"), ("other", "mean", "cross"),
                                                     ("same", "sum", "both")])
def test_loss_mines_each_term_in_the_right_stream(space, form, mode):
    cfg, m = _tiny("contrast.mine_k=3", f'contrast.mine_space="{space}"', f'contrast.mine_loss="{form}"',
                   f'contrast.loss="{mode}"')
    q, k = _inputs(1)
    loss, logs = m.loss(q, k, mine=True)
    tau = cfg.contrast.temperature

    def top3(s):  # oracle: the 3 queue entries of stream s most similar to each key of s
        sim = (k[s] @ m.queues[s].keys.t()).tolist()
        return [[j in sorted(range(len(row)), key=lambda j, row=row: -row[j])[:3] for j in range(len(row))]
                for row in sim]

    other = {"graph": "recurrent", "recurrent": "graph"}
    pairs = [("graph", "recurrent"), ("recurrent", "graph")]
    pairs += [("graph", "graph"), ("recurrent", "recurrent")] if mode == "both" else []
    terms = []
    for a, b in pairs:
        miner = other[b] if space == "other" else b
        qa = F.normalize(q[a], dim=1).tolist()
        terms.append(_multi_oracle(qa, k[b].tolist(), m.queues[b].keys.tolist(), tau, top3(miner), form))
        assert logs[f"loss_{a}->{b}"] == pytest.approx(terms[-1], rel=1e-5)
    assert float(loss) == pytest.approx(np.mean(terms), rel=1e-5)
    g3, r3 = np.array(top3("graph")), np.array(top3("recurrent"))
    assert logs["mine_overlap"] == pytest.approx((g3 & r3).sum() / (5 * 3))


def test_mining_off_is_the_plain_loss_bitwise():
    """``mine_k = 0``, or ``mine_k > 0`` before the warm-up ends (``mine=False``): the loss of no mining."""
    _, plain = _tiny('contrast.loss="both"')
    _, warm = _tiny('contrast.loss="both"', "contrast.mine_k=4")
    q, k = _inputs(2)
    a, la = plain.loss(q, k)
    b, lb = warm.loss(q, k, mine=False)
    c, lc = plain.loss(q, k, mine=True)  # mine_k = 0: the flag changes nothing
    assert torch.equal(a, b) and torch.equal(a, c) and la == lc
    assert math.isnan(lb.pop("mine_overlap")) and la == lb
    on, _ = warm.loss(q, k, mine=True)
    assert float(on) < float(a)  # extra positives can only raise the positive mass ("sum")


def test_mining_with_same_subject_negatives_keeps_to_the_subject():
    cfg, m = _tiny("contrast.mine_k=2", 'contrast.negatives="same_subject"', 'contrast.loss="both"')
    g = torch.Generator().manual_seed(3)
    for s in STREAMS:
        m.queues[s].enqueue(F.normalize(torch.randn(32, 8, generator=g), dim=1), torch.arange(32) % 4)
    q, k = _inputs(4, b=4)
    subjects = torch.tensor([0, 1, 2, 3])
    mined = m.mined(k, subjects)
    for s in STREAMS:
        assert mined[s].sum(1).tolist() == [2] * 4
        rows, cols = mined[s].nonzero(as_tuple=True)
        assert (m.queues[s].subjects[cols] == subjects[rows]).all()
    loss, _ = m.loss(q, k, subjects, mine=True)
    assert torch.isfinite(loss)


def test_mining_config_is_validated():
    with pytest.raises(ConfigError, match=r"'contrast.mine_k' = 32 must be below contrast.queue_size = 32"):
        load_config(TINY, ["contrast.mine_k=32"])
    with pytest.raises(ConfigError, match=r"'contrast.mine_k' = -1; it must be >= 0"):
        load_config(TINY, ["contrast.mine_k=-1"])
    with pytest.raises(ConfigError, match=r"use contrast.mine_space = 'same' for a single stream"):
        load_config(TINY, ["contrast.mine_k=2", 'model.streams=["graph"]', 'contrast.loss="within"'])
    with pytest.raises(ConfigError, match=r"'contrast.mine_loss' = 'max'; expected one of 'sum', 'mean'"):
        load_config(TINY, ['contrast.mine_loss="max"'])
    cfg = load_config(TINY, ["contrast.mine_k=2", 'model.streams=["graph"]', 'contrast.loss="within"',
                             'contrast.mine_space="same"'])
    m = DualStreamMoCo(cfg, "imigue22", 22, 3, seed=0)
    loss, logs = m.loss({"graph": torch.randn(3, 8)}, {"graph": F.normalize(torch.randn(3, 8), dim=1)}, mine=True)
    assert torch.isfinite(loss) and "mine_overlap" not in logs  # one stream: nothing to overlap with


# ------------------------------------------------------------------------------------ training
one_thread = pytest.mark.usefixtures("one_torch_thread")


@one_thread
def test_mining_switches_on_after_the_warm_up_and_resumes_exactly(tmp_path, tiny_data, monkeypatch):
    base = ["optim.epochs=2", 'contrast.loss="both"', "train.checkpoint_every=2"]
    steps = len(tiny_data[0]) // 8
    calls: list[int] = []
    real = model_mod.mine_positives

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(model_mod, "mine_positives", counting)
    off = pretrain(load_config(TINY, base), tmp_path / "off", device="cpu", show_progress=False, datasets=tiny_data)
    assert not calls  # mine_k = 0 never mines
    cfg = load_config(TINY, [*base, "contrast.mine_k=3", "contrast.mine_after=1"])
    full = pretrain(cfg, tmp_path / "full", device="cpu", show_progress=False, datasets=tiny_data)
    assert len(calls) == 2 * steps  # both streams, every step of epoch 1 only
    ra, rb = metrics_rows(tmp_path / "off/metrics.csv"), metrics_rows(tmp_path / "full/metrics.csv")
    for a, b in zip(ra, rb, strict=True):
        overlap = b.pop("mine_overlap")
        if int(b["epoch"]) == 0:  # warm-up: the same training as without mining, to the bit
            assert a == b and overlap == "nan"
        else:
            assert 0.0 <= float(overlap) <= 1.0
    assert ra[steps - 1] == rb[steps - 1] and ra[-1]["loss"] != rb[-1]["loss"]
    # a run stopped mid-epoch 1 (mining on) and resumed from its checkpoint ends identical
    pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data,
             stop_after_steps=steps + 3)
    again = pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data)
    assert again["loss"] == full["loss"] and math.isfinite(full["loss"]) and off["loss"] != full["loss"]
    a = torch.load(tmp_path / "full/last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "part/last.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_rows(tmp_path / "full/metrics.csv") == metrics_rows(tmp_path / "part/metrics.csv")


# ------------------------------------------------------------------------------------ DDP (2 gloo processes)
MINING_DDP_SETS = [*DDP_SETS, "contrast.loss='both'", "contrast.mine_k=3"]


@one_thread
def test_ddp_mining_per_rank_against_the_gathered_queue_matches_one_process(tmp_path):
    """Each rank mines for its half batch against the full (gathered) queue: the same positives as one
    process mining for the whole batch, so weights, queues and losses agree to float tolerance."""
    mp.spawn(ddp_worker, args=(2, free_port(), str(tmp_path / "ddp"), MINING_DDP_SETS), nprocs=2, join=True)
    pretrain(load_config(TINY, MINING_DDP_SETS), tmp_path / "single", device="cpu", show_progress=False)
    r0, r1 = torch.load(tmp_path / "ddp/rank0.pt"), torch.load(tmp_path / "ddp/rank1.pt")
    one = torch.load(tmp_path / "single/last.pt", weights_only=False)["model"]
    for k in ("queues.graph.keys", "queues.recurrent.keys"):
        assert torch.equal(r0[k], r1[k]), k
    for k, v in one.items():
        assert torch.allclose(r0[k].double(), v.double(), atol=2e-5), (k, float((r0[k] - v).abs().max()))
    ra, rb = metrics_rows(tmp_path / "ddp/run/metrics.csv"), metrics_rows(tmp_path / "single/metrics.csv")
    for col in ("loss", "mine_overlap"):
        assert [float(r[col]) for r in ra] == pytest.approx([float(r[col]) for r in rb], abs=1e-4)


# ------------------------------------------------------------------------------------ mining among other subjects
def test_mining_among_other_subjects_never_picks_the_clips_subject_nor_the_initial_keys():
    _, m = _tiny("contrast.mine_k=3", 'contrast.mine_subjects="other"', 'contrast.loss="both"')
    g = torch.Generator().manual_seed(5)
    for s in STREAMS:  # 24 of the 32 entries are clips of subjects 0-3; 8 are still the random initial keys
        m.queues[s].enqueue(F.normalize(torch.randn(24, 8, generator=g), dim=1), torch.arange(24) % 4)
    q, k = _inputs(6, b=4)
    subjects = torch.tensor([0, 1, 2, 7])  # subject 7 has no clip in the queue: all 24 are candidates
    mined = m.mined(k, subjects)
    for s in STREAMS:
        queue_subj = m.queues[s].subjects
        sim = (k[s] @ m.queues[s].keys.t()).numpy()
        for i in range(4):  # oracle: the 3 most similar entries among other subjects' clips
            cand = [j for j in range(32) if int(queue_subj[j]) not in (int(subjects[i]), KeyQueue.NO_SUBJECT)]
            top = sorted(cand, key=lambda j, i=i: -sim[i, j])[:3]
            assert sorted(np.flatnonzero(mined[s][i].numpy()).tolist()) == sorted(top)
    loss, _ = m.loss(q, k, subjects, mine=True)
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match=r"contrast\.mine_subjects = 'other' needs the subject ids"):
        m.mined(k)
    with pytest.raises(ConfigError, match=r"'contrast\.mine_subjects' = 'other' cannot be combined"):
        load_config(TINY, ["contrast.mine_k=2", 'contrast.mine_subjects="other"', 'contrast.negatives="same_subject"'])


# ------------------------------------------------------------------------------------ label positives (SupCon)
@pytest.mark.parametrize(("form", "mode"), [("sum", "both"), ("mean", "cross")])
def test_label_positives_are_the_queue_entries_of_the_query_class(form, mode):
    cfg, m = _tiny('contrast.positives="label"', f'contrast.mine_loss="{form}"', f'contrast.loss="{mode}"')
    g = torch.Generator().manual_seed(7)
    for s in STREAMS:  # 24 labelled entries (classes 0-3); 8 random initial keys of no class
        m.queues[s].enqueue(F.normalize(torch.randn(24, 8, generator=g), dim=1), None, torch.arange(24) % 4)
    q, k = _inputs(8)
    labels = torch.tensor([0, 1, 2, 3, 9])  # class 9 has no queue entry: the key is its only positive
    loss, logs = m.loss(q, k, labels=labels, mine=True)  # `mine` changes nothing: mine_k = 0
    pairs = [("graph", "recurrent"), ("recurrent", "graph")]
    pairs += [("graph", "graph"), ("recurrent", "recurrent")] if mode == "both" else []
    terms = []
    for a, b in pairs:
        qlab = m.queues[b].labels.tolist()
        pos = [[qlab[j] == int(labels[i]) for j in range(32)] for i in range(5)]
        assert sum(map(sum, pos)) == 4 * 6
        qa = F.normalize(q[a], dim=1).tolist()
        terms.append(_multi_oracle(qa, k[b].tolist(), m.queues[b].keys.tolist(), cfg.contrast.temperature, pos,
                                   form))
        assert logs[f"loss_{a}->{b}"] == pytest.approx(terms[-1], rel=1e-5)
    assert float(loss) == pytest.approx(np.mean(terms), rel=1e-5)
    with pytest.raises(ValueError, match=r"contrast\.positives = 'label' needs the class labels"):
        m.loss(q, k)
    with pytest.raises(ConfigError, match=r"set contrast\.mine_k = 0"):
        load_config(TINY, ['contrast.positives="label"', "contrast.mine_k=2"])
    with pytest.raises(ConfigError, match=r"'contrast\.positives' = 'labels'; expected one of 'instance', 'label'"):
        load_config(TINY, ['contrast.positives="labels"'])


def test_label_positives_refuse_unlabelled_clips():
    from reference_models.mg_contrastive.data import Batch
    from reference_models.mg_contrastive.train import _positive_labels

    batch = Batch(torch.zeros(3, 1, 4, 22, 3), torch.full((3,), 4), torch.tensor([2, -1, -1]))
    with pytest.raises(ValueError, match=r"2 clip\(s\) of this batch have label -1 \(none\)"):
        _positive_labels(batch)
    assert _positive_labels(Batch(batch.data, batch.lengths, torch.tensor([2, 0, 1]))).tolist() == [2, 0, 1]


@one_thread
@pytest.mark.parametrize("symmetric", [False, True])
def test_label_positives_queue_the_batch_labels_and_resume_exactly(tmp_path, tiny_data, symmetric):
    """The queues hold each key's class: after training, the last entries are the last batch's labels (twice
    with symmetric views); a run stopped mid-way and resumed ends identical."""
    from reference_models.mg_contrastive.data import Batch, make_loader

    cfg = load_config(TINY, ["optim.epochs=2", 'contrast.loss="both"', 'contrast.positives="label"',
                             f"contrast.symmetric={str(symmetric).lower()}", "train.checkpoint_every=2"])
    full = pretrain(cfg, tmp_path / "full", device="cpu", show_progress=False, datasets=tiny_data)
    steps = len(tiny_data[0]) // cfg.optim.batch_size
    last = list(make_loader(tiny_data[0], cfg.optim.batch_size, seed=cfg.seed, epoch=1))[steps - 1]
    lab = Batch.from_items(last).labels
    b = cfg.optim.batch_size * (2 if symmetric else 1)
    for s in STREAMS:
        q = full["model"].queue(s)
        idx = (int(q.ptr) - b + torch.arange(b)) % q.size
        assert q.labels[idx].tolist() == (lab.tolist() * 2 if symmetric else lab.tolist())
        assert not q.track_subjects
    pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data,
             stop_after_steps=steps + 1)
    again = pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data)
    assert again["loss"] == full["loss"] and math.isfinite(full["loss"])
    assert metrics_rows(tmp_path / "full/metrics.csv") == metrics_rows(tmp_path / "part/metrics.csv")
    plain = pretrain(load_config(TINY, ["optim.epochs=2", 'contrast.loss="both"']), tmp_path / "plain",
                     device="cpu", show_progress=False, datasets=tiny_data)
    assert plain["loss"] != full["loss"]


# ------------------------------------------------------------------------------------ noisy label positives
def test_noisy_labels_replace_the_picked_fraction_with_uniform_classes():
    from reference_models.mg_contrastive.data import noisy_labels

    y = np.repeat(np.arange(8), 500)
    keep = y.copy()
    assert (noisy_labels(y, 0.0, 8, seed=3) == y).all()
    z = noisy_labels(y, 0.3, 8, seed=3)
    assert (y == keep).all() and z.dtype == np.int64 and z.min() >= 0 and z.max() < 8
    assert (z == noisy_labels(y, 0.3, 8, seed=3)).all() and (z != noisy_labels(y, 0.3, 8, seed=4)).any()
    # a picked clip keeps its class with probability 1/K: P(changed) = 0.3 * 7/8, binomial sd over 4000 clips
    p = 0.3 * 7 / 8
    assert abs((z != y).mean() - p) < 4 * math.sqrt(p * (1 - p) / y.size)
    every = noisy_labels(y, 1.0, 8, seed=3)  # all drawn anew: uniform over the classes, whatever the label
    counts = np.bincount(every, minlength=8)
    assert (abs(counts - y.size / 8) < 4 * math.sqrt(y.size / 8)).all()
    with pytest.raises(ValueError, match=r"fraction=1\.5; use a value in \[0, 1\]"):
        noisy_labels(y, 1.5, 8, seed=0)


def test_label_noise_config_is_validated():
    with pytest.raises(ConfigError, match=r"'contrast\.label_noise' = 0\.2 only applies to contrast\.positives = "
                                          r"'label' \(it is 'instance'\)"):
        load_config(TINY, ["contrast.label_noise=0.2"])
    with pytest.raises(ConfigError, match=r"'contrast\.label_noise' = -0\.1; use a value in \[0, 1\]"):
        load_config(TINY, ['contrast.positives="label"', "contrast.label_noise=-0.1"])
    assert load_config(TINY, ['contrast.positives="label"', "contrast.label_noise=1.0"]).contrast.label_noise == 1.0


@one_thread
def test_label_noise_queues_the_clips_noisy_classes(tmp_path, tiny_data):
    """With ``label_noise`` the queues hold the noisy class of each clip (the table of ``noisy_labels``,
    looked up by the clip's index), not its true label; the training differs from noise-free label positives."""
    from reference_models.mg_contrastive.data import make_loader, noisy_labels

    sets = ["optim.epochs=1", 'contrast.loss="both"', 'contrast.positives="label"']
    cfg = load_config(TINY, [*sets, "contrast.label_noise=0.6"])
    run = pretrain(cfg, tmp_path / "noisy", device="cpu", show_progress=False, datasets=tiny_data)
    train = tiny_data[0]
    k = len(train.class_names)
    table = noisy_labels(np.asarray(train.labels), 0.6, k, cfg.seed)
    steps = len(train) // cfg.optim.batch_size
    last = list(make_loader(train, cfg.optim.batch_size, seed=cfg.seed, epoch=0))[steps - 1]
    idx_last = torch.as_tensor(last["index"]).long().numpy()
    assert (table[idx_last] != np.asarray(last["label"])).any()  # the check below can tell noisy from true
    b = cfg.optim.batch_size
    for s in STREAMS:
        q = run["model"].queue(s)
        idx = (int(q.ptr) - b + torch.arange(b)) % q.size
        assert q.labels[idx].tolist() == table[idx_last].tolist()
    clean = pretrain(load_config(TINY, sets), tmp_path / "clean", device="cpu", show_progress=False,
                     datasets=tiny_data)
    assert clean["loss"] != run["loss"] and math.isfinite(run["loss"])

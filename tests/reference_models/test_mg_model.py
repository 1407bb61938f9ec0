"""Contrastive building blocks against closed forms: InfoNCE, the key queue, momentum update, loss routing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _mg_common import TINY
from hypothesis import given
from hypothesis import strategies as st

from reference_models.mg_contrastive.config import load_config, load_config_dict
from reference_models.mg_contrastive.model import DualStreamMoCo, GraphStream, KeyQueue, info_nce, seeded_init
from skelaug import layouts
from skelaug.nn import STGCNEncoder


def _nce_oracle(q, k, queue, tau):
    """-mean_i log(exp(q_i.k_i/tau) / (exp(q_i.k_i/tau) + sum_j exp(q_i.n_j/tau))), plain loops."""
    total = 0.0
    for i in range(len(q)):
        pos = math.exp(sum(a * b for a, b in zip(q[i], k[i], strict=True)) / tau)
        neg = sum(math.exp(sum(a * b for a, b in zip(q[i], n, strict=True)) / tau) for n in queue)
        total += -math.log(pos / (pos + neg))
    return total / len(q)


def test_info_nce_closed_form_by_hand():
    # q = k: positive logit 1/tau; queue orthogonal (0) and opposite (-1)
    q = torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    loss, acc = info_nce(q, q, queue, 0.5)
    expected = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-2)))
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert float(acc) == 1.0
    # the positive ranked below a negative: accuracy 0, loss above log(K + 1)
    loss, acc = info_nce(q, torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]]), 1.0)
    assert float(loss) == pytest.approx(-math.log(1 / (1 + math.e)), rel=1e-6)
    assert float(acc) == 0.0


@given(st.integers(1, 4), st.integers(1, 5), st.integers(2, 4), st.floats(0.05, 1.0), st.integers(0, 10**6))
def test_info_nce_matches_loop_oracle(b, kq, d, tau, seed):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, d, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(torch.randn(b, d, generator=g, dtype=torch.float64), dim=1)
    queue = F.normalize(torch.randn(kq, d, generator=g, dtype=torch.float64), dim=1)
    loss, _ = info_nce(q, k, queue, tau)
    assert float(loss) == pytest.approx(_nce_oracle(q.tolist(), k.tolist(), queue.tolist(), tau), rel=1e-9)


@given(st.integers(1, 4), st.integers(1, 6), st.floats(0.05, 1.0), st.integers(0, 10**6))
def test_info_nce_with_mask_matches_oracle_on_the_kept_negatives(b, kq, tau, seed):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, 3, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(torch.randn(b, 3, generator=g, dtype=torch.float64), dim=1)
    queue = F.normalize(torch.randn(kq, 3, generator=g, dtype=torch.float64), dim=1)
    mask = torch.rand(b, kq, generator=g) < 0.5
    loss, _ = info_nce(q, k, queue, tau, mask)
    # oracle: each query's own InfoNCE over its kept negatives only (none kept: loss 0)
    per = [
        _nce_oracle([q[i].tolist()], [k[i].tolist()], queue[mask[i]].tolist(), tau) for i in range(b)
    ]
    assert float(loss) == pytest.approx(float(np.mean(per)), rel=1e-9, abs=1e-12)
    assert torch.isfinite(loss)


def test_info_nce_mask_gradient_is_finite_when_every_negative_is_masked():
    q = F.normalize(torch.randn(2, 4), dim=1).requires_grad_(True)
    k = F.normalize(torch.randn(2, 4), dim=1)
    loss, acc = info_nce(q, k, F.normalize(torch.randn(3, 4), dim=1), 0.1, torch.zeros(2, 3, dtype=torch.bool))
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(acc) == 1.0 and torch.isfinite(q.grad).all()


def test_queue_keeps_subjects_with_its_keys():
    q = KeyQueue(4, 1, torch.Generator().manual_seed(0), subjects=True)
    assert (q.subjects == KeyQueue.NO_SUBJECT).all()
    q.enqueue(torch.ones(3, 1), torch.tensor([7, 8, 9]))
    q.enqueue(2 * torch.ones(2, 1), torch.tensor([5, 6]))
    assert q.keys[:, 0].tolist() == [2, 1, 1, 2] and q.subjects.tolist() == [6, 8, 9, 5]
    with pytest.raises(ValueError, match="subjects"):
        q.enqueue(torch.ones(1, 1))
    assert "subjects" not in KeyQueue(4, 1, torch.Generator().manual_seed(0)).state_dict()


@given(st.lists(st.integers(1, 7), min_size=1, max_size=6), st.integers(1, 9))
def test_queue_is_a_ring_buffer(batches, size):
    q = KeyQueue(size, 2, torch.Generator().manual_seed(0))
    init = q.keys.clone()
    ref = init.tolist()
    ptr = counter = 0
    for b in batches:
        keys = torch.arange(counter, counter + b, dtype=torch.float32)[:, None].repeat(1, 2)
        counter += b
        q.enqueue(keys)
        for r in keys.tolist():  # oracle: write one key at a time
            ref[ptr] = r
            ptr = (ptr + 1) % size
        assert q.keys.tolist() == ref
        assert int(q.ptr) == ptr
    assert torch.allclose(init.norm(dim=1), torch.ones(size))


def test_queue_pointer_after_wrap():
    q = KeyQueue(5, 1, torch.Generator().manual_seed(0))
    q.enqueue(torch.ones(3, 1))
    q.enqueue(2 * torch.ones(4, 1))
    assert int(q.ptr) == 2
    assert q.keys[:, 0].tolist() == [2, 2, 1, 2, 2]


def _tiny_model(**sets):
    cfg = load_config(TINY, [f"{k}={v!r}".replace("'", '"') for k, v in sets.items()])
    return cfg, DualStreamMoCo(cfg, "imigue22", 22, 3, seed=0)


def test_momentum_update_formula():
    cfg, m = _tiny_model()
    with torch.no_grad():
        for p in m.online.parameters():
            p.add_(1.0)
    before = [p.clone() for p in m.target.parameters()]
    online = [p.clone() for p in m.online.parameters()]
    m.momentum_update()
    mom = cfg.contrast.momentum
    for t, b, o in zip(m.target.parameters(), before, online, strict=True):
        assert torch.allclose(t, mom * b + (1 - mom) * o, atol=1e-7)
    assert all(not p.requires_grad for p in m.target.parameters())


@pytest.mark.parametrize("mode", ["cross", "within", "both"])
def test_loss_routes_queries_to_the_right_keys_and_queues(mode):
    cfg, m = _tiny_model(**{"contrast.loss": mode})
    g = torch.Generator().manual_seed(1)
    q = {s: torch.randn(4, 8, generator=g) for s in ("graph", "recurrent")}
    k = {s: F.normalize(torch.randn(4, 8, generator=g), dim=1) for s in ("graph", "recurrent")}
    loss, logs = m.loss(q, k)
    tau = cfg.contrast.temperature

    def term(a, b):
        return float(info_nce(F.normalize(q[a], dim=1), k[b], m.queues[b].keys, tau)[0])

    cross = [term("graph", "recurrent"), term("recurrent", "graph")]
    within = [term("graph", "graph"), term("recurrent", "recurrent")]
    expected = {"cross": cross, "within": within, "both": cross + within}[mode]
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-6)
    assert len([key for key in logs if key.startswith("loss_")]) == len(expected)
    if mode == "cross":
        assert logs["loss_graph->recurrent"] == pytest.approx(cross[0], rel=1e-6)


@pytest.mark.parametrize("mode", ["cross", "both"])
def test_same_subject_negatives_are_only_the_queue_keys_of_the_query_subject(mode):
    cfg, m = _tiny_model(**{"contrast.loss": mode, "contrast.negatives": "same_subject"})
    g = torch.Generator().manual_seed(2)
    for s in ("graph", "recurrent"):
        size = m.queues[s].size
        m.queues[s].enqueue(F.normalize(torch.randn(size, 8, generator=g), dim=1), torch.arange(size) % 3)
    q = {s: torch.randn(4, 8, generator=g) for s in ("graph", "recurrent")}
    k = {s: F.normalize(torch.randn(4, 8, generator=g), dim=1) for s in ("graph", "recurrent")}
    subjects = torch.tensor([0, 1, 2, 1])
    loss, logs = m.loss(q, k, subjects)
    tau = cfg.contrast.temperature

    def term(a, b):  # oracle: per query, the plain InfoNCE against its subject's keys only
        keys, subj = m.queues[b].keys, m.queues[b].subjects
        qa = F.normalize(q[a], dim=1)
        return np.mean([
            _nce_oracle([qa[i].tolist()], [k[b][i].tolist()], keys[subj == subjects[i]].tolist(), tau)
            for i in range(4)
        ])

    pairs = [("graph", "recurrent"), ("recurrent", "graph")]
    pairs += [("graph", "graph"), ("recurrent", "recurrent")] if mode == "both" else []
    assert float(loss) == pytest.approx(np.mean([term(a, b) for a, b in pairs]), rel=1e-5)
    with pytest.raises(ValueError, match="subject ids"):
        m.loss(q, k)


def test_single_stream_model_is_moco():
    cfg = load_config(TINY, ['model.streams=["graph"]', 'contrast.loss="within"'])
    m = DualStreamMoCo(cfg, "imigue22", 22, 3, seed=0)
    assert list(m.queues) == ["graph"] and list(m.online.streams) == ["graph"]
    loss, logs = m.loss({"graph": torch.randn(3, 8)}, {"graph": F.normalize(torch.randn(3, 8), dim=1)})
    assert set(logs) == {"loss_graph->graph", "acc_graph->graph"} and torch.isfinite(loss)


def test_same_seed_same_weights_and_no_global_rng_use():
    state = torch.get_rng_state()
    _, a = _tiny_model()
    _, b = _tiny_model()
    assert torch.equal(torch.get_rng_state(), state)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    c = DualStreamMoCo(load_config(TINY), "imigue22", 22, 3, seed=1)
    assert not torch.equal(c.online.heads["graph"].net[0].weight, a.online.heads["graph"].net[0].weight)


def test_graph_stream_without_fusion_equals_stgcn_encoder():
    """With the fusion block off, the graph stream is exactly skelaug's STGCNEncoder (masked pooling)."""
    cfg = load_config_dict({"model": {"graph": {"widths": [8, 16], "strides": [1, 2], "fusion": False}}})
    with seeded_init(0):
        gs = GraphStream(3, "imigue22", cfg.model.graph).eval()
        enc = STGCNEncoder(3, layouts.get("imigue22"), widths=[8, 16], strides=[1, 2]).eval()
    enc.load_state_dict(gs.encoder.state_dict())
    x = torch.randn(3, 2, 11, 22, 3, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([11, 4, 7])
    assert torch.allclose(gs(x, lengths), enc(x, lengths), atol=1e-6)


def test_graph_stream_fusion_gets_strided_valid_lengths():
    cfg = load_config_dict({"model": {"graph": {"widths": [8, 16, 16], "strides": [2, 1, 2], "fusion_after": 1}}})
    with seeded_init(0):
        gs = GraphStream(3, "imigue22", cfg.model.graph)
    seen = []
    gs.fusion.register_forward_hook(lambda mod, args, out: seen.append((args[0].shape[1], args[1].tolist())))
    gs(torch.randn(3, 1, 11, 22, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([11, 4, 1]))
    assert seen == [(6, [6, 2, 1])]  # ceil(l / 2) after the stride-2 first block
    with seeded_init(0):
        on = GraphStream(3, "imigue22", cfg.model.graph)
    with torch.no_grad():
        on.fusion.norm.norm.weight.fill_(1.0)  # switch the zero-initialised fusion branch on: output changes
    x = torch.randn(2, 1, 8, 22, 3, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(on(x, torch.tensor([8, 5])), gs(x, torch.tensor([8, 5])))

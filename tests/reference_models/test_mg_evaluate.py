"""Evaluation protocols of the contrastive MG model: metrics, kNN and linear probe against oracles and toy sets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _mg_common import TINY
from hypothesis import given
from hypothesis import strategies as st

from reference_models.mg_contrastive.config import LinearConfig, load_config
from reference_models.mg_contrastive.data import build_datasets, class_balanced_subset, dataset_info, input_channels
from reference_models.mg_contrastive.evaluate import (
    classification_metrics,
    evaluate,
    knn_eval,
    knn_predict,
    linear_probe,
    train_classifier,
)
from reference_models.mg_contrastive.model import build_encoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@given(st.integers(1, 30), st.integers(2, 8), st.integers(0, 10**6))
def test_metrics_match_numpy_oracle(n, k, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, k))
    labels = rng.integers(0, k, n)
    got = classification_metrics(torch.from_numpy(scores), torch.from_numpy(labels))
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = order[:, 0] == labels
    top5 = np.array([labels[i] in order[i, : min(5, k)] for i in range(n)])
    per_class = [top1[labels == c].mean() for c in sorted(set(labels.tolist()))]
    assert got["top1"] == pytest.approx(100 * top1.mean())
    assert got["top5"] == pytest.approx(100 * top5.mean())
    assert got["balanced"] == pytest.approx(100 * np.mean(per_class))


def test_balanced_accuracy_weights_classes_equally():
    # 9 clips of class 0 all right, 1 clip of class 1 wrong: top-1 90 %, balanced 50 %
    scores = torch.tensor([[1.0, 0.0]] * 10)
    labels = torch.tensor([0] * 9 + [1])
    m = classification_metrics(scores, labels)
    assert m["top1"] == pytest.approx(90.0) and m["balanced"] == pytest.approx(50.0)


@given(st.integers(1, 12), st.integers(1, 6), st.integers(1, 7), st.sampled_from([0.0, 0.1]), st.integers(0, 10**6))
def test_knn_matches_brute_force(n_train, n_test, k, tau, seed):
    rng = np.random.default_rng(seed)
    tr = rng.normal(size=(n_train, 3))
    te = rng.normal(size=(n_test, 3))
    y = rng.integers(0, 3, n_train)
    got = knn_predict(torch.from_numpy(tr), torch.from_numpy(y), torch.from_numpy(te), 3, k, tau).numpy()
    for i in range(n_test):
        sims = [float(te[i] @ tr[j] / np.linalg.norm(te[i]) / np.linalg.norm(tr[j])) for j in range(n_train)]
        nearest = sorted(range(n_train), key=lambda j: -sims[j])[: min(k, n_train)]
        expect = np.zeros(3)
        for j in nearest:
            expect[y[j]] += np.exp(sims[j] / tau) if tau > 0 else 1.0
        np.testing.assert_allclose(got[i], expect, rtol=1e-9)


def _toy(seed: int, n: int, classes: int = 4):
    """Two 'streams' whose features are well-separated class blobs (plus a nuisance dimension)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    centres_a = torch.randn(classes, 6, generator=torch.Generator().manual_seed(100)) * 4
    centres_b = torch.randn(classes, 5, generator=torch.Generator().manual_seed(101)) * 4
    a = centres_a[y] + 0.3 * torch.randn(n, 6, generator=g)
    b = centres_b[y] + 0.3 * torch.randn(n, 5, generator=g)
    return {"graph": a, "recurrent": b}, y


def test_linear_probe_and_knn_solve_a_separable_toy_set():
    tr, ytr = _toy(0, 80)
    te, yte = _toy(1, 40)
    lin = linear_probe(tr, ytr, te, yte, 4, LinearConfig(epochs=30, lr=0.1, batch_size=16), fused_dim=8, seed=0)
    assert set(lin) == {"graph", "recurrent", "fused", "ensemble"}
    for m in lin.values():
        assert m == {"top1": 100.0, "top5": 100.0, "balanced": 100.0}
    knn = knn_eval(tr, ytr, te, yte, 4, [1, 5], 0.07)
    assert set(knn) == {"k=1", "k=5"}
    assert all(m["top1"] == 100.0 for per in knn.values() for m in per.values())


@given(st.integers(1, 20), st.integers(2, 6), st.integers(0, 10**6))
def test_ensemble_is_the_mean_of_the_stream_softmax_scores(n, k, seed):
    from reference_models.mg_contrastive.evaluate import _with_ensemble

    rng = np.random.default_rng(seed)
    logits = {s: torch.from_numpy(rng.normal(size=(n, k)) * 5) for s in ("graph", "recurrent", "fused")}
    out = _with_ensemble(logits, ["graph", "recurrent"])
    e = [np.exp(logits[s].numpy() - logits[s].numpy().max(1, keepdims=True)) for s in ("graph", "recurrent")]
    oracle = sum(p / p.sum(1, keepdims=True) for p in e) / 2  # the fused logits take no part
    np.testing.assert_allclose(out["ensemble"].numpy(), oracle, rtol=1e-5, atol=1e-7)
    assert all(out[s] is logits[s] for s in logits)


def test_linear_probe_is_at_chance_on_label_noise():
    tr, _ = _toy(0, 200)
    te, _ = _toy(1, 200)
    g = torch.Generator().manual_seed(5)
    ytr, yte = torch.randint(0, 4, (200,), generator=g), torch.randint(0, 4, (200,), generator=g)
    lin = linear_probe(tr, ytr, te, yte, 4, LinearConfig(epochs=10), fused_dim=8, seed=0)
    assert all(m["top1"] < 45.0 for m in lin.values())  # chance 25 %


@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.sampled_from([0.01, 0.1, 0.5, 1.0]), st.integers(0, 99))
def test_class_balanced_subset(counts, fraction, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    idx = class_balanced_subset(labels, fraction, seed)
    assert len(set(idx.tolist())) == idx.size
    got = np.bincount(labels[idx], minlength=len(counts))
    expect = [min(c, max(1, round(fraction * c))) for c in counts]
    assert got.tolist() == expect
    assert np.array_equal(idx, class_balanced_subset(labels, fraction, seed))


def test_evaluate_all_protocols_on_tiny_data(tmp_path):
    cfg = load_config(TINY)
    data = build_datasets(cfg.data)
    res = evaluate(cfg, tmp_path, checkpoint=None, protocols=["linear", "knn", "finetune", "semi"], device="cpu",
                   datasets=data, show_progress=False)
    p = res["protocols"]
    assert set(p) == {"linear", "knn", "finetune", "semi"}
    for per in (p["linear"], p["finetune"], p["knn"]["k=1"], p["semi"]["10%"]):
        assert {"graph", "recurrent", "fused"} <= set(per)
        for s in ("graph", "recurrent", "fused"):
            assert set(per[s]) == {"top1", "top5", "balanced"}
            assert 0.0 <= per[s]["top1"] <= per[s]["top5"] <= 100.0
    assert p["semi"]["10%"]["labelled_clips"] == len(class_balanced_subset(data[0].labels, 0.1, cfg.seed))
    saved = json.loads((tmp_path / "eval_random_init.json").read_text())
    assert saved["protocols"]["linear"] == p["linear"]
    md = (tmp_path / "eval_random_init.md").read_text()
    assert "| linear | fused |" in md and "| semi 10% | graph |" in md
    # same seed, same numbers
    again = evaluate(cfg, tmp_path / "b", protocols=["linear", "knn"], device="cpu", datasets=data,
                     show_progress=False)
    assert again["protocols"]["linear"] == p["linear"] and again["protocols"]["knn"] == p["knn"]


def test_evaluate_keeps_other_protocols_of_the_same_encoder_and_config(tmp_path):
    cfg = load_config(TINY)
    data = build_datasets(cfg.data)
    kw = {"device": "cpu", "datasets": data, "show_progress": False}
    lin = evaluate(cfg, tmp_path, protocols=["linear"], **kw)["protocols"]["linear"]
    res = evaluate(cfg, tmp_path, protocols=["knn"], **kw)
    saved = json.loads((tmp_path / "eval_random_init.json").read_text())
    # the second call ran kNN only and the file (and the return value) still holds the linear probe
    assert set(res["protocols"]) == set(saved["protocols"]) == {"linear", "knn"}
    assert saved["protocols"]["linear"] == lin
    assert "| linear | fused |" in (tmp_path / "eval_random_init.md").read_text()
    # another encoder (other seed -> other random weights) in the same folder replaces the file whole
    other = load_config(TINY, ["seed=1"])
    evaluate(other, tmp_path, protocols=["knn"], **kw)
    assert set(json.loads((tmp_path / "eval_random_init.json").read_text())["protocols"]) == {"knn"}


def test_probe_subject_uses_each_clips_subject_and_reports_both_probes(tmp_path, capsys):
    from reference_models.mg_contrastive.probe_subject import _subjects, main, probe_subjects

    cfg = load_config(TINY)
    tr, _ = build_datasets(cfg.data)
    # subject ids in dataset order, as the generator assigned them
    assert _subjects(tr, 5).tolist() == tr.base.source.subjects[tr.index].tolist()
    res = probe_subjects(cfg, None, train_ds=tr)
    assert set(res) == {"subject", "gesture_seen_subjects", "chance_subject"}
    for name in ("subject", "gesture_seen_subjects"):
        assert set(res[name]) == {"graph", "recurrent", "fused", "ensemble"}
        assert all(0.0 <= v <= 100.0 for v in res[name].values())
    assert main(["--config", str(TINY), "--out", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_backbone_lr_scale_scales_the_encoder_step_only():
    """One SGD step (momentum buffer = first gradient): the encoder moves ``scale`` times as far as with
    one learning rate for all, the classifier as far; scale 0 leaves every encoder weight as it was."""
    cfg = load_config(TINY, ["eval.finetune.epochs=1"])
    train, _ = build_datasets(cfg.data)
    layout, v, c, k = dataset_info(train)
    enc = build_encoder(cfg, layout, v, input_channels(cfg, c, layout), seed=3)
    fcfg = cfg.eval.finetune
    fcfg.batch_size = len(train)  # one step
    start = {n: w.clone() for n, w in enc.state_dict().items()}

    def moved(scale: float) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        fcfg.backbone_lr_scale = scale
        m = train_classifier(enc, train, cfg, fcfg, layout, k, torch.device("cpu"), seed=0)
        d_enc = {n: p.detach() - start[n] for n, p in m.encoder.named_parameters()}
        return d_enc, {n: p.detach().clone() for n, p in m.clf.named_parameters()}

    full, clf_full = moved(1.0)
    quarter, clf_quarter = moved(0.25)
    frozen, clf_frozen = moved(0.0)
    assert sum(float(d.abs().sum()) for d in full.values()) > 0
    for n, d in full.items():
        torch.testing.assert_close(quarter[n], 0.25 * d, rtol=1e-4, atol=1e-7)
        assert torch.equal(frozen[n], torch.zeros_like(d)), n
    for n, w in clf_full.items():  # the same first step: the same logits and gradients at the start
        torch.testing.assert_close(clf_quarter[n], w)
        torch.testing.assert_close(clf_frozen[n], w)

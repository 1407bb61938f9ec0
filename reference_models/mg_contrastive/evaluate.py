"""Evaluation protocols: linear probe, kNN, fine-tuning and semi-supervised fine-tuning.

Every protocol reports top-1, top-5 and class-balanced accuracy (mean per-class recall over the
classes present in the test set) for each stream and for the fused streams:

* **linear** -- encoder frozen; features of the un-augmented clips are extracted once and
  standardised with the training mean / std; one linear classifier per stream, and for ``fused`` a
  :class:`skelaug.nn.BalancedLateFusion` of the stream features followed by a linear classifier;
  ``ensemble`` averages the per-stream classifiers' softmax scores (the multi-stream score fusion of
  2s-AGCN / 3s-AimCLR; with one stream it is that stream).
* **knn** -- encoder frozen; cosine similarity of L2-normalised features, the ``k`` nearest
  training clips vote with weight ``exp(sim / temperature)`` (plain votes when it is 0); ``fused``
  concatenates the normalised stream features.
* **finetune** -- the whole encoder and the classifiers trained together on augmented clips (one run,
  loss = sum of the per-stream and fused cross-entropies); ``ensemble`` as for the linear probe.
* **semi** -- fine-tuning on a class-balanced labelled fraction (``max(1, round(f n_c))`` clips of
  each class ``c``) for each fraction ``f``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference_models.mg_contrastive.config import (
    Config,
    FinetuneConfig,
    LinearConfig,
    config_to_dict,
    load_config_dict,
)
from reference_models.mg_contrastive.data import (
    FINETUNE,
    INIT,
    PROBE,
    Batch,
    _Subset,
    augment_batch,
    build_augment,
    build_datasets,
    class_balanced_subset,
    dataset_info,
    input_channels,
    make_loader,
    prepare,
    stream_seed,
)
from reference_models.mg_contrastive.model import DualStreamEncoder, FusedClassifier, build_encoder, seeded_init
from reference_models.mg_contrastive.utils import atomic_write_text, progress, resolve_device, write_json
from skelaug.data import ClipDataset

__all__ = [
    "classification_metrics",
    "evaluate",
    "extract_features",
    "finetune",
    "knn_predict",
    "linear_probe",
    "load_encoder",
    "results_markdown",
]

Metrics = dict[str, float]


def classification_metrics(scores: Tensor, labels: Tensor) -> Metrics:
    """Top-1, top-5 (top-``K`` when fewer than 5 classes) and class-balanced accuracy, in percent.

    Class-balanced accuracy is the mean over the classes present in ``labels`` of the fraction of that
    class's clips whose top-1 prediction is right.

    Example:
        >>> s = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
        >>> classification_metrics(s, torch.tensor([0, 0, 1, 1]))
        {'top1': 75.0, 'top5': 100.0, 'balanced': 75.0}
    """
    k = min(5, scores.size(1))
    top = scores.topk(k, dim=1).indices  # (N, k)
    hit1 = top[:, 0] == labels
    hit5 = (top == labels[:, None]).any(dim=1)
    recalls = [hit1[labels == c].float().mean() for c in torch.unique(labels)]
    return {
        "top1": 100.0 * float(hit1.float().mean()),
        "top5": 100.0 * float(hit5.float().mean()),
        "balanced": 100.0 * float(torch.stack(recalls).mean()),
    }


@torch.no_grad()
def extract_features(
    encoder: DualStreamEncoder, ds: ClipDataset, cfg: Config, layout: str, device: torch.device
) -> tuple[dict[str, Tensor], Tensor]:
    """Features ``{stream: (N, F_s)}`` (CPU, float32) of the un-augmented clips of ``ds`` and labels ``(N,)``."""
    encoder.eval()
    feats: dict[str, list[Tensor]] = {k: [] for k in encoder.stream_names}
    labels = []
    loader = make_loader(
        ds, cfg.eval.batch_size, seed=cfg.seed, epoch=0, shuffle=False, drop_last=False,
        num_workers=cfg.data.num_workers,
    )
    for items in loader:
        batch = Batch.from_items(items)
        x, n = prepare(cfg, batch, layout, device)
        for k, f in encoder.features(x, n).items():
            feats[k].append(f.float().cpu())
        labels.append(batch.labels)
    return {k: torch.cat(v) for k, v in feats.items()}, torch.cat(labels)


def _cosine_lr(base: float, step: int, total: int) -> float:
    return 0.5 * base * (1.0 + math.cos(math.pi * step / max(1, total)))


def linear_probe(
    train: dict[str, Tensor],
    y_train: Tensor,
    test: dict[str, Tensor],
    y_test: Tensor,
    num_classes: int,
    cfg: LinearConfig,
    *,
    fused_dim: int,
    seed: int,
) -> dict[str, Metrics]:
    """Linear classifiers on frozen, standardised features (plus the fused classifier); see the module doc."""
    mean = {k: v.mean(0) for k, v in train.items()}
    std = {k: v.std(0).clamp_min(1e-6) for k, v in train.items()}
    tr = {k: (v - mean[k]) / std[k] for k, v in train.items()}
    te = {k: (v - mean[k]) / std[k] for k, v in test.items()}
    with seeded_init(seed):
        clf = FusedClassifier({k: v.size(1) for k, v in tr.items()}, num_classes, fused_dim)
    opt = torch.optim.SGD(clf.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    n = y_train.numel()
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    step = 0
    clf.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            for g in opt.param_groups:
                g["lr"] = _cosine_lr(cfg.lr, step, total)
            logits = clf({k: v[idx] for k, v in tr.items()})
            loss = torch.stack([F.cross_entropy(o, y_train[idx]) for o in logits.values()]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            step += 1
    clf.eval()
    with torch.no_grad():
        out = _with_ensemble(clf(te), list(te))
    return {k: classification_metrics(v, y_test) for k, v in out.items()}


def _with_ensemble(logits: dict[str, Tensor], streams: list[str]) -> dict[str, Tensor]:
    """``logits`` plus ``"ensemble"``: the mean of the streams' softmax scores ``(N, K)``."""
    return {**logits, "ensemble": torch.stack([logits[s].float().softmax(1) for s in streams]).mean(0)}


def knn_predict(
    train: Tensor, y_train: Tensor, test: Tensor, num_classes: int, k: int, temperature: float
) -> Tensor:
    """Class scores ``(N_test, K)`` of a cosine kNN (weighted by ``exp(sim / temperature)``, or 1 when 0).

    Example:
        >>> tr = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> knn_predict(tr, torch.tensor([0, 0, 1]), torch.tensor([[0.2, 1.0]]), 2, k=1, temperature=0)
        tensor([[0., 1.]])
    """
    a = F.normalize(train, dim=1)
    b = F.normalize(test, dim=1)
    k = min(k, a.size(0))
    sim = b @ a.t()  # (N_test, N_train)
    top_sim, top_idx = sim.topk(k, dim=1)  # (N_test, k)
    w = torch.exp(top_sim / temperature) if temperature > 0 else torch.ones_like(top_sim)
    scores = torch.zeros(b.size(0), num_classes, dtype=w.dtype)
    scores.scatter_add_(1, y_train[top_idx], w)
    return scores


def _fused_knn_features(feats: dict[str, Tensor]) -> Tensor:
    return torch.cat([F.normalize(v, dim=1) for v in feats.values()], dim=1)


def knn_eval(
    train: dict[str, Tensor], y_train: Tensor, test: dict[str, Tensor], y_test: Tensor, num_classes: int,
    ks: list[int], temperature: float,
) -> dict[str, dict[str, Metrics]]:
    """``{f"k={k}": {stream | "fused": metrics}}``."""
    out: dict[str, dict[str, Metrics]] = {}
    for k in ks:
        res = {
            s: classification_metrics(knn_predict(train[s], y_train, test[s], num_classes, k, temperature), y_test)
            for s in train
        }
        if len(train) > 1:
            res["fused"] = classification_metrics(
                knn_predict(_fused_knn_features(train), y_train, _fused_knn_features(test), num_classes, k,
                            temperature),
                y_test,
            )
        out[f"k={k}"] = res
    return out


class _Classifier(nn.Module):
    def __init__(self, encoder: DualStreamEncoder, num_classes: int, fused_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.clf = FusedClassifier({k: encoder.feature_dim(k) for k in encoder.stream_names}, num_classes, fused_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> dict[str, Tensor]:
        return self.clf(self.encoder.features(x, lengths))  # type: ignore[no-any-return]


def train_classifier(
    encoder: DualStreamEncoder,
    train_ds: ClipDataset,
    cfg: Config,
    fcfg: FinetuneConfig,
    layout: str,
    num_classes: int,
    device: torch.device,
    *,
    seed: int,
    desc: str = "finetune",
    show_progress: bool = False,
) -> _Classifier:
    """A copy of ``encoder`` with a new classifier, trained on ``train_ds`` (``fcfg``): the fine-tuning
    of :func:`finetune`. SGD with momentum 0.9, weight decay, cosine schedule from ``fcfg.lr`` for the
    classifier and ``fcfg.lr * fcfg.backbone_lr_scale`` for the encoder (0: the encoder's weights stay)."""
    with seeded_init(seed):
        model = _Classifier(copy.deepcopy(encoder), num_classes, cfg.model.head.fused_dim).to(device)
    aug = build_augment(fcfg.augment, layout, cfg.augment.min_length)
    groups = [
        {"params": list(model.clf.parameters()), "base_lr": fcfg.lr},
        {"params": list(model.encoder.parameters()), "base_lr": fcfg.lr * fcfg.backbone_lr_scale},
    ]
    if fcfg.backbone_lr_scale == 0:
        model.encoder.requires_grad_(False)
        groups = groups[:1]
    opt = torch.optim.SGD(groups, lr=fcfg.lr, momentum=0.9, weight_decay=fcfg.weight_decay)
    bs = min(fcfg.batch_size, len(train_ds))
    steps_per_epoch = len(train_ds) // bs
    total = fcfg.epochs * steps_per_epoch
    step = 0
    bar = progress(total=total, desc=desc, enabled=show_progress)
    for epoch in range(fcfg.epochs):
        model.train()
        loader = make_loader(train_ds, bs, seed=seed, epoch=epoch, num_workers=cfg.data.num_workers)
        for b_idx, items in enumerate(loader):
            batch = Batch.from_items(items)
            rng = np.random.default_rng([seed, FINETUNE, epoch, b_idx])
            x, n = augment_batch(aug, batch.data, batch.lengths, rng, cfg.augment.backend)
            x, n = prepare(cfg, Batch(x, n, batch.labels), layout, device)
            for g in opt.param_groups:
                g["lr"] = _cosine_lr(g["base_lr"], step, total)
            logits = model(x, n)
            y = batch.labels.to(device)
            loss = torch.stack([F.cross_entropy(o, y) for o in logits.values()]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            step += 1
            bar.update(1)
            bar.set_postfix({"loss": f"{float(loss.detach()):.3f}"})
    bar.close()
    return model


def finetune(
    encoder: DualStreamEncoder,
    train_ds: ClipDataset,
    test_ds: ClipDataset,
    cfg: Config,
    fcfg: FinetuneConfig,
    layout: str,
    num_classes: int,
    device: torch.device,
    *,
    seed: int,
    desc: str = "finetune",
    show_progress: bool = False,
) -> dict[str, Metrics]:
    """Fine-tune a copy of ``encoder`` with per-stream and fused classifiers; metrics on ``test_ds``."""
    model = train_classifier(encoder, train_ds, cfg, fcfg, layout, num_classes, device, seed=seed, desc=desc,
                             show_progress=show_progress)
    model.eval()
    scores: dict[str, list[Tensor]] = {}
    labels = []
    with torch.no_grad():
        loader = make_loader(test_ds, cfg.eval.batch_size, seed=seed, epoch=0, shuffle=False, drop_last=False)
        for items in loader:
            batch = Batch.from_items(items)
            x, n = prepare(cfg, batch, layout, device)
            for k, v in model(x, n).items():
                scores.setdefault(k, []).append(v.float().cpu())
            labels.append(batch.labels)
    y_test = torch.cat(labels)
    cat = _with_ensemble({k: torch.cat(v) for k, v in scores.items()}, list(encoder.stream_names))
    return {k: classification_metrics(v, y_test) for k, v in cat.items()}


def load_encoder(
    path: str | Path, device: torch.device
) -> tuple[DualStreamEncoder, Config, dict[str, Any]]:
    """Rebuild the pre-trained encoder saved by ``pretrain`` (``encoder.pt``; ``last.pt`` works too)."""
    state = torch.load(path, map_location=device, weights_only=False)
    cfg = load_config_dict(state["config"])
    meta = state["meta"]
    enc = DualStreamEncoder(cfg, meta["layout"], meta["num_joints"], meta["in_channels"]).to(device)
    if "encoder" in state:
        enc.load_state_dict(state["encoder"])
    else:
        enc.load_state_dict({k[len("online.") :]: v for k, v in state["model"].items() if k.startswith("online.")})
    return enc, cfg, meta


def _fingerprint(cfg: Config, checkpoint: str | Path | None) -> str:
    """What evaluation results depend on: the checkpoint's bytes and the config (less the protocol list)."""
    h = hashlib.sha256()
    if checkpoint is not None:
        with open(checkpoint, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    conf = config_to_dict(cfg)
    conf.get("eval", {}).pop("protocols", None)
    h.update(json.dumps(conf, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _previous_results(path: Path, fingerprint: str) -> dict[str, Any]:
    """The protocols of an earlier ``eval_<tag>.json`` with the same fingerprint (else nothing)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(old, dict) or old.get("fingerprint") != fingerprint:
        return {}
    protos = old.get("protocols")
    return dict(protos) if isinstance(protos, dict) else {}


def evaluate(
    cfg: Config,
    out_dir: str | Path,
    *,
    checkpoint: str | Path | None = None,
    protocols: list[str] | None = None,
    device: str = "auto",
    datasets: tuple[ClipDataset, ClipDataset] | None = None,
    tag: str | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the evaluation ``protocols`` on ``checkpoint`` (``None``: the encoder with its initial random
    weights, the baseline) and write ``eval_<tag>.json`` / ``.md`` to ``out_dir``.

    The model architecture comes from the checkpoint when given (its config), the data and the
    evaluation settings from ``cfg``. Results of other protocols already in ``eval_<tag>.json`` are
    kept when they were measured on the same checkpoint (same bytes) with the same config, so
    ``--protocols linear,knn`` then ``--protocols finetune,semi`` end in one file; a protocol run
    again replaces its old entry, and a file from another checkpoint or config is replaced whole.
    """
    dev = resolve_device(device)
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_ds, test_ds = datasets if datasets is not None else build_datasets(cfg.data)
    layout, v, c, num_classes = dataset_info(train_ds)
    if checkpoint is not None:
        encoder, model_cfg, _ = load_encoder(checkpoint, dev)
        cfg = copy.deepcopy(cfg)
        cfg.model = model_cfg.model
    else:
        c = input_channels(cfg, c, layout)
        encoder = build_encoder(cfg, layout, v, c, seed=stream_seed(cfg.seed, INIT)).to(dev)
    tag = tag or ("random_init" if checkpoint is None else Path(checkpoint).stem)
    protos = list(protocols if protocols is not None else cfg.eval.protocols)
    results: dict[str, Any] = {
        "tag": tag,
        "checkpoint": str(checkpoint) if checkpoint is not None else None,
        "data": {
            "kind": cfg.data.kind,
            "train_clips": len(train_ds),
            "test_clips": len(test_ds),
            "classes": num_classes,
            "chance_top1": 100.0 * float(np.bincount(test_ds.labels, minlength=num_classes).max()) / len(test_ds),
        },
        "protocols": {},
        "fingerprint": _fingerprint(cfg, checkpoint),
    }
    previous = _previous_results(out / f"eval_{tag}.json", results["fingerprint"])
    seed = stream_seed(cfg.seed, PROBE)
    t0 = time.perf_counter()
    if "linear" in protos or "knn" in protos:
        f_tr, y_tr = extract_features(encoder, train_ds, cfg, layout, dev)
        f_te, y_te = extract_features(encoder, test_ds, cfg, layout, dev)
        if "linear" in protos:
            results["protocols"]["linear"] = linear_probe(
                f_tr, y_tr, f_te, y_te, num_classes, cfg.eval.linear, fused_dim=cfg.model.head.fused_dim, seed=seed
            )
        if "knn" in protos:
            results["protocols"]["knn"] = knn_eval(
                f_tr, y_tr, f_te, y_te, num_classes, cfg.eval.knn.k, cfg.eval.knn.temperature
            )
    if "finetune" in protos:
        results["protocols"]["finetune"] = finetune(
            encoder, train_ds, test_ds, cfg, cfg.eval.finetune, layout, num_classes, dev, seed=seed,
            show_progress=show_progress,
        )
    if "semi" in protos:
        semi: dict[str, Any] = {}
        sc = cfg.eval.semi
        fcfg = FinetuneConfig(epochs=sc.epochs, lr=sc.lr, weight_decay=cfg.eval.finetune.weight_decay,
                              batch_size=sc.batch_size, augment=cfg.eval.finetune.augment,
                              backbone_lr_scale=cfg.eval.finetune.backbone_lr_scale)
        for frac in sc.fractions:
            idx = class_balanced_subset(train_ds.labels, frac, cfg.seed)
            sub = _Subset(train_ds, idx)
            semi[f"{100 * frac:g}%"] = {
                "labelled_clips": len(sub),
                **finetune(encoder, sub, test_ds, cfg, fcfg, layout, num_classes, dev, seed=seed,
                           desc=f"semi {100 * frac:g}%", show_progress=show_progress),
            }
        results["protocols"]["semi"] = semi
    results["seconds"] = round(time.perf_counter() - t0, 1)
    kept = {k: v for k, v in previous.items() if k not in results["protocols"]}
    results["protocols"] = {**kept, **results["protocols"]}
    write_json(results, out / f"eval_{tag}.json")
    atomic_write_text(results_markdown(results), out / f"eval_{tag}.md")
    return results


def _rows(results: dict[str, Any]) -> list[tuple[str, str, Metrics]]:
    """Flatten ``results['protocols']`` into ``(protocol, stream, metrics)`` rows."""
    rows = []
    for proto, res in results["protocols"].items():
        if proto == "linear" or proto == "finetune":
            rows += [(proto, s, m) for s, m in res.items()]
        elif proto == "knn":
            for kk, per in res.items():
                rows += [(f"knn {kk}", s, m) for s, m in per.items()]
        elif proto == "semi":
            for frac, per in res.items():
                rows += [(f"semi {frac}", s, m) for s, m in per.items() if isinstance(m, dict)]
    return rows


def results_markdown(results: dict[str, Any]) -> str:
    """A Markdown table of one evaluation (protocol x stream: top-1 / top-5 / class-balanced)."""
    d = results["data"]
    lines = [
        f"### {results['tag']}",
        "",
        f"{d['kind']}: {d['train_clips']} training / {d['test_clips']} test clips, {d['classes']} classes "
        f"(majority class {d['chance_top1']:.1f}% of the test clips)",
        "",
        "| protocol | stream | top-1 | top-5 | class-balanced |",
        "|---|---|---|---|---|",
    ]
    for proto, stream, m in _rows(results):
        lines.append(f"| {proto} | {stream} | {m['top1']:.1f} | {m['top5']:.1f} | {m['balanced']:.1f} |")
    return "\n".join(lines) + "\n"


"""Pre-training: cross-stream momentum contrast on unlabelled clips, resumable to the bit.

One optimiser step (``B`` clips; shapes per rank):

1. two views of the batch, augmented in one skelaug call each and normalised: ``(B, M, T, V, C)``;
2. queries: online streams + heads on view 1 -> ``q_s`` ``(B, D)``;
3. momentum update of the key encoder, keys on view 2 -> ``k_s`` ``(B, D)`` (normalised); with
   ``contrast.hard_negatives``, also keys of view 2's motion-destroyed copies -> ``(B, H, D)``, extra
   negatives of each query (in the same key-encoder forward, never enqueued);
4. loss (``contrast.loss``; from epoch ``contrast.mine_after`` on with ``contrast.mine_k`` mined
   positives per query: each stream's nearest queue entries to its keys, against the full queue; with
   ``contrast.positives = "label"`` every queued clip of the query's class), backward, SGD step,
   per-step learning rate;
5. keys of all ranks gathered (rank order) and enqueued into each stream's queue.

Checkpoints (``last.pt``, written atomically) hold the online and momentum encoders, the queues and
their pointers, the optimiser and scheduler, the epoch / step counters and the global torch RNG state
(used only by GRU dropout, forked from the caller's). Batches and views come from counter-keyed
streams (:mod:`reference_models.mg_contrastive.data`), so a run resumed from any checkpoint takes
exactly the steps the uninterrupted run takes.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from reference_models.mg_contrastive.config import Config, OptimConfig, config_to_dict
from reference_models.mg_contrastive.data import (
    INIT,
    Batch,
    build_augment,
    build_datasets,
    dataset_info,
    describe,
    encoder_input,
    hard_negative_views,
    input_channels,
    make_loader,
    make_position_views,
    noisy_labels,
    stream_seed,
)
from reference_models.mg_contrastive.model import DualStreamMoCo
from reference_models.mg_contrastive.utils import (
    DistInfo,
    MetricsLog,
    atomic_save,
    gather_cat,
    init_distributed,
    progress,
    resolve_device,
    write_json,
)
from skelaug import layouts
from skelaug.data import ClipDataset

__all__ = ["build_optimizer", "lr_factor", "pretrain"]


def build_optimizer(cfg: OptimConfig, params: Any) -> torch.optim.Optimizer:
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(cfg: OptimConfig, step: int, steps_per_epoch: int) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based): linear warm-up over
    ``warmup_epochs``, then cosine to 0, step decay by ``gamma`` at each milestone epoch, or constant.

    Example:
        >>> from reference_models.mg_contrastive.config import OptimConfig
        >>> c = OptimConfig(epochs=10, warmup_epochs=1)
        >>> [round(lr_factor(c, s, 10), 3) for s in (0, 9, 10, 55, 99)]
        [0.1, 1.0, 1.0, 0.491, 0.0]
    """
    warm = cfg.warmup_epochs * steps_per_epoch
    total = cfg.epochs * steps_per_epoch
    if step < warm:
        return (step + 1) / warm
    if cfg.schedule == "cosine":
        progress_ = (step - warm) / max(1, total - warm - 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress_)))
    if cfg.schedule == "step":
        epoch = step // steps_per_epoch
        return float(cfg.gamma ** sum(epoch >= m for m in cfg.milestones))
    return 1.0


def _rng_devices(device: torch.device) -> list[int]:
    return [device.index or 0] if device.type == "cuda" else []


def _save_checkpoint(
    path: Path,
    model: DualStreamMoCo,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    cfg: Config,
    counters: dict[str, int],
    device: torch.device,
    meta: dict[str, Any],
) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "counters": dict(counters),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "config": config_to_dict(cfg),
        "meta": meta,
    }
    atomic_save(state, path)


def save_encoder(path: Path, model: DualStreamMoCo, cfg: Config, meta: dict[str, Any], step: int) -> None:
    """The pre-trained online encoder alone, with what :func:`evaluate` needs to rebuild it."""
    atomic_save(
        {"encoder": model.online.state_dict(), "config": config_to_dict(cfg), "meta": meta, "global_step": step},
        path,
    )


def pretrain(
    cfg: Config,
    out_dir: str | Path,
    *,
    device: str = "auto",
    resume: str = "auto",
    stop_after_steps: int | None = None,
    show_progress: bool = True,
    datasets: tuple[ClipDataset, ClipDataset] | None = None,
) -> dict[str, Any]:
    """Pre-train the dual-stream encoder of ``cfg``; writes ``last.pt``, ``encoder.pt`` and ``metrics.csv``.

    Args:
        cfg: The run config.
        out_dir: Output folder (created).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:K`` (under torchrun ``cuda`` means the local rank's GPU).
        resume: ``auto`` (continue from ``out_dir/last.pt`` when present), ``none`` or a checkpoint path.
        stop_after_steps: Stop after this global step *without* saving (simulates a kill; for tests).
        show_progress: Show a progress bar (rank 0).
        datasets: Pre-built ``(train, test)`` datasets (default: from ``cfg.data``).

    Returns:
        ``{"global_step", "epoch", "step", "loss", "stopped", "model"}`` after the last step (``model``:
        the :class:`DualStreamMoCo` of this process).
    """
    info = init_distributed(device)
    dev = resolve_device(device, info.local_rank)
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    if dev.type == "cuda" and cfg.train.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    out = Path(out_dir)
    if info.main:
        out.mkdir(parents=True, exist_ok=True)
    train_ds = datasets[0] if datasets is not None else build_datasets(cfg.data)[0]
    layout, v, c, k = dataset_info(train_ds)
    c = input_channels(cfg, c, layout)
    meta = {"layout": layout, "num_joints": v, "in_channels": c, "num_classes": k}
    bs = cfg.optim.batch_size
    steps_per_epoch = len(train_ds) // bs
    if steps_per_epoch == 0:
        raise ValueError(
            f"optim.batch_size={bs} exceeds the {len(train_ds)} training clips; use a smaller batch size"
        )
    model = DualStreamMoCo(cfg, layout, v, c, seed=stream_seed(cfg.seed, INIT)).to(dev)
    online: nn.Module = model.online
    if info.distributed:
        # the ranks start identical (same seed); batch-norm statistics then stay per rank, as in MoCo
        sync: dict[str, Any] = (
            {"forward_sync_buffers": False}
            if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
            else {"broadcast_buffers": False}
        )
        online = DistributedDataParallel(
            model.online, device_ids=[dev.index] if dev.type == "cuda" else None, **sync
        )
    opt = build_optimizer(cfg.optim, model.online.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg.optim, s, steps_per_epoch))
    counters = {"epoch": 0, "step": 0, "global_step": 0}
    ckpt = out / "last.pt"
    resume_path = None if resume == "none" else (ckpt if resume == "auto" else Path(resume))
    rng_state: dict[str, Any] | None = None
    if resume_path is not None and resume_path.exists():
        state = torch.load(resume_path, map_location=dev, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        counters = dict(state["counters"])
        rng_state = {"cpu": state["rng_cpu"], "cuda": state["rng_cuda"]}
    elif resume not in ("auto", "none"):
        raise FileNotFoundError(f"--resume {resume!r}: no such checkpoint")
    metrics = MetricsLog(out / "metrics.csv", enabled=info.main)
    metrics.truncate_after(counters["global_step"])
    if info.main:
        write_json({"config": config_to_dict(cfg), "meta": meta, "world_size": info.world_size}, out / "run.json")
        print(
            f"[pretrain] {describe(train_ds)}; {steps_per_epoch} steps/epoch x {cfg.optim.epochs} epochs; "
            f"device {dev}, {info.world_size} process(es); starting at epoch {counters['epoch']} "
            f"step {counters['step']}",
            flush=True,
        )
    if counters["epoch"] >= cfg.optim.epochs and info.main:
        print(f"[pretrain] {ckpt} has finished all {cfg.optim.epochs} epochs; nothing to do", flush=True)
    aug = build_augment(cfg.augment.preset, layout, cfg.augment.min_length, cfg.augment.pipeline)
    last: dict[str, Any] = {"loss": float("nan"), "stopped": False}
    with torch.random.fork_rng(devices=_rng_devices(dev)):
        if rng_state is not None:
            torch.set_rng_state(rng_state["cpu"])
            if rng_state["cuda"] is not None and dev.type == "cuda":
                torch.cuda.set_rng_state(rng_state["cuda"], dev)
        else:
            torch.manual_seed(stream_seed(cfg.seed, INIT, 1))
        last = _loop(cfg, model, online, opt, sched, train_ds, aug, layout, counters, steps_per_epoch, info, dev,
                     metrics, ckpt, meta, stop_after_steps, show_progress, _label_table(cfg, train_ds, k))
    if not last["stopped"] and info.main:
        save_encoder(out / "encoder.pt", model, cfg, meta, counters["global_step"])
    return {**last, **counters, "model": model}


def _loop(
    cfg: Config,
    model: DualStreamMoCo,
    online: nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    train_ds: ClipDataset,
    aug: Any,
    layout: str,
    counters: dict[str, int],
    steps_per_epoch: int,
    info: DistInfo,
    dev: torch.device,
    metrics: MetricsLog,
    ckpt: Path,
    meta: dict[str, Any],
    stop_after_steps: int | None,
    show_progress: bool,
    label_table: torch.Tensor | None = None,
) -> dict[str, Any]:
    last: dict[str, Any] = {"loss": float("nan"), "stopped": False}
    bs = cfg.optim.batch_size
    dims = layouts.get(layout).dim

    def checkpoint() -> None:
        if info.main:
            _save_checkpoint(ckpt, model, opt, sched, cfg, counters, dev, meta)

    while counters["epoch"] < cfg.optim.epochs:
        epoch = counters["epoch"]
        loader = make_loader(
            train_ds,
            bs,
            seed=cfg.seed,
            epoch=epoch,
            num_workers=cfg.data.num_workers,
            rank=info.rank,
            world_size=info.world_size,
            start_batch=counters["step"],
        )
        bar = progress(
            total=steps_per_epoch,
            initial=counters["step"],
            desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
            enabled=show_progress and info.main,
        )
        t0, clips = time.perf_counter(), 0
        model.train()
        for items in loader:
            batch = Batch.from_items(items)
            pviews = make_position_views(
                cfg, aug, batch, layout, epoch=epoch, step=counters["step"], rank=info.rank, device=dev
            )
            views = [(encoder_input(cfg.model.input, x, n, dims), n) for x, n in pviews]
            hard = None
            if cfg.contrast.hard_negatives != "none":  # the key views' motion-destroyed copies, before encoder_input
                key_views = (0, 1) if cfg.contrast.symmetric else (1,)
                hard = {
                    v: hard_negative_views(
                        cfg, *pviews[v], layout, epoch=epoch, step=counters["step"], rank=info.rank, view=v
                    )
                    for v in key_views
                }
            mine = cfg.contrast.mine_k > 0 and epoch >= cfg.contrast.mine_after
            labels = _positive_labels(batch) if cfg.contrast.positives == "label" else None
            if labels is not None and label_table is not None:  # contrast.label_noise: the clips' noisy classes
                labels = label_table[torch.as_tensor(items["index"]).long()]
            loss, logs, keys = _step(
                model, online, views, cfg.contrast.symmetric, batch.subjects, hard, mine, labels
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            sched.step()
            with torch.no_grad():
                q0 = model.queue(model.stream_names[0])

                def queued(own: torch.Tensor | None, tracked: bool) -> torch.Tensor | None:
                    """The ids of the enqueued keys (all ranks; both views' keys when symmetric)."""
                    if not tracked:
                        return None
                    assert own is not None
                    got = gather_cat(own.to(dev), info)
                    return torch.cat([got, got]) if cfg.contrast.symmetric else got

                subj, lab = queued(batch.subjects, q0.track_subjects), queued(labels, q0.track_labels)
                for s, kk in keys.items():
                    model.queue(s).enqueue(gather_cat(kk, info), subj, lab)
            counters["step"] += 1
            counters["global_step"] += 1
            clips += int(batch.data.size(0)) * info.world_size
            logs = {"loss": float(loss.detach()), **logs}
            if info.distributed:  # log the mean over ranks (the loss of the global batch)
                vals = torch.tensor(list(logs.values()), dtype=torch.float64)
                torch.distributed.all_reduce(vals)
                logs = dict(zip(logs, (vals / info.world_size).tolist(), strict=True))
            last = {"stopped": False, **logs}
            bar.update(1)
            if counters["global_step"] % cfg.train.log_every == 0 or counters["step"] == steps_per_epoch:
                dt = time.perf_counter() - t0
                bar.set_postfix({"loss": f"{last['loss']:.4f}", "clips/s": f"{clips / max(dt, 1e-9):.0f}"})
                metrics.log(
                    {
                        "epoch": epoch,
                        "step": counters["step"],
                        "global_step": counters["global_step"],
                        "lr": opt.param_groups[0]["lr"],
                        **logs,
                        "clips_per_s": clips / max(dt, 1e-9),
                    }
                )
                t0, clips = time.perf_counter(), 0
            if stop_after_steps is not None and counters["global_step"] >= stop_after_steps:
                bar.close()
                last["stopped"] = True
                return last
            if cfg.train.checkpoint_every and counters["global_step"] % cfg.train.checkpoint_every == 0:
                checkpoint()
        bar.close()
        counters["epoch"] += 1
        counters["step"] = 0
        checkpoint()
        if cfg.train.keep_every_epoch and info.main:
            save_encoder(ckpt.with_name(f"encoder_epoch{counters['epoch']:04d}.pt"), model, cfg, meta,
                         counters["global_step"])
    return last


def _label_table(cfg: Config, train_ds: ClipDataset, num_classes: int) -> torch.Tensor | None:
    """The training clips' classes with ``contrast.label_noise`` applied (indexed by the items' ``index``),
    or None when the batches' own labels are used."""
    if cfg.contrast.positives != "label" or cfg.contrast.label_noise == 0:
        return None
    labels = np.asarray(train_ds.labels, dtype=np.int64)
    return torch.from_numpy(noisy_labels(labels, cfg.contrast.label_noise, num_classes, cfg.seed))


def _positive_labels(batch: Batch) -> torch.Tensor:
    """The batch's class labels for ``contrast.positives = "label"``; every clip must have one."""
    bad = batch.labels < 0
    if bool(bad.any()):
        raise ValueError(
            f"contrast.positives = 'label' needs the class label of every training clip, but {int(bad.sum())} clip(s) "
            f"of this batch have label {int(batch.labels[bad][0])} (none); use contrast.positives = 'instance' "
            "for unlabelled data"
        )
    return batch.labels


def _step(
    model: DualStreamMoCo,
    online: nn.Module,
    views: list[tuple[torch.Tensor, torch.Tensor]],
    symmetric: bool,
    subjects: torch.Tensor | None = None,
    hard: dict[int, torch.Tensor] | None = None,
    mine: bool = False,
    labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float], dict[str, torch.Tensor]]:
    """Loss of one batch; returns the loss, its logged terms and the keys to enqueue (view 2's).

    ``hard`` maps a view index to its hard negatives ``(H, B, ...)`` (:func:`hard_negative_views`):
    view 1's (index 1) for the queries of view 0, and view 0's too when ``symmetric``. Their momentum
    keys are computed with the view's keys (:meth:`DualStreamMoCo.keys_with_hard`) and never enqueued.
    ``mine``: add the mined positives (``contrast.mine_k``), chosen by the keys of the same view as
    the term's key (before this step's keys are enqueued). ``labels``: the clips' class labels, for
    ``contrast.positives = "label"``.
    """

    def keys_of(v: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
        x, n = views[v]
        if hard is None:
            return model.keys(x, n), None
        return model.keys_with_hard(x, n, hard[v])

    (x1, l1), (x2, l2) = views
    if symmetric:  # both directions in one forward of the concatenated views (one DDP forward per step)
        b = x1.size(0)
        model.momentum_update()
        keys, hard2 = keys_of(1)
        both = online(torch.cat([x1, x2]), torch.cat([l1, l2]))
        keys1, hard1 = keys_of(0)
        q1 = {s: p[:b] for s, (_, p) in both.items()}
        q2 = {s: p[b:] for s, (_, p) in both.items()}
        loss1, logs1 = model.loss(q1, keys, subjects, hard2, mine, labels)
        loss2, logs2 = model.loss(q2, keys1, subjects, hard1, mine, labels)
        loss = (loss1 + loss2) / 2
        logs = {k: (v + logs2[k]) / 2 for k, v in logs1.items()}
        keys = {s: torch.cat([keys[s], keys1[s]]) for s in keys}
        return loss, logs, keys
    out = online(x1, l1)
    model.momentum_update()
    keys, hard2 = keys_of(1)
    loss, logs = model.loss({s: p for s, (_, p) in out.items()}, keys, subjects, hard2, mine, labels)
    return loss, logs, keys

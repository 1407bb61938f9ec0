"""Diagnostic: how much of the *subject* and of the gesture frozen features carry, on seen subjects.

The linear probe of :mod:`~reference_models.mg_contrastive.evaluate` is scored on unseen (test)
subjects. This diagnostic splits the *training* clips into two halves (even / odd position in the
training set; every subject appears in both) and trains the same linear probe on the first half to
predict (a) the subject id and (b) the gesture class, scoring it on the second half. When (b) is close
to the cross-subject linear probe, the gap to supervised training is not a cross-subject
generalisation gap; (a) says how strongly the features identify the person.

Command line::

    python -m reference_models.mg_contrastive.probe_subject --config C --out RUN_DIR   # RUN_DIR/encoder.pt
    python -m reference_models.mg_contrastive.probe_subject --config C --random-init   # same weights as evaluate

Needs a dataset whose items carry a ``subject`` (synthetic, iMiGUE, SMG) or ``performer`` (NTU) field.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from reference_models.mg_contrastive.config import Config, LinearConfig, load_config
from reference_models.mg_contrastive.data import (
    INIT,
    PROBE,
    build_datasets,
    dataset_info,
    input_channels,
    make_loader,
    stream_seed,
    subject_ids,
)
from reference_models.mg_contrastive.evaluate import extract_features, linear_probe, load_encoder
from reference_models.mg_contrastive.model import build_encoder
from reference_models.mg_contrastive.utils import resolve_device
from skelaug.data import ClipDataset

__all__ = ["probe_subjects"]


def _subjects(ds: ClipDataset, batch_size: int) -> torch.Tensor:
    out = []
    for items in make_loader(ds, batch_size, seed=0, epoch=0, shuffle=False, drop_last=False):
        out.append(subject_ids(items, int(torch.as_tensor(items["label"]).numel())))
    return torch.cat(out)


def probe_subjects(
    cfg: Config, checkpoint: str | Path | None, *, device: str = "cpu", train_ds: ClipDataset | None = None
) -> dict[str, dict[str, float]]:
    """``{"subject": {stream: top1}, "gesture_seen_subjects": {stream: top1}}`` (percent; see the module doc).

    ``checkpoint=None`` probes the encoder with its random initial weights (as ``evaluate --random-init``).
    """
    dev = resolve_device(device)
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    tr = train_ds if train_ds is not None else build_datasets(cfg.data)[0]
    layout, v, c, k = dataset_info(tr)
    if checkpoint is None:
        enc = build_encoder(cfg, layout, v, input_channels(cfg, c, layout), seed=stream_seed(cfg.seed, INIT)).to(dev)
    else:
        enc, mcfg, _ = load_encoder(checkpoint, dev)
        cfg.model = mcfg.model
    feats, labels = extract_features(enc, tr, cfg, layout, dev)
    _, subj = torch.unique(_subjects(tr, cfg.eval.batch_size), return_inverse=True)
    first = torch.arange(labels.numel()) % 2 == 0
    a = {s: f[first] for s, f in feats.items()}
    b = {s: f[~first] for s, f in feats.items()}
    lin: LinearConfig = cfg.eval.linear
    seed = stream_seed(cfg.seed, PROBE)
    out: dict[str, dict[str, float]] = {}
    for name, y, n in (("subject", subj, int(subj.max()) + 1), ("gesture_seen_subjects", labels, k)):
        res = linear_probe(a, y[first], b, y[~first], n, lin, fused_dim=cfg.model.head.fused_dim, seed=seed)
        out[name] = {s: round(m["top1"], 1) for s, m in res.items()}
    out["chance_subject"] = {"top1": round(100.0 * float(torch.bincount(subj[~first]).max()) / int((~first).sum()), 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference_models.mg_contrastive.probe_subject", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", help="a pre-training run folder (its encoder.pt is probed)")
    g.add_argument("--random-init", action="store_true", help="probe the encoder with random initial weights")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    ckpt: Any = None if args.random_init else Path(args.out) / "encoder.pt"
    if ckpt is not None and not ckpt.exists():
        print(f"error: {ckpt} not found (run pretrain first)", file=sys.stderr)
        return 2
    res = probe_subjects(cfg, ckpt, device=args.device)
    for name, per in res.items():
        print(name, per)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m reference_models.mg_contrastive {pretrain,evaluate,ablate} --config FILE``.

Multi-process / multi-node: ``torchrun --nproc_per_node N -m reference_models.mg_contrastive pretrain ...``
(gloo on CPU, NCCL on GPUs; ``optim.batch_size`` is the global batch).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reference_models.mg_contrastive.config import ConfigError, apply_overrides, load_config, tomllib


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="TOML config (see reference_models/mg_contrastive/configs/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key with a TOML value, e.g. --set optim.epochs=5 (repeatable)")
    p.add_argument("--out", default=None, help="output folder (default: the config's output_dir)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:K (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_models.mg_contrastive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="contrastive pre-training (resumes from <out>/last.pt)")
    _common(p)
    p.add_argument("--resume", default="auto", help="auto (default: <out>/last.pt if present), none, or a path")
    p.add_argument("--stop-after-steps", type=int, default=None,
                   help="stop after this global step without saving (simulates a kill)")
    p.add_argument("--evaluate", action="store_true", help="run the config's evaluation protocols afterwards")
    e = sub.add_parser("evaluate", help="linear / kNN / fine-tune / semi-supervised evaluation")
    _common(e)
    g = e.add_mutually_exclusive_group()
    g.add_argument("--checkpoint", default=None, help="encoder.pt (default: <out>/encoder.pt)")
    g.add_argument("--random-init", action="store_true", help="evaluate the encoder with random initial weights")
    e.add_argument("--protocols", default=None, help="comma-separated subset of linear,knn,finetune,semi")
    a = sub.add_parser("ablate", help="pre-train and evaluate the config's [ablate] grid; writes results.json/md")
    _common(a)
    args = parser.parse_args(argv)

    try:
        cfg = load_config(args.config, args.overrides)
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out or cfg.output_dir)
    progress = not args.no_progress
    if args.command == "pretrain":
        from reference_models.mg_contrastive.evaluate import evaluate
        from reference_models.mg_contrastive.train import pretrain

        res = pretrain(cfg, out, device=args.device, resume=args.resume, stop_after_steps=args.stop_after_steps,
                       show_progress=progress)
        import torch.distributed as dist

        main_rank = not dist.is_initialized() or dist.get_rank() == 0
        if main_rank:
            print(f"[pretrain] step {res['global_step']}, last loss {res['loss']:.4f}"
                  + (" (stopped early)" if res["stopped"] else f"; encoder: {out / 'encoder.pt'}"), flush=True)
        if args.evaluate and not res["stopped"] and main_rank:
            from reference_models.mg_contrastive.evaluate import results_markdown

            r = evaluate(cfg, out, checkpoint=out / "encoder.pt", device=args.device, show_progress=progress)
            print(results_markdown(r))
        if dist.is_initialized():
            dist.destroy_process_group()
        return 0
    if args.command == "evaluate":
        from reference_models.mg_contrastive.evaluate import evaluate, results_markdown

        ckpt = None if args.random_init else Path(args.checkpoint or out / "encoder.pt")
        if ckpt is not None and not ckpt.exists():
            print(f"error: checkpoint {ckpt} not found (run pretrain first, or pass --checkpoint / --random-init)",
                  file=sys.stderr)
            return 2
        protos = args.protocols.split(",") if args.protocols else None
        unknown = sorted(set(protos or []) - {"linear", "knn", "finetune", "semi"})
        if unknown:
            print(f"error: --protocols {args.protocols!r}: unknown {unknown}; use linear, knn, finetune, semi",
                  file=sys.stderr)
            return 2
        r = evaluate(cfg, out, checkpoint=ckpt, protocols=protos, device=args.device, show_progress=progress)
        print(results_markdown(r))
        return 0
    from reference_models.mg_contrastive.ablate import ablate

    base = apply_overrides(tomllib.loads(Path(args.config).read_text(encoding="utf-8")), args.overrides)
    rows = ablate(base, out, device=args.device, show_progress=progress)
    print((out / "results.md").read_text())
    print(f"[ablate] {len(rows)} runs; results in {out / 'results.json'} and {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

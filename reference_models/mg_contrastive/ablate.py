"""Ablation harness: pre-train and evaluate every run of a grid, then write one results table.

The runs are the cartesian product of ``[ablate.grid]`` (dotted config key -> list of values) plus
each ``[[ablate.variants]]`` (``name`` and a ``set`` table of overrides), all on top of the base
config. Each run lives in ``<out>/<run name>/`` (checkpoints, metrics, evaluation); a finished run is
not repeated when the command is run again, an interrupted one resumes. With
``ablate.random_baseline`` the same protocols also run on each distinct architecture with its random
initial weights. Results: ``<out>/results.json`` and ``<out>/results.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from reference_models.mg_contrastive.config import Config, apply_overrides, config_to_dict, load_config_dict
from reference_models.mg_contrastive.data import build_datasets
from reference_models.mg_contrastive.evaluate import evaluate
from reference_models.mg_contrastive.train import pretrain
from reference_models.mg_contrastive.utils import atomic_write_text, write_json
from skelaug.data import ClipDataset

__all__ = ["ablate", "expand_runs", "results_table"]


def _short(key: str, value: Any) -> str:
    v = "-".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{key.split('.')[-1]}={v}"


def expand_runs(cfg: Config) -> list[tuple[str, dict[str, Any]]]:
    """``[(run name, {dotted key: value})]`` of the grid and the variants.

    Example:
        >>> cfg = load_config_dict({"ablate": {"grid": {"augment.preset": ["none", "mg"]},
        ...                                    "variants": [{"name": "single", "set": {"model.streams": ["graph"]}}]}})
        >>> [name for name, _ in expand_runs(cfg)]
        ['preset=none', 'preset=mg', 'single']
    """
    runs: list[tuple[str, dict[str, Any]]] = []
    grid = cfg.ablate.grid
    if grid:
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            sets = dict(zip(keys, values, strict=True))
            runs.append((",".join(_short(k, v) for k, v in sets.items()), sets))
    for var in cfg.ablate.variants:
        runs.append((str(var["name"]), dict(var.get("set", {}))))
    names = [n for n, _ in runs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"ablation runs {dup} have the same name; give the variants distinct names")
    return runs


def _fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:10]


def _get(results: dict[str, Any], *path: str) -> float | None:
    node: Any = results.get("protocols", {})
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return float(node) if isinstance(node, int | float) else None


def ablate(
    base: dict[str, Any],
    out_dir: str | Path,
    *,
    overrides: list[str] | None = None,
    device: str = "auto",
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Run the ablation grid of config dict ``base`` (with command-line ``overrides``) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg0 = load_config_dict(base, overrides)
    runs = expand_runs(cfg0)
    if not runs:
        raise ValueError("the config has no [ablate] grid or variants; nothing to run")
    data_cache: dict[str, tuple[ClipDataset, ClipDataset]] = {}
    random_cache: dict[str, dict[str, Any]] = {}
    rows = []
    for i, (name, sets) in enumerate(runs):
        cfg = load_config_dict(apply_overrides(apply_overrides(base, overrides or []), sets))
        print(f"[ablate] run {i + 1}/{len(runs)}: {name}", flush=True)
        dkey = _fingerprint(config_to_dict(cfg)["data"])
        if dkey not in data_cache:
            data_cache[dkey] = build_datasets(cfg.data)
        ds = data_cache[dkey]
        run_dir = out / name.replace("/", "_")
        done = run_dir / "eval_encoder.json"
        if done.exists():
            res = json.loads(done.read_text())
        else:
            pretrain(cfg, run_dir, device=device, datasets=ds, show_progress=show_progress)
            res = evaluate(cfg, run_dir, checkpoint=run_dir / "encoder.pt", protocols=list(cfg.ablate.protocols),
                           device=device, datasets=ds, show_progress=show_progress)
        row: dict[str, Any] = {"name": name, "set": sets, "results": res}
        if cfg.ablate.random_baseline:
            akey = _fingerprint([config_to_dict(cfg)["model"], config_to_dict(cfg)["data"], cfg.seed])
            if akey not in random_cache:
                rdir = out / f"random_init_{akey}"
                rdone = rdir / "eval_random_init.json"
                if rdone.exists():
                    random_cache[akey] = json.loads(rdone.read_text())
                else:
                    random_cache[akey] = evaluate(cfg, rdir, checkpoint=None, protocols=list(cfg.ablate.protocols),
                                                  device=device, datasets=ds, show_progress=show_progress)
            row["random_init"] = random_cache[akey]
        rows.append(row)
        write_json(rows, out / "results.json")
        atomic_write_text(results_table(rows), out / "results.md")
    return rows


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def results_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown summary: linear-probe top-1 per stream and fused, fused class-balanced accuracy, fused
    kNN top-1, and the fused linear top-1 of the same architecture with random weights."""
    lines = [
        "| run | linear graph | linear recurrent | linear fused | fused balanced | kNN fused | "
        "random-init linear fused | gain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r = row["results"]
        best = _best_stream(r, "linear")
        knn = r.get("protocols", {}).get("knn", {})
        kkey = next(iter(knn), None)
        knn_v = _get(r, "knn", kkey, _best_key(knn.get(kkey, {})), "top1") if kkey else None
        rnd = row.get("random_init")
        rnd_v = _get(rnd, "linear", _best_stream(rnd, "linear"), "top1") if rnd else None
        lin_v = _get(r, "linear", best, "top1")
        gain = None if lin_v is None or rnd_v is None else lin_v - rnd_v
        lines.append(
            f"| {row['name']} | {_fmt(_get(r, 'linear', 'graph', 'top1'))} | "
            f"{_fmt(_get(r, 'linear', 'recurrent', 'top1'))} | {_fmt(_get(r, 'linear', 'fused', 'top1'))} | "
            f"{_fmt(_get(r, 'linear', best, 'balanced'))} | {_fmt(knn_v)} | {_fmt(rnd_v)} | "
            f"{'-' if gain is None else f'{gain:+.1f}'} |"
        )
    lines.append("")
    lines.append(
        "Top-1 / class-balanced accuracy in %. 'fused balanced', 'kNN fused', 'random-init' and 'gain' use "
        "the fused streams, or the only stream of a single-stream run; 'gain' = linear top-1 minus the "
        "random-init linear top-1 of the same architecture."
    )
    return "\n".join(lines) + "\n"


def _best_key(per: dict[str, Any]) -> str:
    return "fused" if "fused" in per else next(iter(per), "fused")


def _best_stream(results: dict[str, Any], proto: str) -> str:
    return _best_key(results.get("protocols", {}).get(proto, {}))

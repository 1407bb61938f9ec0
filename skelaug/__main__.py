"""Command line: ``python -m skelaug demo`` runs the micro-gesture preset on built-in synthetic clips
(``python -m skelaug convert IN OUT`` converts pose files to ``.npz`` clips or a pyskl pickle).

It generates labelled synthetic micro-gesture clips, augments them with
:func:`skelaug.augment.presets.micro_gesture`, prints what each step did per sample, and writes a
before/after figure (PNG) and the exact parameters (JSON, replayable) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from skelaug.augment.ops import Op, identity_params

__all__ = ["main"]


def _describe(op: Op, i: int) -> str:
    p = op.params
    if op.kind == "affine":
        return f"affine A={np.round(p['matrix'][i], 3).tolist()} b={np.round(p['offset'][i], 1).tolist()}"
    if op.kind == "resample":
        n = int(p["out_len"][i])
        src = p["src"][i, :n]
        return f"resample ({op.static.get('mode')}) -> {n} frames from source frames {src.min():.1f}..{src.max():.1f}"
    if op.kind == "noise":
        return f"noise sigma={p['sigma'][i]:.3g} (stride {op.static.get('stride')})"
    if op.kind == "mask":
        return f"mask drops {int((~p['joint'][i]).sum())} joints, {int((~p['frame'][i]).sum())} frames"
    return op.kind


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def demo(out: Path, samples: int, seed: int, layout: str) -> int:
    from skelaug.augment import presets
    from skelaug.data.synthetic import generate
    from skelaug.viz import plot_before_after

    out.mkdir(parents=True, exist_ok=True)
    ds = generate(samples, layout, num_frames=64, seed=seed)
    aug = presets.micro_gesture(layout)
    y, lengths = aug(ds.data, ds.lengths, generator=seed)
    assert aug.last_params is not None
    lengths_at = [ds.lengths]                   # valid lengths before each op
    for op in aug.last_params:
        lengths_at.append(op.params["out_len"] if op.kind == "resample" else lengths_at[-1])
    print(f"skelaug demo: {samples} synthetic {layout} micro-gesture clips, batch {tuple(ds.data.shape)}")
    print(f"pipeline: {aug!r}")
    for i in range(min(samples, 4)):
        print(f"- sample {i} ({ds.class_names[int(ds.labels[i])]}, {int(ds.lengths[i])} -> {int(lengths[i])} frames):")
        for step, op in enumerate(aug.last_params or ()):
            ident = identity_params(op.kind, 1, v=ds.data.shape[3], d=2 if layout == "imigue22" else 3,
                                    t=ds.data.shape[2], lengths=np.array([lengths_at[step][i]]), static=op.static)
            same = all(np.array_equal(np.asarray(v)[i:i + 1], ident[k]) for k, v in op.params.items())
            print(f"    {'(not applied: identity)' if same else _describe(op, i)}")
    fig = out / "mg_preset_before_after.png"
    plot_before_after(ds.data[0], y[0], layout, str(fig), length_before=int(ds.lengths[0]),
                      length_after=int(lengths[0]), frames=5,
                      title=f"micro_gesture preset on a synthetic '{ds.class_names[int(ds.labels[0])]}' clip")
    _write_atomic(out / "params.json", json.dumps({"pipeline": aug.to_dict(), "program": aug.last_params.to_dict()}))
    print(f"wrote {fig} and {out / 'params.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skelaug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="augment synthetic micro-gesture clips and draw before/after")
    d.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    d.add_argument("--samples", type=int, default=16, help="number of synthetic clips (default: 16)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    d.add_argument("--layout", default="imigue22", choices=["imigue22", "ntu25"], help="skeleton layout")
    from skelaug._cli_convert import add_parser as add_convert

    add_convert(sub)  # `convert IN OUT`: its options and logic live in skelaug/_cli_convert.py
    args = parser.parse_args(argv)
    if args.command == "convert":
        return int(args.func(args))
    if args.samples < 1:
        parser.error(f"--samples={args.samples}; give at least 1")
    return demo(args.out, args.samples, args.seed, args.layout)


if __name__ == "__main__":
    sys.exit(main())

"""The ``demo`` and ``augment`` commands of ``python -m skelaug`` (see :mod:`skelaug.__main__`).

* ``demo``: augment built-in synthetic micro-gesture clips with
  :func:`skelaug.augment.presets.micro_gesture`, print what each augmentation step did per sample, and
  write a before/after figure and the replayable parameters.
* ``augment IN_DIR OUT_DIR --preset NAME``: augment every readable clip of a folder
  (:func:`skelaug.io.read`: files, and OpenPose folders of per-frame JSON), write one ``.npz`` per
  clip (the :class:`~skelaug.io.SkeletonSequence` fields, augmented, trimmed to the valid length) and
  its ``.params.json`` (pipeline + sampled program, for exact replay), and print a summary of what
  was skipped and why. Exit status 0 when every pose file was augmented, 1 when one failed.

Outputs are written atomically (a temporary file renamed into place) with the permissions any new
file gets (``0666`` minus the umask). User errors are reported in one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skelaug.augment.ops import Op, identity_params

__all__: list[str] = []

PRESETS = ("micro_gesture", "aimclr_normal", "aimclr_extreme", "isc")


class UserError(Exception):
    """A mistake in the command line or the inputs: reported as one line, exit status 2."""


# --------------------------------------------------------------------------------------- files
def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`skelaug.io._base.atomic_write`), with the
    permissions of any new file (``0666`` minus the umask)."""
    from skelaug.io._base import atomic_write

    atomic_write(path, lambda fh: fh.write(text.encode()))


# ----------------------------------------------------------------------------------- describing
def steps_of(aug: Any, x: np.ndarray, lengths: np.ndarray,
             generator: Any) -> tuple[Any, Any, list[tuple[str, list[Op]]]]:
    """Run the container ``aug`` once and attribute the sampled ops to its steps.

    Returns ``(y, new_lengths, [(step repr, its ops), ...])``; the ops concatenated are exactly
    ``aug.last_params.ops`` (each step's ``sample`` is observed while the one call samples).
    """
    seen: dict[int, list[Op]] = {}

    def observe(k: int, child: Any) -> Callable[..., list[Op]]:
        inner = child.sample

        def sample(ctx: Any, rng: Any) -> list[Op]:
            ops: list[Op] = inner(ctx, rng)
            seen[k] = list(ops)
            return ops
        return sample

    children = list(aug)
    for k, child in enumerate(children):
        child.sample = observe(k, child)
    try:
        y, out = aug(x, lengths, generator=generator)
    finally:
        for child in children:
            del child.sample
    steps = [(repr(child), seen.get(k, [])) for k, child in enumerate(children)]
    flat = [op for _, ops in steps for op in ops]
    if aug.last_params is None or len(flat) != len(aug.last_params.ops):
        steps = [(op.kind, [op]) for op in (aug.last_params or ())]      # a container that reorders
    return y, out, steps


def describe(op: Op, i: int, joint_names: tuple[str, ...] = ()) -> str:
    """What ``op`` does to sample ``i``, in words (joints by name when ``joint_names`` are given)."""
    p = op.params
    if op.kind == "affine":
        return f"affine A={np.round(p['matrix'][i], 3).tolist()} b={np.round(p['offset'][i], 3).tolist()}"
    if op.kind == "resample":
        n = int(p["out_len"][i])
        src = p["src"][i, :n]
        return f"resample ({op.static.get('mode')}) -> {n} frames from source frames {src.min():.1f}..{src.max():.1f}"
    if op.kind == "noise":
        return f"noise sigma={p['sigma'][i]:.3g} (stride {op.static.get('stride')})"
    if op.kind == "mask":
        joints = [joint_names[j] if j < len(joint_names) else str(j) for j in np.flatnonzero(~p["joint"][i])]
        return f"mask drops {len(joints)} joints ({', '.join(joints)}), {int((~p['frame'][i]).sum())} frames"
    return op.kind


def _is_identity(op: Op, i: int, v: int, d: int, t: int, length: int) -> bool:
    ident = identity_params(op.kind, 1, v=v, d=d, t=t, lengths=np.array([length]), static=op.static)
    return all(np.array_equal(np.asarray(val)[i:i + 1], ident[k]) for k, val in op.params.items())


# ----------------------------------------------------------------------------------------- demo
def demo(out: Path, samples: int, seed: int, layout: str) -> int:
    from skelaug import layouts
    from skelaug.augment import presets
    from skelaug.data.synthetic import generate
    from skelaug.viz import plot_before_after

    out.mkdir(parents=True, exist_ok=True)
    ds = generate(samples, layout, num_frames=64, seed=seed)
    aug = presets.micro_gesture(layout)
    y, lengths, steps = steps_of(aug, ds.data, ds.lengths, seed)
    assert aug.last_params is not None
    n, _, t, v, _ = ds.data.shape
    lay = layouts.get(layout)
    d = lay.dim
    print(f"skelaug demo: {samples} synthetic {layout} micro-gesture clips, batch {tuple(ds.data.shape)}")
    print(f"pipeline: {aug!r}")
    report: list[list[tuple[str, str]]] = []        # per sample: (step, what it did)
    for i in range(n):
        length = int(ds.lengths[i])
        rows = []
        for name, ops in steps:
            done = []
            for op in ops:
                if not _is_identity(op, i, v, d, t, length):
                    done.append(describe(op, i, lay.joint_names))
                if op.kind == "resample":
                    length = int(op.params["out_len"][i])
            rows.append((name, "; ".join(done) if done else "not applied"))
        report.append(rows)
    for i in range(min(n, 4)):
        print(f"- sample {i} ({ds.class_names[int(ds.labels[i])]}, {int(ds.lengths[i])} -> {int(lengths[i])} frames):")
        for name, text in report[i]:
            print(f"    {name}: {text}")
    masks = [op.params["joint"] for op in aug.last_params if op.kind == "mask"]
    dropped = np.zeros((n, v), dtype=bool)
    for joint in masks:
        dropped |= ~np.asarray(joint, dtype=bool)
    seen = (ds.data[..., :d] != 0).any(-1).any(axis=(1, 2))              # (N, V): joint present somewhere
    score = [sum(text != "not applied" for _, text in report[i]) + 3 * bool((dropped[i] & seen[i]).any())
             for i in range(n)]
    i = int(np.argmax(score))                     # draw the sample the most steps changed
    steps_text = [f"{name.split('(')[0]:<18} {text if len(text) < 100 else text[:97] + '...'}"
                  for name, text in report[i]]
    source = np.arange(int(lengths[i]), dtype=np.float64)        # original frame of each augmented frame
    for op in reversed([op for op in aug.last_params if op.kind == "resample"]):
        src = op.params["src"][i, : int(op.params["out_len"][i])]
        source = np.interp(source, np.arange(len(src)), src)
    fig = out / "mg_preset_before_after.png"
    plot_before_after(ds.data[i], y[i], layout, str(fig), length_before=int(ds.lengths[i]),
                      length_after=int(lengths[i]), frames=5, masked=np.flatnonzero(dropped[i]).tolist(),
                      steps=steps_text, source=source.tolist(),
                      title=f"micro_gesture preset on synthetic '{ds.class_names[int(ds.labels[i])]}' clip {i} "
                            f"({layout}): before (blue) and after (red)")
    write_text(out / "params.json", json.dumps({"pipeline": aug.to_dict(), "program": aug.last_params.to_dict()}))
    print(f"wrote {fig} and {out / 'params.json'}")
    return 0


# -------------------------------------------------------------------------------------- augment
def _candidates(in_dir: Path, out_dir: Path) -> list[Path]:
    """Entries of ``in_dir`` that may be clips: files and folders, hidden ones and ``out_dir`` left out."""
    out_res = out_dir.resolve()
    return sorted(p for p in in_dir.iterdir() if not p.name.startswith(".") and p.resolve() != out_res)


def _stem(path: Path, taken: set[str]) -> str:
    stem = path.name.split(".")[0] or path.name
    if stem in taken:
        stem = path.name
    taken.add(stem)
    return stem


def _first_line(exc: BaseException, path: Path) -> str:
    """The error's first line, without the file name (the summary names it)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line.replace(str(path), "", 1).lstrip(":, ") if line.startswith(str(path)) else line


def augment_folder(in_dir: Path, out_dir: Path, preset: str, seed: int, layout: str | None = None,
                   progress: bool | None = None) -> int:
    """Augment every readable clip of ``in_dir`` into ``out_dir``; returns the exit status.

    Clip ``k`` (in sorted name order) is augmented with ``numpy.random.default_rng([seed, k])``, so a
    run is reproducible and each clip's output does not depend on the others.
    """
    from tqdm import tqdm  # type: ignore[import-untyped]

    from skelaug import io as sio
    from skelaug.augment import presets

    if not in_dir.is_dir():
        raise UserError(f"IN_DIR={str(in_dir)!r} is not a folder; give the folder holding the pose files")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"OUT_DIR={str(out_dir)!r} exists and is not a folder; give a folder to write to")
    out_dir.mkdir(parents=True, exist_ok=True)
    build: Callable[[str], Any] = getattr(presets, preset)
    pipelines: dict[str, Any] = {}
    skipped: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    done = 0
    taken: set[str] = set()
    entries = _candidates(in_dir, out_dir)
    for k, path in enumerate(tqdm(entries, desc="augment", unit="clip", disable=progress is False
                                  or (progress is None and not sys.stderr.isatty()), file=sys.stderr)):
        try:
            fmt = sio.detect_format(path)
        except (sio.SkeletonFormatError, OSError) as exc:
            skipped.append((path.name, _first_line(exc, path)))
            continue
        try:
            seq = sio.read(path, format=fmt)
            if layout is not None and seq.layout != layout:
                skipped.append((path.name, f"layout {seq.layout!r}, not --layout {layout!r}"))
                continue
            if seq.data.shape[1] == 0:
                skipped.append((path.name, "no frames"))
                continue
            aug = pipelines.setdefault(seq.layout, build(seq.layout))
            y, new_len = aug(seq.data, seq.data.shape[1], generator=np.random.default_rng([seed, k]))
            y = np.ascontiguousarray(y[:, :new_len])
            assert aug.last_params is not None
            conf = y[..., -1].copy() if seq.confidence is not None else None
            source = dict(seq.source, augmented_from=str(path), preset=preset, seed=[seed, k])
            out_seq = sio.SkeletonSequence(y, seq.layout, seq.fps, conf, seq.channels, source, dict(seq.counts))
            stem = _stem(path, taken)
            sio.save_npz(out_dir / f"{stem}.npz", out_seq)        # skelaug.io.read reads it back
            write_text(out_dir / f"{stem}.params.json", json.dumps({
                "source": str(path), "format": fmt, "layout": seq.layout, "seed": [seed, k],
                "pipeline": aug.to_dict(), "program": aug.last_params.to_dict()}))
            done += 1
        except (ValueError, OSError) as exc:        # SkeletonFormatError is a ValueError
            failed.append((path.name, _first_line(exc, path)))
    print(f"augmented {done} of {len(entries)} entries of {in_dir} with preset {preset!r} into {out_dir}")
    for what, rows in (("skipped (not a pose file we read)", skipped), ("failed", failed)):
        if rows:
            print(f"{what}: {len(rows)}")
            for name, why in rows:
                print(f"  {name}: {why}")
    return 1 if failed else 0


# ----------------------------------------------------------------------------------------- wiring
def add_commands(sub: Any) -> None:
    """Register ``demo`` and ``augment`` on an ``argparse`` subparsers object."""
    d = sub.add_parser("demo", help="augment synthetic micro-gesture clips and draw before/after")
    d.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    d.add_argument("--samples", type=int, default=16, help="number of synthetic clips (default: 16)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    d.add_argument("--layout", default="imigue22", choices=["imigue22", "ntu25"], help="skeleton layout")
    d.set_defaults(run=_run_demo)
    a = sub.add_parser("augment", help="augment every pose file of a folder into .npz files",
                       description="Augment every clip of IN_DIR that skelaug.io.read reads (files and OpenPose "
                                   "folders) and write OUT_DIR/<name>.npz plus <name>.params.json for replay.")
    a.add_argument("in_dir", type=Path, metavar="IN_DIR", help="folder with pose files")
    a.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder for the augmented clips")
    a.add_argument("--preset", default="micro_gesture", choices=PRESETS,
                   help="pipeline from skelaug.augment.presets (default: micro_gesture)")
    a.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    a.add_argument("--layout", default=None, help="only augment clips of this layout (default: all)")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    a.set_defaults(run=_run_augment)


def _run_demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.samples < 1:
        parser.error(f"--samples={args.samples}; give at least 1")
    return demo(args.out, args.samples, args.seed, args.layout)


def _run_augment(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.seed < 0:
        parser.error(f"--seed={args.seed}; give a non-negative integer")
    return augment_folder(args.in_dir, args.out_dir, args.preset, args.seed, args.layout,
                          progress=False if args.no_progress else None)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the chosen command: user errors as one line on stderr (status 2), a closed pipe quietly."""
    try:
        handler = getattr(args, "run", None)
        status: int = handler(args, parser) if handler is not None else int(args.func(args))  # convert: func
        sys.stdout.flush()
        return status
    except UserError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`python -m skelaug demo | head`): stop quietly. Point stdout at devnull
        # so the interpreter's final flush does not raise again (the recipe in Python's signal docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def version_action(parser: argparse.ArgumentParser) -> None:
    """Add ``--version``."""
    from skelaug import __version__

    parser.add_argument("--version", action="version", version=f"skelaug {__version__}")


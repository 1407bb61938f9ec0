"""``python -m skelaug convert IN OUT``: any pose file skelaug reads, to ``.npz`` clips or a pyskl pickle.

* ``IN`` a file (or an OpenPose frame folder / tar archive): one clip (a COCO-style file holding several
  videos gives one clip per video). ``OUT`` ending in ``.npz`` -> that file
  (:func:`skelaug.io.save_npz`); ending in ``.pkl`` / ``.pickle`` -> a pyskl annotation pickle
  (:func:`skelaug.io.save_pyskl`); anything else -> a folder receiving ``<name>.npz``.
* ``IN`` a folder of clips: every file below it whose ending a reader claims (``.skeleton``, ``.json``,
  ``.csv``, ``.npy``, ``.tar.gz``, ...; OpenPose frame folders count as one clip), read with
  :func:`skelaug.io.read`. ``OUT`` a folder (the input tree mirrored, one ``.npz`` per clip) or one pyskl
  pickle with one annotation per clip (``frame_dir`` = the clip's path relative to ``IN``).

Exit status: 0 every input converted; 1 some inputs could not be converted (each named, with the reason,
in the summary; the others are written); 2 a usage error (missing ``IN``, an ``OUT`` that exists without
``--overwrite``, nothing to convert). No traceback for a bad input file; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

_PICKLE = (".pkl", ".pickle")


_DESCRIPTION = """\
Convert pose files that skelaug reads (NTU .skeleton, OpenPose JSON folders or archives, Kinetics-skeleton
and COCO-style JSON, MediaPipe / Kinect / SMG CSV, ...) to .npz clips or one pyskl pickle.

IN   a file (an OpenPose frame folder or tar archive counts as one) or a folder of clips: every file below
     it whose ending a reader claims; other files are ignored.
OUT  NAME.npz: one clip; NAME.pkl / NAME.pickle: a pyskl pickle, one annotation per clip; anything else:
     a folder receiving one .npz per clip (the input tree mirrored).

.npz keys: data (M, T, V, C) float32, layout, fps (NaN if unknown), channels, counts and source (JSON
text), confidence (when the format has one). Read them back with skelaug.io.read or numpy.load.

exit status: 0 all converted; 1 some inputs skipped (listed with the reason); 2 usage error.
"""


class _UsageError(Exception):
    """A problem with the command line or the paths given (exit status 2)."""


@dataclass
class _Report:
    converted: list[tuple[str, str]] = field(default_factory=list)  # (input, output)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)
    ignored: int = 0  # files in a folder that no reader claims by their ending


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``convert`` subcommand on an ``argparse`` subparsers object."""
    from skelaug.io import formats

    p: argparse.ArgumentParser = sub.add_parser(
        "convert",
        help="convert pose files (any supported format) to .npz clips or a pyskl pickle",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="IN", help="a pose file, an OpenPose folder, or a folder of clips")
    p.add_argument("output", type=Path, metavar="OUT", help="OUT.npz, OUT.pkl (pyskl) or a folder")
    p.add_argument("--format", choices=sorted(formats()), metavar="NAME",
                   help=f"reader to use (default: detect per file): {', '.join(sorted(formats()))}")  # fmt: skip
    p.add_argument("--max-persons", type=int, default=None, metavar="M",
                   help="keep at most M persons per clip (see --select)")  # fmt: skip
    p.add_argument("--select", default="confidence", choices=["confidence", "motion", "presence"],
                   help="how --max-persons chooses persons (default: confidence)")  # fmt: skip
    p.add_argument("--fps", type=float, default=None, help="set the frame rate of every clip")
    p.add_argument("--label", type=int, default=-1, help="class label stored in a pyskl pickle (default: -1)")
    p.add_argument("--compress", action="store_true", help="deflate the .npz arrays")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown on a terminal)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the skipped inputs and errors")
    p.set_defaults(func=run)
    return p


# ------------------------------------------------------------------------------------------- inputs
def _claimed(path: Path) -> bool:
    from skelaug.io._base import _READERS

    low = path.name.lower()
    return any(low.endswith(e) for r in _READERS.values() for e in r.extensions)


def _is_clip_folder(path: Path) -> bool:
    from skelaug.io import detect_format

    try:
        detect_format(path)
    except ValueError:
        return False
    return True


def _candidates(root: Path, report: _Report, exclude: Path) -> Iterator[Path]:
    """Clips below ``root``: files with a claimed ending, and folders a directory reader recognises.

    ``exclude`` (the output, when it lies inside ``root``) is not walked into."""
    exclude = exclude.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames.sort()
        keep = []
        for name in dirnames:
            if name.startswith(".") or (d / name).resolve() == exclude:
                continue
            if _is_clip_folder(d / name):
                yield d / name
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith(".") or (d / name).resolve() == exclude:
                continue
            if _claimed(d / name):
                yield d / name
            else:
                report.ignored += 1


def _stem(path: Path) -> str:
    """File name without its reader ending (``clip.tar.gz`` -> ``clip``, ``a.skeleton`` -> ``a``)."""
    from skelaug.io._base import _READERS

    low = path.name.lower()
    ends = sorted((e for r in _READERS.values() for e in r.extensions if low.endswith(e)), key=len)
    return path.name[: -len(ends[-1])] if ends and len(ends[-1]) < len(path.name) else path.name


def _read_clips(path: Path, args: argparse.Namespace) -> list[tuple[str, Any]]:
    """``[(suffix, sequence)]``: one clip, or one per video of a COCO-style video file."""
    from skelaug.io import detect_format, read, read_coco_videos, select_people

    fmt = args.format or detect_format(path)
    if fmt == "coco_json":
        videos = read_coco_videos(path)
        clips = [("" if len(videos) == 1 else f"__{vid}", seq) for vid, seq in videos.items()]
    else:
        clips = [("", read(path, format=fmt))]
    for _, seq in clips:
        if args.fps is not None:
            seq.fps = float(args.fps)
    if args.max_persons is not None:
        clips = [(s, select_people(seq, args.max_persons, by=args.select)) for s, seq in clips]
    return clips


# ------------------------------------------------------------------------------------------- outputs
def _write_pyskl(out: Path, items: list[tuple[str, Any]], label: int) -> None:
    from skelaug.io import save_pyskl

    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_pyskl(tmp, [s for _, s in items], [label] * len(items), names=[n for n, _ in items])
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _progress(items: list[Path], args: argparse.Namespace) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

    disable = args.no_progress or args.quiet or not sys.stderr.isatty()
    return tqdm(items, desc="convert", unit="file", disable=disable, file=sys.stderr, dynamic_ncols=True)


def _convert(args: argparse.Namespace) -> _Report:
    from skelaug.io import SkeletonFormatError

    src: Path = args.input
    out: Path = args.output
    if not src.exists():
        raise _UsageError(f"IN={str(src)!r} does not exist")
    if args.max_persons is not None and args.max_persons < 1:
        raise _UsageError(f"--max-persons={args.max_persons}; give at least 1")
    if args.fps is not None and not (args.fps > 0 and args.fps < float("inf")):
        raise _UsageError(f"--fps={args.fps}; give a positive frame rate")
    to_pickle = out.suffix.lower() in _PICKLE
    to_file = to_pickle or out.suffix.lower() == ".npz"
    if to_file and out.exists() and not args.overwrite:
        raise _UsageError(f"OUT={str(out)!r} exists; pass --overwrite to replace it")
    if to_file and out.is_dir():
        raise _UsageError(f"OUT={str(out)!r} is a folder; give a file name or a folder without that ending")
    report = _Report()
    single = src.is_file() or _is_clip_folder(src)
    inputs = [src] if single else list(_candidates(src, report, out))
    if not inputs:
        raise _UsageError(
            f"IN={str(src)!r} holds no file a reader claims ({report.ignored} other files); "
            f"see `python -m skelaug convert --help` for the formats"
        )
    if to_file:
        out.parent.mkdir(parents=True, exist_ok=True)
    else:
        out.mkdir(parents=True, exist_ok=True)
    base = src if not single else src.parent
    pending: list[tuple[str, Any]] = []  # pyskl: (frame_dir, sequence), written at the end
    first_layout: str | None = None
    seen: dict[Path, str] = {}
    for path in _progress(inputs, args):
        rel = path.relative_to(base) if path != base else Path(path.name)
        try:
            clips = _read_clips(path, args)
        except (SkeletonFormatError, ValueError, OSError) as e:
            report.skipped.append((str(path), _reason(e)))
            continue
        except Exception as e:  # a reader failing on a file it should reject cleanly: report, go on
            report.skipped.append(
                (str(path), f"unexpected {type(e).__name__}: {e} (a skelaug bug: please report it with the file)")
            )
            continue
        if to_file and not to_pickle and len(clips) > 1:
            report.skipped.append((str(path), f"holds {len(clips)} videos; convert to a folder or a .pkl"))
            continue
        for suffix, seq in clips:
            name = (rel.parent / (_stem(rel) + suffix)).as_posix()
            if to_pickle:
                if first_layout is None:
                    first_layout = seq.layout
                if seq.layout != first_layout:
                    report.skipped.append(
                        (str(path) + suffix, f"layout {seq.layout!r} differs from the pickle's {first_layout!r} "
                                             f"(a pyskl file holds one layout)")
                    )
                    continue
                pending.append((name, seq))
                report.converted.append((str(path) + suffix, f"{out}::{name}"))
                continue
            target = out if to_file else out / (name + ".npz")
            if target in seen:
                report.skipped.append((str(path) + suffix, f"its output {target} is also {seen[target]}'s"))
                continue
            if not to_file and target.exists() and not args.overwrite:
                report.skipped.append((str(path) + suffix, f"{target} exists (pass --overwrite to replace it)"))
                continue
            seen[target] = str(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            _save(target, seq, args.compress)
            report.converted.append((str(path) + suffix, str(target)))
    if to_pickle and pending:
        _write_pyskl(out, pending, args.label)
    return report


def _save(target: Path, seq: Any, compress: bool) -> None:
    from skelaug.io import save_npz

    save_npz(target, seq, compress=compress)


def _reason(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError | PermissionError | IsADirectoryError):
        return f"{type(e).__name__}: {e}"
    msg = str(e)
    path = getattr(e, "path", None)
    if isinstance(path, str) and msg.startswith(path):  # the summary names the file already
        msg = msg[len(path) :].lstrip(":, ")
    return msg.split(" (known formats:")[0]


def _summary(report: _Report, out: Path, quiet: bool) -> None:
    n_ok, n_skip = len(report.converted), len(report.skipped)
    if not quiet:
        for src, dst in report.converted[:20]:
            print(f"  {src} -> {dst}")
        if n_ok > 20:
            print(f"  ... and {n_ok - 20} more")
        n_ign = report.ignored
        ignored = f"; ignored {n_ign} file{'s' * (n_ign != 1)} no reader claims" if n_ign else ""
        print(f"converted {n_ok} clip{'s' * (n_ok != 1)} to {out}; skipped {n_skip}{ignored}")
    if report.skipped:
        print(f"skipped {n_skip} input{'s' * (n_skip != 1)}:", file=sys.stderr)
        for src, why in report.skipped:
            print(f"  {src}: {why}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run ``convert`` with parsed arguments; returns the exit status (0, 1 or 2, see the module docstring)."""
    try:
        report = _convert(args)
    except _UsageError as e:
        print(f"skelaug convert: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # writing OUT failed (permissions, disk full, ...)
        print(f"skelaug convert: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skelaug convert: interrupted", file=sys.stderr)
        return 130
    _summary(report, args.output, args.quiet)
    return 1 if report.skipped else 0

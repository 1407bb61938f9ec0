"""Command line: ``python -m skelaug demo`` runs the micro-gesture preset on built-in synthetic clips;
``python -m skelaug augment IN_DIR OUT_DIR --preset micro_gesture`` augments a folder of pose files
(``python -m skelaug convert IN OUT`` converts pose files to ``.npz`` clips or a pyskl pickle).

``demo`` generates labelled synthetic micro-gesture clips, augments them with
:func:`skelaug.augment.presets.micro_gesture`, prints what each augmentation step did per sample, and
writes a before/after figure (PNG) and the exact parameters (JSON, replayable) to ``--out``.
``augment`` writes one ``.npz`` and one ``.params.json`` per clip and a summary of what was skipped.
"""

from __future__ import annotations

import argparse
import sys

from skelaug import _cli

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skelaug", description=__doc__)
    _cli.version_action(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    _cli.add_commands(sub)
    from skelaug._cli_convert import add_parser as add_convert

    add_convert(sub)  # `convert IN OUT`: its options and logic live in skelaug/_cli_convert.py
    args = parser.parse_args(argv)
    return _cli.run(args, parser)


if __name__ == "__main__":
    sys.exit(main())

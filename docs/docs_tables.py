"""Tables generated from the code (registry of augmentations, layouts) for the docs."""

from __future__ import annotations

from pathlib import Path


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append("   * - " + row[0])
        out += [f"     - {c}" for c in row[1:]]
    return "\n".join(out) + "\n"


def write_tables(folder: Path) -> None:
    from skelaug import augment, layouts
    from skelaug.augment.base import AUGMENTATIONS

    folder.mkdir(exist_ok=True)
    rows = []
    for name, cls in sorted(AUGMENTATIONS.items()):
        prims = cls.primitives if isinstance(cls.primitives, tuple) else ("(children's)",)
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        rows.append([f":class:`~skelaug.augment.{name}`", ", ".join(f"``{p}``" for p in prims) or "(children's)",
                     "yes" if cls.needs_layout else "optional", "yes" if cls.batch_dependent else "no", doc])
    (folder / "augmentations.rst").write_text(
        _table(["augmentation", "primitives", "layout", "batch-dependent", "summary"], rows))
    lrows = []
    for n in layouts.names():
        lay = layouts.get(n)
        lrows.append([f"``{n}``", str(lay.num_joints), str(lay.dim), str(len(lay.edges())),
                      ", ".join(sorted(lay.parts)), lay.notes.replace("\n", " ")])
    (folder / "layouts.rst").write_text(_table(["name", "joints", "dim", "edges", "parts", "notes"], lrows))
    del augment

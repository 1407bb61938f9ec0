"""Pages generated from the code at build time: registry tables, the augmentation gallery, benchmarks.

Nothing here is written by hand, so the docs cannot drift from the code: the gallery runs every
registered augmentation on a real OpenPose clip from ``../shared/fixtures`` (override the folder with
``SKELAUG_SHARED``) and measures the invariants it reports.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = "ntu25"


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append("   * - " + row[0])
        out += [f"     - {c}" for c in row[1:]]
    return "\n".join(out) + "\n"


def _summary(obj: Any) -> str:
    return (inspect.getdoc(obj) or "").strip().split("\n")[0]


def _params(cls: Any) -> str:
    from skelaug.augment.base import Augmentation

    items = []
    for klass in (cls, Augmentation):
        for p in inspect.signature(klass.__init__).parameters.values():
            if p.name in ("self", "kwargs") or p.kind is inspect.Parameter.VAR_KEYWORD:
                continue
            if klass is Augmentation and p.name in {i.split("=")[0] for i in items}:
                continue
            default = "" if p.default is inspect.Parameter.empty else f"={p.default!r}"
            items.append(f"{p.name}{default}")
    return "``" + ", ".join(items) + "``"


def _real_clip() -> tuple[np.ndarray, np.ndarray]:
    from skelaug import io

    shared = Path(os.environ.get("SKELAUG_SHARED", ROOT.parent / "shared"))
    path = shared / "fixtures" / "ntu_skeleton" / "S001C001P001R001A001.skeleton"
    if not path.is_file():
        raise FileNotFoundError(
            f"the docs gallery draws a real clip from {path}; set SKELAUG_SHARED to the shared data folder"
        )
    seq = io.read(path)
    x = seq.data[:, 20:84][None]                         # (1, M, 64, 25, 4): x, y, z (metres), tracking
    return x.astype(np.float32), np.array([64])


def _invariants(name: str, x: np.ndarray, lengths: np.ndarray) -> dict[str, str]:
    """Measure what the augmentation keeps on the real clip (``yes`` / ``no``)."""
    import torch

    from skelaug import layouts
    from skelaug.testing import assert_bone_lengths_preserved, assert_missing_preserved, example_augmentation

    aug = example_augmentation(name, LAYOUT)
    y, out = aug(x, lengths, generator=0)
    lay = layouts.get(LAYOUT)
    ref = x[..., list(lay.mirror), :] if name == "RandomMirror" else x

    def holds(check: Any) -> str:
        try:
            check()
        except AssertionError:
            return "no"
        return "yes"

    same_frames = bool(np.array_equal(out, lengths)) and name not in {
        "RandomCropResize", "RandomRepeat", "RandomPosterize", "RandomReverse", "RandomSpeed", "RandomFrameDrop",
        "UniformSampleFrames",
        "Compose", "OneOf", "SomeOf", "RandomApply"}
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    yt, _ = aug(xt, torch.from_numpy(lengths), generator=0)
    yt.sum().backward()
    agree = np.allclose(aug(x, lengths, generator=0, backend="numpy")[0],
                        aug(torch.from_numpy(x), torch.from_numpy(lengths), generator=0)[0].numpy(),
                        rtol=1e-4, atol=1e-4)
    return {
        "missing": holds(lambda: assert_missing_preserved(ref, y, 3)) if same_frames else "n/a (moves frames)",
        "bones": holds(lambda: assert_bone_lengths_preserved(ref, y, LAYOUT, 3, rtol=1e-3, atol=1e-4))
        if same_frames else "n/a (moves frames)",
        "lengths": "yes" if np.array_equal(out, lengths) else "no",
        "torch": "yes" if xt.grad is not None and bool(torch.isfinite(xt.grad).all()) else "no",
        "agree": "yes" if agree else "no",
    }


def write_gallery(folder: Path) -> None:
    from skelaug.augment import available_backends
    from skelaug.augment.base import AUGMENTATIONS
    from skelaug.testing import example_augmentation
    from skelaug.viz import plot_before_after

    x, lengths = _real_clip()
    img = folder / "gallery"
    img.mkdir(parents=True, exist_ok=True)
    rows, sections = [], []
    for name in sorted(n for n in AUGMENTATIONS if n != "MultiView"):
        cls = AUGMENTATIONS[name]
        aug = example_augmentation(name, LAYOUT)
        y, out = aug(x, lengths, generator=0)
        plot_before_after(x[0], y[0], LAYOUT, str(img / f"{name}.png"), length_before=64,
                          length_after=int(out[0]), frames=5, title=repr(aug),
                          image_coords=False)
        inv = _invariants(name, x, lengths)
        prims = ", ".join(f"``{p}``" for p in aug.primitives)
        rows.append([f":ref:`{name} <gallery-{name}>`", prims, inv["missing"], inv["bones"], inv["lengths"],
                     inv["torch"], inv["agree"]])
        sections.append("\n".join([
            f".. _gallery-{name}:", "", name, "-" * len(name), "", _summary(cls), "",
            f"Primitives: {prims}. Parameters: {_params(cls)}.", "",
            f".. image:: _generated/gallery/{name}.png",
            f"   :alt: {name} before and after on a real NTU RGB+D clip", "",
        ]))
    header = ["augmentation", "primitives", "missing joints kept", "bone lengths kept", "valid length kept",
              "differentiable (torch)", "numpy == torch"]
    backends = ", ".join(f"``{b}``" for b in available_backends())
    text = [
        "Every registered augmentation applied with ``generator=0`` to frames 20-83 of a real NTU RGB+D clip "
        "(``fixtures/ntu_skeleton/S001C001P001R001A001.skeleton``, action 'drink water', Kinect v2 joints in metres; "
        "drawn as x-y with the layout's own edges, y up). The table is "
        "measured on that clip when the docs are built: 'missing joints kept' means no missing joint became "
        "present and no present joint was lost; 'bone lengths kept' holds for rigid transforms. "
        f"All augmentations run on every backend available here ({backends}).", "",
        _table(header, rows), "", *sections,
    ]
    (folder / "gallery.rst").write_text("\n".join(text))


def write_benchmarks(folder: Path) -> None:
    """Render every committed benchmark JSON under benchmarks/results as tables."""
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    parts = []
    for path in results:
        data = json.loads(path.read_text())
        parts.append(f"``{path.relative_to(ROOT)}``\n" + "~" * (len(str(path.relative_to(ROOT))) + 4) + "\n")
        meta = {k: v for k, v in data.items() if not isinstance(v, list | dict)}
        machine = data.get("machine") or data.get("meta") or {}
        if isinstance(machine, dict):
            meta.update({k: v for k, v in machine.items() if not isinstance(v, list | dict)})
        if meta:
            parts.append(_table(["field", "value"],
                                [[str(k), f"``{str(v).strip()}``" if str(v).strip() else "(not reported)"]
                                 for k, v in meta.items()]))
        for key, value in data.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                cols = list(value[0].keys())
                rows = [[f"{r.get(c):.4g}" if isinstance(r.get(c), float) else (str(r.get(c, "")).strip() or "--")
                         for c in cols] for r in value]
                parts.append(f"**{key}**\n\n" + _table(cols, rows))
    if not parts:
        parts = ["No benchmark results are committed yet.\n"]
    (folder / "benchmarks_results.rst").write_text("\n".join(parts))


def write_tables(folder: Path) -> None:
    from skelaug import layouts
    from skelaug.augment.base import AUGMENTATIONS

    folder.mkdir(exist_ok=True)
    rows = []
    for name, cls in sorted(AUGMENTATIONS.items()):
        prims = cls.primitives if isinstance(cls.primitives, tuple) else ()
        rows.append([f":class:`~skelaug.augment.{name}`", ", ".join(f"``{p}``" for p in prims) or "(children's)",
                     "yes" if cls.needs_layout else "optional",
                     "yes" if cls.batch_dependent is True else "no", _summary(cls)])
    (folder / "augmentations.rst").write_text(
        _table(["augmentation", "primitives", "layout", "batch-dependent", "summary"], rows))
    lrows = []
    for n in layouts.names():
        lay = layouts.get(n)
        lrows.append([f"``{n}``", str(lay.num_joints), str(lay.dim), str(len(lay.edges())),
                      ", ".join(sorted(lay.parts)), lay.notes.replace("\n", " ")])
    (folder / "layouts.rst").write_text(_table(["name", "joints", "dim", "edges", "parts", "notes"], lrows))
    write_gallery(folder)
    write_benchmarks(folder)


def public_symbols() -> dict[str, str]:
    """Every public symbol of the package: ``{"skelaug.augment.RandomRotate": "skelaug.augment.spatial.RandomRotate"}``
    (the name users import -> the defining module's name, which is where the API reference documents it)."""
    import importlib
    import pkgutil

    import skelaug

    modules = [importlib.import_module(i.name) for i in pkgutil.walk_packages(skelaug.__path__, "skelaug.")
               if not any(part.startswith("_") for part in i.name.split("."))]
    out: dict[str, str] = {}
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            home = getattr(obj, "__module__", None)
            qual = getattr(obj, "__qualname__", None)
            if inspect.ismodule(obj):
                out[f"{module.__name__}.{name}"] = obj.__name__
            elif inspect.isclass(obj) or inspect.isfunction(obj):
                out[f"{module.__name__}.{name}"] = f"{home}.{qual}"
            else:       # data: documented where it is defined, the deepest module exporting the same object
                homes = [m.__name__ for m in modules
                         if getattr(m, name, None) is obj and name in getattr(m, "__all__", [])]
                out[f"{module.__name__}.{name}"] = f"{max(homes, key=len)}.{name}"
    return out


def missing_from_reference(documented: set[str]) -> list[str]:
    """Public symbols whose defining object is not documented (by full name) in the API reference."""
    return sorted(k for k, v in public_symbols().items() if v not in documented and k not in documented)

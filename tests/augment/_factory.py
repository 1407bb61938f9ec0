"""Instances of every registered augmentation, for the generic tests (every layout)."""

from __future__ import annotations

from typing import Any

from skelaug import augment as A
from skelaug.augment.base import AUGMENTATIONS, Augmentation

# Augmentations whose frames stay in place (no temporal resampling) and that never delete joints.
GEOMETRIC = {"RandomRotate", "RandomShear", "RandomScale", "RandomTranslate", "RandomMirror",
             "RandomBoneLength", "RandomPartTransform", "RandomGaussianNoise", "RandomPerturb",
             "RandomGaussianBlur", "RandomPartMix", "RandomSegmentMix"}
TEMPORAL = {"RandomCropResize", "RandomRepeat", "RandomPosterize", "RandomSpeed", "RandomReverse",
            "RandomFrameDrop"}
MASKS = {"RandomJointMask", "RandomPartMask", "RandomAxisMask", "RandomFrameMask"}


def make(name: str, layout: str, **kw: Any) -> Augmentation:
    """An instance of augmentation ``name`` for ``layout`` that actually does something."""
    if name == "Compose":
        return A.Compose([A.RandomRotate(), A.RandomCropResize(), A.RandomPerturb()], layout=layout, **kw)
    if name == "OneOf":
        return A.OneOf([A.RandomShear(), A.RandomReverse(p=1.0), A.RandomJointMask()], layout=layout, **kw)
    if name == "SomeOf":
        return A.SomeOf([A.RandomScale(), A.RandomSpeed(), A.RandomGaussianBlur()], n=(1, 2), layout=layout, **kw)
    if name == "RandomApply":
        kw.setdefault("p", 0.7)
        return A.RandomApply([A.RandomTranslate(), A.RandomPosterize()], layout=layout, **kw)
    if name == "MultiView":
        return A.MultiView(A.presets.micro_gesture(layout), views=2, **kw)
    if name in ("RandomMirror", "RandomReverse"):
        kw.setdefault("p", 1.0)
    return AUGMENTATIONS[name](layout=layout, **kw)


NAMES = sorted(n for n in AUGMENTATIONS if n != "MultiView")

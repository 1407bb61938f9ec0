"""Ready-made pipelines: the micro-gesture preset and reproductions of published pipelines on any layout.

Each preset returns an ordinary :class:`~skelaug.augment.Compose`, so it can be inspected, edited,
serialised (``to_dict``) and replayed like any other augmentation.
"""

from __future__ import annotations

from skelaug import layouts as _layouts
from skelaug.augment.containers import Compose
from skelaug.augment.noise import (
    RandomAxisMask,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomJointMask,
    RandomPerturb,
)
from skelaug.augment.spatial import RandomMirror, RandomRotate, RandomShear
from skelaug.augment.temporal import RandomCropResize, RandomPosterize, RandomRepeat, RandomReverse
from skelaug.layouts import SkeletonLayout

__all__ = ["aimclr_extreme", "aimclr_normal", "isc", "micro_gesture"]


def micro_gesture(layout: str | SkeletonLayout, *, min_length: int = 8) -> Compose:
    """The MG-aware pipeline: keeps what makes a micro-gesture one (subtle, brief, repetitive).

    ======================================  ===========================================================
    step                                    reasoning for the default
    ======================================  ===========================================================
    ``RandomCropResize((0.6, 1), 8)``       MGs are brief (iMiGUE median 40 frames): crop mildly and
                                            never below ``min_length`` frames (0.3 s at 25 fps), so the
                                            gesture's core stays in the window.
    ``RandomRepeat((2, 3), p=0.3)``         many MGs repeat (rubbing, scratching, shaking): looping a
                                            clip is a label-preserving view of the same gesture. The
                                            loops share the clip's length, so the motion plays 2-3x
                                            faster (on the synthetic benchmark, dropping this step and
                                            the posterize changed the probe by less than seed noise).
    ``RandomPosterize((2, 3), p=0.2)``      robustness to frame-rate and pose-estimator stutter.
    ``RandomRotate(10, p=0.5)``             small viewpoint changes only: large rotations change which
                                            body region a hand appears to touch.
    ``RandomShear(0.1, p=0.5)``             mild (AimCLR uses 0.5, which swamps MG amplitudes).
    ``RandomPerturb((0.002, 0.01))``        per-joint offsets of 0.2-1 % of the body size, smooth in
                                            time: the scale of pose noise, below the MG amplitude.
    ``RandomJointMask((0, 0.1), p=0.3)``    dropped keypoints, as real estimators drop fingers/ears.
    ======================================  ===========================================================

    No mirror: several MG classes are lateralised in the data, and mirroring is left to the user.

    Example:
        >>> from skelaug.augment.presets import micro_gesture
        >>> aug = micro_gesture("imigue22")
        >>> len(aug)
        7
    """
    lay = _layouts.get(layout)
    return Compose([
        RandomCropResize(scale=(0.6, 1.0), min_length=min_length),
        RandomRepeat(times=(2, 3), p=0.3),
        RandomPosterize(stride=(2, 3), p=0.2),
        RandomRotate(degrees=10.0, p=0.5),
        RandomShear(shear=0.1, p=0.5),
        RandomPerturb(sigma=(0.002, 0.01), temporal="smooth", knot_stride=8, p=0.5),
        RandomJointMask(ratio=(0.0, 0.1), p=0.3),
    ], layout=lay)


def aimclr_normal(layout: str | SkeletonLayout) -> Compose:
    """AimCLR's "normal" augmentation (Guo et al., AAAI 2022): shear 0.5 + temporal crop.

    AimCLR's temporal crop pads ``T/6`` frames on each side by reflection and crops ``T`` frames; here
    the equivalent is a crop of ``5/6`` to all of the valid clip resized back to its length, which
    works on variable-length clips and never shows reflected frames.
    """
    lay = _layouts.get(layout)
    return Compose([RandomShear(shear=0.5), RandomCropResize(scale=(5 / 6, 1.0), min_length=1)], layout=lay)


def aimclr_extreme(layout: str | SkeletonLayout) -> Compose:
    """AimCLR's "extreme" augmentation: normal + spatial flip, rotation, Gaussian noise, Gaussian blur,
    axis mask and time flip, each with probability 0.5 (as in its ``_strong_aug``)."""
    lay = _layouts.get(layout)
    return Compose([
        RandomShear(shear=0.5),
        RandomCropResize(scale=(5 / 6, 1.0), min_length=1),
        RandomMirror(lay, p=0.5),
        RandomRotate(degrees=30.0, p=0.5),
        RandomReverse(p=0.5),
        RandomGaussianNoise(sigma=0.01, p=0.5),
        RandomGaussianBlur(sigma=(0.1, 2.0), kernel_size=15, p=0.5),
        RandomAxisMask(p=0.5),
    ], layout=lay)


def isc(layout: str | SkeletonLayout) -> Compose:
    """The inter-skeleton contrastive (ISC, Thoker et al., ACM MM 2021) augmentations: pose
    augmentation (shear), joint jittering and temporal crop-resize."""
    lay = _layouts.get(layout)
    return Compose([
        RandomCropResize(scale=(0.5, 1.0), min_length=1),
        RandomShear(shear=0.5, p=0.5),
        RandomPerturb(sigma=(0.01, 0.03), temporal="white", p=0.5),
    ], layout=lay)

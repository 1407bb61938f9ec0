"""Instances of every registered augmentation, for the generic tests (every layout)."""

from __future__ import annotations

from skelaug.augment.base import AUGMENTATIONS
from skelaug.testing import example_augmentation

# Augmentations whose frames stay in place (no temporal resampling) and that never delete joints.
GEOMETRIC = {"RandomRotate", "RandomShear", "RandomScale", "RandomTranslate", "RandomMirror",
             "RandomBoneLength", "RandomPartTransform", "RandomGaussianNoise", "RandomPerturb",
             "RandomGaussianBlur", "RandomPartMix", "RandomSegmentMix", "CentreBody", "AlignView",
             "NormalizeScale"}
TEMPORAL = {"RandomCropResize", "RandomRepeat", "RandomPosterize", "RandomSpeed", "RandomReverse",
            "RandomFrameDrop", "UniformSampleFrames"}
MASKS = {"RandomJointMask", "RandomPartMask", "RandomAxisMask", "RandomFrameMask"}


make = example_augmentation

NAMES = sorted(n for n in AUGMENTATIONS if n != "MultiView")

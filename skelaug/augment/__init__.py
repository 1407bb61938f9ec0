"""Composable, batched, reproducible skeleton augmentations (see :mod:`skelaug.augment.base`)."""

from skelaug.augment import numba_cpu as numba_cpu  # registers the "numba" backend
from skelaug.augment import numba_cuda as numba_cuda  # registers "numba_cuda" (available with a GPU)
from skelaug.augment import presets
from skelaug.augment._rng import torch_stream
from skelaug.augment.backends import (
    available_backends,
    get_default_backend,
    register_backend,
    set_default_backend,
)
from skelaug.augment.base import AUGMENTATIONS, Augmentation, Context, from_dict
from skelaug.augment.compiled import CompiledPipeline, compile_pipeline
from skelaug.augment.containers import Compose, MultiView, OneOf, RandomApply, SomeOf
from skelaug.augment.noise import (
    RandomAxisMask,
    RandomFrameMask,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomJointMask,
    RandomPartMask,
    RandomPartMix,
    RandomPerturb,
    RandomSegmentMix,
)
from skelaug.augment.normalize import AlignView, CentreBody, NormalizeScale, UniformSampleFrames
from skelaug.augment.ops import Op, Program
from skelaug.augment.spatial import (
    RandomBoneLength,
    RandomMirror,
    RandomPartTransform,
    RandomRotate,
    RandomScale,
    RandomShear,
    RandomTranslate,
)
from skelaug.augment.temporal import (
    RandomCropResize,
    RandomFrameDrop,
    RandomPosterize,
    RandomRepeat,
    RandomReverse,
    RandomSpeed,
)

__all__ = [
    "AUGMENTATIONS",
    "AlignView",
    "Augmentation",
    "CentreBody",
    "CompiledPipeline",
    "Compose",
    "Context",
    "MultiView",
    "NormalizeScale",
    "OneOf",
    "Op",
    "Program",
    "RandomApply",
    "RandomAxisMask",
    "RandomBoneLength",
    "RandomCropResize",
    "RandomFrameDrop",
    "RandomFrameMask",
    "RandomGaussianBlur",
    "RandomGaussianNoise",
    "RandomJointMask",
    "RandomMirror",
    "RandomPartMask",
    "RandomPartMix",
    "RandomPartTransform",
    "RandomPerturb",
    "RandomPosterize",
    "RandomRepeat",
    "RandomReverse",
    "RandomRotate",
    "RandomScale",
    "RandomSegmentMix",
    "RandomShear",
    "RandomSpeed",
    "RandomTranslate",
    "SomeOf",
    "UniformSampleFrames",
    "available_backends",
    "compile_pipeline",
    "from_dict",
    "get_default_backend",
    "presets",
    "register_backend",
    "set_default_backend",
    "torch_stream",
]

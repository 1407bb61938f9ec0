"""skelaug: batched, layout-aware, reproducible skeleton-sequence augmentation for micro-gestures."""

from skelaug import data, io, layouts, nn
from skelaug.layouts import SkeletonLayout

__version__ = "0.1.0"

__all__ = ["SkeletonLayout", "__version__", "data", "io", "layouts", "nn"]

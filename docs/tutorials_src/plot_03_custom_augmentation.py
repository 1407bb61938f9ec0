"""
Writing and testing a custom augmentation
=========================================

An augmentation only *samples parameters* for the built-in primitives
(:mod:`skelaug.augment.ops`); the executors apply them, so a new augmentation is a few lines and
immediately runs batched on NumPy and torch, replays exactly and serialises. ``skelaug.testing``
ships the invariant checks the library's own tests use.
"""

import numpy as np

from skelaug.augment import Augmentation
from skelaug.augment.ops import Op
from skelaug.augment.spatial import affine_about_centre
from skelaug.testing import (
    assert_bone_lengths_preserved,
    assert_missing_preserved,
    assert_replay_exact,
    skeleton_batch_numpy,
)


# %%
# A "head nod" viewpoint jitter: rotation about the horizontal axis only, by a small random angle.
class RandomPitch(Augmentation):
    """Rotate about the x axis by ``U(-degrees, degrees)`` (3D layouts)."""

    primitives = ("affine",)

    def __init__(self, degrees: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        if degrees < 0:
            raise ValueError(f"degrees={degrees!r} must be >= 0")
        self.degrees = degrees

    def _sample(self, ctx, draw):
        a = np.deg2rad(draw.uniform(-self.degrees, self.degrees))
        c, s = np.cos(a), np.sin(a)
        m = np.zeros((ctx.n, 3, 3))
        m[:, 0, 0] = 1.0
        m[:, 1, 1], m[:, 1, 2], m[:, 2, 1], m[:, 2, 2] = c, -s, s, c
        return [affine_about_centre(ctx, m)]


# %%
# ``ctx`` also carries the body centre (``ctx.centre()``, used by ``affine_about_centre``) and the
# body size (``ctx.extent()``, the unit of relative amplitudes). An augmentation whose sampling reads
# the body size sets the class attribute ``uses_body_size = True``: the call then measures it in the
# same read of the batch as the NaN check, instead of one more read on demand (the values are the same
# either way). ``RandomPitch`` does not read it.
#
# Test it like the built-ins: rigid (bone lengths kept), missing joints kept, exact replay.
x, lengths = skeleton_batch_numpy(np.random.default_rng(0), "ntu25", n=4, t=16)
aug = RandomPitch(degrees=20, layout="ntu25")
y, _ = aug(x, lengths, generator=1)
assert_bone_lengths_preserved(x, y, "ntu25", dims=3, rtol=1e-4, atol=1e-4)
assert_missing_preserved(x, y, dims=3)
assert_replay_exact(aug, x, lengths)
print(type(aug.last_params.ops[0]) is Op, aug)

"""
Augmenting real OpenPose and NTU clips
======================================

Read real pose files with :func:`skelaug.io.read`, batch them with valid lengths, and augment them
with a layout-aware pipeline. Missing joints (OpenPose writes ``(0, 0, 0)`` for undetected ones) stay
missing, and the confidence channel is carried along.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import skelaug.io as sio
from skelaug import augment as A
from skelaug.viz import draw_pose

# The shared data folder (the docs build sets SKELAUG_SHARED; from a checkout it is ../shared).
fixtures = Path(os.environ.get("SKELAUG_SHARED", "../shared")) / "fixtures"

# %%
# Read a real OpenPose folder (one JSON per frame; this one was made with OpenPose's 15-joint MPI model,
# so the reader picks the ``mpi15`` layout from the keypoint count) and a real NTU RGB+D file (one person).
openpose = sio.read(fixtures / "openpose_json" / "kth_mpi15_boxing")
ntu = sio.read(fixtures / "ntu_skeleton" / "S001C001P001R001A001.skeleton")
print(openpose.layout, openpose.data.shape, "channels:", openpose.channels)
print(ntu.layout, ntu.data.shape, "fps:", ntu.fps)

# %%
# Make the NTU clip (one person, ``M = 1``) a batch of one, with its valid length, and augment it.
x = ntu.data[None]                                    # (N=1, M, T, V, C)
lengths = np.array([ntu.data.shape[1]])
aug = A.Compose([A.RandomMirror("ntu25", p=1.0), A.RandomRotate(degrees=30), A.RandomCropResize(scale=(0.5, 1.0))],
                layout="ntu25")
y, new_lengths = aug(x, lengths, generator=0)
print("valid length", lengths[0], "->", new_lengths[0])

# %%
# The OpenPose clip is 2D pixels with a score channel: the layout (``mpi15``) fixes ``dims=2``.
# Pixel coordinates grow downwards; :func:`~skelaug.viz.draw_pose` follows the layout (``y_down``), so
# the person is drawn head up on both panels, which share their axes.
xo = openpose.data[None]
yo = A.RandomPartTransform("mpi15", parts=["left_arm", "right_arm"], degrees=(25, 25))(xo, generator=3)
present = np.any(xo[..., :2] != 0, axis=-1)
assert np.array_equal(present, np.any(yo[..., :2] != 0, axis=-1))   # missing joints stay missing

fig, axes = plt.subplots(1, 2, figsize=(7, 3.5), sharex=True, sharey=True)
t = 10
draw_pose(axes[0], xo[0, 0, t], "mpi15", color="C0")
axes[0].set_title("real OpenPose MPI-15 frame")
draw_pose(axes[1], yo[0, 0, t], "mpi15", color="C3")
axes[1].set_title("arms rotated about their shoulders")
fig.tight_layout()

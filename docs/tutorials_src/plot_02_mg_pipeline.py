"""
Building a micro-gesture pipeline
=================================

Micro-gestures are subtle, brief and often repetitive. :func:`skelaug.augment.presets.micro_gesture`
encodes that; this tutorial builds a similar pipeline by hand, applies it to synthetic MG clips,
replays it exactly, serialises it, and runs it on torch tensors.
"""

import json

import matplotlib.pyplot as plt
import numpy as np
import torch

from skelaug import augment as A
from skelaug.data.synthetic import generate

# %%
# Built-in synthetic micro-gesture clips (the default dataset): variable lengths, zero-padded.
ds = generate(64, "imigue22", num_frames=64, seed=0)
print(ds.data.shape, "median length", int(np.median(ds.lengths)), "classes:", ds.class_names[:4], "...")

# %%
# A pipeline: mild crop (never below 8 frames), looping for repetitive gestures, small viewpoint
# changes, per-joint smooth perturbations restricted to the hands, and a few dropped keypoints.
pipeline = A.Compose([
    A.RandomCropResize(scale=(0.7, 1.0), min_length=8),
    A.RandomRepeat(times=(2, 3), p=0.3),
    A.RandomRotate(degrees=8, p=0.5),
    A.RandomPerturb(sigma=(0.003, 0.01), parts=["left_hand", "right_hand"], temporal="smooth"),
    A.OneOf([A.RandomJointMask(ratio=(0.0, 0.1)),
             A.RandomPartMask("imigue22", parts=["left_hand", "right_hand"])], p=0.3),
], layout="imigue22")
y, lengths = pipeline(ds.data, ds.lengths, generator=0)

# %%
# Exact replay and serialisation: the sampled program and the pipeline's spec are plain data.
y2, _ = pipeline(ds.data, ds.lengths, params=pipeline.last_params)
assert np.array_equal(y, y2)
spec = json.dumps(pipeline.to_dict())
rebuilt = A.from_dict(json.loads(spec))
assert np.array_equal(rebuilt(ds.data, ds.lengths, generator=0)[0], y)
print(len(spec), "bytes of JSON describe the pipeline")

# %%
# The same call on torch tensors (any device) gives the same result and is differentiable.
yt, lt = pipeline(torch.from_numpy(ds.data), torch.from_numpy(ds.lengths), generator=0)
print("max |numpy - torch| =", float(np.abs(yt.numpy() - y).max()))

# %%
# Trajectory of the joint that moves most in clip 0, before and after (the temporal steps change its
# timing, the spatial ones its position).
# Pixel y grows downwards, so the axis is inverted: up on the plot is up in the image.
i = 0
clip = ds.data[i, 0, : ds.lengths[i]]                                   # (T, V, C)
present = np.all(np.any(clip[..., :2] != 0, axis=-1), axis=0)          # joints present in every frame
j = int(np.argmax(np.where(present, clip[..., 1].std(axis=0), -1.0)))
name = pipeline.layout.joint_names[j]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(clip[:, j, 1], label=f"before ({name}, y)")
ax.plot(y[i, 0, : lengths[i], j, 1], label="after")
ax.set_xlabel("frame")
ax.set_ylabel("y (pixels)")
ax.invert_yaxis()
ax.legend(fontsize=7)
fig.tight_layout()

"""Augmentations on real third-party pose files (NTU RGB+D, OpenPose BODY_25 and MPI-15, MediaPipe).

The readers here are deliberately minimal (the full ones live in skelaug.io); they only turn the
fixtures into (M, T, V, C) arrays so the invariants can be checked on real data.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from skelaug import augment as A
from skelaug import layouts
from skelaug.testing import assert_bone_lengths_preserved, assert_missing_preserved, assert_padding_zero


def read_ntu(path: Path) -> np.ndarray:
    lines = path.read_text().split("\n")
    frames = int(lines[0])
    i = 1
    out = np.zeros((2, frames, 25, 3), dtype=np.float32)
    for t in range(frames):
        bodies = int(lines[i])
        i += 1
        for b in range(bodies):
            i += 1                                       # body info
            joints = int(lines[i])
            i += 1
            for v in range(joints):
                if b < 2:
                    out[b, t, v] = [float(s) for s in lines[i].split()[:3]]
                i += 1
    return out


def read_openpose(folder: Path, joints: int) -> np.ndarray:
    files = sorted(folder.glob("*_keypoints.json"))
    out = np.zeros((1, len(files), joints, 3), dtype=np.float32)
    for t, f in enumerate(files):
        people = json.loads(f.read_text())["people"]
        if people:
            out[0, t] = np.asarray(people[0]["pose_keypoints_2d"], dtype=np.float32).reshape(joints, 3)
    return out


def read_mediapipe(path: Path) -> np.ndarray:
    with path.open() as fh:
        rows = list(csv.reader(fh))
    data = np.asarray([[float(v) for v in r[1:]] for r in rows[1:]], dtype=np.float32)
    return data.reshape(1, len(data), 33, 4)


@pytest.fixture(scope="module")
def clips(shared_dir):
    fx = shared_dir / "fixtures"
    return {
        "ntu25": read_ntu(fx / "ntu_skeleton" / "S001C001P001R001A001.skeleton"),
        "openpose25": read_openpose(fx / "openpose_json" / "body25_dance", 25),
        "mpi15": read_openpose(fx / "openpose_json" / "kth_mpi15_boxing", 15),
        "mediapipe33": read_mediapipe(fx / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv"),
    }


def test_fixture_shapes(clips):
    assert clips["ntu25"].shape == (2, 103, 25, 3)
    assert clips["openpose25"].shape[1:] == (486, 25, 3)
    assert clips["mediapipe33"].shape[2:] == (33, 4)
    # OpenPose marks undetected joints with (0, 0, 0): the data really has missing joints
    assert (~np.any(clips["openpose25"][..., :2] != 0, axis=-1)).any()


@pytest.mark.parametrize("layout", ["ntu25", "openpose25", "mpi15", "mediapipe33"])
def test_mg_preset_on_real_clips(clips, layout):
    x = clips[layout][None]                              # (1, M, T, V, C)
    t = x.shape[2]
    lengths = np.array([t])
    y, out = A.presets.micro_gesture(layout)(x, lengths, generator=0)
    assert y.shape == x.shape and np.isfinite(y).all()
    assert_padding_zero(y, out)
    yt, out_t = A.presets.micro_gesture(layout)(torch.from_numpy(x), torch.from_numpy(lengths), generator=0)
    np.testing.assert_allclose(yt.numpy(), y, rtol=1e-4, atol=1e-3 * np.abs(x).max())


@pytest.mark.parametrize("layout", ["ntu25", "openpose25", "mpi15", "mediapipe33"])
def test_rigid_transforms_on_real_clips(clips, layout):
    x = clips[layout][None]
    dims = 2 if layout != "ntu25" else 3
    y = A.RandomRotate(degrees=60, layout=layout, dims=dims)(x, generator=1)
    assert_missing_preserved(x, y, dims)
    assert_bone_lengths_preserved(x, y, layout, dims, rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(y[..., dims:], x[..., dims:])          # depth/score channels untouched
    mirror = A.RandomMirror(layout, p=1.0, dims=dims)
    z = mirror(mirror(x, generator=0), generator=0)
    np.testing.assert_allclose(z, x, rtol=1e-5, atol=1e-3)
    lay = layouts.get(layout)
    assert_missing_preserved(x[..., list(lay.mirror), :], mirror(x, generator=0), dims)

"""Skeletons are drawn head up: image formats with y down, world formats with y up, on shared axes too.

Oracle: where matplotlib puts the head and the feet on screen (display coordinates grow upwards).
"""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skelaug import io as sio  # noqa: E402
from skelaug import layouts  # noqa: E402
from skelaug.viz import draw_pose, plot_before_after, set_orientation  # noqa: E402

# (fixture path under shared/fixtures, head joint, foot joints)
REAL = {
    "mpi15": (("openpose_json", "kth_mpi15_boxing"), "head", ("right_ankle", "left_ankle")),
    "ntu25": (("ntu_skeleton", "S001C001P001R001A001.skeleton"), "head", ("right_foot", "left_foot")),
}


def _screen_y(ax, xy: np.ndarray) -> float:
    ax.figure.canvas.draw()
    return float(ax.transData.transform(xy)[1])


def _real_pose(shared_dir, layout: str) -> np.ndarray:
    (folder, name), _, _ = REAL[layout]
    path = shared_dir / "fixtures" / folder / name
    if not path.exists():
        pytest.skip(f"fixture {path} not found")
    data = sio.read(path).data
    t = int(np.argmax((data[0, :, :, :2] != 0).any(-1).sum(-1)))      # the frame with most joints
    return data[0, t]


@pytest.mark.parametrize("layout", list(REAL))
def test_heads_are_up_on_shared_axes(shared_dir, layout):
    """Tutorial 1 draws two panels sharing y: the second draw_pose must not undo the first's inversion."""
    pose = _real_pose(shared_dir, layout)
    lay = layouts.get(layout)
    _, head, feet = REAL[layout]
    fig, axes = plt.subplots(1, 2, sharex=True, sharey=True)
    try:
        for ax in axes:
            draw_pose(ax, pose, layout)
        draw_pose(axes[0], pose, layout)                                  # again on the same axis
        for ax in axes:
            h = _screen_y(ax, pose[lay.index(head), :2])
            for foot in feet:
                if np.any(pose[lay.index(foot), :2] != 0):
                    assert h > _screen_y(ax, pose[lay.index(foot), :2]), f"{layout}: head below {foot}"
        assert axes[0].yaxis_inverted() == (layout == "mpi15")
    finally:
        plt.close(fig)


def test_orientation_is_set_not_toggled():
    fig, (a, b) = plt.subplots(1, 2, sharey=True)
    try:
        for _ in range(3):
            set_orientation(a, True)
            set_orientation(b, True)
            assert a.yaxis_inverted() and b.yaxis_inverted()
        set_orientation(b, False)
        assert not a.yaxis_inverted()
    finally:
        plt.close(fig)


def test_layouts_say_which_way_y_points():
    assert layouts.get("ntu25").y_down is False
    assert all(layouts.get(n).y_down for n in ("openpose25", "mpi15", "coco17", "imigue22", "mediapipe33"))
    lay = layouts.get("mediapipe33")
    assert layouts.SkeletonLayout.from_dict(lay.to_dict()) == lay
    d = layouts.get("ntu25").to_dict()
    del d["y_down"]                                                      # a dict written before the field
    assert layouts.SkeletonLayout.from_dict(d).y_down is False


def test_before_after_figure_heads_up_and_masked_joints(shared_dir, tmp_path, monkeypatch):
    """The figure overlays both clips in one row with the data's orientation and circles masked joints."""
    pose = _real_pose(shared_dir, "ntu25")
    clip = np.repeat(pose[None, None], 6, axis=1)                         # (M=1, T=6, V, C)
    after = clip.copy()
    after[:, :, 3] = 0.0                                                  # the head is masked
    captured = {}
    real_savefig = matplotlib.figure.Figure.savefig

    def keep(fig, path, **kw):
        captured["fig"] = fig
        return real_savefig(fig, path, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    monkeypatch.setattr(plt, "close", lambda fig=None: None)
    plot_before_after(clip, after, "ntu25", str(tmp_path / "f.png"), frames=3)
    fig = captured["fig"]
    axes = fig.axes
    assert len(axes) == 3 and not any(ax.yaxis_inverted() for ax in axes)
    lay = layouts.get("ntu25")
    foot = pose[lay.index("right_foot"), :2]
    for ax in axes:
        assert _screen_y(ax, pose[3, :2]) > _screen_y(ax, foot)
        circles = [c for c in ax.collections if c.get_label() == "masked joints" or len(c.get_offsets()) == 1]
        offsets = np.concatenate([c.get_offsets() for c in circles]) if circles else np.zeros((0, 2))
        assert any(np.allclose(o, pose[3, :2]) for o in offsets), "masked head not circled"
    plt.close(fig)

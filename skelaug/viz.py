"""Drawing skeleton clips with matplotlib (optional dependency: ``pip install skelaug[plot]``).

Bones come from the layout (:meth:`SkeletonLayout.edges`), so every format is drawn with its own
topology; missing joints (all-zero) and the bones touching them are not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skelaug import layouts as _layouts
from skelaug.layouts import SkeletonLayout

__all__ = ["draw_pose", "plot_before_after"]


def _mpl() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("skelaug.viz needs matplotlib: pip install 'skelaug[plot]'") from exc
    return plt


def draw_pose(ax: Any, pose: np.ndarray, layout: str | SkeletonLayout, *, color: str = "C0",
              alpha: float = 1.0, image_coords: bool = True, label: str | None = None) -> None:
    """Draw one pose ``(V, C)`` (first two channels used) on a matplotlib axis.

    Args:
        image_coords: The y axis points down (pixel coordinates); the axis is inverted once.
    """
    lay = _layouts.get(layout)
    xy = np.asarray(pose, dtype=np.float64)[:, :2]
    present = np.any(np.asarray(pose)[:, : lay.dim] != 0, axis=-1)
    first = True
    for a, b in lay.edges():
        if present[a] and present[b]:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], "-", color=color, alpha=alpha, lw=1.5,
                    label=label if first else None)
            first = False
    ax.scatter(xy[present, 0], xy[present, 1], s=6, color=color, alpha=alpha, zorder=3)
    ax.set_aspect("equal")
    if image_coords and not getattr(ax, "_skelaug_inverted", False):
        ax.invert_yaxis()
        ax._skelaug_inverted = True


def plot_before_after(before: np.ndarray, after: np.ndarray, layout: str | SkeletonLayout, path: str, *,
                      length_before: int | None = None, length_after: int | None = None, frames: int = 5,
                      title: str = "", image_coords: bool = True) -> None:
    """Save a PNG with ``frames`` evenly spaced frames of a clip ``(M, T, V, C)`` before and after.

    Row 1 shows the original, row 2 the augmented clip (first person), each frame in its own panel.
    """
    plt = _mpl()
    lb = length_before or before.shape[1]
    la = length_after or after.shape[1]
    fig, axes = plt.subplots(2, frames, figsize=(2.2 * frames, 4.8), squeeze=False, sharex=True, sharey=True)
    lay = _layouts.get(layout)
    pts = np.concatenate([before[0, :lb, :, :2].reshape(-1, 2), after[0, :la, :, :2].reshape(-1, 2)])
    pts = pts[np.any(pts != 0, axis=-1)] if lay.dim == 2 else pts
    if len(pts):                                   # one scale for all panels: the change is visible
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.08 * float((hi - lo).max() or 1.0)
        axes[0, 0].set_xlim(lo[0] - pad, hi[0] + pad)
        axes[0, 0].set_ylim(lo[1] - pad, hi[1] + pad)
    for row, (clip, length, name, color) in enumerate(((before, lb, "before", "C0"), (after, la, "after", "C3"))):
        idx: Sequence[int] = np.linspace(0, length - 1, frames).round().astype(int).tolist()
        for col, t in enumerate(idx):
            ax = axes[row, col]
            draw_pose(ax, clip[0, t], layout, color=color, image_coords=image_coords and row == 0 and col == 0)
            ax.set_title(f"{name} t={t}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

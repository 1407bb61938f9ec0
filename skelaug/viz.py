"""Drawing skeleton clips with matplotlib (optional dependency: ``pip install skelaug[plot]``).

Bones come from the layout (:meth:`SkeletonLayout.edges`), so every format is drawn with its own
topology; missing joints (all-zero) and the bones touching them are not drawn. The vertical axis
follows the data: image coordinates (pixels, normalised image coordinates) grow downwards, world
coordinates (metres) upwards, as the layout's ``y_down`` says, so bodies are drawn head up.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt, numpy as np
    >>> from skelaug.viz import draw_pose
    >>> fig, (a, b) = plt.subplots(1, 2, sharey=True)
    >>> pose = np.random.default_rng(0).normal(size=(15, 3)) + 5
    >>> draw_pose(a, pose, "mpi15"); draw_pose(b, pose, "mpi15")     # image coordinates: y down
    >>> bool(a.yaxis_inverted()), bool(b.yaxis_inverted())            # once, even on shared axes
    (True, True)
    >>> plt.close(fig)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skelaug import layouts as _layouts
from skelaug.layouts import SkeletonLayout

__all__ = ["draw_pose", "plot_before_after", "set_orientation"]


def _mpl() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("skelaug.viz needs matplotlib: pip install 'skelaug[plot]'") from exc
    return plt


def set_orientation(ax: Any, y_down: bool) -> None:
    """Point the y axis of ``ax`` down (image coordinates) or up (world coordinates).

    Idempotent: it sets the direction rather than toggling it, so axes that share a y axis (where
    inverting one inverts all) and repeated calls keep the requested direction.
    """
    if bool(ax.yaxis_inverted()) != bool(y_down):
        ax.invert_yaxis()


def draw_pose(ax: Any, pose: np.ndarray, layout: str | SkeletonLayout, *, color: str = "C0",
              alpha: float = 1.0, image_coords: bool | None = None, label: str | None = None,
              highlight: Sequence[int] = (), highlight_label: str | None = None) -> None:
    """Draw one pose ``(V, C)`` (first two channels used) on a matplotlib axis.

    Args:
        image_coords: Whether y grows downwards (pixel coordinates). Default: the layout's ``y_down``
            (``True`` for 2D image formats, ``False`` for world coordinates such as NTU's metres). The
            axis direction is set, not toggled (:func:`set_orientation`).
        highlight: Joint indices to mark with open circles (e.g. joints an augmentation masked), drawn
            where present in ``pose``.
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
    marked = [j for j in highlight if 0 <= j < len(present) and present[j]]
    if marked:
        ax.scatter(xy[marked, 0], xy[marked, 1], s=60, facecolors="none", edgecolors="k", linewidths=1.2,
                   zorder=4, label=highlight_label)
    ax.set_aspect("equal")
    set_orientation(ax, bool(lay.y_down) if image_coords is None else image_coords)


def _present(clip: np.ndarray, dims: int) -> np.ndarray:
    return np.asarray(np.any(clip[..., :dims] != 0, axis=-1))


def plot_before_after(before: np.ndarray, after: np.ndarray, layout: str | SkeletonLayout, path: str, *,
                      length_before: int | None = None, length_after: int | None = None, frames: int = 5,
                      title: str = "", image_coords: bool | None = None,
                      masked: Sequence[int] | None = None, steps: Sequence[str] = (),
                      source: Sequence[float] | None = None) -> None:
    """Save a PNG of a clip ``(M, T, V, C)`` before and after augmentation, overlaid.

    Each of the ``frames`` panels draws an augmented frame (red) over the original frame it was made
    from (blue, faint), every person present: ``source[t]`` is the (fractional) original frame of
    augmented frame ``t`` (from the ``resample`` ops); by default the frame at the same relative time
    (``t / length`` of each clip, since temporal augmentations change the length). Masked joints are
    circled at their original position: ``masked`` lists them (e.g. from a ``mask`` op); by default,
    the joints present in the original frame and missing from the augmented one. ``steps`` (one line
    per augmentation step) are written under the panels.

    Args:
        image_coords: y grows downwards; default: the layout's ``y_down`` (see :func:`draw_pose`).
    """
    plt = _mpl()
    lay = _layouts.get(layout)
    lb = length_before or before.shape[1]
    la = length_after or after.shape[1]
    y_down = bool(lay.y_down) if image_coords is None else image_coords
    pts = np.concatenate([before[:, :lb, :, :2].reshape(-1, 2), after[:, :la, :, :2].reshape(-1, 2)])
    pts = pts[np.concatenate([_present(before[:, :lb], lay.dim).ravel(), _present(after[:, :la], lay.dim).ravel()])]
    lo, hi = (pts.min(axis=0), pts.max(axis=0)) if len(pts) else (np.zeros(2), np.ones(2))
    pad = 0.08 * float((hi - lo).max() or 1.0)
    span = hi - lo + 2 * pad
    aspect = float(np.clip(span[1] / span[0], 0.4, 2.5))
    panel_h, text_h, head_h = 2.2 * aspect, 0.15 * len(steps), 0.7
    height = panel_h + text_h + head_h
    fig, axes = plt.subplots(1, frames, figsize=(2.3 * frames, height), squeeze=False, sharex=True, sharey=True)
    axes[0, 0].set_xlim(lo[0] - pad, hi[0] + pad)      # one scale for all panels: the change is visible
    axes[0, 0].set_ylim(lo[1] - pad, hi[1] + pad)
    rel = np.linspace(0.0, 1.0, frames)
    for col, r in enumerate(rel):
        ax = axes[0, col]
        ta = round(float(r) * (la - 1))
        tb = min(max(round(float(source[ta]) if source is not None else float(r) * (lb - 1)), 0), lb - 1)
        for m in range(before.shape[0]):
            pb = _present(before[m, tb], lay.dim)
            pa = _present(after[m, ta], lay.dim) if m < after.shape[0] else np.zeros_like(pb)
            if not pb.any() and not pa.any():
                continue
            lost = list(masked) if masked is not None else np.flatnonzero(pb & ~pa).tolist()
            first = m == 0 and col == 0
            draw_pose(ax, before[m, tb], lay, color="C0", alpha=0.45, image_coords=y_down,
                      label="before" if first else None, highlight=lost,
                      highlight_label="masked joints" if first else None)
            if m < after.shape[0]:
                draw_pose(ax, after[m, ta], lay, color="C3", image_coords=y_down, label="after" if first else None)
        ax.set_title(f"after t={ta} (from t={tb})", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    set_orientation(axes[0, 0], y_down)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=7, frameon=False, ncol=3)
    if title:
        fig.suptitle(title, fontsize=9, x=0.02, ha="left")
    if steps:
        fig.text(0.02, 0.01, "\n".join(steps), fontsize=7, family="monospace", va="bottom", ha="left")
    fig.tight_layout(rect=(0, (text_h + 0.05) / height, 1, 1 - 0.45 / height))
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Per-sample NumPy baselines in the style of AimCLR's data feeders (written here, not copied).

The reference practice augments **one sample at a time** inside ``Dataset.__getitem__``, on an ST-GCN
layout array ``(C, T, V, M)``, with NumPy (``np.dot`` for the spatial transforms, slicing and fancy
indexing for the temporal ones). These functions do the same so that the benchmark compares skelaug's
batched executors with that practice on the same operations. Like the originals they do not treat
missing joints specially (a rotation moves zero joints too), so they do *less* work than skelaug.

Randomness comes from an explicit :class:`numpy.random.Generator` (the originals use the global
``np.random`` / ``random`` state; drawing a few scalars per sample costs the same either way).

Each ``*_pipeline`` function takes one sample and a generator and returns the augmented sample;
:func:`run_batch` applies it to a list of samples, as a data loader would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "aimclr_extreme_pipeline",
    "aimclr_normal_pipeline",
    "micro_gesture_pipeline",
    "run_batch",
]

Sample = np.ndarray          # (C, T, V, M)


# ------------------------------------------------------------------------------ AimCLR-style operations
def shear(x: Sample, rng: np.random.Generator, r: float = 0.5) -> Sample:
    """Random shear of the 3 coordinates: ``x' = S x`` with off-diagonal ``S_ij ~ U(-r, r)``."""
    s = rng.uniform(-r, r, size=(3, 3))
    np.fill_diagonal(s, 1.0)
    return np.dot(x.transpose(1, 2, 3, 0), s.T).transpose(3, 0, 1, 2)


def temporal_crop(x: Sample, rng: np.random.Generator, padding_ratio: int = 6) -> Sample:
    """Pad ``T // padding_ratio`` frames on each side by reflection and crop ``T`` frames at random."""
    t = x.shape[1]
    pad = t // padding_ratio
    start = int(rng.integers(0, 2 * pad + 1))
    padded = np.concatenate([x[:, :pad][:, ::-1], x, x[:, t - pad:][:, ::-1]], axis=1)
    return padded[:, start:start + t]


def spatial_flip(x: Sample, rng: np.random.Generator, mirror: Sequence[int], p: float = 0.5) -> Sample:
    """Swap left and right joints."""
    return x[:, :, list(mirror)] if rng.random() < p else x


def _axis_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    r = np.eye(3)
    i, j = [k for k in range(3) if k != axis]
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def random_rotate(x: Sample, rng: np.random.Generator, degrees: float = 30.0, p: float = 0.5) -> Sample:
    """Rotate about x, y and z: one random main axis by up to ``degrees``, the others by up to 1 degree."""
    if rng.random() >= p:
        return x
    main = int(rng.integers(0, 3))
    out = x.transpose(1, 2, 3, 0)                         # (T, V, M, C)
    for axis in range(3):
        angle = np.radians(rng.uniform(0, degrees if axis == main else 1.0))
        out = np.dot(out, _axis_rotation(axis, angle).T)
    return out.transpose(3, 0, 1, 2)


def gaussian_noise(x: Sample, rng: np.random.Generator, std: float = 0.01, p: float = 0.5) -> Sample:
    return x + rng.normal(0.0, std, size=x.shape) if rng.random() < p else x


def gaussian_blur(x: Sample, rng: np.random.Generator, kernel: int = 15, sigma: tuple[float, float] = (0.1, 2.0),
                  p: float = 0.5) -> Sample:
    """Temporal Gaussian filter with zero padding (the originals run a 1-D convolution per sample)."""
    if rng.random() >= p:
        return x
    s = rng.uniform(*sigma)
    k = np.arange(kernel) - kernel // 2
    w = np.exp(-(k ** 2) / (2 * s * s))
    w /= w.sum()
    t = x.shape[1]
    padded = np.pad(x, ((0, 0), (kernel // 2, kernel // 2), (0, 0), (0, 0)))
    out = w[0] * padded[:, :t]
    for i in range(1, kernel):
        out = out + w[i] * padded[:, i:i + t]
    return out


def axis_mask(x: Sample, rng: np.random.Generator, p: float = 0.5) -> Sample:
    if rng.random() >= p:
        return x
    out = x.copy()
    out[int(rng.integers(0, 3))] = 0.0
    return out


def time_flip(x: Sample, rng: np.random.Generator, p: float = 0.5) -> Sample:
    return x[:, ::-1] if rng.random() < p else x


# ------------------------------------------------------------------------------ MG operations, per sample
def _lerp_frames(x: Sample, src: np.ndarray) -> Sample:
    t = x.shape[1]
    s = np.clip(src, 0, t - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, t - 1)
    f = (s - i0)[None, :, None, None]
    return (1 - f) * x[:, i0] + f * x[:, i1]


def crop_resize(x: Sample, rng: np.random.Generator, scale: tuple[float, float] = (0.6, 1.0),
                min_length: int = 8) -> Sample:
    t = x.shape[1]
    win = int(np.clip(round(rng.uniform(*scale) * t), min(min_length, t), t))
    start = int(rng.integers(0, t - win + 1))
    return _lerp_frames(x, start + np.arange(t) * (win - 1) / max(t - 1, 1))


def repeat(x: Sample, rng: np.random.Generator, times: tuple[int, int] = (2, 3), p: float = 0.3) -> Sample:
    if rng.random() >= p:
        return x
    t = x.shape[1]
    k = int(rng.integers(times[0], times[1] + 1))
    src = np.minimum(np.mod(rng.random() * t + np.arange(t) * k, t), t - 1)
    return _lerp_frames(x, src)


def posterize(x: Sample, rng: np.random.Generator, stride: tuple[int, int] = (2, 3), p: float = 0.2) -> Sample:
    if rng.random() >= p:
        return x
    s = int(rng.integers(stride[0], stride[1] + 1))
    return x[:, (np.arange(x.shape[1]) // s) * s]


def _about_centre(x: Sample, mat: np.ndarray, centre: np.ndarray) -> Sample:
    c = centre[:, None, None, None]
    return np.dot((x - c).transpose(1, 2, 3, 0), mat.T).transpose(3, 0, 1, 2) + c


def rotate_small(x: Sample, rng: np.random.Generator, centre_joint: int, degrees: float = 10.0,
                 p: float = 0.5) -> Sample:
    if rng.random() >= p:
        return x
    r = np.eye(3)
    for axis in range(3):
        r = _axis_rotation(axis, np.radians(rng.uniform(-degrees, degrees))) @ r
    return _about_centre(x, r, x[:, :, centre_joint].mean(axis=(1, 2)))


def shear_small(x: Sample, rng: np.random.Generator, centre_joint: int, r: float = 0.1, p: float = 0.5) -> Sample:
    if rng.random() >= p:
        return x
    s = rng.uniform(-r, r, size=(3, 3))
    np.fill_diagonal(s, 1.0)
    return _about_centre(x, s, x[:, :, centre_joint].mean(axis=(1, 2)))


def perturb(x: Sample, rng: np.random.Generator, sigma: tuple[float, float] = (0.002, 0.01), stride: int = 8,
            p: float = 0.5) -> Sample:
    """Per-joint offsets, linear between random knots every ``stride`` frames, scaled by the body size."""
    if rng.random() >= p:
        return x
    c, t, v, m = x.shape
    extent = float((x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))).max())
    knots = rng.normal(size=(c, (t - 1) // stride + 2, v, m))
    pos = np.arange(t) / stride
    k0 = np.floor(pos).astype(np.int64)
    f = (pos - k0)[None, :, None, None]
    return x + rng.uniform(*sigma) * extent * ((1 - f) * knots[:, k0] + f * knots[:, k0 + 1])


def joint_mask(x: Sample, rng: np.random.Generator, ratio: tuple[float, float] = (0.0, 0.1), p: float = 0.3) -> Sample:
    if rng.random() >= p:
        return x
    v = x.shape[2]
    drop = rng.permutation(v)[: int(rng.uniform(*ratio) * v)]
    out = x.copy()
    out[:, :, drop] = 0.0
    return out


# ------------------------------------------------------------------------------ pipelines
def aimclr_normal_pipeline(x: Sample, rng: np.random.Generator) -> Sample:
    """AimCLR's 'normal' augmentation: shear 0.5, then temporal crop."""
    return temporal_crop(shear(x, rng), rng)


def aimclr_extreme_pipeline(x: Sample, rng: np.random.Generator, mirror: Sequence[int]) -> Sample:
    """AimCLR's 'extreme' augmentation: normal, then flip, rotate, noise, blur, axis mask and time flip,
    each with probability 0.5."""
    x = temporal_crop(shear(x, rng), rng)
    x = spatial_flip(x, rng, mirror)
    x = random_rotate(x, rng)
    x = gaussian_noise(x, rng)
    x = gaussian_blur(x, rng)
    x = axis_mask(x, rng)
    return time_flip(x, rng)


def micro_gesture_pipeline(x: Sample, rng: np.random.Generator, centre_joint: int) -> Sample:
    """skelaug's micro-gesture preset, written per sample (crop-resize, repeat, posterize, rotate, shear,
    smooth perturbation, joint mask, with the preset's probabilities)."""
    x = crop_resize(x, rng)
    x = repeat(x, rng)
    x = posterize(x, rng)
    x = rotate_small(x, rng, centre_joint)
    x = shear_small(x, rng, centre_joint)
    x = perturb(x, rng)
    return joint_mask(x, rng)


def run_batch(samples: Sequence[Sample], fn: Callable[[Sample, np.random.Generator], Sample],
              rng: np.random.Generator) -> list[Sample]:
    """Augment each sample in turn, as ``Dataset.__getitem__`` does (results are float32 again)."""
    return [np.ascontiguousarray(fn(s, rng), dtype=np.float32) for s in samples]

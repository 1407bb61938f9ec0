"""Containers: Compose, OneOf, SomeOf, RandomApply and MultiView.

Choices are made **per sample**: in a batch, ``OneOf`` may rotate one clip and blur the next. Each
child is sampled for the whole batch and its ops are set to the identity on the samples that did not
choose it, so a container is still one flat program of primitive ops that an executor can fuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skelaug.augment._rng import GeneratorLike, as_generator
from skelaug.augment.base import Augmentation, Context, Draw
from skelaug.augment.ops import Op, where_applied
from skelaug.layouts import SkeletonLayout

__all__ = ["Compose", "MultiView", "OneOf", "RandomApply", "SomeOf"]


def _children(transforms: Any, name: str) -> list[Augmentation]:
    if isinstance(transforms, Augmentation):
        transforms = [transforms]
    if not isinstance(transforms, Sequence) or isinstance(transforms, str):
        raise TypeError(f"{name} must be a list of augmentations, got {type(transforms).__name__}")
    for i, t in enumerate(transforms):
        if not isinstance(t, Augmentation):
            raise TypeError(f"{name}[{i}] is a {type(t).__name__}, not an skelaug augmentation")
        if isinstance(t, MultiView):
            raise TypeError(f"{name}[{i}] is a MultiView, which returns several views; use it outermost")
    return list(transforms)


def _sample_masked(ctx: Context, rng: np.random.Generator, child: Augmentation, mask: np.ndarray) -> list[Op]:
    """Sample ``child`` for the batch, keeping its effect only on samples where ``mask`` is True.

    When every sample is kept (always in a :class:`Compose`), ``child.sample`` has already advanced
    ``ctx`` through exactly the ops it returns, in order, so those ops and that state are the result:
    the snapshot, restore and second advance (which would recompute the same values) are skipped.
    """
    if not mask.any():
        return []
    if mask.all():
        return child.sample(ctx, rng)
    state = ctx.snapshot()
    ops = child.sample(ctx, rng)
    ctx.restore(state)
    out = []
    for op in ops:
        op = where_applied(op, mask, ctx.identity(op.kind, op.static))
        ctx.advance(op)
        out.append(op)
    return out


class _Container(Augmentation):
    def __init__(self, transforms: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transforms = _children(transforms, "transforms")

    def _layouts(self) -> list[SkeletonLayout]:
        out = super()._layouts()
        for t in self.transforms:
            out += t._layouts()
        return out

    def _layout_needers(self) -> list[str]:
        out = super()._layout_needers()
        for t in self.transforms:
            out += t._layout_needers()
        return out

    def _dims_hint(self) -> list[int]:
        out = super()._dims_hint()
        for t in self.transforms:
            out += t._dims_hint()
        return out

    @property
    def primitives(self) -> tuple[str, ...]:  # type: ignore[override]
        seen: list[str] = []
        for t in self.transforms:
            seen += [k for k in t.primitives if k not in seen]
        return tuple(seen)

    @property
    def batch_dependent(self) -> bool:  # type: ignore[override]
        return any(t.batch_dependent for t in self.transforms)

    @property
    def uses_body_size(self) -> bool:  # type: ignore[override]
        return any(t.uses_body_size for t in self.transforms)

    def _choose(self, ctx: Context, draw: Draw) -> np.ndarray:
        """``(N, K)`` bool: which children each sample runs."""
        raise NotImplementedError

    def sample(self, ctx: Context, rng: np.random.Generator) -> list[Op]:
        draw = Draw(rng, ctx.n, self.same_on_batch)
        applied = draw.random() < self.p if self.p < 1.0 else np.ones(ctx.n, dtype=bool)
        chosen = self._choose(ctx, draw) & applied[:, None]
        ops: list[Op] = []
        if ctx.n and bool(chosen.all()):          # every child on every sample: _sample_masked's fast path,
            for child in self.transforms:         # without a column slice and two reductions per child
                ops += child.sample(ctx, rng)
            return ops
        for k, child in enumerate(self.transforms):
            ops += _sample_masked(ctx, rng, child, chosen[:, k])
        return ops

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i: int) -> Augmentation:
        return self.transforms[i]


class Compose(_Container):
    """Run augmentations in sequence (each with its own ``p``).

    Executors may fold consecutive compatible ops (affine into affine, resample into resample, masks
    into masks) and run them as one pass; results match sequential application (see the backend docs).

    Example:
        >>> import numpy as np
        >>> from skelaug.augment import Compose, RandomRotate, RandomShear
        >>> aug = Compose([RandomRotate(degrees=10), RandomShear(0.1)])
        >>> x = np.random.default_rng(0).normal(size=(2, 1, 8, 25, 3))
        >>> aug(x, generator=1).shape
        (2, 1, 8, 25, 3)
    """

    def __init__(self, transforms: Any, p: float = 1.0, **kwargs: Any) -> None:
        super().__init__(transforms, p=p, **kwargs)

    def _choose(self, ctx: Context, draw: Draw) -> np.ndarray:
        return np.ones((ctx.n, len(self.transforms)), dtype=bool)


class OneOf(_Container):
    """Apply exactly one of ``transforms`` per sample, drawn with probabilities ``weights``."""

    def __init__(self, transforms: Any, weights: Sequence[float] | None = None, p: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(transforms, p=p, **kwargs)
        if not self.transforms:
            raise ValueError("transforms is empty; OneOf needs at least one augmentation")
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (len(self.transforms),) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
                raise ValueError(f"weights={list(weights)!r}; give {len(self.transforms)} non-negative numbers "
                                 f"with a positive sum")
        self.weights = list(map(float, weights)) if weights is not None else None

    def _choose(self, ctx: Context, draw: Draw) -> np.ndarray:
        k = len(self.transforms)
        w = np.full(k, 1.0 / k) if self.weights is None else np.asarray(self.weights) / sum(self.weights)
        pick = np.searchsorted(np.cumsum(w), draw.random(), side="right").clip(0, k - 1)
        return np.asarray(pick[:, None] == np.arange(k)[None, :])


class SomeOf(_Container):
    """Apply a random subset of ``transforms`` per sample (in the listed order).

    Args:
        n: Subset size, an int or an inclusive ``(low, high)`` range.
    """

    def __init__(self, transforms: Any, n: Any = (1, 2), p: float = 1.0, **kwargs: Any) -> None:
        super().__init__(transforms, p=p, **kwargs)
        k = len(self.transforms)
        lo, hi = (n, n) if isinstance(n, int) and not isinstance(n, bool) else tuple(n)
        if not (isinstance(lo, int) and isinstance(hi, int)) or not 0 <= lo <= hi <= k:
            raise ValueError(f"n={n!r}; need 0 <= low <= high <= {k} (the number of transforms)")
        self.n = n if isinstance(n, int) else [lo, hi]
        self._n = (int(lo), int(hi))

    def _choose(self, ctx: Context, draw: Draw) -> np.ndarray:
        k = len(self.transforms)
        count = draw.integers(self._n[0], self._n[1] + 1)
        ranks = np.argsort(np.argsort(draw.random((k,)), axis=1), axis=1)
        return ranks < count[:, None]


class RandomApply(_Container):
    """Apply ``transforms`` in sequence to a random fraction ``p`` of the samples."""

    def __init__(self, transforms: Any, p: float = 0.5, **kwargs: Any) -> None:
        super().__init__(transforms, p=p, **kwargs)

    def _choose(self, ctx: Context, draw: Draw) -> np.ndarray:
        return np.ones((ctx.n, len(self.transforms)), dtype=bool)


class MultiView(Augmentation):
    """``views`` independent augmentations of the same batch, for contrastive learning.

    Returns a tuple of ``views`` outputs (each ``(y, lengths)`` when lengths are given);
    ``last_params`` is a tuple of programs, one per view. The views draw one after another from one
    stream (``generator``, the ``seed``, or else torch's generator: see
    :func:`skelaug.augment.torch_stream`). As a dataset ``transform``, items hold a tuple of views
    (:class:`skelaug.data.ClipDataset`); :class:`skelaug.data.AugmentedCollate` ``(aug, views=k)``
    makes the views of a whole batch at collate time instead.

    Args:
        transform: The augmentation applied to each view (or a list: one per view).
        views: Number of views.
    """

    def __init__(self, transform: Any, views: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(views, bool) or not isinstance(views, int) or views < 1:
            raise ValueError(f"views={views!r}; give a positive number of views")
        self.views = views
        if isinstance(transform, Sequence) and not isinstance(transform, str):
            if len(transform) != views:
                raise ValueError(f"transform has {len(transform)} entries for views={views}; give one or {views}")
            self.transform: Any = _children(transform, "transform")
        else:
            self.transform = _children([transform], "transform")[0]

    def _per_view(self) -> list[Augmentation]:
        return self.transform if isinstance(self.transform, list) else [self.transform] * self.views

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        raise TypeError("MultiView returns several views and cannot be sampled inside another container")

    def __call__(self, x: Any, lengths: Any = None, generator: GeneratorLike = None, *,
                 params: Any = None, backend: str | None = None) -> Any:
        rng = as_generator(generator, self._rng) if params is None else None
        if params is not None and (not isinstance(params, tuple) or len(params) != self.views):
            raise ValueError(f"params must be a tuple of {self.views} programs (MultiView.last_params)")
        outs, progs = [], []
        for i, aug in enumerate(self._per_view()):
            outs.append(aug(x, lengths, rng, params=None if params is None else params[i], backend=backend))
            progs.append(aug.last_params)
        self.last_params = tuple(progs)  # type: ignore[assignment]
        return tuple(outs)

"""Augmentation base class: parameter sampling apart from execution, exact replay, serialisation.

Every augmentation is a small class that *samples parameters* for one or more primitive
:class:`~skelaug.augment.ops.Op` from an explicit generator. Calling it validates the input, samples
(or takes ``params=`` for replay), then hands the ops to an executor backend.

Call convention::

    y = aug(x)                                  # x: (N, M, T, V, C), (M, T, V, C) or (T, V, C)
    y, new_lengths = aug(x, lengths)            # valid lengths in, valid lengths out
    y = aug(x, generator=0)                     # int seed, numpy Generator or torch.Generator
    y2 = aug(x, params=aug.last_params)         # exact replay: y2 == y
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, overload

import numpy as np
import torch

from skelaug import layouts as _layouts
from skelaug.augment import backends as _backends
from skelaug.augment._rng import GeneratorLike, as_generator
from skelaug.augment.ops import Op, Program, identity_params, where_applied
from skelaug.layouts import SkeletonLayout
from skelaug.tensors import Array, check_finite, check_lengths, check_skeleton, restore_rank, stgcn_hint

__all__ = ["AUGMENTATIONS", "Augmentation", "Context", "from_dict"]

#: Registry of every augmentation class by name (filled by subclassing :class:`Augmentation`).
AUGMENTATIONS: dict[str, type[Augmentation]] = {}


# ------------------------------------------------------------------------------ statistics
def _reduce_present(x: Any, lengths: np.ndarray, dims: int, joints: Sequence[int] | None,
                    what: Literal["mean", "size", "extent"]) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample mean of present joints in valid frames (``"mean"``, ``(N, D)``), body size
    (``"size"``, ``(N,)``, see :meth:`Context.extent`) or the clip's extent (``"extent"``, ``(N,)``:
    the largest coordinate range of the present joints of all persons and valid frames); also
    whether any joint was found ``(N,)``."""
    n, _, t, v, _ = x.shape
    fast = _backends.numpy_reducer if what != "extent" else None
    if fast is not None and isinstance(x, np.ndarray):
        return fast(x, lengths, dims, joints, what)
    if fast is not None and isinstance(x, torch.Tensor) and x.device.type == "cpu" \
            and x.dtype in (torch.float32, torch.float64):
        return fast(x.detach().numpy(), lengths, dims, joints, what)
    if isinstance(x, torch.Tensor):
        xc = x.detach()[..., :dims]
        if joints is not None:
            xc = xc[:, :, :, list(joints)]
        valid = (torch.arange(t, device=xc.device)[None, :] < torch.as_tensor(lengths, device=xc.device)[:, None])
        pres = (xc != 0).any(-1) & valid[:, None, :, None]
        if what == "size":                         # extremes in the input's dtype (exact), then float64
            big = torch.tensor(np.inf, dtype=xc.dtype, device=xc.device)
            hi = torch.where(pres[..., None], xc, -big).amax(dim=3).to(torch.float64)
            lo = torch.where(pres[..., None], xc, big).amin(dim=3).to(torch.float64)
            return _median_size((hi - lo).amax(dim=-1).cpu().numpy())
        xc = xc.to(torch.float64)
        w = pres.to(xc.dtype)[..., None]
        cnt = w.sum(dim=(1, 2, 3))
        if what == "extent":
            big = torch.tensor(np.inf, dtype=xc.dtype, device=xc.device)
            hi = torch.where(w > 0, xc, -big).amax(dim=(1, 2, 3))
            lo = torch.where(w > 0, xc, big).amin(dim=(1, 2, 3))
            ext = torch.where(cnt > 0, hi - lo, torch.zeros_like(hi)).amax(dim=-1)
            return ext.cpu().numpy(), (cnt[:, 0] > 0).cpu().numpy()
        val = (xc * w).sum(dim=(1, 2, 3)) / torch.clamp(cnt, min=1.0)
        return val.cpu().numpy(), (cnt[:, 0] > 0).cpu().numpy()
    xn = np.asarray(x[..., :dims], dtype=np.float64)
    if joints is not None:
        xn = xn[:, :, :, list(joints)]
    valid_n = np.arange(t)[None, :] < lengths[:, None]
    pres_n = np.any(xn != 0, axis=-1) & valid_n[:, None, :, None]
    if what == "size":
        hi_n = np.where(pres_n[..., None], xn, -np.inf).max(axis=3, initial=-np.inf)
        lo_n = np.where(pres_n[..., None], xn, np.inf).min(axis=3, initial=np.inf)
        return _median_size((hi_n - lo_n).max(axis=-1, initial=-np.inf))
    wn = pres_n[..., None].astype(np.float64)
    cnt_n = wn.sum(axis=(1, 2, 3))
    if what == "extent":
        with np.errstate(invalid="ignore"):
            hi_e = np.where(wn > 0, xn, -np.inf).max(axis=(1, 2, 3), initial=-np.inf)
            lo_e = np.where(wn > 0, xn, np.inf).min(axis=(1, 2, 3), initial=np.inf)
        return np.where(cnt_n > 0, hi_e - lo_e, 0.0).max(axis=-1, initial=0.0), cnt_n[:, 0] > 0
    val_n = (xn * wn).sum(axis=(1, 2, 3)) / np.maximum(cnt_n, 1.0)
    return val_n, cnt_n[:, 0] > 0


def _median_size(extent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Body size per sample from the person-frame extents ``(N, M, T)`` (``-inf`` or 0 where a
    person-frame has no extent): the median of the positive ones, 0 where there are none."""
    e = extent.reshape(extent.shape[0], int(np.prod(extent.shape[1:])))
    if e.shape[1] == 0:
        return np.zeros(e.shape[0]), np.zeros(e.shape[0], dtype=bool)
    pos = e > 0
    k = pos.sum(axis=1)
    s = np.sort(np.where(pos, e, np.inf), axis=1)           # the positive extents first, ascending
    last = e.shape[1] - 1
    lo = np.minimum(np.maximum(k - 1, 0) // 2, last)[:, None]
    hi = np.minimum(k // 2, last)[:, None]
    med = 0.5 * (np.take_along_axis(s, lo, axis=1)[:, 0] + np.take_along_axis(s, hi, axis=1)[:, 0])
    found = k > 0
    return np.where(found, med, 0.0), found


_HALF_TORCH = (torch.float16, torch.bfloat16)


def _to_compute_precision(x: Any) -> tuple[Any, Any]:
    """Half-precision input (torch ``float16`` / ``bfloat16``, NumPy ``float16``) as float32, and its dtype.

    The one place where low precision is handled: sampling and every backend see float32, and
    :func:`_to_input_precision` rounds the result once (rounding after every op would compound).
    Other dtypes pass through with ``None``.
    """
    if isinstance(x, torch.Tensor) and x.dtype in _HALF_TORCH:
        return x.float(), x.dtype
    if isinstance(x, np.ndarray) and x.dtype == np.float16:
        return x.astype(np.float32), x.dtype
    return x, None


def _to_input_precision(out: Any, dtype: Any, dims: int) -> Any:
    """Round a float32 result back to the input's half ``dtype``, keeping present joints present.

    A present joint the executors moved to (or nudged off) zero holds float32's smallest normal
    value, which is zero in float16: such joints get ``dtype``'s smallest normal value instead, so
    no present joint becomes 'missing' in the rounding.
    """
    if isinstance(out, torch.Tensor):
        low = out.to(dtype)
        landed = (out[..., :dims] != 0).any(-1) & ~(low[..., :dims] != 0).any(-1)
        if bool(landed.any()):
            tiny = torch.tensor(torch.finfo(dtype).tiny, dtype=dtype, device=low.device)
            low = low.clone()
            low[..., 0] = torch.where(landed, tiny, low[..., 0])
        return low
    low_n = out.astype(dtype)
    landed_n = np.any(out[..., :dims] != 0, axis=-1) & ~np.any(low_n[..., :dims] != 0, axis=-1)
    if landed_n.any():
        low_n[..., 0][landed_n] = np.finfo(dtype).tiny
    return low_n


def _check_finite_and_scan(x: Any, lengths: np.ndarray, dims: int, layout: SkeletonLayout | None, *,
                           size: bool = True) -> Any:
    """Raise as :func:`~skelaug.tensors.check_finite` if ``x`` holds NaN or Inf.

    For float32/float64 arrays in host memory, with the numba backend present, this is one read of
    the batch that also measures the body centre (of ``layout``'s centre joints; none without a
    layout) and, with ``size``, the body size the samplers may ask for
    (:func:`skelaug.augment.numba_cpu.scan_batch`), returned for :meth:`Context.use_scan`; otherwise
    (or on bad input, to name the index) it is the plain check, and returns ``None``.
    """
    fast = _backends.numpy_scanner
    arr: np.ndarray | None = None
    if fast is not None and dims in (2, 3):
        if isinstance(x, np.ndarray):
            arr = x
        elif isinstance(x, torch.Tensor) and x.device.type == "cpu":
            arr = x.detach().numpy() if x.dtype in (torch.float32, torch.float64) else None
    if fast is None or arr is None or arr.dtype not in (np.float32, np.float64):
        check_finite(x)
        return None
    scan = fast(arr, lengths, dims, layout.centre if layout is not None else None, size=size)
    if not scan.finite:
        check_finite(x)                            # raises, naming the first offending index
        raise AssertionError("scan_batch found NaN or Inf that check_finite did not")
    return scan


@dataclass
class Context:
    """What samplers may know about the batch: shapes, layout, current valid lengths and lazy statistics.

    Containers pass one context through their children; after each op the context follows it
    (``advance``): valid lengths after a ``resample``, the body centre after an ``affine``.
    """

    x: Any
    dims: int
    lengths: np.ndarray
    layout: SkeletonLayout | None
    _centre0: np.ndarray | None = field(default=None, repr=False)
    _extent: np.ndarray | None = field(default=None, repr=False)
    _cum_a: np.ndarray | None = field(default=None, repr=False)
    _cum_b: np.ndarray | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def m(self) -> int:
        return int(self.x.shape[1])

    @property
    def t(self) -> int:
        return int(self.x.shape[2])

    @property
    def v(self) -> int:
        return int(self.x.shape[3])

    @property
    def c(self) -> int:
        return int(self.x.shape[4])

    def centre(self) -> np.ndarray:
        """Body centre per sample ``(N, D)``: mean of the layout's centre joints over persons and valid
        frames of the input (all present joints when the layout is unknown or its centre is missing),
        carried along by the affine ops sampled so far."""
        if self._centre0 is None:
            joints = self.layout.centre if self.layout is not None else None
            c, found = _reduce_present(self.x, self._lengths0, self.dims, joints, "mean")
            if joints is not None and not found.all():
                c_all, _ = _reduce_present(self.x, self._lengths0, self.dims, None, "mean")
                c = np.where(found[:, None], c, c_all)
            self._centre0 = c
        if self._cum_a is None or self._cum_b is None:
            return self._centre0
        return np.asarray(np.einsum("nij,nj->ni", self._cum_a, self._centre0) + self._cum_b)

    def use_scan(self, scan: Any) -> None:
        """Take the input's body size and centre from a :class:`~skelaug.augment.numba_cpu.BatchScan`
        (the same values :meth:`extent` and :meth:`centre` would compute, measured in one pass); what
        the scan did not measure is computed on demand."""
        if scan.size is not None:
            self._extent = np.where(scan.size_found, scan.size, 1.0)
        if scan.centre is not None and bool(scan.centre_found.all()):
            self._centre0 = scan.centre

    def extent(self) -> np.ndarray:
        r"""Body size per sample ``(N,)``, the unit of every relative amplitude (noise, translation).

        It is the size of one body, not of the clip: a person's extent in one frame is the largest
        coordinate range of that person's present joints,

        .. math::

            e_{m,t} = \max_{d < D} \Big( \max_{v \in P_{m,t}} x_{m,t,v,d}
                      - \min_{v \in P_{m,t}} x_{m,t,v,d} \Big),

        with :math:`P_{m,t}` the present joints of person :math:`m` in valid frame :math:`t < L`,
        and the body size is the median over the person-frames where a body is seen,

        .. math::

            s = \operatorname{median} \{ e_{m,t} : t < L,\ e_{m,t} > 0 \}.

        A body's size does not grow with how far it travels in the clip (a runner crossing the
        image) or with how many people stand side by side (a crowd); every person counts in
        proportion to the frames they are seen in, and frames with one present joint (extent 0) are
        left out. Measured on the input, in its units (pixels, metres, normalised); 1 when no
        person-frame has an extent.
        """
        if self._extent is None:
            e, found = _reduce_present(self.x, self._lengths0, self.dims, None, "size")
            self._extent = np.where(found, e, 1.0)
        return self._extent

    def __post_init__(self) -> None:
        self._lengths0 = self.lengths.copy()

    def snapshot(self) -> tuple[Any, ...]:
        """The mutable tracked state, for :meth:`restore`."""
        return (self.lengths.copy(), None if self._cum_a is None else self._cum_a.copy(),
                None if self._cum_b is None else self._cum_b.copy())

    def restore(self, state: tuple[Any, ...]) -> None:
        self.lengths, self._cum_a, self._cum_b = state

    def advance(self, op: Op) -> None:
        """Update the tracked state after ``op``."""
        if op.kind == "resample":
            self.lengths = op.params["out_len"].astype(np.int64)
        elif op.kind == "affine":
            a, b = op.params["matrix"], op.params["offset"]
            cum_a = np.broadcast_to(np.eye(self.dims), (self.n, self.dims, self.dims)) \
                if self._cum_a is None else self._cum_a
            cum_b = np.zeros((self.n, self.dims)) if self._cum_b is None else self._cum_b
            self._cum_a = a @ cum_a
            self._cum_b = np.einsum("nij,nj->ni", a, cum_b) + b

    def identity(self, kind: str, static: Mapping[str, Any]) -> Any:
        return lambda n: identity_params(kind, n, v=self.v, d=self.dims, t=self.t, lengths=self.lengths,
                                         static=static, broadcast=True)


class Draw:
    """Per-sample random draws that honour ``same_on_batch`` (one draw broadcast to the batch)."""

    def __init__(self, rng: np.random.Generator, n: int, same_on_batch: bool) -> None:
        self.rng, self.n, self.k = rng, n, (min(n, 1) if same_on_batch else n)

    def _b(self, a: np.ndarray) -> np.ndarray:
        if self.k == self.n:
            return a
        return np.broadcast_to(a, (self.n, *a.shape[1:])).copy()

    def uniform(self, lo: Any, hi: Any, size: tuple[int, ...] = ()) -> np.ndarray:
        return self._b(self.rng.uniform(lo, hi, size=(self.k, *size)))

    def random(self, size: tuple[int, ...] = ()) -> np.ndarray:
        return self._b(self.rng.random(size=(self.k, *size)))

    def integers(self, lo: int, hi: Any, size: tuple[int, ...] = ()) -> np.ndarray:
        """Integers in ``[lo, hi)``; ``hi`` may be per-sample ``(N,)``."""
        hi_arr = np.asarray(hi)
        if hi_arr.ndim:
            hi_arr = hi_arr[: self.k].reshape((self.k,) + (1,) * len(size))
        return self._b(self.rng.integers(lo, hi_arr, size=(self.k, *size)))

    def seeds(self) -> np.ndarray:
        return self._b(self.rng.integers(0, 2**32, size=(self.k,), dtype=np.int64))


def _jsonable(v: Any) -> Any:
    if isinstance(v, SkeletonLayout):
        registered = v.name in _layouts.names() and _layouts.get(v.name) == v
        return v.name if registered else {"__layout__": v.to_dict()}
    if isinstance(v, Augmentation):
        return v.to_dict()
    if isinstance(v, tuple | list):
        return [_jsonable(i) for i in v]
    if isinstance(v, Mapping):
        return {str(k): _jsonable(i) for k, i in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    return v


def _unjson(v: Any) -> Any:
    if isinstance(v, Mapping):
        if "type" in v and v["type"] in AUGMENTATIONS:
            return from_dict(v)
        if "__layout__" in v:
            return SkeletonLayout.from_dict(v["__layout__"])
        return {k: _unjson(i) for k, i in v.items()}
    if isinstance(v, list):
        return [_unjson(i) for i in v]
    return v


def _needs_layout(names: Sequence[str]) -> ValueError:
    return ValueError(
        f"{', '.join(dict.fromkeys(names))} needs layout=...; pass a layout name such as 'ntu25' "
        f"(known: {', '.join(_layouts.names())}) or a SkeletonLayout, to it or to the enclosing Compose"
    )


def _check_prob(p: float, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name}={p!r} is not a probability; give a number in [0, 1]")
    return float(p)


class Augmentation:
    """Base class of every augmentation and container.

    Args:
        p: Probability that a sample is transformed (drawn per sample, or once per batch).
        same_on_batch: Draw one set of parameters (and one ``p`` decision) for the whole batch.
        layout: Skeleton layout (name or :class:`~skelaug.layouts.SkeletonLayout`); needed by
            topology-aware augmentations (``needs_layout``), here or on the enclosing container;
            optional otherwise (it fixes ``dims`` and the body centre).
        dims: Number of coordinate channels ``D``. Default: the layout's ``dim``; without a layout,
            ``C`` when ``C`` is 2 or 3.
        seed: Seed of the augmentation's own generator, used when a call passes no ``generator``: the
            stream advances with each call and replays exactly, but every ``DataLoader`` worker gets
            a copy of it. ``None`` (default): each call without ``generator`` draws from torch's
            per-process generator (:func:`skelaug.augment.torch_stream`), so parameters are new in
            every worker and epoch and a run is reproducible from torch's seed.

    Subclasses implement :meth:`_sample`, returning full-batch ops; the base class applies ``p``.
    """

    needs_layout: ClassVar[bool] = False
    #: Primitive kinds this augmentation emits (documentation tables and tests).
    primitives: ClassVar[tuple[str, ...]] = ()
    #: Whether the result depends on other samples of the batch (per-sample replay differs).
    batch_dependent: ClassVar[bool] = False
    #: Whether sampling reads the body size (:meth:`Context.extent`). A call measures it in the same
    #: read of the batch as the NaN check only for augmentations that say so; any other augmentation
    #: may still ask for it and gets the same values, measured on demand (one more read).
    uses_body_size: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            AUGMENTATIONS[cls.__name__] = cls

    def __init__(self, *, p: float = 1.0, same_on_batch: bool = False,
                 layout: str | SkeletonLayout | None = None, dims: int | None = None,
                 seed: int | None = None) -> None:
        self.p = _check_prob(p)
        self.same_on_batch = bool(same_on_batch)
        self.layout: SkeletonLayout | None = _layouts.get(layout) if layout is not None else None
        if dims is not None and dims not in (2, 3):
            raise ValueError(f"dims={dims!r}; use 2 (image plane) or 3 (world coordinates)")
        if dims is not None and self.layout is not None and dims > self.layout.dim:
            raise ValueError(f"dims={dims} exceeds layout {self.layout.name!r} dim={self.layout.dim}")
        self.dims = dims
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0):
            raise ValueError(f"seed={seed!r}; give a non-negative int or None")
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None
        self.last_params: Program | None = None

    # ---------------------------------------------------------------- to override
    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        raise NotImplementedError

    # ---------------------------------------------------------------- sampling
    def sample(self, ctx: Context, rng: np.random.Generator) -> list[Op]:
        """Sample this augmentation's ops for the batch described by ``ctx`` and advance ``ctx``."""
        draw = Draw(rng, ctx.n, self.same_on_batch)
        applied = draw.random() < self.p if self.p < 1.0 else np.ones(ctx.n, dtype=bool)
        if not applied.any():
            return []
        everywhere = self.p >= 1.0 or bool(applied.all())      # where_applied would return the ops as they are
        ops = []
        for op in self._sample_steps(ctx, draw):
            if not everywhere:
                op = where_applied(op, applied, ctx.identity(op.kind, op.static))
            ctx.advance(op)
            ops.append(op)
        return ops

    def _sample_steps(self, ctx: Context, draw: Draw) -> list[Op]:
        return self._sample(ctx, draw)

    # ---------------------------------------------------------------- layout / dims
    def layout_for(self, ctx: Context) -> SkeletonLayout:
        """The layout this augmentation samples with: its own, else the enclosing container's.

        Topology-aware augmentations (``needs_layout``) may be built without ``layout=`` inside a
        :class:`~skelaug.augment.Compose` (or another container) that has one; called with no layout
        anywhere, they raise ``ValueError`` naming the fix.
        """
        lay = self.layout if self.layout is not None else ctx.layout
        if lay is None:
            raise _needs_layout([type(self).__name__])
        return lay

    def _layouts(self) -> list[SkeletonLayout]:
        return [self.layout] if self.layout is not None else []

    def _layout_needers(self) -> list[str]:
        """Names of the topology-aware augmentations here that have no layout of their own."""
        return [type(self).__name__] if self.needs_layout and self.layout is None else []

    def _dims_hint(self) -> list[int]:
        return [self.dims] if self.dims is not None else []

    def resolve(self, x5: Any) -> tuple[SkeletonLayout | None, int]:
        """The layout and coordinate dimensionality used for batch ``x5``."""
        lays = {lay.name: lay for lay in self._layouts()}
        if len(lays) > 1:
            raise ValueError(f"{type(self).__name__} mixes layouts {sorted(lays)}; use one layout per pipeline")
        layout = next(iter(lays.values()), None)
        if layout is None and self._layout_needers():
            raise _needs_layout(self._layout_needers())
        hints = set(self._dims_hint())
        if len(hints) > 1:
            raise ValueError(f"{type(self).__name__} mixes dims {sorted(hints)}; use one coordinate dimensionality")
        c = int(x5.shape[-1])
        if hints:
            dims = hints.pop()
        elif layout is not None:
            dims = layout.dim
        elif c in (2, 3):
            dims = c
        else:
            raise ValueError(
                f"x has C={c} channels and {type(self).__name__} has no layout: pass dims=2 or dims=3 "
                f"(or layout=...) to say how many leading channels are coordinates"
                + stgcn_hint(x5.shape, 5, None)
            )
        return layout, dims

    # ---------------------------------------------------------------- call
    @overload
    def __call__(self, x: Array, lengths: None = None, generator: GeneratorLike = None, *,
                 params: Program | None = None, backend: str | None = None) -> Array: ...

    @overload
    def __call__(self, x: Array, lengths: Any, generator: GeneratorLike = None, *,
                 params: Program | None = None, backend: str | None = None) -> tuple[Array, Any]: ...

    def __call__(self, x: Array, lengths: Any = None, generator: GeneratorLike = None, *,
                 params: Program | None = None, backend: str | None = None) -> Any:
        """Augment ``x``; see the module docstring for the convention.

        Args:
            x: ``(N, M, T, V, C)``, ``(M, T, V, C)`` or ``(T, V, C)`` NumPy array or torch tensor.
            lengths: Valid frame counts ``(N,)`` (or an int for a single sample). When given, the
                call returns ``(y, new_lengths)``.
            generator: int seed, :class:`numpy.random.Generator` or :class:`torch.Generator`;
                ``None`` uses the augmentation's own generator if it has a ``seed``, else one seeded
                from torch's generator at this call (see ``seed``).
            params: A :class:`~skelaug.augment.ops.Program` from ``last_params`` to replay exactly.
            backend: ``"numpy"``, ``"torch"`` or a registered executor; default: by input type.
        """
        xb, rank = check_skeleton(x, finite=False)
        layout, dims = self.resolve(xb)
        xb, rank = check_skeleton(
            x, num_joints=layout.num_joints if layout is not None else None, dims=dims,
            layout_name=layout.name if layout is not None else None, finite=False,
        )
        xb, low = _to_compute_precision(xb)
        n, t = int(xb.shape[0]), int(xb.shape[2])
        lens_in = check_lengths(lengths, n, t) if lengths is not None else np.full(n, t, dtype=np.int64)
        sampling = params is None                  # a replay needs the NaN check only, no statistics
        scan = _check_finite_and_scan(xb, lens_in, dims, layout if sampling else None,
                                      size=sampling and self.uses_body_size)
        if params is None:
            rng = as_generator(generator, self._rng)
            ctx = Context(xb, dims, lens_in, layout)
            if scan is not None:
                ctx.use_scan(scan)
            ops = self.sample(ctx, rng)
            program = Program(tuple(ops), n, lens_in, ctx.lengths.astype(np.int64), t)
        else:
            program = self._check_replay(params, n, t, lens_in)
        self.last_params = program
        exe = _backends.resolve_backend(xb, backend)
        out = _backends.execute(xb, lens_in, dims, program.ops, exe)
        if low is not None:
            out = _to_input_precision(out, low, dims)
        out = restore_rank(out, rank)
        if lengths is None:
            return out
        return out, _like(program.lengths_out, lengths)

    def _check_replay(self, params: Program, n: int, t: int, lens: np.ndarray) -> Program:
        if not isinstance(params, Program):
            raise TypeError(f"params must be a Program (e.g. aug.last_params), got {type(params).__name__}")
        if params.batch_size != n or params.num_frames != t:
            raise ValueError(
                f"params were sampled for N={params.batch_size}, T={params.num_frames} but x has N={n}, T={t}; "
                f"replay needs the same batch shape (use params.take(i) for sample i)"
            )
        if not np.array_equal(params.lengths_in, lens):
            raise ValueError("params were sampled for other valid lengths; pass the same lengths when replaying")
        return params

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Constructor arguments as plain data; :func:`from_dict` rebuilds an equal augmentation."""
        d: dict[str, Any] = {"type": type(self).__name__}
        names: list[str] = []
        for prm in inspect.signature(type(self).__init__).parameters.values():
            if prm.kind is inspect.Parameter.VAR_KEYWORD:
                names += [k for k in inspect.signature(Augmentation.__init__).parameters if k != "self"]
            elif prm.name != "self" and prm.kind is not inspect.Parameter.VAR_POSITIONAL:
                names.append(prm.name)
        for name in dict.fromkeys(names):
            d[name] = _jsonable(getattr(self, name))
        return d

    def __repr__(self) -> str:
        defaults: dict[str, Any] = {}
        for cls in (type(self), Augmentation):
            for prm in inspect.signature(cls.__init__).parameters.values():
                if prm.default is not inspect.Parameter.empty:
                    defaults.setdefault(prm.name, _jsonable(prm.default))
        parts = []
        for k, v in self.to_dict().items():
            if k == "type" or (k in defaults and defaults[k] == v):
                continue
            val = getattr(self, k)
            parts.append(f"{k}={val.name!r}" if isinstance(val, SkeletonLayout) else f"{k}={val!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Augmentation) and type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def from_dict(d: Mapping[str, Any]) -> Augmentation:
    """Rebuild an augmentation (or a whole pipeline) from :meth:`Augmentation.to_dict` output."""
    if not isinstance(d, Mapping) or "type" not in d:
        raise ValueError("d must be a mapping with a 'type' key, as produced by Augmentation.to_dict()")
    try:
        cls = AUGMENTATIONS[d["type"]]
    except KeyError:
        raise ValueError(f"unknown augmentation type {d['type']!r}; known: {', '.join(sorted(AUGMENTATIONS))}") \
            from None
    kwargs = {k: _unjson(v) for k, v in d.items() if k != "type"}
    return cls(**kwargs)


def _like(lengths_out: np.ndarray, lengths_in: Any) -> Any:
    if isinstance(lengths_in, torch.Tensor):
        return torch.as_tensor(lengths_out, dtype=lengths_in.dtype, device=lengths_in.device)
    if np.ndim(lengths_in) == 0:
        return int(lengths_out[0])
    return lengths_out.astype(np.asarray(lengths_in).dtype, copy=False)

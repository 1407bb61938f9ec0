"""The primitive operations every augmentation reduces to, and their parameters.

An augmentation only *samples parameters*; an executor (``skelaug.augment.backends``) applies them.
A sampled pipeline is a :class:`Program`: an ordered list of :class:`Op`, each naming one primitive,
holding per-sample parameter arrays (leading axis ``N``) and static settings.

Primitives (``x`` is ``(N, M, T, V, C)``, the first ``D`` channels are coordinates, ``p`` = present):

========================  ======================================================================
kind                      semantics for sample ``n`` (frames ``t < L_n``; padding stays zero)
========================  ======================================================================
``affine``                ``x'[v] = A_n x[perm_n[v]] + b_n`` on present joints (missing stay zero);
                          extra channels move with ``perm``. Covers rotate/shear/scale/translate/mirror.
``local_affine``          ``x'[v] = x[r] + A_n (x[v] - x[r])`` for ``v`` in the moved set ``S_n``,
                          pivoting on joint ``r`` of the same frame (frames where ``r`` is missing are
                          left unchanged). Part-local rotation/scale.
``bone_scale``            forward kinematics ``x'[j] = x'[a] + s_n[j] (x[j] - x[a])`` with ``a`` the
                          nearest present ancestor of ``j`` (a joint without one stays put).
``resample``              ``x'[t] = x(src_n[t])`` for ``t < out_len_n`` (linear or nearest); a joint
                          interpolated between a present and a missing frame takes the nearer frame.
``mask``                  zero joints ``(N, V)``, frames ``(N, T)`` or coordinate axes ``(N, D)``.
``noise``                 ``x' = x + sigma_n w_n[v] g(seed_n; m, t, v, d)`` on present joints with a
                          counter-based Gaussian field, constant, white or knot-interpolated in time.
``blur``                  ``x'[t] = sum_k w_n[k] x[t+k-K//2] / sum_k w_n[k]`` over valid present frames.
``mix``                   ``x'[v] = x_{partner}[v] + offset_n`` for selected joints and frames where
                          both samples have the joint (partner time-normalised to ``L_n``).
========================  ======================================================================

Every parameter array is plain NumPy (small), so sampled programs can be stored, sliced per sample,
serialised and replayed exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["KINDS", "Op", "Program"]

#: The primitive kinds every augmentation reduces to.
KINDS = ("affine", "local_affine", "bone_scale", "resample", "mask", "noise", "blur", "mix")


@dataclass(frozen=True)
class Op:
    """One primitive with per-sample parameters.

    Attributes:
        kind: One of :data:`KINDS`.
        params: Per-sample arrays, each with leading axis ``N``.
        static: Settings shared by the whole batch (e.g. ``mode``, ``parent``, ``stride``).
    """

    kind: str
    params: Mapping[str, np.ndarray]
    static: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Op kind={self.kind!r} is unknown; expected one of {KINDS}")

    @property
    def batch_size(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def take(self, index: np.ndarray | slice | int) -> Op:
        """Parameters of a subset of samples (``partner`` indices of ``mix`` are remapped when possible)."""
        idx = np.arange(self.batch_size)[index]
        idx = np.atleast_1d(idx)
        params = {k: np.asarray(v)[idx] for k, v in self.params.items()}
        if self.kind == "mix":
            lookup = {int(old): new for new, old in enumerate(idx)}
            params["partner"] = np.array([lookup.get(int(p), i) for i, p in enumerate(params["partner"])],
                                         dtype=np.int64)
        return Op(self.kind, params, self.static)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": {k: {"dtype": str(np.asarray(v).dtype), "data": np.asarray(v).tolist()}
                       for k, v in self.params.items()},
            "static": {k: list(v) if isinstance(v, tuple) else v for k, v in self.static.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Op:
        params = {k: np.asarray(v["data"], dtype=v["dtype"]) for k, v in d["params"].items()}
        static = {k: tuple(v) if isinstance(v, list) else v for k, v in d["static"].items()}
        return cls(d["kind"], params, static)


@dataclass(frozen=True)
class Program:
    """A sampled pipeline: the ops to run, in order, on a batch of ``batch_size`` samples.

    ``lengths_in`` are the valid lengths the program was sampled for and ``lengths_out`` the valid
    lengths it produces. ``applied`` records, per augmentation step, which samples it touched.
    """

    ops: tuple[Op, ...]
    batch_size: int
    lengths_in: np.ndarray
    lengths_out: np.ndarray
    num_frames: int

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def take(self, index: np.ndarray | slice | int) -> Program:
        """The program restricted to some samples (for per-sample replay)."""
        idx = np.atleast_1d(np.arange(self.batch_size)[index])
        return Program(
            ops=tuple(op.take(idx) for op in self.ops),
            batch_size=len(idx),
            lengths_in=self.lengths_in[idx],
            lengths_out=self.lengths_out[idx],
            num_frames=self.num_frames,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ops": [op.to_dict() for op in self.ops],
            "batch_size": self.batch_size,
            "lengths_in": self.lengths_in.tolist(),
            "lengths_out": self.lengths_out.tolist(),
            "num_frames": self.num_frames,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Program:
        return cls(
            ops=tuple(Op.from_dict(o) for o in d["ops"]),
            batch_size=int(d["batch_size"]),
            lengths_in=np.asarray(d["lengths_in"], dtype=np.int64),
            lengths_out=np.asarray(d["lengths_out"], dtype=np.int64),
            num_frames=int(d["num_frames"]),
        )


# ------------------------------------------------------------------------------ identities
def identity_params(kind: str, n: int, *, v: int, d: int, t: int, lengths: np.ndarray,
                    static: Mapping[str, Any], broadcast: bool = False) -> dict[str, np.ndarray]:
    """Parameters that make ``kind`` the identity on ``n`` samples (used for ``p`` and OneOf).

    With ``broadcast=True`` an array that is the same for every sample keeps a leading axis of 1
    (it broadcasts against the ``n``-sample parameters, as :func:`where_applied` uses it) instead of
    being copied ``n`` times; dtypes and values are the same.
    """
    k = 1 if broadcast else n

    def rows(a: np.ndarray) -> np.ndarray:
        return a[None] if broadcast else np.broadcast_to(a, (n, *a.shape)).copy()

    if kind == "affine":
        return {"matrix": rows(np.eye(d)), "offset": np.zeros((k, d)), "perm": rows(np.arange(v, dtype=np.int64))}
    if kind == "local_affine":
        return {"matrix": rows(np.eye(d)), "moved": np.zeros((k, v), dtype=bool), "pivot": np.zeros(k, dtype=np.int64)}
    if kind == "bone_scale":
        return {"scale": np.ones((k, v))}
    if kind == "resample":
        return {"src": rows(np.arange(t, dtype=np.float64)), "out_len": lengths.astype(np.int64)}
    if kind == "mask":
        return {"joint": np.ones((k, v), dtype=bool), "frame": np.ones((k, t), dtype=bool),
                "axis": np.ones((k, d), dtype=bool)}
    if kind == "noise":
        return {"sigma": np.zeros(k), "seed": np.zeros(k, dtype=np.int64), "weight": np.ones((k, v))}
    if kind == "blur":
        size = int(static.get("kernel_size", 1))
        w = np.zeros((k, size))
        w[:, size // 2] = 1.0
        return {"kernel": w}
    if kind == "mix":
        return {"partner": np.arange(n, dtype=np.int64), "joints": np.zeros((k, v), dtype=bool),
                "frames": np.zeros((k, t), dtype=bool), "offset": np.zeros((k, d))}
    raise ValueError(f"unknown kind {kind!r}")


def where_applied(op: Op, applied: np.ndarray, identity: Callable[[int], dict[str, np.ndarray]]) -> Op:
    """Replace the parameters of samples where ``applied`` is False by the identity.

    ``identity(n)`` returns the identity parameters, full ``(n, ...)`` arrays or arrays that
    broadcast to them (``identity_params(..., broadcast=True)``).
    """
    if bool(applied.all()):
        return op
    ident = identity(op.batch_size)
    params = {}
    for k, val in op.params.items():
        val = np.asarray(val)
        a = applied.reshape((-1,) + (1,) * (val.ndim - 1))
        params[k] = np.where(a, val, ident[k])
    return Op(op.kind, params, op.static)

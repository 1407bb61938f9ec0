"""Backend registry and program execution.

A backend turns ``(x, lengths, dims, Op)`` into a new batch. Built in:

* ``"numpy"`` -- the readable reference (:mod:`skelaug.augment.reference`), the oracle of the others;
* ``"torch"`` -- batched tensor kernels on any device, differentiable w.r.t. ``x``.

Further executors (numba CPU / CUDA) register themselves with :func:`register_backend` and may also
provide a ``run_program`` that fuses several ops into one pass; the public API does not change.

Automatic choice (:func:`resolve_backend`): NumPy input and CPU tensors run on ``"numba"`` when it
is registered (else ``"numpy"`` / ``"torch"``), CUDA tensors on ``"numba_cuda"`` when it is
available; tensors that require gradients always run on ``"torch"``. ``backend=`` on a call, or
:func:`set_default_backend`, overrides it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from skelaug.augment import reference, torch_backend
from skelaug.augment.ops import Op

__all__ = [
    "Backend",
    "available_backends",
    "execute",
    "get_default_backend",
    "register_backend",
    "resolve_backend",
    "set_default_backend",
]


@dataclass(frozen=True)
class Backend:
    """An executor: ``array_type`` is ``"numpy"`` or ``"torch"`` (what its kernels consume)."""

    name: str
    array_type: str
    run_op: Callable[[Any, Any, int, Op], Any]
    run_program: Callable[[Any, Any, int, Sequence[Op]], Any] | None = None
    available: Callable[[], bool] = lambda: True
    requirement: str = ""
    differentiable: bool = False


_BACKENDS: dict[str, Backend] = {}
_DEFAULTS: dict[str, str | None] = {"numpy": None, "torch": None}

#: Optional fast batch statistics for NumPy arrays, with the contract of
#: ``skelaug.augment.base._reduce_present`` (registered by the numba backend).
numpy_reducer: Callable[[np.ndarray, np.ndarray, int, Sequence[int] | None, str],
                        tuple[np.ndarray, np.ndarray]] | None = None

class BatchScanner(Protocol):
    """``scan(x, lengths, dims, joints, *, size=True)``: finiteness, body size (with ``size``) and
    body centre of a NumPy batch in one read (``skelaug.augment.numba_cpu.scan_batch``)."""

    def __call__(self, x: np.ndarray, lengths: np.ndarray, dims: int, joints: Sequence[int] | None, *,
                 size: bool = True) -> Any: ...


#: Optional one-pass check of a NumPy batch: finiteness, body size and body centre together
#: (``skelaug.augment.numba_cpu.scan_batch``, registered by the numba backend).
numpy_scanner: BatchScanner | None = None


def register_backend(backend: Backend, *, overwrite: bool = False) -> None:
    """Register an executor under ``backend.name``."""
    if backend.name in _BACKENDS and not overwrite:
        raise ValueError(f"backend {backend.name!r} is already registered")
    _BACKENDS[backend.name] = backend


def available_backends() -> list[str]:
    """Names of backends usable on this machine."""
    return [k for k, b in _BACKENDS.items() if b.available()]


def set_default_backend(name: str | None, *, for_input: str = "numpy") -> None:
    """Set the backend used for NumPy (``for_input="numpy"``) or torch inputs when a call names none.

    ``None`` restores the automatic choice.
    """
    if for_input not in _DEFAULTS:
        raise ValueError(f"for_input={for_input!r}; use 'numpy' or 'torch'")
    if name is not None:
        _get(name)
    _DEFAULTS[for_input] = name


def get_default_backend(for_input: str = "numpy") -> str | None:
    """The backend set with :func:`set_default_backend` (``None`` = automatic)."""
    return _DEFAULTS[for_input]


def _get(name: str) -> Backend:
    try:
        b = _BACKENDS[name]
    except KeyError:
        raise ValueError(f"backend={name!r} is unknown; choose one of {sorted(_BACKENDS)}") from None
    if not b.available():
        raise RuntimeError(f"backend {name!r} is not available here: {b.requirement}")
    return b


def resolve_backend(x: Any, backend: str | None) -> Backend:
    """Pick the executor for input ``x`` (see the module docstring)."""
    if backend is not None:
        return _get(backend)
    if isinstance(x, torch.Tensor):
        name = _DEFAULTS["torch"]
        if name is None:
            name = _auto_torch(x)
        return _get(name)
    name = _DEFAULTS["numpy"] or _auto_numpy()
    return _get(name)


def _auto_numpy() -> str:
    return "numba" if "numba" in _BACKENDS and _BACKENDS["numba"].available() else "numpy"


def _auto_torch(x: torch.Tensor) -> str:
    if x.requires_grad:
        return "torch"
    fast = "numba_cuda" if x.is_cuda else "numba" if x.device.type == "cpu" else None
    if fast is not None and fast in _BACKENDS and _BACKENDS[fast].available():
        return fast
    return "torch"


def execute(x: Any, lengths: np.ndarray, dims: int, ops: Sequence[Op], backend: Backend) -> Any:
    """Run ``ops`` on the ``(N, M, T, V, C)`` batch ``x`` with ``backend``; returns the input's type.

    ``lengths`` are the valid lengths of ``x``; each ``resample`` op updates them for the ops after it.
    """
    is_torch = isinstance(x, torch.Tensor)
    if backend.array_type == "torch":
        work = x if is_torch else torch.from_numpy(np.ascontiguousarray(x))
        device = work.device
        lens: Any = torch.as_tensor(lengths, dtype=torch.long, device=device)
    else:
        if is_torch and x.requires_grad:
            raise ValueError(
                f"backend={backend.name!r} cannot propagate gradients; x requires grad, so use backend='torch'"
            )
        work = x.detach().cpu().numpy() if is_torch else x
        lens = np.asarray(lengths, dtype=np.int64)
    if backend.run_program is not None:
        out = backend.run_program(work, lens, dims, ops)
    else:
        out = work
        for op in ops:
            out = backend.run_op(out, lens, dims, op)
            if op.kind == "resample":
                new = op.params["out_len"]
                lens = torch.as_tensor(new, dtype=torch.long, device=lens.device) \
                    if isinstance(lens, torch.Tensor) else np.asarray(new, dtype=np.int64)
        if not ops:
            out = out.clone() if isinstance(out, torch.Tensor) else np.array(out, copy=True)
    if is_torch and not isinstance(out, torch.Tensor):
        return torch.from_numpy(np.ascontiguousarray(out)).to(device=x.device, dtype=x.dtype)
    if not is_torch and isinstance(out, torch.Tensor):
        return out.detach().cpu().numpy().astype(x.dtype, copy=False)
    return out


register_backend(Backend("numpy", "numpy", reference.run_op, requirement="always available"))
register_backend(Backend("torch", "torch", torch_backend.run_op, requirement="always available",
                         differentiable=True))

"""Property checks for graph layers, shipped as importable assertions (like PyG's ``testing/asserts.py``).

**Joint-permutation equivariance.** Relabelling the joints of the input *and* of the graph should
relabel the output the same way. A layer with learned per-joint state (an offset :math:`B_k` of size
``V x V``, an edge-importance mask, a batch norm over ``V * C`` like ST-GCN's ``data_bn``, the input
weights of a recurrent encoder over flattened joints) is equivariant only if that state is relabelled
too; otherwise the claim is false for any trained model. So the check compares two layers:

1. ``m = factory(graph)`` with every learned tensor randomised (so constant initialisations such as
   :math:`B_k = 0` cannot hide a mistake);
2. ``m2 = factory(graph.permute(perm))``, built from the *relabelled* ``edge_index`` and centre, loaded
   with ``m``'s state and relabelled with :func:`permute_joints`;

and asserts ``m2(x[..., perm, :]) == m(x)`` relabelled along the joint axis (or unchanged, for
pooled outputs). Fixed graph-derived buffers (partitions) are not saved state: ``m2`` derives them
from the relabelled graph, so the check covers the partition code as well.

**The protocol.** A module with learned per-joint state defines ``permute_joints_(perm)``, which
relabels its *own* parameters and statistics in place (not its children's) so that new joint ``v`` is
old joint ``perm[v]``. :func:`permute_joints` calls it on every submodule.

Example:
    >>> import torch
    >>> from skelaug import layouts
    >>> from skelaug.nn import AdaptiveGraphConv
    >>> from skelaug.nn.testing import assert_joint_permutation_equivariant
    >>> gen = torch.Generator().manual_seed(0)
    >>> x = torch.randn(2, 6, 25, 3, generator=gen)
    >>> def factory(g):
    ...     return AdaptiveGraphConv(3, 8, g, adaptive="attention")
    >>> assert_joint_permutation_equivariant(factory, layouts.get("ntu25"), x, generator=gen)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from skelaug.nn.graph import GraphLike, SkeletonGraph, resolve_graph

__all__ = [
    "assert_batch_consistent",
    "assert_joint_permutation_equivariant",
    "assert_reset_parameters",
    "permute_joints",
    "randomize_parameters_",
]


def randomize_parameters_(module: nn.Module, generator: torch.Generator, scale: float = 0.5) -> nn.Module:
    """Fill every saved floating tensor (parameters, running statistics) with seeded random values.

    Normal values with standard deviation ``scale``; ``running_var`` buffers get values in
    ``[0.5, 1.5]``. Integer buffers (batch counters) and non-persistent buffers (graph partitions)
    are left alone. Returns ``module``.
    """
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            if not t.dtype.is_floating_point:
                continue
            if name.endswith("running_var"):
                vals = torch.rand(t.shape, generator=generator, dtype=t.dtype) + 0.5
            else:
                vals = torch.randn(t.shape, generator=generator, dtype=t.dtype) * scale
            t.copy_(vals.to(t.device))
    return module


def permute_joints(module: nn.Module, perm: Sequence[int] | Tensor) -> nn.Module:
    """Relabel all learned per-joint state of ``module`` in place (new joint ``v`` = old ``perm[v]``).

    Calls ``permute_joints_`` on every submodule that defines it (see the module docstring).
    """
    p = torch.as_tensor(perm, dtype=torch.long)
    for sub in module.modules():
        fn = getattr(sub, "permute_joints_", None)
        if callable(fn):
            fn(p)
    return module


def _call(module: nn.Module, x: Tensor, kwargs: Mapping[str, Any] | None) -> Tensor:
    out = module(x, **(kwargs or {}))
    if not isinstance(out, Tensor):
        raise TypeError(f"{type(module).__name__} returned {type(out).__name__}, expected a Tensor")
    return out


def assert_joint_permutation_equivariant(
    factory: Callable[[SkeletonGraph], nn.Module],
    graph: GraphLike,
    x: Tensor,
    perm: Sequence[int] | Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
    joint_dim: int | None = -2,
    train: bool = False,
    forward_kwargs: Mapping[str, Any] | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Assert ``layer(relabelled graph)(x[..., perm, :]) == layer(graph)(x)`` relabelled.

    Args:
        factory: Builds the layer from a :class:`~skelaug.nn.graph.SkeletonGraph` (called twice).
        graph: The skeleton graph (any :data:`~skelaug.nn.graph.GraphLike`).
        x: Input with joints on axis ``-2``.
        perm: Joint permutation (default: a random one from ``generator``).
        generator: Seeds the permutation and the parameter randomisation (default: seed 0).
        joint_dim: Joint axis of the output; ``None`` for outputs that must be *invariant* (pooled).
        train: Compare in training mode (batch statistics) instead of evaluation mode.
        forward_kwargs: Extra keyword arguments for both forward calls (e.g. ``lengths``).
        atol: Absolute tolerance.
        rtol: Relative tolerance.

    Raises:
        AssertionError: with the largest deviation when the outputs differ.
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    g = resolve_graph(graph)
    p = (
        torch.randperm(g.num_nodes, generator=gen)
        if perm is None
        else torch.as_tensor(perm, dtype=torch.long)
    )
    module = randomize_parameters_(factory(g), gen).train(train)
    relabelled = factory(g.permute(p))
    relabelled.load_state_dict(module.state_dict())
    permute_joints(relabelled, p)
    relabelled.train(train)
    p_dev = p.to(x.device)
    out = _call(module, x, forward_kwargs)
    out_perm = _call(relabelled, x.index_select(-2, p_dev), forward_kwargs)
    expected = out if joint_dim is None else out.index_select(joint_dim, p_dev)
    torch.testing.assert_close(
        out_perm,
        expected,
        atol=atol,
        rtol=rtol,
        msg=lambda m: (
            f"{type(module).__name__} is not joint-permutation equivariant for perm={p.tolist()}: {m}"
        ),
    )


def assert_batch_consistent(
    module: nn.Module,
    x: Tensor,
    *,
    forward_kwargs: Mapping[str, Any] | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Assert that a batched call equals the per-sample calls stacked (evaluation mode).

    Tensors in ``forward_kwargs`` whose first axis has the batch size are split with the samples.
    """
    module = module.eval()
    with torch.no_grad():
        full = _call(module, x, forward_kwargs)
        parts = []
        for i in range(x.size(0)):
            kw = {
                k: (v[i : i + 1] if isinstance(v, Tensor) and v.dim() > 0 and v.size(0) == x.size(0) else v)
                for k, v in (forward_kwargs or {}).items()
            }
            parts.append(_call(module, x[i : i + 1], kw))
    torch.testing.assert_close(
        full,
        torch.cat(parts),
        atol=atol,
        rtol=rtol,
        msg=lambda m: f"{type(module).__name__}: batched output differs from per-sample outputs: {m}",
    )


def assert_reset_parameters(factory: Callable[[], nn.Module]) -> None:
    """Assert that ``reset_parameters()`` restores every piece of saved state.

    All saved tensors are overwritten with NaN (integers with -7), then ``reset_parameters()`` is
    called. Tensors whose initial value is deterministic (equal in two fresh modules) must equal it
    again; randomly initialised ones must be finite, redrawn, and (with at least 64 values) of the same
    scale (standard deviation within a factor 3 of fresh modules'). Non-saved buffers must be untouched.
    """
    module, fresh, other = factory(), factory(), factory()
    fixed = {k: v.clone() for k, v in module.named_buffers() if k not in module.state_dict()}
    with torch.no_grad():
        for t in module.state_dict(keep_vars=True).values():
            t.fill_(float("nan") if t.dtype.is_floating_point else -7)
    reset = getattr(module, "reset_parameters", None)
    if not callable(reset):
        raise AssertionError(f"{type(module).__name__} has no reset_parameters()")
    reset()
    ref, ref2 = fresh.state_dict(), other.state_dict()
    name = type(module).__name__
    for key, t in module.state_dict().items():
        if t.dtype.is_floating_point and not bool(torch.isfinite(t).all()):
            raise AssertionError(f"{name}.reset_parameters() left {key!r} unset (NaN)")
        if torch.equal(ref[key], ref2[key]):
            if not torch.equal(t, ref[key]):
                raise AssertionError(
                    f"{name}.reset_parameters() does not restore {key!r} to its initial value"
                )
        else:
            if torch.equal(t, ref[key]):
                raise AssertionError(f"{name}.reset_parameters() did not redraw {key!r}")
            if t.numel() >= 64:  # enough values for the spread estimate to be trusted within 3x
                s = float(t.float().std())
                s_ref = 0.5 * (float(ref[key].float().std()) + float(ref2[key].float().std()))
                if not s_ref / 3 <= s <= s_ref * 3:
                    raise AssertionError(
                        f"{name}.reset_parameters() draws {key!r} with std {s:.3g}, "
                        f"a fresh module has {s_ref:.3g}"
                    )
    for key, t in module.named_buffers():
        if key in fixed and not torch.equal(t, fixed[key]):
            raise AssertionError(f"{name}.reset_parameters() changed the fixed buffer {key!r}")

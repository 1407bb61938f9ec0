"""The dual-stream contrastive MG recognizer: encoders, projection heads, momentum encoders, queues.

::

    view 1 ──► graph stream  G ──► head g ──► q_g ┐      ┌─ k_g ◄── head g' ◄── G' (momentum) ◄── view 2
           └─► recurrent   R ──► head r ──► q_r ┘      └─ k_r ◄── head r' ◄── R' (momentum) ◄──┘

    cross-stream (ISC): InfoNCE(q_g, k_r, queue_r) + InfoNCE(q_r, k_g, queue_g)
    within-stream (MoCo): InfoNCE(q_g, k_g, queue_g) + InfoNCE(q_r, k_r, queue_r)

For evaluation the two streams' features (before the heads) are combined by
:class:`skelaug.nn.BalancedLateFusion`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference_models.mg_contrastive.config import Config, GraphConfig, RecurrentConfig
from skelaug import layouts
from skelaug.nn import BalancedLateFusion, JointBatchNorm, SequenceEncoder, STBalancedFusion, STGCNEncoder

__all__ = [
    "DualStreamEncoder",
    "DualStreamMoCo",
    "GraphStream",
    "KeyQueue",
    "ProjectionHead",
    "RecurrentStream",
    "build_encoder",
    "info_nce",
    "mine_positives",
    "seeded_init",
]


@contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules deterministically from ``seed`` without touching the caller's random state.

    skelaug's layers draw their initial weights in ``reset_parameters()`` from torch's default
    generator; this forks that generator (``torch.random.fork_rng``), seeds the fork and restores the
    caller's state on exit.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class GraphStream(nn.Module):
    """ST-GCN (:class:`skelaug.nn.STGCNEncoder`) with :class:`skelaug.nn.STBalancedFusion` after one block.

    The encoder runs with the fusion block inserted after block ``fusion_after``
    (``STGCNEncoder.forward_features(after_block=...)``), where it mixes a spatial (adaptive joint
    graph) and a temporal (adaptive frame graph) branch per channel on the valid frames; then the
    features are averaged over joints, valid frames and persons (``STGCNEncoder.pool``).

    Shapes:
        - **input:** ``(N, M, T, V, C)``, ``lengths`` ``(N,)``
        - **output:** ``(N, widths[-1])``
    """

    def __init__(self, in_channels: int, layout: str, cfg: GraphConfig) -> None:
        super().__init__()
        lay = layouts.get(layout)
        self.encoder = STGCNEncoder(
            in_channels,
            lay,
            widths=cfg.widths,
            strides=cfg.strides or None,
            adaptive=cfg.adaptive,
            kernel_size=cfg.kernel_size,
            dilations=cfg.dilations,
            norm=cfg.norm,
            data_norm=cfg.data_norm,
        )
        self.fusion_after = cfg.fusion_after % len(cfg.widths)
        self.fusion = (
            STBalancedFusion(
                cfg.widths[self.fusion_after], lay, temporal_window=cfg.temporal_window, norm=cfg.norm
            )
            if cfg.fusion
            else None
        )
        self.out_channels = cfg.widths[-1]

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        hooks = {self.fusion_after: self.fusion} if self.fusion is not None else None
        h, valid = self.encoder.forward_features(x, lengths, after_block=hooks)  # (N*M, T', V, C')
        return self.encoder.pool(h, valid, persons=int(x.size(1)))  # (N, C')


class RecurrentStream(nn.Module):
    """Bidirectional GRU over the frames (:class:`skelaug.nn.SequenceEncoder`); ``(N, M, T, V, C) -> (N, F)``."""

    def __init__(self, in_channels: int, num_joints: int, cfg: RecurrentConfig) -> None:
        super().__init__()
        self.encoder = SequenceEncoder(
            in_channels,
            num_joints,
            cfg.hidden,
            num_layers=cfg.layers,
            bidirectional=cfg.bidirectional,
            embed_channels=cfg.embed or None,
            pooling=cfg.pooling,
            dropout=cfg.dropout,
        )
        self.data_norm = JointBatchNorm(num_joints, in_channels) if cfg.data_norm else None
        self.out_channels = self.encoder.out_channels

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.data_norm is not None:
            n, m, t, v, c = x.shape
            x = self.data_norm(x.reshape(n * m, t, v, c)).view(n, m, t, v, c)
        return self.encoder(x, lengths)  # type: ignore[no-any-return]


class ProjectionHead(nn.Module):
    """MoCo v2 projection MLP: ``Linear(F, H) -> [BatchNorm1d(H)] -> ReLU -> Linear(H, D)``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, batch_norm: bool = False) -> None:
        super().__init__()
        bn: list[nn.Module] = [nn.BatchNorm1d(hidden)] if batch_norm else []
        self.net = nn.Sequential(nn.Linear(in_channels, hidden), *bn, nn.ReLU(), nn.Linear(hidden, out_channels))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # type: ignore[no-any-return]


class DualStreamEncoder(nn.Module):
    """The streams named in ``cfg.model.streams`` with one projection head each.

    ``forward`` returns ``{stream: (feature (N, F_s), projection (N, D))}``; ``features`` only the former.
    """

    def __init__(self, cfg: Config, layout: str, num_joints: int, in_channels: int) -> None:
        super().__init__()
        mc = cfg.model
        self.stream_names = list(mc.streams)
        streams: dict[str, nn.Module] = {}
        for name in self.stream_names:
            if name == "graph":
                streams[name] = GraphStream(in_channels, layout, mc.graph)
            else:
                streams[name] = RecurrentStream(in_channels, num_joints, mc.recurrent)
        self.streams = nn.ModuleDict(streams)
        self.heads = nn.ModuleDict(
            {
                k: ProjectionHead(self.feature_dim(k), mc.head.hidden, mc.head.dim, mc.head.batch_norm)
                for k in self.stream_names
            }
        )

    def feature_dim(self, stream: str) -> int:
        return int(self.streams[stream].out_channels)  # type: ignore[arg-type]

    def features(self, x: Tensor, lengths: Tensor) -> dict[str, Tensor]:
        return {k: self.streams[k](x, lengths) for k in self.stream_names}

    def forward(self, x: Tensor, lengths: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        return {k: (f, self.heads[k](f)) for k, f in self.features(x, lengths).items()}


class KeyQueue(nn.Module):
    """A ring buffer of ``size`` L2-normalised keys ``(size, dim)`` (the MoCo dictionary).

    ``enqueue(keys)`` writes the keys at the pointer, wrapping around, and advances it; the batch
    need not divide ``size``. The initial content is random unit vectors from ``generator``.

    With ``subjects=True`` it also keeps the subject id of each key (``subjects`` ``(size,)``, initially
    ``NO_SUBJECT``: the random initial keys belong to nobody); with ``labels=True`` likewise the class
    label of each key (``labels``, initially ``NO_SUBJECT`` too: no class).
    """

    keys: Tensor
    ptr: Tensor
    subjects: Tensor
    labels: Tensor
    NO_SUBJECT = -(2**62)

    def __init__(
        self, size: int, dim: int, generator: torch.Generator, subjects: bool = False, labels: bool = False
    ) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("keys", F.normalize(torch.randn(size, dim, generator=generator), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.track_subjects = subjects
        self.track_labels = labels
        for name, tracked in (("subjects", subjects), ("labels", labels)):
            if tracked:
                self.register_buffer(name, torch.full((size,), self.NO_SUBJECT, dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: Tensor, subjects: Tensor | None = None, labels: Tensor | None = None) -> None:
        """Write ``keys`` ``(b, dim)`` (and their ``subjects`` / ``labels`` ``(b,)``) one after the other at
        the pointer (wrapping); the pointer moves by ``b``."""
        b = keys.size(0)
        n = min(b, self.size)  # only the last `size` keys survive a batch larger than the queue
        p = int(self.ptr)
        idx = (p + (b - n) + torch.arange(n, device=keys.device)) % self.size
        self.keys[idx] = keys.detach()[b - n :].to(self.keys.dtype)
        for name, tracked, ids in (("subjects", self.track_subjects, subjects), ("labels", self.track_labels, labels)):
            if tracked:
                if ids is None:
                    raise ValueError(f"KeyQueue({name}=True).enqueue needs the {name} of the keys")
                buf = getattr(self, name)
                buf[idx] = ids.to(buf.device)[b - n :]
        self.ptr.fill_((p + b) % self.size)

    def matches(self, name: Literal["subjects", "labels"], ids: Tensor | None, key: str) -> Tensor:
        """``(B, size)`` bool: entry ``j`` has the id ``ids[i]`` (``name``: the tracked ids to compare).
        ``key`` names the config setting that needs them, for the error when ``ids`` is None."""
        if ids is None:
            raise ValueError(f"{key} needs the {'subject ids' if name == 'subjects' else 'class labels'} of the batch")
        buf = getattr(self, name)
        return ids.to(buf.device)[:, None] == buf[None, :]  # type: ignore[no-any-return]


def info_nce(
    q: Tensor,
    k: Tensor,
    queue: Tensor,
    temperature: float,
    mask: Tensor | None = None,
    hard: Tensor | None = None,
    positives: Tensor | None = None,
    form: Literal["sum", "mean"] = "sum",
) -> tuple[Tensor, Tensor]:
    r"""MoCo's InfoNCE: each query's positive key against the queue's negatives (and its own hard ones).

    .. math::

        \mathcal L = -\frac1B \sum_i \log
        \frac{e^{q_i \cdot k_i / \tau}}{e^{q_i \cdot k_i / \tau} + \sum_{j \in N_i} e^{q_i \cdot n_j / \tau}
        + \sum_{h=1}^{H} e^{q_i \cdot h_{ih} / \tau}}

    with ``q``, ``k`` ``(B, D)`` and ``queue`` ``(K, D)`` L2-normalised; ``N_i`` is every queue entry, or
    those where ``mask[i, j]`` (``(B, K)`` bool) is true. ``hard`` ``(B, H, D)`` (optional, normalised)
    adds per-query negatives :math:`h_{i1}, .., h_{iH}` (query :math:`i`'s own, never masked): the
    logits are ``[q_i.k_i, q_i.n_1, .., q_i.n_K, q_i.h_i1, .., q_i.h_iH] / tau`` and the target is
    entry 0. Without ``hard`` (or with ``H = 0``) it is plain MoCo. Returns the loss and the
    instance-discrimination accuracy (positive ranked first among all ``1 + K + H`` logits).

    ``positives`` ``(B, K)`` bool (optional; mined neighbours, :func:`mine_positives`) makes queue entry
    ``j`` a further positive of query ``i`` where true (and kept by ``mask``). With the logits
    :math:`\ell_i` above and :math:`P_i = \{0\} \cup \{1 + j : \text{positives}[i, j]\}`:

    .. math::

        \mathcal L^{\text{sum}}_i = -\log \frac{\sum_{p \in P_i} e^{\ell_{ip}}}{\sum_c e^{\ell_{ic}}}, \qquad
        \mathcal L^{\text{mean}}_i = -\frac{1}{|P_i|} \sum_{p \in P_i} \log \frac{e^{\ell_{ip}}}{\sum_c e^{\ell_{ic}}}

    (``form``; both are the loss above when :math:`P_i = \{0\}`). The accuracy stays that of the key.

    Example:
        >>> import math
        >>> q = torch.tensor([[1.0, 0.0]])  # positive 1, queue entry 0, hard negative -1 (tau = 1)
        >>> queue, hard = torch.tensor([[0.0, 1.0]]), torch.tensor([[[-1.0, 0.0]]])
        >>> loss, acc = info_nce(q, q, queue, 1.0, hard=hard)
        >>> round(float(loss), 6) == round(-math.log(math.e / (math.e + 1 + math.exp(-1))), 6), float(acc)
        (True, 1.0)
        >>> loss, _ = info_nce(q, q, queue, 1.0, hard=hard, positives=torch.tensor([[True]]))  # queue entry mined
        >>> round(float(loss), 6) == round(-math.log((math.e + 1) / (math.e + 1 + math.exp(-1))), 6)
        True
    """
    l_pos = (q * k).sum(dim=1, keepdim=True)  # (B, 1)
    l_neg = q @ queue.t()  # (B, D) @ (D, K) -> (B, K)
    if mask is not None:
        l_neg = l_neg.masked_fill(~mask, float("-inf"))
    parts = [l_pos, l_neg]
    if hard is not None:
        if hard.dim() != 3 or hard.shape[0] != q.size(0) or hard.shape[2] != q.size(1):
            raise ValueError(
                f"hard has shape {tuple(hard.shape)}; expected (B, H, D) = ({q.size(0)}, H, {q.size(1)})"
            )
        parts.append(torch.einsum("bd,bhd->bh", q, hard))  # (B, H)
    logits = torch.cat(parts, dim=1) / temperature  # (B, 1 + K [+ H])
    acc = (logits.argmax(dim=1) == 0).to(q.dtype).mean()
    if positives is None:
        target = torch.zeros(q.size(0), dtype=torch.long, device=q.device)
        return F.cross_entropy(logits, target), acc
    if positives.shape != l_neg.shape or positives.dtype != torch.bool:
        raise ValueError(
            f"positives has shape {tuple(positives.shape)} and dtype {positives.dtype}; expected a bool "
            f"(B, K) = {tuple(l_neg.shape)} mask of the queue entries that are further positives"
        )
    pos = positives if mask is None else positives & mask  # a masked-out entry is no positive either
    is_pos = torch.zeros_like(logits, dtype=torch.bool)
    is_pos[:, 0] = True
    is_pos[:, 1 : 1 + l_neg.size(1)] = pos
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # (B, 1 + K [+ H]) log-softmax
    if form == "sum":
        loss = -torch.logsumexp(log_p.masked_fill(~is_pos, float("-inf")), dim=1)
    elif form == "mean":
        loss = -log_p.masked_fill(~is_pos, 0.0).sum(dim=1) / is_pos.sum(dim=1)
    else:
        raise ValueError(f"form={form!r}; use 'sum' or 'mean'")
    return loss.mean(), acc


def mine_positives(key: Tensor, queue: Tensor, k: int, mask: Tensor | None = None) -> Tensor:
    r"""The top-``k`` queue entries of each key by similarity: ``(B, K)`` bool, ``k`` true per row.

    Entry :math:`(i, j)` is true iff :math:`\text{key}_i \cdot \text{queue}_j` is among the ``k``
    largest of row :math:`i` (``torch.topk``; ties broken by it). With ``mask`` ``(B, K)`` bool only
    entries where it is true are candidates (rows with fewer than ``k`` of them get fewer). ``key``
    ``(B, D)`` and ``queue`` ``(K, D)`` are normalised momentum keys of the *mining* stream; the result
    selects the same clips in the other stream's queue (:func:`info_nce`'s ``positives``). No gradient.

    Example:
        >>> queue = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
        >>> mine_positives(torch.tensor([[0.8, 0.6]]), queue, 2).tolist()  # similarities 0.8, 0.6, 0.96
        [[True, False, True]]
    """
    if not 0 <= k <= queue.size(0):
        raise ValueError(f"k={k}; use 0..{queue.size(0)} (the queue size)")
    with torch.no_grad():
        sim = key @ queue.t()  # (B, K)
        if mask is not None:
            sim = sim.masked_fill(~mask, float("-inf"))
        out = torch.zeros_like(sim, dtype=torch.bool)
        out.scatter_(1, sim.topk(k, dim=1).indices, True)
        return out if mask is None else out & mask


def build_encoder(cfg: Config, layout: str, num_joints: int, in_channels: int, seed: int) -> DualStreamEncoder:
    """The online encoder of ``cfg`` with weights drawn from ``seed`` (the random-weights baseline too)."""
    with seeded_init(seed):
        return DualStreamEncoder(cfg, layout, num_joints, in_channels)


class DualStreamMoCo(nn.Module):
    """Online encoder, momentum (key) encoder and one key queue per stream.

    Args:
        cfg: The run config (model, contrast).
        layout, num_joints, in_channels: The input skeletons.
        seed: Seeds the initial weights and the initial queue content.
    """

    def __init__(self, cfg: Config, layout: str, num_joints: int, in_channels: int, seed: int) -> None:
        super().__init__()
        self.cfg = cfg.contrast
        self.online = build_encoder(cfg, layout, num_joints, in_channels, seed)
        self.target = copy.deepcopy(self.online)
        for p in self.target.parameters():
            p.requires_grad_(False)
        gen = torch.Generator().manual_seed(int(np.random.default_rng([seed, 3]).integers(2**62)))
        per_subject = cfg.contrast.negatives == "same_subject" or cfg.contrast.mine_subjects == "other"
        per_label = cfg.contrast.positives == "label"
        self.queues = nn.ModuleDict(
            {
                k: KeyQueue(cfg.contrast.queue_size, cfg.model.head.dim, gen, subjects=per_subject, labels=per_label)
                for k in self.online.stream_names
            }
        )
        self.stream_names = self.online.stream_names

    def queue(self, stream: str) -> KeyQueue:
        q = self.queues[stream]
        assert isinstance(q, KeyQueue)
        return q

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``target <- m * target + (1 - m) * online`` (parameters); buffers (BN statistics) are copied."""
        m = self.cfg.momentum
        for pt, po in zip(self.target.parameters(), self.online.parameters(), strict=True):
            pt.mul_(m).add_(po.detach(), alpha=1.0 - m)
        for bt, bo in zip(self.target.buffers(), self.online.buffers(), strict=True):
            bt.copy_(bo)

    @torch.no_grad()
    def keys(self, x: Tensor, lengths: Tensor) -> dict[str, Tensor]:
        """Normalised momentum keys ``{stream: (N, D)}``."""
        return {k: F.normalize(p, dim=1) for k, (_, p) in self.target(x, lengths).items()}

    @torch.no_grad()
    def keys_with_hard(
        self, x: Tensor, lengths: Tensor, hard: Tensor
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Momentum keys of ``x`` ``(N, ...)`` and of its hard negatives ``hard`` ``(H, N, ...)`` (same lengths).

        One forward of the ``(1 + H) N`` clips, so that batch-norm layers (train mode) normalise the
        keys and their hard negatives with the same batch statistics. Returns ``{stream: (N, D)}`` and
        ``{stream: (N, H, D)}`` (normalised), the latter for :func:`info_nce`'s ``hard``.
        """
        h, n = int(hard.size(0)), int(x.size(0))
        if hard.shape[1:] != x.shape:
            raise ValueError(f"hard has shape {tuple(hard.shape)}; expected (H, *{tuple(x.shape)})")
        both = self.keys(torch.cat([x, hard.flatten(0, 1)]), lengths.repeat(1 + h))
        keys = {s: kk[:n] for s, kk in both.items()}
        negs = {s: kk[n:].view(h, n, -1).transpose(0, 1) for s, kk in both.items()}
        return keys, negs

    def loss(
        self,
        queries: dict[str, Tensor],
        keys: dict[str, Tensor],
        subjects: Tensor | None = None,
        hard: dict[str, Tensor] | None = None,
        mine: bool = False,
        labels: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, float]]:
        """The contrastive loss of ``cfg.contrast.loss`` from projections ``queries`` and normalised ``keys``.

        With ``contrast.negatives = "same_subject"``, ``subjects`` ``(B,)`` are the queries' subject ids and
        only queue keys of the same subject are negatives. ``hard`` ``{stream: (B, H, D)}`` (normalised
        momentum keys of the motion-destroyed key views, :meth:`keys_with_hard`) adds per-query negatives
        to every term: the term ``a -> b`` uses stream ``b``'s, as it uses ``b``'s key and queue. Returns
        the loss and its terms (``"<query>-><key>"``) with their accuracies for logging; with ``hard``
        also ``hacc_<query>-><key>``, the fraction of queries whose positive beats all its hard negatives.

        ``mine`` (the training loop sets it from epoch ``contrast.mine_after`` on when
        ``contrast.mine_k > 0``) adds the mined positives (:meth:`mined`) to every term: term
        ``a -> b`` gets the top-``mine_k`` entries of :meth:`mining_stream` ``(b)``'s key against its
        queue. Logs then also ``mine_overlap``, the mean fraction of a clip's ``mine_k`` neighbours that
        both streams pick (two streams), and with ``mine_k > 0`` this column is logged (NaN) before too.

        With ``contrast.positives = "label"``, ``labels`` ``(B,)`` are the queries' class labels and every
        queue entry of the query's class is a further positive of every term (supervised contrast).
        """
        q = {k: F.normalize(v, dim=1) for k, v in queries.items()}
        names = self.stream_names
        mined = self.mined(keys, subjects) if mine and self.cfg.mine_k > 0 else None
        pairs: list[tuple[str, str]] = []
        if self.cfg.loss in ("cross", "both") and len(names) == 2:
            pairs += [(names[0], names[1]), (names[1], names[0])]
        if self.cfg.loss in ("within", "both") or len(names) == 1:
            pairs += [(s, s) for s in names]
        total = q[names[0]].new_zeros(())
        logs: dict[str, float] = {}
        for qs, ks in pairs:
            queue = self.queue(ks)
            mask = None
            if self.cfg.negatives == "same_subject":
                mask = queue.matches("subjects", subjects, "contrast.negatives = 'same_subject'")
            hk = None if hard is None else hard[ks]
            extra = None if mined is None else mined[self.mining_stream(ks)]
            if self.cfg.positives == "label":
                extra = queue.matches("labels", labels, "contrast.positives = 'label'")
            lo, acc = info_nce(
                q[qs], keys[ks], queue.keys.detach(), self.cfg.temperature, mask, hk, extra, self.cfg.mine_loss
            )
            total = total + lo
            logs[f"loss_{qs}->{ks}"] = float(lo.detach())
            logs[f"acc_{qs}->{ks}"] = float(acc)
            if hk is not None:
                with torch.no_grad():
                    pos = (q[qs] * keys[ks]).sum(dim=1)
                    beats = pos > torch.einsum("bd,bhd->bh", q[qs], hk).amax(dim=1)
                logs[f"hacc_{qs}->{ks}"] = float(beats.to(pos.dtype).mean())
        if self.cfg.mine_k > 0 and len(names) == 2:
            overlap = float("nan")
            if mined is not None:
                both = mined[names[0]] & mined[names[1]]
                overlap = float(both.sum()) / (both.size(0) * self.cfg.mine_k)
            logs["mine_overlap"] = overlap
        return total / len(pairs), logs

    def mining_stream(self, stream: str) -> str:
        """The stream whose key and queue choose the mined positives of the terms keyed by ``stream``:
        the other stream (``contrast.mine_space = "other"``) or ``stream`` itself (``"same"``)."""
        if self.cfg.mine_space == "same":
            return stream
        others = [s for s in self.stream_names if s != stream]
        if len(others) != 1:
            raise ValueError(f"contrast.mine_space = 'other' needs two streams; this model has {self.stream_names}")
        return others[0]

    @torch.no_grad()
    def mined(self, keys: dict[str, Tensor], subjects: Tensor | None = None) -> dict[str, Tensor]:
        """Each stream's top-``contrast.mine_k`` queue entries for each key (:func:`mine_positives`):
        ``{stream: (B, K) bool}``, indexed by the *mining* stream. With ``contrast.negatives =
        "same_subject"`` only entries of the clip's own subject are candidates; with
        ``contrast.mine_subjects = "other"`` only entries of other subjects' clips (not the queue's
        random initial keys, which belong to nobody).

        Per process: under DDP the keys are this rank's batch and the queues (identical on all ranks)
        hold the gathered keys of all ranks.
        """
        out: dict[str, Tensor] = {}
        for s in self.stream_names:
            queue = self.queue(s)
            mask = None
            if self.cfg.negatives == "same_subject":
                mask = queue.matches("subjects", subjects, "contrast.negatives = 'same_subject'")
            elif self.cfg.mine_subjects == "other":
                same = queue.matches("subjects", subjects, "contrast.mine_subjects = 'other'")
                mask = ~same & (queue.subjects != KeyQueue.NO_SUBJECT)[None, :]
            out[s] = mine_positives(keys[s], queue.keys, self.cfg.mine_k, mask)
        return out


class FusedClassifier(nn.Module):
    """Per-stream linear classifiers and a fused one on :class:`skelaug.nn.BalancedLateFusion`.

    ``forward({stream: feature})`` returns ``{stream: logits, "fused": logits}`` (no ``fused`` with
    one stream).
    """

    def __init__(self, dims: dict[str, int], num_classes: int, fused_dim: int) -> None:
        super().__init__()
        self.names = list(dims)
        self.heads = nn.ModuleDict({k: nn.Linear(d, num_classes) for k, d in dims.items()})
        self.fusion = BalancedLateFusion([dims[k] for k in self.names], fused_dim) if len(dims) > 1 else None
        self.fused_head = nn.Linear(fused_dim, num_classes) if len(dims) > 1 else None

    def forward(self, feats: dict[str, Tensor]) -> dict[str, Tensor]:
        out = {k: self.heads[k](feats[k]) for k in self.names}
        if self.fusion is not None and self.fused_head is not None:
            out["fused"] = self.fused_head(self.fusion(*[feats[k] for k in self.names]))
        return out

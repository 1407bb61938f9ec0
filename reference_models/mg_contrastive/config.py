"""Run configuration: typed dataclasses loaded from TOML, validated key by key.

A config file has the sections below (every key optional; the defaults are the ISC / MoCo values where
the papers give one). ``--set section.key=value`` on the command line overrides a key with a TOML value.

Example:
    >>> cfg = load_config_dict({"seed": 3, "contrast": {"queue_size": 256}})
    >>> cfg.seed, cfg.contrast.queue_size, cfg.contrast.temperature, cfg.contrast.momentum
    (3, 256, 0.07, 0.999)
    >>> try:
    ...     load_config_dict({"optim": {"lrr": 0.1}})
    ... except ConfigError as e:
    ...     print(str(e)[:61])
    config key 'optim.lrr' is not known; did you mean 'optim.lr'?
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip install tomli
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]


__all__ = [
    "AblateConfig",
    "AugmentConfig",
    "Config",
    "ConfigError",
    "ContrastConfig",
    "DataConfig",
    "EvalConfig",
    "FinetuneConfig",
    "GraphConfig",
    "HeadConfig",
    "InputKind",
    "KNNConfig",
    "LinearConfig",
    "ModelConfig",
    "OptimConfig",
    "RecurrentConfig",
    "SemiConfig",
    "TrainConfig",
    "apply_overrides",
    "config_to_dict",
    "load_config",
    "load_config_dict",
    "parse_override",
    "tomllib",
]

AugmentPreset = Literal["none", "mg", "aimclr_normal", "aimclr_extreme", "isc"]
Stream = Literal["graph", "recurrent"]
InputKind = Literal["position", "position+velocity", "motion+velocity", "velocity"]


class ConfigError(ValueError):
    """A config key is unknown, has the wrong type or an invalid value (the message names the key)."""


@dataclass
class DataConfig:
    """Where the clips come from and how they are shaped.

    ``kind``: ``synthetic`` (:func:`skelaug.data.generate`, split by subject), ``imigue`` (cross-subject
    protocol), ``smg`` (subjects 36-40 test), ``ntu`` (``benchmark`` ``xsub`` / ``xview``), ``nwucla``
    (:class:`skelaug.data.NWUCLA`, cross-view: ``root`` holds ``all_sqe/``) or ``utd_mhad``
    (:class:`skelaug.data.UTDMHAD`, cross-subject: ``root`` holds the ``.mat`` files).
    ``train_views`` / ``test_views`` (``nwucla`` only): the cross-view split, default 1+2 -> 3 (an empty
    ``test_views`` means the views not trained on); ``[1]`` / ``[2]`` is a validation split that never
    sees view 3, for choosing hyperparameters.
    ``ignore_file`` (NTU): a text file of sample names to leave out, one per line.
    ``holdout > 0`` ignores the official split and holds out that fraction of the clips of
    ``train_split`` (stratified by class, seeded by ``split_seed``): for smoke tests on a few videos.
    ``preprocess``: skelaug steps (tables as written by ``Augmentation.to_dict()``, the layout filled
    in) run on every clip as it is loaded, before the augmented views, in pre-training, evaluation and
    fine-tuning alike: the data's pre-processing, e.g. pyskl's view alignment
    ``[{type = "CentreBody"}, {type = "AlignView"}]``.
    """

    kind: Literal["synthetic", "imigue", "smg", "ntu", "nwucla", "utd_mhad"] = "synthetic"
    num_frames: int = 64
    max_persons: int = 1
    sampling: Literal["centre", "start", "random", "uniform"] = "centre"
    normalize: bool = True
    num_workers: int = 0
    # synthetic generator
    layout: Literal["imigue22", "ntu25"] = "imigue22"
    num_samples: int = 2400
    num_subjects: int = 30
    test_fraction: float = 0.4
    long_tail: float = 0.0
    generator_seed: int = 0
    # real datasets
    root: str = ""
    labels: str = ""
    cache_dir: str = ""
    videos: list[int] = field(default_factory=list)
    missing: Literal["error", "skip"] = "error"
    benchmark: Literal["xsub", "xview", "xsub120", "xset120"] = "xsub"
    ignore_file: str = ""
    train_split: Literal["train", "test", "all"] = "train"
    test_split: Literal["train", "test", "all"] = "test"
    holdout: float = 0.0
    split_seed: int = 0
    train_views: list[int] = field(default_factory=lambda: [1, 2])
    test_views: list[int] = field(default_factory=list)
    preprocess: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AugmentConfig:
    """The two views: a skelaug preset (``none`` gives two identical views), run batched.

    ``pipeline``: extra skelaug augmentations appended to the preset, each a table as written by
    ``Augmentation.to_dict()`` (e.g. ``{type = "RandomSpeed", speed = [0.75, 1.33]}``; the layout is
    filled in); with ``preset = "none"`` this is a fully custom pipeline.
    ``backend``: ``auto`` runs CPU batches through skelaug's NumPy/numba executor and GPU batches
    through its torch (or numba-CUDA) executor; or name one (``numpy``, ``numba``, ``torch``).
    """

    preset: AugmentPreset = "mg"
    pipeline: list[dict[str, Any]] = field(default_factory=list)
    backend: str = "auto"
    min_length: int = 8


@dataclass
class GraphConfig:
    """Graph stream: ST-GCN blocks (:class:`skelaug.nn.STGCNEncoder`) with a balancing-fusion block.

    ``widths`` defaults to the quarter-width ST-GCN of CrosSCLR/AimCLR/ISC; ``strides`` empty means
    2 wherever the width grows. ``fusion_after`` is the block after which
    :class:`skelaug.nn.STBalancedFusion` runs (negative counts from the end). ``norm`` (``batch`` as
    ST-GCN, ``layer`` or ``none``) and ``data_norm`` (per-joint input batch norm) let a model run without
    batch statistics.
    """

    widths: list[int] = field(default_factory=lambda: [16, 16, 16, 16, 32, 32, 32, 64, 64, 64])
    strides: list[int] = field(default_factory=list)
    adaptive: Literal["none", "importance", "offset", "attention", "channelwise"] = "offset"
    kernel_size: int = 5
    dilations: list[int] = field(default_factory=lambda: [1, 2])
    fusion: bool = True
    fusion_after: int = -1
    temporal_window: int = 1
    norm: Literal["batch", "layer", "none"] = "batch"
    data_norm: bool = True


@dataclass
class RecurrentConfig:
    """Recurrent stream: bidirectional GRU (:class:`skelaug.nn.SequenceEncoder`), ISC's sequence branch.

    ``data_norm`` puts a per-joint input batch norm (:class:`skelaug.nn.JointBatchNorm`, as the graph
    stream's) in front of the GRU; ``embed > 0`` adds a per-frame linear embedding of that width."""

    hidden: int = 256
    layers: int = 2
    bidirectional: bool = True
    embed: int = 0
    pooling: Literal["last", "mean"] = "last"
    dropout: float = 0.0
    data_norm: bool = True


@dataclass
class HeadConfig:
    """Projection head (MoCo v2 MLP ``F -> hidden -> dim``) and the fused evaluation width.

    ``batch_norm`` adds BN after the hidden layer (as SimCLR's head; MoCo v2 has none): with the
    cross-stream loss alone, the two randomly initialised streams otherwise fall into a collapsed state
    (every key alike, loss stuck at ``log(K + 1)``) on the synthetic benchmark."""

    batch_norm: bool = True
    hidden: int = 256
    dim: int = 128
    fused_dim: int = 128


@dataclass
class ModelConfig:
    """``input``: what every stream reads per joint (``data.encoder_input``): ``position`` (the
    normalised channels), ``position+velocity`` (plus the coordinate velocities ``x_t - x_{t-1}``, 0
    where either frame is missing or padded), ``motion+velocity`` (the coordinates minus each joint's
    mean over the clip's valid frames where it is present, the extra channels, the velocities: the
    clip's mean pose is removed) or ``velocity`` (the velocities alone)."""

    input: InputKind = "position"
    streams: list[Stream] = field(default_factory=lambda: ["graph", "recurrent"])
    graph: GraphConfig = field(default_factory=GraphConfig)
    recurrent: RecurrentConfig = field(default_factory=RecurrentConfig)
    head: HeadConfig = field(default_factory=HeadConfig)


@dataclass
class ContrastConfig:
    r"""Momentum contrast. ``loss``: ``cross`` (each stream's query against the other stream's key and
    queue, as ISC), ``within`` (MoCo per stream) or ``both`` (their mean). Defaults: ISC / MoCo.

    ``negatives``: ``all`` queue keys (MoCo), or only the keys of clips of the query's own subject
    (``same_subject``, as subject-aware contrastive learning, Cheng et al. 2020): then who performs a
    clip cannot tell it from its negatives, so the features are not pushed to encode the subject. Uses
    the datasets' subject ids (not the class labels); a clip without one counts as its own subject.

    ``hard_negatives``: motion-forcing hard negatives (static / shuffled-frame negatives as in video
    self-supervision, cf. Background Erasing, Wang et al. CVPR 2021). Besides the queue, each query
    is contrasted with momentum keys of its *own* key view with the motion destroyed: ``static`` (one
    random valid frame held over the valid length, so the velocity input is zero), ``shuffled`` (the
    valid frames in a random order) or ``static+shuffled`` (both: two extra negatives per query).
    Static pose then cannot tell the positive from them. ``none`` (default) trains exactly as before.

    ``mine_k``: cross-stream consistent positive mining (CrosSCLR, Li et al., CVPR 2021, "3D Human
    Action Representation Learning via Cross-View Consistency Pursuit"; nearest-neighbour mining as in
    AimCLR, Guo et al., AAAI 2022). From epoch ``mine_after`` on (0-based; earlier epochs train exactly
    as with ``mine_k = 0``) each loss term ``a -> b`` (query of stream ``a``; key and queue of stream
    ``b``) also counts ``mine_k`` queue entries as positives of query :math:`i`: the top-``mine_k``
    entries :math:`j` by :math:`k^m_i \cdot Q^m_j`, the similarity of the clip's momentum key to the
    queue in the *mining stream* :math:`m`. ``mine_space = "other"`` (default): :math:`m` is the stream
    other than ``b``, so the neighbours in ``b``'s space are chosen by the other stream (CrosSCLR's
    cross-view consistency; the within term ``g -> g`` mines with the GRU stream, the cross term
    ``g -> r`` with the graph stream). ``"same"``: :math:`m = b` (own-space mining, as AimCLR /
    NNCLR). Queue entry :math:`j` is the same clip in both queues (they are filled together). With
    logits :math:`\ell_i = [q_i \cdot k_i, q_i \cdot Q_1, .., q_i \cdot Q_K] / \tau` (index 0: the
    key) and positives :math:`P_i = \{0\} \cup \{\text{mined } j\}` (mined entries that
    ``negatives`` masks out are dropped):

    * ``mine_loss = "sum"``: multi-positive InfoNCE (the form of CrosSCLR's paper),
      :math:`\mathcal L_i = -\log \sum_{p \in P_i} e^{\ell_{ip}} / \sum_j e^{\ell_{ij}}`;
    * ``"mean"``: cross-entropy against a uniform target over :math:`P_i` (AimCLR's and CrosSCLR's
      released code), :math:`\mathcal L_i = -\frac{1}{|P_i|} \sum_{p \in P_i} \log \mathrm{softmax}(\ell_i)_p`.

    Mining uses no labels. ``mine_k = 0`` (default): off, bit for bit the loss without mining.
    ``mine_subjects``: ``any`` (default) mines among all queue entries (among the query's own subject's
    with ``negatives = "same_subject"``); ``other`` only among clips of *other* subjects, so a mined
    neighbour cannot be the same person (the datasets' subject ids, not labels).

    ``positives``: ``instance`` (default): the key of the same clip (plus mined ones), i.e.
    self-supervised. ``label``: *supervised* contrast (SupCon, Khosla et al., NeurIPS 2020, through
    the queue): every queue entry of the query's class is a further positive, in the multi-positive
    loss of ``mine_loss``. It reads the training clips' class labels, so it is not self-supervised:
    it shows what perfect positive mining would give this encoder (an ablation, not a
    pre-training recipe). Not combinable with ``mine_k``.

    ``label_noise`` (with ``positives = "label"`` only; default 0): each training clip's class is
    replaced, with this probability, by a uniformly drawn class before it chooses positives
    (:func:`~reference_models.mg_contrastive.data.noisy_labels`, drawn once from ``seed``), so the
    positives are as imprecise as an imperfect miner's: how precise must label-free positives be?
    The evaluation protocols always read the true labels.
    """

    loss: Literal["cross", "within", "both"] = "cross"
    negatives: Literal["all", "same_subject"] = "all"
    hard_negatives: Literal["none", "static", "shuffled", "static+shuffled"] = "none"
    queue_size: int = 16384
    temperature: float = 0.07
    momentum: float = 0.999
    symmetric: bool = False
    mine_k: int = 0
    mine_after: int = 0
    mine_space: Literal["other", "same"] = "other"
    mine_loss: Literal["sum", "mean"] = "sum"
    mine_subjects: Literal["any", "other"] = "any"
    positives: Literal["instance", "label"] = "instance"
    label_noise: float = 0.0


@dataclass
class OptimConfig:
    """SGD (momentum, weight decay) or AdamW; per-step schedule: linear warm-up then cosine / step / constant."""

    name: Literal["sgd", "adamw"] = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    epochs: int = 450
    warmup_epochs: int = 0
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    batch_size: int = 64


@dataclass
class TrainConfig:
    """Logging and checkpointing. ``checkpoint_every`` is in optimiser steps (0: at epoch ends only);
    ``keep_every_epoch`` also keeps ``encoder_epochNNNN.pt`` per epoch; ``threads`` > 0 sets torch's
    intra-op threads for pre-training and evaluation (0: torch's default); ``deterministic`` asks torch
    for deterministic kernels on GPUs (``torch.use_deterministic_algorithms``)."""

    log_every: int = 10
    checkpoint_every: int = 0
    keep_every_epoch: bool = False
    threads: int = 0
    deterministic: bool = True


@dataclass
class LinearConfig:
    epochs: int = 100
    lr: float = 0.1
    weight_decay: float = 0.0
    batch_size: int = 256


@dataclass
class KNNConfig:
    """``k`` neighbours by cosine similarity; votes weighted by ``exp(sim / temperature)`` (0: plain votes)."""

    k: list[int] = field(default_factory=lambda: [20])
    temperature: float = 0.07


@dataclass
class FinetuneConfig:
    """Fine-tuning the whole encoder with a new classifier: SGD (momentum 0.9), cosine schedule.

    ``backbone_lr_scale``: the encoder's learning rate is ``lr * backbone_lr_scale`` (the classifier's is
    ``lr``); below 1 keeps the pre-trained features closer to where they were, 0 keeps the encoder's
    weights (its batch-norm statistics still follow the training clips). It applies to the semi-supervised
    protocol too.
    """

    epochs: int = 30
    lr: float = 0.05
    weight_decay: float = 1e-4
    batch_size: int = 64
    augment: AugmentPreset = "mg"
    backbone_lr_scale: float = 1.0


@dataclass
class SemiConfig:
    """Fine-tuning on a class-balanced labelled fraction (at least one clip per class)."""

    fractions: list[float] = field(default_factory=lambda: [0.01, 0.1])
    epochs: int = 100
    lr: float = 0.05
    batch_size: int = 32


@dataclass
class EvalConfig:
    protocols: list[Literal["linear", "knn", "finetune", "semi"]] = field(
        default_factory=lambda: ["linear", "knn"]
    )
    batch_size: int = 256
    linear: LinearConfig = field(default_factory=LinearConfig)
    knn: KNNConfig = field(default_factory=KNNConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    semi: SemiConfig = field(default_factory=SemiConfig)


@dataclass
class AblateConfig:
    """A grid of runs over the base config: the cartesian product of ``grid`` (dotted key -> values)
    plus ``variants`` (each ``{name = ..., set = {dotted key = value}}``)."""

    grid: dict[str, list[Any]] = field(default_factory=dict)
    variants: list[dict[str, Any]] = field(default_factory=list)
    protocols: list[Literal["linear", "knn", "finetune", "semi"]] = field(
        default_factory=lambda: ["linear", "knn"]
    )
    random_baseline: bool = True


@dataclass
class Config:
    """A whole run. ``seed`` seeds everything (weights, views, batch order, evaluation)."""

    seed: int = 0
    name: str = "mg_contrastive"
    output_dir: str = "runs/mg_contrastive"
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    contrast: ContrastConfig = field(default_factory=ContrastConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    ablate: AblateConfig = field(default_factory=AblateConfig)


# ------------------------------------------------------------------------------------ loading
def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return "a table"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(tp, str(tp))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(f"config key {key!r} = {value!r}; expected {_type_name(tp)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"config key {key!r} = {value!r}; expected {_type_name(tp)}")
        return [_coerce(f"{key}[{i}]", v, get_args(tp)[0]) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} = {value!r}; expected a table")
        return {str(k): _coerce(f"{key}.{k}", v, get_args(tp)[1]) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"config key {key!r}: union types are not supported")  # pragma: no cover
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} = {value!r}; expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r} = {value!r}; expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config key {key!r} = {value!r}; expected a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r} = {value!r}; expected a string")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} = {value!r}; expected a table [{key}]")
        return _build(tp, value, key + ".")
    raise ConfigError(f"config key {key!r}: unsupported type {tp}")  # pragma: no cover


def _build(cls: Any, d: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in d.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"did you mean '{prefix}{close[0]}'? " if close else ""
            where = f"[{prefix[:-1]}]" if prefix else "the top level"
            raise ConfigError(
                f"config key '{prefix}{key}' is not known; {hint}Known keys in {where}: {', '.join(names)}"
            )
        kwargs[key] = _coerce(prefix + key, value, hints[key])
    return cls(**kwargs)


def _check_positive(key: str, value: float, minimum: float = 1) -> None:
    if value < minimum:
        raise ConfigError(f"config key {key!r} = {value!r}; it must be >= {minimum}")


def _validate(cfg: Config) -> None:
    """Value checks beyond types (each error names the key and the fix)."""
    for key, val, lo in (
        ("seed", cfg.seed, 0),
        ("data.num_frames", cfg.data.num_frames, 2),
        ("data.max_persons", cfg.data.max_persons, 1),
        ("data.num_samples", cfg.data.num_samples, 2),
        ("data.num_subjects", cfg.data.num_subjects, 2),
        ("data.num_workers", cfg.data.num_workers, 0),
        ("augment.min_length", cfg.augment.min_length, 1),
        ("contrast.queue_size", cfg.contrast.queue_size, 1),
        ("contrast.mine_k", cfg.contrast.mine_k, 0),
        ("contrast.mine_after", cfg.contrast.mine_after, 0),
        ("optim.epochs", cfg.optim.epochs, 1),
        ("optim.warmup_epochs", cfg.optim.warmup_epochs, 0),
        ("optim.batch_size", cfg.optim.batch_size, 2),
        ("model.recurrent.hidden", cfg.model.recurrent.hidden, 1),
        ("model.recurrent.layers", cfg.model.recurrent.layers, 1),
        ("model.recurrent.embed", cfg.model.recurrent.embed, 0),
        ("model.head.hidden", cfg.model.head.hidden, 1),
        ("model.head.dim", cfg.model.head.dim, 1),
        ("model.head.fused_dim", cfg.model.head.fused_dim, 1),
        ("model.graph.kernel_size", cfg.model.graph.kernel_size, 1),
        ("model.graph.temporal_window", cfg.model.graph.temporal_window, 0),
        ("train.log_every", cfg.train.log_every, 1),
        ("train.checkpoint_every", cfg.train.checkpoint_every, 0),
        ("train.threads", cfg.train.threads, 0),
        ("eval.batch_size", cfg.eval.batch_size, 1),
        ("eval.linear.epochs", cfg.eval.linear.epochs, 1),
        ("eval.linear.batch_size", cfg.eval.linear.batch_size, 1),
        ("eval.finetune.epochs", cfg.eval.finetune.epochs, 1),
        ("eval.finetune.batch_size", cfg.eval.finetune.batch_size, 2),
        ("eval.semi.epochs", cfg.eval.semi.epochs, 1),
        ("eval.semi.batch_size", cfg.eval.semi.batch_size, 2),
    ):
        _check_positive(key, val, lo)
    for key, fval in (
        ("contrast.temperature", cfg.contrast.temperature),
        ("optim.lr", cfg.optim.lr),
        ("eval.linear.lr", cfg.eval.linear.lr),
        ("eval.finetune.lr", cfg.eval.finetune.lr),
        ("eval.semi.lr", cfg.eval.semi.lr),
    ):
        if not fval > 0:
            raise ConfigError(f"config key {key!r} = {fval!r}; it must be > 0")
    if not 0.0 <= cfg.contrast.momentum < 1.0:
        raise ConfigError(f"config key 'contrast.momentum' = {cfg.contrast.momentum!r}; use a value in [0, 1)")
    if not 0.0 < cfg.data.test_fraction < 1.0:
        raise ConfigError(f"config key 'data.test_fraction' = {cfg.data.test_fraction!r}; use a value in (0, 1)")
    if not 0.0 <= cfg.data.holdout < 1.0:
        raise ConfigError(f"config key 'data.holdout' = {cfg.data.holdout!r}; use 0 (official split) or (0, 1)")
    if cfg.data.long_tail != 0.0 and cfg.data.long_tail < 1.0:
        raise ConfigError(f"config key 'data.long_tail' = {cfg.data.long_tail!r}; use 0 (balanced) or a ratio >= 1")
    if not cfg.model.streams or len(set(cfg.model.streams)) != len(cfg.model.streams):
        raise ConfigError(
            f"config key 'model.streams' = {cfg.model.streams!r}; give 'graph', 'recurrent' or both, once each"
        )
    if len(cfg.model.streams) == 1 and cfg.contrast.loss != "within":
        raise ConfigError(
            f"config key 'contrast.loss' = {cfg.contrast.loss!r} needs two streams but model.streams = "
            f"{cfg.model.streams!r}; use contrast.loss = 'within' for a single stream"
        )
    c = cfg.contrast
    if c.mine_k >= c.queue_size:
        raise ConfigError(
            f"config key 'contrast.mine_k' = {c.mine_k} must be below contrast.queue_size = {c.queue_size} "
            "(the positives are mined from the queue); use fewer neighbours or a larger queue"
        )
    if c.mine_subjects == "other" and c.negatives == "same_subject":
        raise ConfigError(
            "config key 'contrast.mine_subjects' = 'other' cannot be combined with contrast.negatives = "
            "'same_subject' (the other subjects' clips are not in the loss); use one of them"
        )
    if c.positives == "label" and c.mine_k > 0:
        raise ConfigError(
            f"config key 'contrast.positives' = 'label' already makes every queue entry of the query's class a "
            f"positive; set contrast.mine_k = 0 (it is {c.mine_k})"
        )
    if not 0.0 <= c.label_noise <= 1.0:
        raise ConfigError(f"config key 'contrast.label_noise' = {c.label_noise!r}; use a value in [0, 1]")
    if c.label_noise > 0 and c.positives != "label":
        raise ConfigError(
            f"config key 'contrast.label_noise' = {c.label_noise!r} only applies to contrast.positives = 'label' "
            f"(it is {c.positives!r}); set contrast.positives = 'label' or label_noise = 0"
        )
    if c.mine_k > 0 and c.mine_space == "other" and len(cfg.model.streams) == 1:
        raise ConfigError(
            f"config key 'contrast.mine_space' = 'other' needs two streams but model.streams = "
            f"{cfg.model.streams!r}; use contrast.mine_space = 'same' for a single stream"
        )
    g = cfg.model.graph
    if not g.widths or min(g.widths) < 1:
        raise ConfigError(f"config key 'model.graph.widths' = {g.widths!r}; give one positive width per block")
    if g.strides and (len(g.strides) != len(g.widths) or min(g.strides) < 1):
        raise ConfigError(
            f"config key 'model.graph.strides' = {g.strides!r}; give one positive stride per block "
            f"({len(g.widths)}) or leave it empty"
        )
    if not -len(g.widths) <= g.fusion_after < len(g.widths):
        raise ConfigError(
            f"config key 'model.graph.fusion_after' = {g.fusion_after}; use a block index in "
            f"{-len(g.widths)}..{len(g.widths) - 1}"
        )
    if g.kernel_size % 2 == 0:
        raise ConfigError(f"config key 'model.graph.kernel_size' = {g.kernel_size}; use an odd size")
    if not g.dilations or min(g.dilations) < 1:
        raise ConfigError(f"config key 'model.graph.dilations' = {g.dilations!r}; give positive dilations")
    if not 0.0 <= cfg.model.recurrent.dropout < 1.0:
        raise ConfigError(f"config key 'model.recurrent.dropout' = {cfg.model.recurrent.dropout!r}; use [0, 1)")
    if any(not 0 < k for k in cfg.eval.knn.k) or not cfg.eval.knn.k:
        raise ConfigError(f"config key 'eval.knn.k' = {cfg.eval.knn.k!r}; give positive neighbour counts")
    if cfg.eval.knn.temperature < 0:
        raise ConfigError(f"config key 'eval.knn.temperature' = {cfg.eval.knn.temperature!r}; use >= 0")
    if any(not 0.0 < f <= 1.0 for f in cfg.eval.semi.fractions):
        raise ConfigError(
            f"config key 'eval.semi.fractions' = {cfg.eval.semi.fractions!r}; give fractions in (0, 1]"
        )
    if cfg.optim.schedule == "step" and not cfg.optim.milestones:
        raise ConfigError("config key 'optim.milestones' is empty but optim.schedule = 'step'; list epochs")
    if cfg.optim.warmup_epochs >= cfg.optim.epochs and cfg.optim.warmup_epochs > 0:
        raise ConfigError(
            f"config key 'optim.warmup_epochs' = {cfg.optim.warmup_epochs} must be below optim.epochs = "
            f"{cfg.optim.epochs}"
        )
    if cfg.eval.finetune.backbone_lr_scale < 0:
        raise ConfigError(
            f"config key 'eval.finetune.backbone_lr_scale' = {cfg.eval.finetune.backbone_lr_scale!r}; use >= 0 "
            "(1: one learning rate for all, 0: the encoder's weights stay)"
        )
    for key, views in (("data.train_views", cfg.data.train_views), ("data.test_views", cfg.data.test_views)):
        if not set(views) <= {1, 2, 3} or (key == "data.train_views" and not views):
            raise ConfigError(f"config key '{key}' = {views!r}; give NW-UCLA views from 1, 2, 3")
        if cfg.data.kind != "nwucla" and views != ([1, 2] if key == "data.train_views" else []):
            raise ConfigError(
                f"config key '{key}' = {views!r} is for data.kind = 'nwucla' only (data.kind = {cfg.data.kind!r})"
            )
    if set(cfg.data.train_views) & set(cfg.data.test_views):
        raise ConfigError(
            f"config keys 'data.train_views' = {cfg.data.train_views!r} and 'data.test_views' = "
            f"{cfg.data.test_views!r} share a view; a clip would be trained and tested on"
        )
    if cfg.data.kind in ("imigue", "smg", "ntu") and not cfg.data.root:
        raise ConfigError(f"config key 'data.root' is empty; data.kind = {cfg.data.kind!r} needs the data folder")
    if cfg.data.kind == "imigue" and not cfg.data.labels:
        raise ConfigError("config key 'data.labels' is empty; data.kind = 'imigue' needs labels_20200831.csv")
    from skelaug.augment import AUGMENTATIONS

    for key, steps in (("augment.pipeline", cfg.augment.pipeline), ("data.preprocess", cfg.data.preprocess)):
        for i, step in enumerate(steps):
            if step.get("type") not in AUGMENTATIONS:
                raise ConfigError(
                    f"config key '{key}[{i}]' = {step!r}; 'type' must name a skelaug augmentation "
                    f"({', '.join(sorted(AUGMENTATIONS))})"
                )
    for i, var in enumerate(cfg.ablate.variants):
        if set(var) - {"name", "set"} or not isinstance(var.get("name"), str):
            raise ConfigError(
                f"config key 'ablate.variants[{i}]' = {var!r}; each variant is {{name = '...', set = {{...}}}}"
            )


def load_config_dict(d: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """Build and validate a :class:`Config` from a plain dict (a parsed TOML file) and overrides."""
    d = apply_overrides(d, overrides or [])
    cfg: Config = _build(Config, d)
    _validate(cfg)
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a TOML config file (see the module docstring), apply ``overrides`` and validate."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file {str(p)!r} not found")
    try:
        d = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    try:
        return load_config_dict(d, overrides)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.lr=0.05"`` -> ``(['optim', 'lr'], 0.05)``; the value is TOML (bare words are strings)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected key=value, e.g. optim.lr=0.05")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r}: empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_overrides(d: dict[str, Any], overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """Copy of ``d`` with dotted-key overrides (``["a.b=1"]`` or ``{"a.b": 1}``) applied."""
    out: dict[str, Any] = _deepcopy(d)
    items = (
        [(k.split("."), v) for k, v in overrides.items()]
        if isinstance(overrides, dict)
        else [parse_override(o) for o in overrides]
    )
    for parts, value in items:
        node = out
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"override of '{'.'.join(parts)}': {p!r} is not a table")
            node = nxt
        node[parts[-1]] = value
    return out


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """The config as plain data (round-trips through :func:`load_config_dict`)."""
    return dataclasses.asdict(cfg)

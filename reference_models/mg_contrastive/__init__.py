"""Dual-stream contrastive micro-gesture recognizer (graph stream + recurrent stream, cross-stream MoCo).

Built only from skelaug: :class:`skelaug.nn.STGCNEncoder` with :class:`skelaug.nn.STBalancedFusion`
(graph stream), :class:`skelaug.nn.SequenceEncoder` (bidirectional GRU stream),
:class:`skelaug.nn.BalancedLateFusion` (evaluation), skelaug's augmentation presets run batched, and
skelaug's datasets. See ``reference_models/README.md``.
"""

from reference_models.mg_contrastive.config import Config, ConfigError, load_config, load_config_dict
from reference_models.mg_contrastive.evaluate import evaluate
from reference_models.mg_contrastive.model import DualStreamEncoder, DualStreamMoCo, info_nce
from reference_models.mg_contrastive.train import pretrain

__all__ = [
    "Config",
    "ConfigError",
    "DualStreamEncoder",
    "DualStreamMoCo",
    "evaluate",
    "info_nce",
    "load_config",
    "load_config_dict",
    "pretrain",
]

"""Datasets: the synthetic micro-gesture generator and torch ``Dataset`` classes with reproducible streams.

* :mod:`skelaug.data.synthetic` -- procedurally generated, labelled MG clips (the built-in dataset);
* :mod:`skelaug.data.imigue` -- iMiGUE MG (cross-subject) and emotion (video-level) protocols;
* :mod:`skelaug.data.ntu` -- NTU RGB+D 60/120 benchmarks and SMG;
* :mod:`skelaug.data.nwucla` -- NW-UCLA (cross-view) and :mod:`skelaug.data.utd_mhad` -- UTD-MHAD
  (cross-subject), Kinect v1 ``kinect20`` clips;
* :mod:`skelaug.data.pyskl` -- pyskl annotation pickles and memory-mapped ST-GCN ``.npy`` files;
* :mod:`skelaug.data.datasets` -- fixed-length sampling, per-item random streams, :class:`EpochSampler`;
* :mod:`skelaug.data.collate` -- :class:`AugmentedCollate`, a ``collate_fn`` that pads clips and
  augments the whole batch in one call.

Every dataset item is a dict with ``data`` (float32 ``(M, T, V, C)`` tensor at a fixed ``T``),
``length`` (valid frames), ``label`` and ``index``. The random stream handed to ``transform`` is
drawn from torch's per-process generator (new every epoch and worker, reproducible from torch's
seed) or, with ``seed=``, keyed by ``(seed, epoch, index)`` (see :mod:`skelaug.data.datasets`).
"""

from skelaug.data.collate import AugmentedCollate, pad_clips
from skelaug.data.datasets import ClipDataset, EpochSampler, ItemStream, fixed_length
from skelaug.data.imigue import IMiGUEDataset, IMiGUEEmotionDataset, emotion_split, mg_split
from skelaug.data.ntu import NTUDataset, SMGDataset
from skelaug.data.nwucla import NWUCLA
from skelaug.data.pyskl import PysklDataset, STGCNDataset
from skelaug.data.synthetic import SyntheticMG, SyntheticMGDataset, generate
from skelaug.data.utd_mhad import UTDMHAD

__all__ = [
    "NWUCLA",
    "UTDMHAD",
    "AugmentedCollate",
    "ClipDataset",
    "EpochSampler",
    "IMiGUEDataset",
    "IMiGUEEmotionDataset",
    "ItemStream",
    "NTUDataset",
    "PysklDataset",
    "SMGDataset",
    "STGCNDataset",
    "SyntheticMG",
    "SyntheticMGDataset",
    "emotion_split",
    "fixed_length",
    "generate",
    "mg_split",
    "pad_clips",
]

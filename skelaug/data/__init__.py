"""Datasets: the synthetic micro-gesture generator and torch ``Dataset`` classes with reproducible streams.

* :mod:`skelaug.data.synthetic` -- procedurally generated, labelled MG clips (the built-in dataset);
* :mod:`skelaug.data.imigue` -- iMiGUE MG (cross-subject) and emotion (video-level) protocols;
* :mod:`skelaug.data.ntu` -- NTU RGB+D 60/120 benchmarks and SMG;
* :mod:`skelaug.data.nwucla` -- NW-UCLA (cross-view) and :mod:`skelaug.data.utd_mhad` -- UTD-MHAD
  (cross-subject), Kinect v1 ``kinect20`` clips;
* :mod:`skelaug.data.pyskl` -- pyskl annotation pickles and memory-mapped ST-GCN ``.npy`` files;
* :mod:`skelaug.data.datasets` -- fixed-length sampling, per-item random streams, :class:`EpochSampler`.

Every dataset item is a dict with ``data`` (float32 ``(M, T, V, C)`` tensor at a fixed ``T``),
``length`` (valid frames), ``label`` and ``index``; the random stream handed to ``transform``
depends only on ``(seed, epoch, index)``, never on the worker that loads the item.
"""

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
]

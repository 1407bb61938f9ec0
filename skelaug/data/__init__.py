"""Datasets: the synthetic micro-gesture generator and torch ``Dataset`` classes with reproducible streams.

* :mod:`skelaug.data.synthetic` -- procedurally generated, labelled MG clips (the built-in dataset);
* :mod:`skelaug.data.datasets` -- fixed-length sampling, per-item random streams, :class:`EpochSampler`.
"""

from skelaug.data.datasets import EpochSampler, ItemStream, fixed_length
from skelaug.data.synthetic import SyntheticMG, SyntheticMGDataset, generate

__all__ = ["EpochSampler", "ItemStream", "SyntheticMG", "SyntheticMGDataset", "fixed_length", "generate"]

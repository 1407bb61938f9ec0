"""Layouts, and the augmentations and datasets that hold them, survive pickle and deepcopy.

``spawn`` DataLoader workers (the default on macOS and Windows) pickle the dataset and its
augmentations; a layout's read-only part mappings once made that fail with
``TypeError: cannot pickle 'mappingproxy' object``.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import skelaug.augment as A
from skelaug import layouts
from skelaug.data import generate


@pytest.mark.parametrize("name", layouts.names())
def test_every_layout_round_trips_through_pickle_and_deepcopy(name):
    lay = layouts.get(name)
    for back in (pickle.loads(pickle.dumps(lay)), copy.deepcopy(lay)):
        assert back == lay and back is not lay
        assert dict(back.parts) == dict(lay.parts) and back.parent == lay.parent
        assert back.edge_index().tolist() == lay.edge_index().tolist()
        with pytest.raises(TypeError):
            back.parts["new"] = (0,)  # type: ignore[index]  # still read-only after the round trip


def test_a_pipeline_with_a_layout_pickles_and_gives_the_same_output():
    pre = A.Compose([A.CentreBody(), A.AlignView(), A.RandomRotate(10), A.RandomPartMask(p=0.5)],
                    layout=layouts.get("ntu25"))
    x = generate(4, "ntu25", num_frames=16, seed=0).data
    back = pickle.loads(pickle.dumps(pre))
    assert np.array_equal(back(x, generator=3), pre(x, generator=3))

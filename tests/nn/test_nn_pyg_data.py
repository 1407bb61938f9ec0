"""to_pyg_batch / from_pyg_batch: spatio-temporal graphs against a loop oracle, exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv, global_mean_pool

from skelaug import layouts
from skelaug.nn import from_pyg_batch, spatio_temporal_edge_index, to_pyg_batch


def padded(n: int, m: int, t: int, v: int, c: int, lengths: list[int], seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, m, t, v, c))
    for i, ln in enumerate(lengths):
        x[i, :, ln:] = 0.0
    return x


def test_graphs_match_a_loop_oracle() -> None:
    lay = layouts.get("coco17")
    v = lay.num_joints
    lengths = [5, 2, 3]
    x = padded(3, 2, 5, v, 3, lengths)
    batch = to_pyg_batch(x, lay, lengths)
    assert batch.num_graphs == 6
    graphs = batch.to_data_list()
    for gi, data in enumerate(graphs):
        n, p = divmod(gi, 2)
        ln = lengths[n]
        assert (int(data.sample), int(data.person), int(data.num_frames), int(data.padded_frames)) == (n, p, ln, 5)
        assert data.num_nodes == ln * v
        want_x = np.array([x[n, p, t, j] for t in range(ln) for j in range(v)])
        np.testing.assert_array_equal(data.x.numpy(), want_x)
        assert data.frame.tolist() == [t for t in range(ln) for _ in range(v)]
        assert data.joint.tolist() == [j for _ in range(ln) for j in range(v)]
        spatial, temporal = set(), set()
        for t in range(ln):
            for a, b in lay.edges():
                spatial |= {(t * v + a, t * v + b), (t * v + b, t * v + a)}
            if t + 1 < ln:
                for j in range(v):
                    temporal |= {(t * v + j, (t + 1) * v + j), ((t + 1) * v + j, t * v + j)}
        pairs = [tuple(e) for e in data.edge_index.t().tolist()]
        types = data.edge_type.tolist()
        assert len(pairs) == len(set(pairs)) == len(spatial) + len(temporal)
        assert {e for e, k in zip(pairs, types, strict=True) if k == 0} == spatial
        assert {e for e, k in zip(pairs, types, strict=True) if k == 1} == temporal


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    m=st.integers(1, 3),
    t=st.integers(1, 6),
    c=st.integers(1, 4),
    data=st.data(),
)
def test_round_trip_is_exact(n: int, m: int, t: int, c: int, data: st.DataObject) -> None:
    lay = layouts.get("mpi15")
    lengths = data.draw(st.lists(st.integers(1, t), min_size=n, max_size=n))
    x = torch.from_numpy(padded(n, m, t, lay.num_joints, c, lengths, seed=n * 100 + t))
    x[0, -1] = 0.0  # an absent person is kept
    before = x.clone()
    batch = to_pyg_batch(x, lay, torch.tensor(lengths))
    back, back_lengths = from_pyg_batch(batch)
    assert torch.equal(x, before)  # the caller's tensor is untouched
    assert back.dtype == x.dtype and torch.equal(back, x)
    assert back_lengths.tolist() == lengths
    # graph order does not matter
    shuffled = Batch.from_data_list(batch.to_data_list()[::-1])
    assert torch.equal(from_pyg_batch(shuffled)[0], x)


def test_numpy_input_ranks_and_default_lengths() -> None:
    lay = layouts.get("ntu25")
    x = padded(1, 1, 4, 25, 3, [4]).astype(np.float32)
    batch = to_pyg_batch(x[0, 0], lay)  # (T, V, C): one sample, one person
    assert batch.x.dtype == torch.float32 and batch.num_graphs == 1 and batch.num_frames.tolist() == [4]
    back, lengths = from_pyg_batch(batch)
    np.testing.assert_array_equal(back.numpy(), x)
    assert lengths.tolist() == [4]


def test_pyg_models_train_on_the_batch() -> None:
    lay = layouts.get("ntu25")
    x = torch.randn(4, 2, 6, 25, 3, generator=torch.Generator().manual_seed(1))
    batch = to_pyg_batch(x, lay)
    conv = GCNConv(3, 8)
    h = conv(batch.x, batch.edge_index)
    per_graph = global_mean_pool(h, batch.batch)  # (N * M, 8)
    assert per_graph.shape == (8, 8)
    per_graph.sum().backward()
    assert conv.lin.weight.grad is not None
    # node features replaced by a model's output convert back with the new width
    batch.x = h.detach()
    back, _ = from_pyg_batch(batch)
    assert back.shape == (4, 2, 6, 25, 8)
    torch.testing.assert_close(back[1, 0, 2], h.detach()[(2 * 6 + 2) * 25 : (2 * 6 + 3) * 25])


def test_spatio_temporal_edges_of_one_frame_are_the_skeleton() -> None:
    lay = layouts.get("ntu25")
    ei, et = spatio_temporal_edge_index(lay, 1)
    assert torch.equal(ei, lay.edge_index()) and not bool(et.any())


def test_errors_name_the_problem() -> None:
    lay = layouts.get("ntu25")
    with pytest.raises(ValueError, match="has 17 joints"):
        to_pyg_batch(np.zeros((1, 1, 3, 17, 3)), lay)
    with pytest.raises(ValueError, match=r"lengths contains 4, outside 1..T=3"):
        to_pyg_batch(np.zeros((1, 1, 3, 25, 3)), lay, [4])
    with pytest.raises(ValueError, match="batch lacks frame, joint, sample, person"):
        from_pyg_batch(Batch.from_data_list([plain_data()]))
    with pytest.raises(ValueError, match="num_frames=0"):
        spatio_temporal_edge_index(lay, 0)


def plain_data() -> object:
    from torch_geometric.data import Data

    return Data(x=torch.zeros(2, 3), edge_index=torch.tensor([[0], [1]]))

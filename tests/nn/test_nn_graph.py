"""Graph utilities of skelaug.nn against independent oracles (ST-GCN's and 2s-AGCN's graph code, BFS)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch
from _agcn_graph import AGCN_NTU_INWARD
from hypothesis import given, settings
from hypothesis import strategies as st

from skelaug import layouts
from skelaug.nn.graph import (
    SkeletonGraph,
    hop_distance,
    k_hop_adjacency,
    normalize_adjacency,
    partition,
    resolve_graph,
    spatial_partition,
)


# ----------------------------------------------------------------------------------------- oracles
def bfs_hops(num_nodes: int, edges: list[tuple[int, int]]) -> np.ndarray:
    nbrs: list[set[int]] = [set() for _ in range(num_nodes)]
    for a, b in edges:
        if a != b:
            nbrs[a].add(b)
            nbrs[b].add(a)
    out = np.full((num_nodes, num_nodes), -1, dtype=np.int64)
    for s in range(num_nodes):
        out[s, s] = 0
        queue = deque([s])
        while queue:
            u = queue.popleft()
            for w in nbrs[u]:
                if out[s, w] < 0:
                    out[s, w] = out[s, u] + 1
                    queue.append(w)
    return out


def stgcn_normalize_digraph(a: np.ndarray) -> np.ndarray:
    dl = np.sum(a, 0)
    dn = np.zeros_like(a)
    for i in range(a.shape[0]):
        if dl[i] > 0:
            dn[i, i] = dl[i] ** (-1)
    return a @ dn


def stgcn_spatial(num_node: int, edges: list[tuple[int, int]], center: int) -> np.ndarray:
    """ST-GCN's Graph(strategy='spatial', max_hop=1), transcribed: returns A[k][source, target].

    One deliberate change: the reference code compares ``hop_dis[j, center]`` from its max_hop=1 hop
    matrix, so joints more than one hop from the centre are "infinitely far" and all their neighbours
    land in one subset (mmskeleton issue #367). The paper defines the split by distance to the centre,
    so the distances to the centre here are true BFS hop counts (``full``).
    """
    a = np.zeros((num_node, num_node))
    for i, j in edges:
        a[j, i] = 1
        a[i, j] = 1
    transfer = [np.linalg.matrix_power(a + np.eye(num_node), d) for d in range(2)]
    arrive = np.stack(transfer) > 0
    hop_dis = np.zeros((num_node, num_node)) + np.inf
    for d in range(1, -1, -1):
        hop_dis[arrive[d]] = d
    full = bfs_hops(num_node, edges).astype(float)
    full[full < 0] = np.inf
    adjacency = np.zeros((num_node, num_node))
    for hop in (0, 1):
        adjacency[hop_dis == hop] = 1
    norm = stgcn_normalize_digraph(adjacency)
    out = []
    for hop in (0, 1):
        a_root, a_close, a_further = (np.zeros((num_node, num_node)) for _ in range(3))
        for i in range(num_node):
            for j in range(num_node):
                if hop_dis[j, i] == hop:
                    if full[j, center] == full[i, center]:
                        a_root[j, i] = norm[j, i]
                    elif full[j, center] > full[i, center]:
                        a_close[j, i] = norm[j, i]
                    else:
                        a_further[j, i] = norm[j, i]
        if hop == 0:
            out.append(a_root)
        else:
            out.append(a_root + a_close)
            out.append(a_further)
    return np.stack(out)


def agcn_spatial(num_node: int, inward: list[tuple[int, int]]) -> np.ndarray:
    """2s-AGCN's tools.get_spatial_graph, transcribed: returns A[k][source, target]."""

    def edge2mat(link: list[tuple[int, int]]) -> np.ndarray:
        a = np.zeros((num_node, num_node))
        for i, j in link:
            a[j, i] = 1
        return a

    outward = [(j, i) for (i, j) in inward]
    self_link = [(i, i) for i in range(num_node)]
    return np.stack(
        [
            edge2mat(self_link),
            stgcn_normalize_digraph(edge2mat(inward)),
            stgcn_normalize_digraph(edge2mat(outward)),
        ]
    )


# ------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", ["ntu25", "openpose25", "openpose18", "mpi15", "imigue22"])
def test_spatial_partition_matches_stgcn_code(name: str) -> None:
    lay = layouts.get(name)
    assert len(lay.centre) == 1
    ours = spatial_partition(lay, normalization="stgcn").numpy()
    ref = stgcn_spatial(lay.num_joints, list(lay.edges()), lay.centre[0])
    # ST-GCN stores [source, target] and orders (self, farther-or-equal, closer); we store
    # [target, source] and order (self, centripetal = closer, centrifugal).
    np.testing.assert_allclose(ours, ref[[0, 2, 1]].transpose(0, 2, 1), atol=1e-12)


def test_subset_partition_matches_2s_agcn_graph() -> None:
    edges = torch.tensor([[c - 1 for c, _ in AGCN_NTU_INWARD], [p - 1 for _, p in AGCN_NTU_INWARD]])
    ours = spatial_partition(edges, centre=20, normalization="subset").numpy()
    ref = agcn_spatial(25, [(c - 1, p - 1) for c, p in AGCN_NTU_INWARD])
    np.testing.assert_allclose(ours, ref.transpose(0, 2, 1), atol=1e-12)


def test_multi_joint_centre_uses_nearest_centre_joint() -> None:
    coco = layouts.get("coco17")  # centre = both shoulders
    a = spatial_partition(coco, normalization="none")
    ls, rs, le = coco.index("left_shoulder"), coco.index("right_shoulder"), coco.index("left_elbow")
    assert a[1, le, ls] == 1  # elbow receives from its shoulder (closer): centripetal
    assert a[2, ls, le] == 1  # shoulder receives from the elbow (farther): centrifugal
    assert a[2, ls, rs] == 1 and a[2, rs, ls] == 1  # both at distance 0: a tie goes to centrifugal


@pytest.mark.parametrize("name", layouts.names())
@pytest.mark.parametrize("normalization", ["stgcn", "subset", "none"])
def test_partition_properties_every_layout(name: str, normalization: str) -> None:
    lay = layouts.get(name)
    a = spatial_partition(lay, normalization=normalization)  # type: ignore[arg-type]
    adj = torch.as_tensor(lay.adjacency())
    masks = (a != 0).to(torch.float64)
    assert torch.equal(masks.sum(0), adj + torch.eye(lay.num_joints))  # disjoint, cover A + I exactly
    assert torch.equal(masks[0], torch.eye(lay.num_joints))
    rows = a.sum(-1)
    if normalization == "stgcn":
        torch.testing.assert_close(rows.sum(0), torch.ones(lay.num_joints, dtype=torch.float64))
    if normalization == "subset":
        assert bool(((rows - 1).abs() < 1e-12).logical_or(rows == 0).all())


def test_uniform_and_distance_strategies() -> None:
    ei = torch.tensor([[0, 1, 1], [1, 2, 3]])  # star around node 1
    u = partition(ei, "uniform")
    assert u.shape == (1, 4, 4)
    torch.testing.assert_close(u[0, 1], torch.full((4,), 0.25, dtype=torch.float64))
    d = partition(ei, "distance", normalization="subset")
    torch.testing.assert_close(d[0], torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(d[1, 1], torch.tensor([1 / 3, 0, 1 / 3, 1 / 3], dtype=torch.float64))


def test_hop_distance_and_k_hop_on_a_path() -> None:
    ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    d = hop_distance(ei)
    assert d.tolist() == [[abs(i - j) for j in range(5)] for i in range(5)]
    assert k_hop_adjacency(ei, 2)[0].tolist() == [0, 0, 1, 0, 0]
    assert k_hop_adjacency(ei, 2, exact=False)[0].tolist() == [0, 1, 1, 0, 0]
    assert k_hop_adjacency(ei, 2, self_loops=True)[0].tolist() == [1, 0, 1, 0, 0]


def test_hop_distance_unreachable_is_minus_one() -> None:
    d = hop_distance(torch.tensor([[0], [1]]), num_nodes=3)
    assert d[0, 2] == -1 and d[2, 2] == 0


def test_normalize_adjacency_closed_forms() -> None:
    a = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    s2 = 2**-0.5
    torch.testing.assert_close(
        normalize_adjacency(a, "sym"), torch.tensor([[0, s2, s2], [s2, 0, 0], [s2, 0, 0]])
    )
    torch.testing.assert_close(
        normalize_adjacency(a, "col"), torch.tensor([[0, 1, 1], [0.5, 0, 0], [0.5, 0, 0]])
    )
    z = torch.zeros(2, 2)
    assert torch.equal(normalize_adjacency(z, "row"), z)  # isolated rows stay zero, no NaN
    with pytest.raises(ValueError, match="mode='l2'"):
        normalize_adjacency(a, "l2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="square"):
        normalize_adjacency(torch.zeros(2, 3))


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    v = draw(st.integers(2, 12))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, v)]
    edges = [(i, p) for i, p in zip(range(1, v), parents, strict=True)]
    extra = draw(st.lists(st.tuples(st.integers(0, v - 1), st.integers(0, v - 1)), max_size=4))
    return v, edges + extra


@settings(max_examples=40, deadline=None)
@given(graphs(), st.data())
def test_hop_distance_matches_bfs(g: tuple[int, list[tuple[int, int]]], data: st.DataObject) -> None:
    v, edges = g
    ei = torch.tensor(edges).t()
    np.testing.assert_array_equal(hop_distance(ei, num_nodes=v).numpy(), bfs_hops(v, edges))


@settings(max_examples=40, deadline=None)
@given(graphs(), st.data())
def test_partition_is_permutation_equivariant(
    g: tuple[int, list[tuple[int, int]]], data: st.DataObject
) -> None:
    v, edges = g
    centre = data.draw(st.integers(0, v - 1))
    perm = torch.tensor(data.draw(st.permutations(range(v))))
    sg = SkeletonGraph.from_edge_index(torch.tensor(edges).t(), v, centre)
    for norm in ("stgcn", "subset"):
        a = spatial_partition(sg, normalization=norm)  # type: ignore[arg-type]
        b = spatial_partition(sg.permute(perm), normalization=norm)  # type: ignore[arg-type]
        torch.testing.assert_close(b, a[:, perm][:, :, perm])


def test_skeleton_graph_symmetrises_and_drops_self_loops() -> None:
    g = SkeletonGraph.from_edge_index(torch.tensor([[0, 1, 1, 2], [1, 0, 1, 1]]))
    assert g.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert repr(g) == "SkeletonGraph(num_nodes=3, num_edges=4, centre=(0,))"
    lay = layouts.get("ntu25")
    assert torch.equal(SkeletonGraph.from_layout(lay).edge_index, lay.edge_index())
    assert resolve_graph(lay, centre=3).centre == (3,)


def test_permute_relabels_edges_and_centre() -> None:
    g = SkeletonGraph.from_edge_index(torch.tensor([[0, 1], [1, 2]]), centre=0)
    p = g.permute([2, 0, 1])  # new 0 = old 2, new 1 = old 0, new 2 = old 1
    assert p.centre == (1,)
    assert sorted(map(tuple, p.edge_index.t().tolist())) == [(0, 2), (1, 2), (2, 0), (2, 1)]
    with pytest.raises(ValueError, match=r"permutation of 0..2"):
        g.permute([0, 0, 1])


def test_bad_edge_index_errors_are_clear() -> None:
    with pytest.raises(ValueError, match=r"shape \(3, 2\); expected \(2, E\)"):
        resolve_graph(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"refers to node 7 .* outside 0..4"):
        resolve_graph(torch.tensor([[0, 1], [1, 7]]), num_nodes=5)
    with pytest.raises(ValueError, match="refers to node -1"):
        resolve_graph(torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(TypeError, match=r"dtype torch.float32"):
        resolve_graph(torch.tensor([[0.0], [1.0]]))
    with pytest.raises(TypeError, match="got list"):
        resolve_graph([[0, 1], [1, 0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="centre=9"):
        resolve_graph(torch.tensor([[0], [1]]), centre=9)
    with pytest.raises(ValueError, match="num_nodes=3 but the graph has 25"):
        resolve_graph(layouts.get("ntu25"), num_nodes=3)
    with pytest.raises(ValueError, match="strategy='star'"):
        partition(torch.tensor([[0], [1]]), "star")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k=0"):
        k_hop_adjacency(torch.tensor([[0], [1]]), 0)

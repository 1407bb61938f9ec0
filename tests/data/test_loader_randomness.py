"""The randomness contract in a training loop, AugmentedCollate and MultiView as a dataset transform.

Unseeded augmentations and datasets draw from torch's per-process generator: new parameters in every
DataLoader worker and epoch, and the same epoch, bit for bit, from the same torch seed with fork or
spawn workers. Loaders are kept tiny (8 items of 4 frames, 2 workers) so the suite stays fast.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from _loader_helpers import AddUniform, SameClip, clip
from hypothesis import given, settings
from hypothesis import strategies as st

from skelaug.augment import Compose, MultiView, RandomGaussianNoise, RandomRotate, RandomShear, presets
from skelaug.data import AugmentedCollate, EpochSampler, SyntheticMGDataset, pad_clips


def _run(ds, *, workers=2, epochs=2, seed=None, generator=None, context=None, persistent=False, collate=None):
    """Items of each epoch in dataset order: a list (epochs) of ``(N, ...)`` tensors."""
    if seed is not None:
        torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=workers, generator=generator, collate_fn=collate,
        multiprocessing_context=context if workers else None, persistent_workers=persistent and workers > 0,
    )
    out = []
    for _ in range(epochs):
        xs, idx = [], []
        for x, _, i in loader:
            xs.append(x)
            idx.append(i)
        order = torch.cat(idx).argsort()
        out.append(torch.cat(xs)[order])
    return out


def _all_distinct(epochs):
    flat = torch.cat(epochs).flatten(1)
    return all(not torch.equal(a, b) for a, b in itertools.combinations(flat, 2))


@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("mode", ["getitem", "collate"])
def test_unseeded_augmentation_is_fresh_in_every_worker_and_epoch(mode, persistent):
    # every item is the same clip, so two equal outputs would mean shared parameters: across the two
    # workers (AimCLR's copied generator) or across epochs (the same generator forked again)
    collate = AugmentedCollate(RandomRotate(degrees=60)) if mode == "collate" else None
    if collate is not None:
        collate([(clip(), 4, 0)] * 2)  # compile the executor here, once, not in every forked worker
    epochs = _run(SameClip(8, "raw" if mode == "collate" else "getitem"), collate=collate,
                  persistent=persistent, seed=0)
    assert len(epochs) == 2 and epochs[0].shape == (8, 1, 4, 20, 3)
    assert _all_distinct(epochs)
    ref = torch.from_numpy(clip())
    assert not torch.equal(epochs[0][0], ref)  # the rotation did run


def test_same_torch_seed_reproduces_epochs_bit_for_bit_fork_and_spawn():
    ds = SameClip(8)
    fork = _run(ds, seed=3, context="fork", persistent=True)
    spawn = _run(ds, seed=3, context="spawn", persistent=True)
    for a, b in zip(fork, spawn, strict=True):
        assert torch.equal(a, b)
    assert _all_distinct(fork)
    other = _run(ds, seed=4, context="fork", epochs=1)
    assert not any(torch.equal(a, b) for a, b in zip(other[0], fork[0], strict=True))


def test_loader_generator_alone_reproduces_a_run_and_main_process_follows_manual_seed():
    ds = SameClip(6)
    a = _run(ds, generator=torch.Generator().manual_seed(7), epochs=1)
    torch.manual_seed(123)  # the global state does not matter when the loader has its own generator
    b = _run(ds, generator=torch.Generator().manual_seed(7), epochs=1)
    assert torch.equal(a[0], b[0])
    c, d = _run(ds, workers=0, seed=5), _run(ds, workers=0, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(c, d, strict=True)) and _all_distinct(c)


def test_explicit_seed_and_generator_keep_exact_replay():
    x = clip()
    seeded = RandomRotate(degrees=60, seed=11)
    g = np.random.default_rng(11)
    plain = RandomRotate(degrees=60)
    for _ in range(2):  # the seeded stream advances per call exactly as default_rng(seed) does
        np.testing.assert_array_equal(seeded(x), plain(x, generator=g))
    torch.manual_seed(0)
    u = plain(x)
    torch.manual_seed(0)
    np.testing.assert_array_equal(u, plain(x))  # the default stream follows torch's seed
    np.testing.assert_array_equal(plain(x, generator=5), RandomRotate(degrees=60)(x, generator=5))


def test_library_dataset_fresh_per_epoch_without_set_epoch_and_reproducible():
    ds = SyntheticMGDataset(6, "ntu25", num_frames=8, min_frames=4, transform=AddUniform())
    src = torch.from_numpy(ds.source.data)

    def offsets(run):  # the uniform draw each item received, per epoch
        return [(e - src)[:, 0, 0, 0, 0] for e in run]

    def run(**kw):
        loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, **kw)
        out = []
        for _ in range(2):
            items = sorted((int(i), x) for b in loader for i, x in zip(b["index"], b["data"], strict=True))
            out.append(torch.stack([x for _, x in items]))
        return out

    torch.manual_seed(1)
    a = offsets(run())
    assert len(set(torch.cat(a).tolist())) == 12  # new per item, epoch and worker
    torch.manual_seed(1)
    b = offsets(run())
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    # exact control: with a seed, streams are keyed by (seed, epoch, index) and need set_epoch
    keyed = SyntheticMGDataset(6, "ntu25", num_frames=8, min_frames=4, transform=AddUniform(), transform_seed=2)
    x0 = keyed[(3, 0)]["data"] - src[3]
    assert float(x0[0, 0, 0, 0]) == pytest.approx(np.random.default_rng([2, 0, 3]).uniform(), abs=1e-6)
    assert torch.equal(keyed[3]["data"], keyed[(3, 0)]["data"])
    keyed.set_epoch(1)
    assert torch.equal(keyed[3]["data"], keyed[(3, 1)]["data"])
    assert not torch.equal(keyed[3]["data"], keyed[(3, 0)]["data"])


def test_multiview_as_dataset_transform_returns_the_views():
    aug = presets.aimclr_extreme("imigue22")
    ds = SyntheticMGDataset(8, transform=MultiView(aug, views=2), transform_seed=3)
    item = ds[0]
    assert isinstance(item["data"], tuple) and len(item["data"]) == 2
    assert isinstance(item["length"], tuple) and len(item["length"]) == 2
    assert all(v.shape == (1, 64, 22, 3) and v.dtype == torch.float32 for v in item["data"])
    assert not torch.equal(item["data"][0], item["data"][1])
    # the views are MultiView's output on the clip with the item's stream (default_rng([seed, epoch, index]))
    x, n = ds.source.data[0].copy(), int(ds.source.lengths[0])
    (v1, n1), (v2, n2) = MultiView(aug, views=2)(x, n, np.random.default_rng([3, 0, 0]))
    np.testing.assert_array_equal(item["data"][0].numpy(), v1)
    np.testing.assert_array_equal(item["data"][1].numpy(), v2)
    assert item["length"] == (n1, n2)
    batch = next(iter(torch.utils.data.DataLoader(SyntheticMGDataset(4, transform=MultiView(aug)), batch_size=4)))
    q, k = batch["data"]
    assert q.shape == k.shape == (4, 1, 64, 22, 3) and [tuple(n.shape) for n in batch["length"]] == [(4,), (4,)]


def _items(rng, n=4, v=20):
    out = []
    for i in range(n):
        t = int(rng.integers(3, 9))
        m = int(rng.integers(1, 3))
        x = (rng.normal(size=(m, t, v, 3)) + 1.0).astype(np.float32)
        out.append((x, int(rng.integers(1, t + 1)), i % 3))
    return out


def _pad_oracle(items):
    m = max(x.shape[0] for x, _, _ in items)
    t = max(x.shape[1] for x, _, _ in items)
    out = np.zeros((len(items), m, t, *items[0][0].shape[2:]), np.float32)
    for i, (x, _, _) in enumerate(items):
        for p in range(x.shape[0]):
            for f in range(x.shape[1]):
                out[i, p, f] = x[p, f]
    return out, np.array([n for _, n, _ in items])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_pad_clips_matches_a_loop(seed):
    items = _items(np.random.default_rng(seed))
    x, n = pad_clips([it[0] for it in items], [it[1] for it in items])
    ref, ref_n = _pad_oracle(items)
    np.testing.assert_array_equal(x.numpy(), ref)
    np.testing.assert_array_equal(n.numpy(), ref_n)


def test_augmented_collate_equals_augmenting_the_padded_batch():
    aug = Compose([RandomRotate(30), RandomShear(0.2), RandomGaussianNoise(0.01, p=0.5)])
    items = _items(np.random.default_rng(0))
    x, n = _pad_oracle(items)
    y, ln, labels = AugmentedCollate(aug)(items, generator=5)
    ref, ref_n = aug(x, n, generator=5)
    np.testing.assert_array_equal(y.numpy(), ref)
    np.testing.assert_array_equal(ln.numpy(), ref_n)
    assert labels.tolist() == [0, 1, 2, 0]
    # the default stream: the same torch seed, the same draws as calling aug on the padded batch
    torch.manual_seed(2)
    y2, _, _ = AugmentedCollate(aug)(items)
    torch.manual_seed(2)
    np.testing.assert_array_equal(y2.numpy(), aug(x, n)[0])
    # two views draw from one stream, as MultiView does
    (q, k), (nq, nk), _ = AugmentedCollate(aug, views=2)(items, generator=9)
    (rq, rnq), (rk, rnk) = MultiView(aug, views=2)(x, n, generator=9)
    np.testing.assert_array_equal(q.numpy(), rq)
    np.testing.assert_array_equal(k.numpy(), rk)
    assert not torch.equal(q, k)
    # dict items (the library's datasets): the same fields back, data and length augmented
    ds = SyntheticMGDataset(3, "ntu25", num_frames=8, min_frames=4)
    dicts = [ds[i] for i in range(3)]
    b = AugmentedCollate(aug)(dicts, generator=1)
    xd = torch.stack([d["data"] for d in dicts]).numpy()
    nd = np.array([d["length"] for d in dicts])
    np.testing.assert_array_equal(b["data"].numpy(), aug(xd, nd, generator=1)[0])
    assert b["index"].tolist() == [0, 1, 2] and set(b) == set(dicts[0])
    assert torch.equal(AugmentedCollate(None)(dicts)["data"], torch.from_numpy(xd))


def test_augmented_collate_errors_name_the_item():
    items = _items(np.random.default_rng(1))
    bad = [*items[:2], (np.zeros((1, 4, 25, 3), np.float32), 4, 0)]
    with pytest.raises(ValueError, match=re.escape("item 2: clip has (V, C) = (25, 3)")):
        AugmentedCollate(RandomRotate(10))(bad)
    with pytest.raises(ValueError, match=re.escape("item 0: length=12 is outside 0..4")):
        AugmentedCollate(None)([(np.zeros((1, 4, 20, 3), np.float32), 12, 0)])
    with pytest.raises(KeyError, match="set keys="):
        AugmentedCollate(None)([{"x": np.zeros((4, 20, 3)), "length": 4, "label": 0}])
    views = SyntheticMGDataset(2, "ntu25", num_frames=8, min_frames=4, transform=MultiView(RandomRotate(10)))
    with pytest.raises(TypeError, match="item 0: the clip is a tuple of 2 arrays"):
        AugmentedCollate(None)([views[0], views[1]])
    with pytest.raises(ValueError, match="views=0"):
        AugmentedCollate(RandomRotate(10), views=0)
    assert repr(AugmentedCollate(RandomRotate(10), views=2)) == "AugmentedCollate(RandomRotate(degrees=10), views=2)"


def test_keyed_streams_with_epoch_sampler_still_worker_independent():
    ds = SyntheticMGDataset(4, "ntu25", num_frames=8, min_frames=4, transform=AddUniform(), transform_seed=9)
    s = EpochSampler(4, seed=1)
    runs = []
    for workers in (0, 2):
        s.set_epoch(1)
        loader = torch.utils.data.DataLoader(ds, batch_size=2, sampler=s, num_workers=workers)
        runs.append(sorted((int(i), x) for b in loader for i, x in zip(b["index"], b["data"], strict=True)))
    for (i, a), (j, b) in zip(*runs, strict=True):
        assert i == j and torch.equal(a, b)


def test_items_without_random_work_leave_torch_generator_alone():
    ds = SyntheticMGDataset(2, "ntu25", num_frames=8, min_frames=4)  # no transform, fixed crop
    state = torch.get_rng_state()
    ds[0], ds[1]
    assert torch.equal(torch.get_rng_state(), state)
    ds_t = SyntheticMGDataset(2, "ntu25", num_frames=8, min_frames=4, transform=AddUniform())
    ds_t[0]
    assert not torch.equal(torch.get_rng_state(), state)  # an unseeded transform draws from torch

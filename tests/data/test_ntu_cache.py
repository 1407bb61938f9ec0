"""NTUDataset's parsed cache: same items as parsing, no parsing once filled, invalidated by a changed
file, safe with concurrent writers (processes and DataLoader workers)."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from skelaug.data import NTUDataset
from skelaug.data import ntu as ntu_data
from skelaug.io.ntu import read_ntu_skeleton
from skelaug.io.people import select_people


@pytest.fixture()
def ntu_dir(shared_dir: Path) -> Path:
    folder = shared_dir / "fixtures" / "ntu_skeleton"
    if not any(folder.glob("*.skeleton")):
        pytest.skip(f"no NTU .skeleton fixtures in {folder}")
    return folder


def oracle(path: Path, m: int = 2) -> np.ndarray:
    return select_people(read_ntu_skeleton(path), m, by="motion", pad=True).data[..., :3]


def test_cached_items_equal_parsed_items_and_skip_parsing(ntu_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    plain = NTUDataset(ntu_dir, split=None)
    cached = NTUDataset(ntu_dir, split=None, cache_dir=cache)
    for i in range(len(plain)):
        x, n = cached.load(i)
        np.testing.assert_array_equal(x, oracle(plain.files[i]))
        assert n == plain.load(i)[1]
        assert torch.equal(cached[i]["data"], plain[i]["data"])
    assert len(list(cache.glob("*.npy"))) == len(plain)
    assert not list(cache.glob("*.tmp"))

    def refuse(path: Path) -> None:
        raise AssertionError(f"{path} was parsed although it is cached")

    monkeypatch.setattr(ntu_data, "read_ntu_skeleton", refuse)
    again = NTUDataset(ntu_dir, split=None, cache_dir=cache)
    for i in range(len(again)):
        np.testing.assert_array_equal(again.load(i)[0], oracle(plain.files[i]))


def test_changed_file_is_parsed_again(ntu_dir, tmp_path):
    src = sorted(ntu_dir.glob("*.skeleton"))
    folder = tmp_path / "ntu"
    folder.mkdir()
    target = folder / src[0].name
    shutil.copy(src[0], target)
    ds = NTUDataset(folder, split=None, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(ds.load(0)[0], oracle(src[0]))
    shutil.copy(src[1], target)                               # same name, other content
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(ds.load(0)[0], oracle(src[1]))
    # a damaged cache file is parsed again and rewritten, not an error
    files = list((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 2                                    # one per version of the file
    for f in files:
        f.write_bytes(f.read_bytes()[:100])
    np.testing.assert_array_equal(ds.load(0)[0], oracle(src[1]))
    np.testing.assert_array_equal(np.load(max(files, key=lambda f: f.stat().st_mtime_ns)), oracle(src[1]))


def _fill(args: tuple[str, str]) -> list[float]:
    folder, cache = args
    ds = NTUDataset(folder, split=None, cache_dir=cache)
    return [float(ds.load(i)[0].sum()) for _ in range(3) for i in range(len(ds))]


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs the fork start method")
def test_concurrent_writers_and_dataloader_workers(ntu_dir, tmp_path):
    cache = str(tmp_path / "cache")
    with mp.get_context("fork").Pool(3) as pool:
        sums = pool.map(_fill, [(str(ntu_dir), cache)] * 3)
    assert sums[0] == sums[1] == sums[2]
    assert not list(Path(cache).glob("*.tmp"))
    ds = NTUDataset(ntu_dir, split=None, cache_dir=tmp_path / "cache2", num_frames=64)
    plain = NTUDataset(ntu_dir, split=None, num_frames=64)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context="fork")
    got = torch.cat([b["data"] for b in loader])
    want = torch.stack([plain[i]["data"] for i in range(len(plain))])
    assert torch.equal(got, want)
    assert len(list((tmp_path / "cache2").glob("*.npy"))) == len(plain)

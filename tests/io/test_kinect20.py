"""NW-UCLA JSON and UTD-MHAD MAT readers and the kinect20 layout, against real files.

Oracles: the json module and scipy.io.loadmat read the same files directly; the layout's bones and
mirror are checked on real clips (bones are rigid over time, left and right keep the body's chirality).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import skelaug.augment as A
import skelaug.io as sio
from skelaug import layouts

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
UCLA = SHARED / "data" / "nwucla" / "all_sqe"
UTD = SHARED / "fixtures" / "utd_mhad_mat"
needs_ucla = pytest.mark.skipif(not UCLA.is_dir(), reason=f"NW-UCLA not found at {UCLA} (set SKELAUG_SHARED)")
needs_utd = pytest.mark.skipif(not UTD.is_dir(), reason=f"UTD-MHAD fixtures not found at {UTD} (set SKELAUG_SHARED)")
K20 = layouts.get("kinect20")


def _ucla_files(step: int = 1) -> list[Path]:
    return sorted(UCLA.glob("*.json"))[::step]


def _joint_order_txt() -> list[str]:
    """UTD-MHAD's own Skeleton_joint_order.txt, parsed: '1. head;' -> 'head'."""
    names = []
    for line in (UTD / "Skeleton_joint_order.txt").read_text().splitlines():
        head, dot, rest = line.partition(".")
        if dot and head.strip().isdigit():
            names.append(rest.strip().rstrip(";").strip())
    return names


# ------------------------------------------------------------------------------------------ layout
def test_layout_structure():
    assert layouts.get("kinect_v1") is K20 and layouts.get("nwucla") is K20 and layouts.get("utd_mhad") is K20
    assert K20.num_joints == 20 and K20.dim == 3 and len(K20.bones) == 19
    assert K20.root == K20.index("hip_center")
    # CTR-GCN's NW-UCLA edge list (1-based, child -> parent, one self loop); same undirected edges
    ctr = [(1, 2), (2, 3), (3, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11),
           (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19)]  # fmt: skip
    assert set(K20.edges()) == {tuple(sorted((a - 1, b - 1))) for a, b in ctr if a != b}
    for v, name in enumerate(K20.joint_names):
        twin = K20.joint_names[K20.mirror[v]]
        assert twin == name.replace("left", "@").replace("right", "left").replace("@", "right")
    assert K20.edge_index().shape == (2, 38)


# ------------------------------------------------------------------------------------------ NW-UCLA reader
@needs_ucla
def test_nwucla_reader_matches_json_module():
    files = _ucla_files(37)
    assert len(files) > 30
    for f in files:
        assert sio.detect_format(f) == "nwucla_json"
        seq = sio.read(f)
        obj = json.loads(f.read_text())
        ref = np.array(obj["skeletons"], dtype=np.float32)
        assert seq.layout == "kinect20" and seq.channels == ("x", "y", "z")
        np.testing.assert_array_equal(seq.data[0], ref)
        assert seq.source["file_name"] == obj["file_name"] == f.stem
        assert seq.source["label"] == obj["label"]
        a, s, e, v = (int(p[1:]) for p in f.stem.split("_"))
        assert (seq.source["action"], seq.source["subject"], seq.source["repetition"], seq.source["view"]) == (
            a,
            s,
            e,
            v,
        )


@needs_ucla
def test_nwucla_is_not_taken_for_other_json_formats():
    f = _ucla_files()[0]
    for other in ("coco_json", "kinetics_json", "openpose_json"):
        sniff = {r: info for r, info in sio._base._READERS.items()}[other].sniff
        assert sniff is not None and not sniff(f, f.read_bytes()[:65536])
    fx = SHARED / "fixtures"
    for rel in ("coco_keypoints_json/mmpose_test_coco.json", "kinetics_skeleton_json/--33Lscn6sk.json"):
        if (fx / rel).exists():
            assert sio.detect_format(fx / rel) != "nwucla_json"


@needs_ucla
def test_nwucla_bad_files_name_the_file_and_problem(tmp_path):
    good = json.loads(_ucla_files()[0].read_text())
    text = json.dumps(good)
    cases = {
        "truncated.json": (text[: len(text) // 2], "invalid JSON"),
        "short_frame.json": (
            json.dumps({**good, "skeletons": [good["skeletons"][0], good["skeletons"][1][:19]]}),
            "frame 1: frame has shape (19, 3)",
        ),
        "nan.json": (text.replace(str(good["skeletons"][2][5][0]), "NaN", 1), "non-finite"),
        "no_skeletons.json": (json.dumps({"file_name": "x", "label": 1, "skel": []}), None),
        "bad_label.json": (json.dumps({**good, "label": 11}), "label"),
    }
    for name, (body, msg) in cases.items():
        p = tmp_path / name
        p.write_text(body)
        with pytest.raises(sio.SkeletonFormatError) as err:
            sio.read_nwucla_json(p)
        assert str(p) in str(err.value)
        if msg is not None:
            assert msg in str(err.value)
    # a truncated file is still detected as NW-UCLA (from its head) and fails with the reader's message
    with pytest.raises(sio.SkeletonFormatError, match="invalid JSON"):
        sio.read(tmp_path / "truncated.json")


# ------------------------------------------------------------------------------------------ UTD-MHAD reader
@needs_utd
def test_utd_joint_order_file_matches_the_reader():
    names = _joint_order_txt()
    assert names == list(sio.utd_mhad.UTD_MHAD_JOINTS)
    # reordering by name gives the reader's permutation
    perm = [names.index(n) for n in K20.joint_names]
    assert perm == list(sio.utd_mhad.UTD_MHAD_TO_KINECT20)


@needs_utd
@pytest.mark.parametrize("name", ["a5_s2_t1", "a12_s7_t3", "a20_s4_t2", "a27_s5_t1"])
def test_utd_reader_matches_loadmat(name):
    f = UTD / f"{name}_skeleton.mat"
    assert sio.detect_format(f) == "utd_mhad_mat"
    seq = sio.read(f)
    raw = scipy.io.loadmat(f)["d_skel"]  # (20, 3, T), UTD order
    names = _joint_order_txt()
    assert seq.data.shape == (1, raw.shape[2], 20, 3) and seq.fps == 30.0
    for j, jn in enumerate(K20.joint_names):  # loop oracle, by joint name
        np.testing.assert_array_equal(seq.data[0, :, j, :], raw[names.index(jn)].T.astype(np.float32))
    a, s, t = (int(p[1:]) for p in name.split("_"))
    assert (seq.source["action"], seq.source["subject"], seq.source["trial"], seq.source["label"]) == (a, s, t, a)


@needs_utd
def test_utd_bad_files(tmp_path):
    raw = scipy.io.loadmat(UTD / "a5_s2_t1_skeleton.mat")["d_skel"]
    blob = (UTD / "a5_s2_t1_skeleton.mat").read_bytes()
    (tmp_path / "a1_s1_t1_skeleton.mat").write_bytes(blob[: len(blob) // 2])
    scipy.io.savemat(tmp_path / "a1_s1_t2_skeleton.mat", {"skel": raw})
    scipy.io.savemat(tmp_path / "a1_s1_t3_skeleton.mat", {"d_skel": raw[:, :2]})
    scipy.io.savemat(tmp_path / "a1_s1_t4_skeleton.mat", {"d_skel": raw.transpose(2, 1, 0)})
    bad = raw.copy()
    bad[7, 1, 4] = np.nan
    scipy.io.savemat(tmp_path / "a1_s2_t1_skeleton.mat", {"d_skel": bad})
    expect = {
        "a1_s1_t1": "not a readable MATLAB file",
        "a1_s1_t2": "no variable 'd_skel'",
        "a1_s1_t3": "expected (20, 3, T)",
        "a1_s1_t4": "expected (20, 3, T)",
        "a1_s2_t1": "frame 4",
    }
    for stem, msg in expect.items():
        p = tmp_path / f"{stem}_skeleton.mat"
        with pytest.raises(sio.SkeletonFormatError) as err:
            sio.read(p)
        assert str(p) in str(err.value) and msg in str(err.value)
    # a one-frame clip that MATLAB stores as (20, 3)
    scipy.io.savemat(tmp_path / "one.mat", {"d_skel": raw[:, :, 0]})
    one = sio.read(tmp_path / "one.mat")
    assert one.data.shape == (1, 1, 20, 3)


# ------------------------------------------------------------------------------------------ layout on real clips
def _real_clips() -> list[np.ndarray]:
    clips = []
    if UCLA.is_dir():
        clips += [sio.read(f).data[0] for f in _ucla_files(11)]
    if UTD.is_dir():
        clips += [sio.read(f).data[0] for f in sorted(UTD.glob("*.mat"))]
    if not clips:
        pytest.skip(f"no real Kinect v1 clips under {SHARED}")
    return [c for c in clips if c.shape[0] >= 10]


def test_bones_are_rigid_on_real_clips():
    """Bone lengths vary over frames far less than the distances between unconnected joints."""
    bones = np.array(K20.bones)
    iu = np.triu_indices(20, 1)
    bone_set = {tuple(sorted(b)) for b in K20.bones}
    others = [k for k, (a, b) in enumerate(zip(*iu, strict=True)) if (a, b) not in bone_set]
    for x in _real_clips():
        lengths = np.linalg.norm(x[:, bones[:, 0]] - x[:, bones[:, 1]], axis=-1)  # (T, 19)
        pair = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)[:, iu[0], iu[1]][:, others]
        assert np.median(lengths.std(axis=0)) < 0.05  # metres
        assert np.median(lengths.std(axis=0)) < np.median(pair.std(axis=0))


@needs_ucla
@needs_utd
def test_utd_reordering_gives_nwucla_bone_lengths():
    """The same sensor's skeleton: per-bone mean lengths of UTD-MHAD clips (reordered) match NW-UCLA's
    median within 10 cm; read in the file's own head-first order they would be off by decimetres."""
    bones = np.array(K20.bones)

    def mean_lengths(x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(x[:, bones[:, 0]] - x[:, bones[:, 1]], axis=-1).mean(axis=0)

    ucla = np.median([mean_lengths(sio.read(f).data[0]) for f in _ucla_files(11)], axis=0)
    assert 0.25 < ucla[K20.bones.index((K20.index("shoulder_center"), K20.index("spine")))] < 0.4
    for f in sorted(UTD.glob("*.mat")):
        assert np.abs(mean_lengths(sio.read(f).data[0]) - ucla).max() < 0.1
        raw = np.moveaxis(scipy.io.loadmat(f)["d_skel"], 2, 0)  # (T, 20, 3) in the file's order
        assert np.abs(mean_lengths(raw) - ucla).max() > 0.3


def _chirality(x: np.ndarray) -> float:
    """Mean sign of det[right_hip - left_hip, spine - hip_center, foot - ankle] over frames."""
    j = K20.index
    r = x[:, j("right_hip")] - x[:, j("left_hip")]
    up = x[:, j("spine")] - x[:, j("hip_center")]
    fwd = (x[:, j("left_foot")] - x[:, j("left_ankle")] + x[:, j("right_foot")] - x[:, j("right_ankle")]) / 2
    return float(np.mean(np.sign(np.einsum("ti,ti->t", np.cross(r, up), fwd))))


def test_mirror_swaps_left_and_right_on_real_clips():
    """Real bodies share one chirality; reflecting the coordinates alone flips it, the layout's mirror
    (reflect + swap left/right) restores it, and left/right twins have equal bone lengths."""
    clips = _real_clips()
    signs = np.array([np.sign(_chirality(x)) for x in clips])
    majority = np.sign(signs.sum())
    assert np.mean(signs == majority) > 0.85
    mirror = A.RandomMirror("kinect20", p=1.0)
    bones = np.array(K20.bones)
    for x, s in zip(clips, signs, strict=True):
        y = np.asarray(mirror(x[None], generator=0))[0]
        reflected = x.copy()
        reflected[..., 0] *= -1
        assert np.sign(_chirality(y)) == s
        assert np.sign(_chirality(reflected)) == -s
        np.testing.assert_allclose(y[:, list(K20.mirror), 1:], x[..., 1:], atol=1e-5)
        lengths = np.linalg.norm(x[:, bones[:, 0]] - x[:, bones[:, 1]], axis=-1).mean(axis=0)
        twin = {(c, p): k for k, (c, p) in enumerate(K20.bones)}
        mirrored = np.array([lengths[twin[(K20.mirror[c], K20.mirror[p])]] for c, p in K20.bones])
        assert np.median(np.abs(lengths - mirrored)) < 0.03

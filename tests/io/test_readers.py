"""Readers against the real fixture files (../shared/fixtures), with plain-Python oracles."""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

import skelaug.io as sio
from skelaug import layouts

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
FX = SHARED / "fixtures"
pytestmark = pytest.mark.skipif(
    not FX.is_dir(), reason=f"shared fixtures not found at {FX} (set SKELAUG_SHARED)"
)


def _people_counts_openpose(folder: Path) -> list[int]:
    files = sorted(folder.glob("*.json"))
    return [len(json.loads(f.read_text())["people"]) for f in files]


# ------------------------------------------------------------------------------------------ every fixture
EXPECTED = {
    # path: (format, layout, persons, frames, channels)
    "ntu_skeleton/S001C001P001R001A001.skeleton": ("ntu_skeleton", "ntu25", 1, 103, 4),
    "ntu_skeleton/S001C001P001R001A011.skeleton": ("ntu_skeleton", "ntu25", 1, 82, 4),
    "ntu_skeleton/S001C003P008R002A058.skeleton": ("ntu_skeleton", "ntu25", 2, 70, 4),
    "ntu_skeleton/S002C001P003R001A003.skeleton": ("ntu_skeleton", "ntu25", 1, 100, 4),
    "ntu_skeleton/S001C001P001R001A001.skeleton.npy": ("ntu_npy", "ntu25", 1, 103, 3),
    "kinetics_skeleton_json/--33Lscn6sk.json": ("kinetics_json", "openpose18", None, 189, 3),
    "kinetics_skeleton_json/S004C003P003R001A007_rgb.json": ("kinetics_json", "openpose18", None, 77, 3),
    "mediapipe_csv/ash1708_jump_pose_landmarks.csv": ("mediapipe_csv", "mediapipe33", 1, 176, 4),
    "kinect_v2_csv/Fall-1-55-3_Skeleton.csv": ("kinect_v2_csv", "ntu25", 1, 175, 4),
    "kinect_v2_csv/Non-fall-2-45-1_Skeleton.csv": ("kinect_v2_csv", "ntu25", 1, 89, 4),
    "coco_keypoints_json/mmpose_test_coco.json": ("coco_json", "coco17", 5, 4, 3),
    "openpose_json/body25_dance": ("openpose_folder", "openpose25", 1, 486, 3),
    "openpose_json/kth_mpi15_boxing": ("openpose_folder", "mpi15", 1, 223, 3),
    "openpose_json/kth_mpi15_handclapping": ("openpose_folder", "mpi15", 1, 162, 3),
    "openpose_json/kth_mpi15_jogging": ("openpose_folder", "mpi15", 1, 104, 3),
    "utd_mhad_mat/a5_s2_t1_skeleton.mat": ("utd_mhad_mat", "kinect20", 1, 53, 3),
    "utd_mhad_mat/a12_s7_t3_skeleton.mat": ("utd_mhad_mat", "kinect20", 1, 80, 3),
    "utd_mhad_mat/a20_s4_t2_skeleton.mat": ("utd_mhad_mat", "kinect20", 1, 50, 3),
    "utd_mhad_mat/a27_s5_t1_skeleton.mat": ("utd_mhad_mat", "kinect20", 1, 86, 3),
}
#: documentation that ships next to the fixtures, not skeleton files
NOT_SKELETONS = {"SOURCES.md", "Skeleton_joint_order.txt"}


def test_every_fixture_is_covered():
    found = {str(p.relative_to(FX)) for p in FX.glob("*/*") if p.name not in NOT_SKELETONS}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_fixture_reads(rel):
    fmt, lay, persons, frames, chans = EXPECTED[rel]
    path = FX / rel
    assert sio.detect_format(path) == fmt
    seq = sio.read(path)
    assert isinstance(seq.data, np.ndarray) and seq.data.dtype == np.float32
    assert seq.layout == lay and seq.data.shape[1:] == (frames, layouts.get(lay).num_joints, chans)
    if persons is not None:
        assert seq.num_persons == persons
    assert np.isfinite(seq.data).all()
    if seq.confidence is not None:
        np.testing.assert_array_equal(seq.confidence, seq.data[..., -1])
    # absent persons and missing joints are all-zero (no stray scores without coordinates)
    absent = ~seq.present()
    if fmt not in ("ntu_skeleton", "kinect_v2_csv"):
        assert not seq.data[absent].any()


@pytest.mark.parametrize("name", ["body25_dance", "kth_mpi15_jogging", "kth_mpi15_boxing"])
def test_openpose_people_per_frame_and_empty_frames(name):
    folder = FX / "openpose_json" / name
    seq = sio.read(folder)
    counts = _people_counts_openpose(folder)
    np.testing.assert_array_equal(seq.persons_per_frame(), counts)
    assert seq.counts["empty_frames"] == counts.count(0)
    if name == "kth_mpi15_jogging":
        assert seq.counts["empty_frames"] == 34
    # values equal the JSON of one frame (oracle: json module)
    files = sorted(folder.glob("*.json"))
    k = next(i for i, c in enumerate(counts) if c)
    pose = np.array(json.loads(files[k].read_text())["people"][0]["pose_keypoints_2d"], np.float32).reshape(
        -1, 3
    )
    np.testing.assert_array_equal(seq.data[0, k], pose)


def test_openpose_single_frame_file_and_zero_score_policy():
    f = sorted((FX / "openpose_json" / "body25_dance").glob("*.json"))[0]
    seq = sio.read(f)
    assert sio.detect_format(f) == "openpose_json" and seq.data.shape == (1, 1, 25, 3)
    dance = sio.read(FX / "openpose_json" / "body25_dance")
    # the dance files carry interpolated keypoints with score 0: kept, and counted
    assert dance.counts["zero_score_keypoints"] == 4598


def test_kinetics_people_counts_and_all_zero_scores():
    path = FX / "kinetics_skeleton_json" / "--33Lscn6sk.json"
    obj = json.loads(path.read_text())
    seq = sio.read(path)
    counts = [0] * 189
    for fr in obj["data"]:
        counts[fr["frame_index"] - 1] = len(fr["skeleton"])
    np.testing.assert_array_equal(seq.persons_per_frame(), counts)
    assert max(counts) == 3 and counts.count(0) == 26 == seq.counts["empty_frames"]
    assert seq.source["label"] == "flipping pancake" and seq.fps == 30.0
    # every detection lands in exactly one track with its own values
    fr = obj["data"][40]
    got = {
        tuple(np.round(seq.data[m, 40, :, :2].ravel(), 3))
        for m in range(seq.num_persons)
        if seq.present()[m, 40].any()
    }
    want = {tuple(np.round(np.array(s["pose"], np.float32), 3)) for s in fr["skeleton"]}
    assert got == want
    rgb = sio.read(FX / "kinetics_skeleton_json" / "S004C003P003R001A007_rgb.json")
    assert rgb.confidence is not None and not rgb.confidence.any()  # all-zero scores kept as 0 ...
    assert rgb.present().sum() > 1000  # ... but the joints stay present
    assert rgb.counts["zero_score_keypoints"] == rgb.present().sum()


def test_kinetics_tracks_keep_identity():
    """Two people: with tracking, each track moves smoothly (no identity swaps between frames)."""
    seq = sio.read(FX / "kinetics_skeleton_json" / "--33Lscn6sk.json", max_persons=2)
    assert seq.num_persons == 2 and seq.counts["persons_dropped"] >= 0
    pres = seq.present()
    for m in range(2):
        neck = seq.data[m, :, 1, :2]
        ok = pres[m, :-1, 1] & pres[m, 1:, 1]
        jumps = np.linalg.norm(neck[1:] - neck[:-1], axis=-1)[ok]
        assert jumps.size > 50 and np.percentile(jumps, 95) < 0.08


def test_ntu_values_match_plain_parse_and_npy():
    path = FX / "ntu_skeleton" / "S001C003P008R002A058.skeleton"
    raw = path.read_bytes()
    assert b"\r\n" in raw  # a CRLF file
    lines = raw.decode().split("\r\n")
    # oracle: frame 0 by hand
    nb = int(lines[1])
    assert nb >= 1
    vals = np.array([[float(v) for v in lines[4 + j].split()] for j in range(25)])
    seq = sio.read(path)
    np.testing.assert_allclose(seq.data[0, 0, :, :3], vals[:, :3], rtol=1e-6)
    np.testing.assert_allclose(seq.data[0, 0, :, 3], vals[:, 11] / 2)
    np.testing.assert_allclose(seq.extras["color_xy"][0, 0], vals[:, 5:7], rtol=1e-6)
    assert seq.source["performer"] == 8 and seq.source["action"] == 58 and len(seq.source["body_ids"]) == 2
    # txt2npy oracle: the .npy of A001 holds the same xyz
    a = sio.read(FX / "ntu_skeleton" / "S001C001P001R001A001.skeleton")
    b = sio.read(FX / "ntu_skeleton" / "S001C001P001R001A001.skeleton.npy")
    np.testing.assert_allclose(a.data[..., :3], b.data, atol=1e-6)
    # untracked joints keep their coordinates, their state is in confidence
    tracked = a.confidence
    assert ((tracked == 0.5) | (tracked == 1.0) | (tracked == 0.0)).all()


def test_mediapipe_wide_matches_csv_module():
    path = FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv"
    rows = list(csv.reader(path.open()))
    seq = sio.read(path)
    r = np.array(rows[10], dtype=np.float64)
    frame = int(r[0]) - 1
    np.testing.assert_allclose(seq.data[0, frame], r[1:].reshape(33, 4), rtol=1e-6)
    assert seq.channels == ("x", "y", "z", "visibility") and seq.fps is None


def _write_long(path: Path, wide: np.ndarray, frames: list[int], names: bool = False, shuffle: bool = False):
    lay = layouts.get("mediapipe33")
    out = []
    for f in frames:
        for k in range(33):
            lm = lay.joint_names[k].upper() if names else str(k)
            x, y, z, v = wide[f - 1, k]
            out.append(f"{f},{lm},{float(x)!r},{float(y)!r},{float(z)!r},{float(v)!r}")
    if shuffle:
        out = [out[i] for i in np.random.default_rng(0).permutation(len(out))]
    path.write_text("frame,landmark,x,y,z,visibility\r\n" + "\r\n".join(out) + "\r\n")


def test_mediapipe_long_with_missing_frame(tmp_path):
    wide = sio.read(FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv").data[0].astype(np.float64)
    frames = [f for f in range(1, 177) if f != 50]
    p = tmp_path / "long.csv"
    _write_long(p, wide, frames, names=True, shuffle=True)
    assert sio.detect_format(p) == "mediapipe_csv"
    seq = sio.read(p)
    assert seq.data.shape == (1, 176, 33, 4) and seq.counts["missing_frames"] == 1
    assert not seq.data[0, 49].any()  # frame 50 -> index 49, all zero
    keep = np.arange(176) != 49
    np.testing.assert_allclose(seq.data[0, keep], wide[keep], rtol=1e-6)


def test_kinect_csv_matches_plain_parse():
    path = FX / "kinect_v2_csv" / "Fall-1-55-3_Skeleton.csv"
    lines = path.read_text().splitlines()
    seq = sio.read(path)
    state = {"TRACKED": 1.0, "INFERRED": 0.5, "NOTTRACKED": 0.0}
    for i in (0, 25 * 100 + 7):
        _, x, y, z, st = lines[i].split(",")
        t, j = divmod(i, 25)
        np.testing.assert_allclose(
            seq.data[0, t, j], [float(x), float(y), float(z), state[st.upper()]], rtol=1e-6
        )


def test_coco_frames_are_images():
    path = FX / "coco_keypoints_json" / "mmpose_test_coco.json"
    obj = json.loads(path.read_text())
    seq = sio.read(path)
    labelled = [a for a in obj["annotations"] if any(a["keypoints"][2::3])]
    assert len(labelled) < len(obj["annotations"])  # some have no labelled keypoint
    per_img = [sum(a["image_id"] == im["id"] for a in labelled) for im in obj["images"]]
    np.testing.assert_array_equal(seq.persons_per_frame(), per_img)
    a = obj["annotations"][0]
    f = [im["id"] for im in obj["images"]].index(a["image_id"])
    kp = np.array(a["keypoints"], np.float32).reshape(17, 3)
    m = seq.source["annotation_ids"].index(next(r for r in seq.source["annotation_ids"] if r[f] == a["id"]))
    np.testing.assert_allclose(seq.data[m, f, :, :2], np.where(kp[:, 2:] > 0, kp[:, :2], 0))
    np.testing.assert_allclose(seq.data[m, f, :, 2], kp[:, 2] / 2)


# ------------------------------------------------------------------------------------------ corrupt input
def test_truncated_json_in_openpose_folder_names_file(tmp_path):
    src = FX / "openpose_json" / "kth_mpi15_boxing"
    dst = tmp_path / "clip"
    shutil.copytree(src, dst)
    bad = sorted(dst.glob("*.json"))[5]
    bad.write_bytes(bad.read_bytes()[:150])
    with pytest.raises(sio.SkeletonFormatError, match=rf"{bad.name}.*line 1.*invalid JSON") as e:
        sio.read(dst)
    assert e.value.path.endswith(bad.name) and isinstance(e.value, ValueError)


def test_skeleton_ending_mid_frame_names_frame(tmp_path):
    lines = (FX / "ntu_skeleton" / "S001C001P001R001A001.skeleton").read_bytes().split(b"\r\n")
    p = tmp_path / "S001C001P001R001A001.skeleton"
    p.write_bytes(b"\r\n".join(lines[: 1 + 28 * 40 + 15]))  # 40 whole frames, then 12 joint lines
    with pytest.raises(sio.SkeletonFormatError, match=r"frame 40.*ends in frame 40 of 103") as e:
        sio.read(p)
    assert e.value.frame == 40


def test_skeleton_bad_joint_line_names_line(tmp_path):
    lines = (FX / "ntu_skeleton" / "S001C001P001R001A001.skeleton").read_text().splitlines()
    lines[4 + 28 * 3 + 2] = "0.1 0.2 0.3"
    p = tmp_path / "bad.skeleton"
    p.write_text("\n".join(lines))
    with pytest.raises(sio.SkeletonFormatError, match=rf"line {4 + 28 * 3 + 2 + 1}.*3 values, expected 12"):
        sio.read(p)


def test_csv_wrong_column_count_names_line(tmp_path):
    lines = (FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv").read_text().splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0]
    p = tmp_path / "mp.csv"
    p.write_text("\n".join(lines))
    with pytest.raises(sio.SkeletonFormatError, match=r"line 8: 132 columns, expected 133"):
        sio.read(p)
    lines = (FX / "kinect_v2_csv" / "Non-fall-2-45-1_Skeleton.csv").read_text().splitlines()
    p2 = tmp_path / "k.csv"
    p2.write_text("\n".join(lines[:-3]))
    with pytest.raises(sio.SkeletonFormatError, match=r"ends mid-frame: frame 88 has 22 of 25"):
        sio.read(p2)
    p2.write_text("\n".join(lines[:30] + lines[31:]))
    with pytest.raises(
        sio.SkeletonFormatError, match=r"line 50, frame 1: joint SpineBase repeats.*line 26.*24 of 25"
    ):
        sio.read(p2)


def test_kinetics_and_coco_errors(tmp_path):
    obj = json.loads((FX / "kinetics_skeleton_json" / "--33Lscn6sk.json").read_text())
    obj["data"][3]["skeleton"][0]["pose"] = obj["data"][3]["skeleton"][0]["pose"][:-2]
    p = tmp_path / "k.json"
    p.write_text(json.dumps(obj))
    with pytest.raises(sio.SkeletonFormatError, match=r"frame 3.*34 pose values for 18 scores"):
        sio.read(p)
    raw = (FX / "kinetics_skeleton_json" / "--33Lscn6sk.json").read_text()
    p.write_text(raw[: len(raw) // 2])
    with pytest.raises(sio.SkeletonFormatError, match=r"line \d+: invalid JSON"):
        sio.read(p, format="kinetics_json")
    coco = json.loads((FX / "coco_keypoints_json" / "mmpose_test_coco.json").read_text())
    coco["annotations"][2]["keypoints"] = coco["annotations"][2]["keypoints"][:50]
    p.write_text(json.dumps(coco))
    with pytest.raises(sio.SkeletonFormatError, match=r"50 keypoint values, expected 51"):
        sio.read(p)


def test_unknown_format_and_label_file_hint(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("video_id,label_id,start_time\n1,2,3\n")
    with pytest.raises(sio.SkeletonFormatError, match="read_imigue_labels"):
        sio.read(p)
    with pytest.raises(FileNotFoundError):
        sio.read(tmp_path / "nope.json")
    np.save(tmp_path / "batch.npy", np.zeros((2, 3, 4, 25, 2), np.float32))
    with pytest.raises(sio.SkeletonFormatError, match="load_stgcn"):
        sio.read(tmp_path / "batch.npy")
    (tmp_path / "ann.pkl").write_bytes(pickle.dumps({"annotations": []}))
    with pytest.raises(sio.SkeletonFormatError, match="load_pyskl"):
        sio.read(tmp_path / "ann.pkl")
    with pytest.raises(ValueError, match="format='bogus' is unknown"):
        sio.read(FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv", format="bogus")


# ------------------------------------------------------------------------------------------ archives, cache
def test_openpose_tar_equals_folder_and_truncated_tar(tmp_path):
    src = FX / "openpose_json" / "kth_mpi15_jogging"
    arc = tmp_path / "jog.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        tf.add(src, arcname="jog")
    a, b = sio.read(src), sio.read(arc)
    assert sio.detect_format(arc) == "openpose_tar"
    np.testing.assert_array_equal(a.data, b.data)
    raw = arc.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(sio.SkeletonFormatError, match=r"cut\.tar\.gz.*(truncated|corrupt|invalid)"):
        sio.read(cut, format="openpose_tar")


def test_cache_roundtrip(tmp_path):
    path = FX / "ntu_skeleton" / "S001C003P008R002A058.skeleton"
    a = sio.read(path, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1
    b = sio.read(path, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.extras["color_xy"], b.extras["color_xy"])
    assert a.source == b.source and a.counts == b.counts and a.fps == b.fps


# ------------------------------------------------------------------------------------------ selection
def test_select_people_by_confidence_and_motion():
    seq = sio.read(FX / "ntu_skeleton" / "S001C003P008R002A058.skeleton")
    by_conf = sio.select_people(seq, 1)
    conf = seq.confidence.sum(axis=(1, 2))
    np.testing.assert_array_equal(by_conf.data[0], seq.data[int(np.argmax(conf))])
    assert by_conf.counts["persons_dropped"] == 1
    xyz = seq.data[..., :3].astype(np.float64)
    motion = [
        sum(
            np.linalg.norm(xyz[m, t] - xyz[m, t - 1], axis=-1)[
                (xyz[m, t] != 0).any(-1) & (xyz[m, t - 1] != 0).any(-1)
            ].sum()
            for t in range(1, seq.num_frames)
        )
        for m in range(2)
    ]
    by_motion = sio.select_people(seq, 1, by="motion")
    np.testing.assert_array_equal(by_motion.data[0], seq.data[int(np.argmax(motion))])
    padded = sio.select_people(seq, 4, pad=True)
    assert padded.num_persons == 4 and not padded.data[2:].any()
    with pytest.raises(ValueError, match="max_persons"):
        sio.select_people(seq, 0)


def test_track_people_is_invariant_to_detection_order():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, (3, 1, 10, 2)) + np.arange(3)[:, None, None, None] * 3
    walk = np.cumsum(rng.normal(0, 0.01, (3, 30, 10, 2)), axis=1)
    truth = base + walk  # 3 people x 30 frames
    frames, perms = [], []
    for t in range(30):
        p = rng.permutation(3)
        perms.append(p)
        frames.append(truth[p, t])
    ids, n = sio.track_people(frames, dims=2)
    assert n == 3
    first = {int(perms[0][i]): int(ids[0][i]) for i in range(3)}  # true person -> track
    for t in range(30):
        for i in range(3):
            assert ids[t][i] == first[int(perms[t][i])]


# ------------------------------------------------------------------------------------------ converters
def test_pyskl_and_stgcn_roundtrip(tmp_path):
    seqs = [
        sio.read(FX / "ntu_skeleton" / n)
        for n in ("S001C003P008R002A058.skeleton", "S001C001P001R001A011.skeleton")
    ]
    sio.save_pyskl(tmp_path / "a.pkl", seqs, [57, 10], names=["a", "b"], split={"xsub_train": ["a", "b"]})
    raw = pickle.loads((tmp_path / "a.pkl").read_bytes())
    ann = raw["annotations"][0]
    assert ann["keypoint"].shape == (2, 70, 25, 3) and ann["keypoint_score"].shape == (2, 70, 25)
    assert ann["total_frames"] == 70 and ann["label"] == 57 and raw["split"] == {"xsub_train": ["a", "b"]}
    back = sio.load_pyskl(tmp_path / "a.pkl")
    for s, b in zip(seqs, back.sequences, strict=True):
        np.testing.assert_array_equal(s.data, b.data)
        assert b.layout == "ntu25"
    lengths = sio.save_stgcn(tmp_path / "d.npy", seqs, [57, 10], num_frames=80, max_persons=2)
    data, _, labels = sio.load_stgcn(tmp_path / "d.npy", tmp_path / "d_label.pkl")
    assert data.shape == (2, 2, 80, 25, 4) and labels == [57, 10] and lengths.tolist() == [70, 80]
    np.testing.assert_array_equal(data[0, :, :70], seqs[0].data)
    np.testing.assert_array_equal(data[1, :1, :80], seqs[1].data[:, :80])
    assert not data[0, :, 70:].any()
    stgcn = np.load(tmp_path / "d.npy")  # (N, C, T, V, M) on disk
    np.testing.assert_array_equal(stgcn[0, :, 5, :, 1], seqs[0].data[1, 5].T)


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"annotations": [Evil()]}))
    with pytest.raises(sio.SkeletonFormatError, match="refusing to load the global"):
        sio.load_pyskl(p)

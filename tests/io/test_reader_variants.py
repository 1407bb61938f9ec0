"""Real files written by other projects' conventions (issue 19): variant files are derived from the real
fixtures (../shared/fixtures) inside each test, and every expected value comes from a plain-Python parse of
the file the test wrote."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skelaug.io as sio
from skelaug import layouts

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
FX = SHARED / "fixtures"
MP_WIDE = FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv"
COCO = FX / "coco_keypoints_json" / "mmpose_test_coco.json"
NTU = FX / "ntu_skeleton" / "S001C001P001R001A001.skeleton"
IM = SHARED / "data" / "imigue"
pytestmark = pytest.mark.skipif(
    not FX.is_dir(), reason=f"shared fixtures not found at {FX} (set SKELAUG_SHARED)"
)


def _wide_rows() -> tuple[list[str], np.ndarray]:
    """The real wide MediaPipe file parsed with plain Python: header, (rows, 1 + 33 * 4) floats."""
    lines = MP_WIDE.read_text().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])


# ------------------------------------------------------------------------------------------ MediaPipe CSV
def _write_long_2d(path: Path, header: str, drop_frame: int) -> tuple[np.ndarray, list[int]]:
    """``Frame,LandmarkID,X,Y`` rows from the real file's x, y, one frame number left out."""
    _, rows = _wide_rows()
    frames = [int(r[0]) for r in rows if int(r[0]) != drop_frame]
    xy = {int(r[0]): r[1:].reshape(33, 4)[:, :2] for r in rows}
    out = [header]
    for f in frames:
        for k in range(33):
            out.append(f"{f},{k},{float(xy[f][k, 0])!r},{float(xy[f][k, 1])!r}")
    path.write_text("\n".join(out) + "\n")
    return np.stack([xy[f] for f in sorted(xy)]), frames


def test_mediapipe_long_2d_other_spelling_with_missing_frame(tmp_path):
    p = tmp_path / "pose.csv"
    xy, frames = _write_long_2d(p, "Frame,LandmarkID,X,Y", drop_frame=40)
    assert sio.detect_format(p) == "mediapipe_csv"
    seq = sio.read(p)
    t = max(frames) - min(frames) + 1
    assert seq.layout == "mediapipe33_2d" and seq.dims == 2
    assert seq.data.shape == (1, t, 33, 3) and seq.channels == ("x", "y", "visibility")
    assert seq.counts["missing_frames"] == 1 and seq.confidence is None
    gap = 40 - min(frames)
    assert not seq.data[0, gap].any()  # the missing frame number is an all-zero frame
    keep = np.arange(t) != gap
    np.testing.assert_allclose(seq.data[0, keep, :, :2], xy[keep], rtol=1e-6)
    np.testing.assert_array_equal(seq.data[0, keep, :, 2], 1.0)
    # the 2D layout is mediapipe33's topology with dim 2
    a, b = layouts.get("mediapipe33_2d"), layouts.get("mediapipe33")
    assert (a.joint_names, a.bones, a.mirror, dict(a.parts)) == (b.joint_names, b.bones, b.mirror, dict(b.parts))


def test_mediapipe_wide_2d_and_respelled_columns(tmp_path):
    header, rows = _wide_rows()
    # keep x, y (drop z, visibility) and respell: L0_x -> "Landmark-0 X", frame -> "Frame Index"
    keep = [0] + [1 + 4 * k + a for k in range(33) for a in (0, 1)]
    names = ["Frame Index"] + [f"Landmark-{k} {'XY'[a]}" for k in range(33) for a in (0, 1)]
    p = tmp_path / "wide2d.csv"
    p.write_text(",".join(names) + "\n" + "\n".join(",".join(repr(float(v)) for v in r[keep]) for r in rows) + "\n")
    seq = sio.read(p)
    assert seq.layout == "mediapipe33_2d" and seq.data.shape == (1, len(rows), 33, 3)
    np.testing.assert_allclose(seq.data[0, :, :, :2], rows[:, 1:].reshape(-1, 33, 4)[..., :2], rtol=1e-6)


_SPELL = st.sampled_from(["lower", "upper", "title"])


@settings(max_examples=15)
@given(style=st.tuples(_SPELL, _SPELL, _SPELL), sep=st.sampled_from(["_", "-", " ", ""]))
def test_mediapipe_column_names_match_ignoring_case_and_separators(tmp_path_factory, style, sep):
    """Any casing of the column names, and _ / - / space / nothing between words, reads the same."""
    d = tmp_path_factory.mktemp("mp")

    def spell(words: list[str], s: str) -> str:
        w = sep.join(words)
        return {"lower": w.lower(), "upper": w.upper(), "title": w.title()}[s]

    header = ",".join([spell(["frame", "idx"], style[0]), spell(["landmark", "id"], style[1]),
                       spell(["x"], style[2]), spell(["y"], style[2]), spell(["z"], style[2])])  # fmt: skip
    rows = [f"{f},{k},{0.01 * k + 0.1},{0.5 + 0.001 * f},{-0.1}" for f in (3, 4, 6) for k in range(33)]
    p = d / "p.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    seq = sio.read(p)
    assert seq.layout == "mediapipe33" and seq.data.shape == (1, 4, 33, 4) and seq.counts["missing_frames"] == 1
    np.testing.assert_allclose(seq.data[0, 0, :, 0], 0.01 * np.arange(33) + 0.1, rtol=1e-6)
    np.testing.assert_allclose(seq.data[0, 3, :, 1], 0.506, rtol=1e-6)


def test_mediapipe_mismatch_error_describes_both_layouts(tmp_path):
    p = tmp_path / "other.csv"
    p.write_text("time,part,u,w\n0,1,2,3\n")
    with pytest.raises(sio.SkeletonFormatError) as e:
        sio.read(p, format="mediapipe_csv")
    msg = str(e.value)
    assert "long (one row per landmark)" in msg and "wide (one row per frame)" in msg
    assert "Found: time, part, u, w" in msg and e.value.line == 1


# ------------------------------------------------------------------------------------------ COCO-style JSON
def _coco() -> dict:
    return json.loads(COCO.read_text())


def _posetrack_variant(obj: dict) -> dict:
    """The real COCO file re-labelled as PoseTrack 18: eyes -> head_bottom / head_top, images in 2 videos
    (listed out of frame order), each annotation a track."""
    pt = copy.deepcopy(obj)
    pt["categories"][0]["keypoints"] = list(layouts.get("posetrack18").joint_names)
    for i, im in enumerate(pt["images"]):
        im["vid_id"] = "000001" if i % 2 == 0 else "000002"
        im["frame_id"] = 100 - i  # reversed: frame order is by frame_id, not by listing order
    seen: dict[int, int] = {}
    for a in pt["annotations"]:  # the k-th person of each image is track 10 + k
        seen[a["image_id"]] = seen.get(a["image_id"], -1) + 1
        a["track_id"] = 10 + seen[a["image_id"]]
    return pt


def test_posetrack_keypoint_names_give_posetrack18_not_coco17(tmp_path):
    pt = _posetrack_variant(_coco())
    p = tmp_path / "posetrack.json"
    p.write_text(json.dumps(pt))
    seq = sio.read(p, video="000001")
    assert seq.layout == "posetrack18"
    lay = layouts.get("posetrack18")
    assert lay.joint_names[:3] == ("nose", "head_bottom", "head_top")
    # mirroring keeps head_bottom / head_top (on the midline) and swaps the ears
    assert lay.mirror[1] == 1 and lay.mirror[2] == 2 and lay.mirror[3] == 4
    from skelaug.augment import RandomMirror

    out = RandomMirror(seq.layout, p=1.0)(seq.data)
    out = out[0] if isinstance(out, tuple) else out
    # a horizontal mirror keeps every joint's height; only left/right twins trade places
    np.testing.assert_array_equal(out[..., 1], seq.data[..., lay.mirror, 1])
    np.testing.assert_array_equal(out[..., 1:3, 1], seq.data[..., 1:3, 1])  # head top stays on top


def test_coco_videos_are_separate_clips_with_track_slots(tmp_path):
    pt = _posetrack_variant(_coco())
    p = tmp_path / "posetrack.json"
    p.write_text(json.dumps(pt))
    with pytest.raises(sio.SkeletonFormatError, match=r"2 videos.*000001.*000002.*video="):
        sio.read(p)
    clips = sio.read_coco_videos(p)
    assert list(clips) == ["000001", "000002"]
    for vid, seq in clips.items():
        # oracle: plain loops over the JSON
        imgs = sorted((im for im in pt["images"] if im["vid_id"] == vid), key=lambda im: im["frame_id"])
        assert seq.source["image_ids"] == [im["id"] for im in imgs] and seq.source["video_id"] == vid
        anns = [a for a in pt["annotations"] if any(a["image_id"] == im["id"] for im in imgs)
                and a.get("category_id") == 1 and not a.get("iscrowd")]  # fmt: skip
        tracks = sorted({a["track_id"] for a in anns})
        assert seq.source["track_ids"] == tracks and seq.num_persons == len(tracks)
        for a in anns:
            f = [im["id"] for im in imgs].index(a["image_id"])
            kp = np.array(a["keypoints"], np.float32).reshape(17, 3)
            np.testing.assert_allclose(seq.data[tracks.index(a["track_id"]), f, :, 2], kp[:, 2] / 2)
            np.testing.assert_allclose(
                seq.data[tracks.index(a["track_id"]), f, :, :2], np.where(kp[:, 2:] > 0, kp[:, :2], 0)
            )
        one = sio.read(p, video=vid)
        np.testing.assert_array_equal(one.data, seq.data)
    assert sum(s.num_frames for s in clips.values()) == len(pt["images"])
    with pytest.raises(sio.SkeletonFormatError, match=r"video=9 is not in the file.*'000001', '000002'"):
        sio.read(p, video=9)


def test_coco_keypoints_in_another_order_are_reordered(tmp_path):
    obj = _coco()
    perm = np.random.default_rng(3).permutation(17)
    shuffled = copy.deepcopy(obj)
    shuffled["categories"][0]["keypoints"] = [obj["categories"][0]["keypoints"][j] for j in perm]
    for a in shuffled["annotations"]:
        a["keypoints"] = np.array(a["keypoints"]).reshape(17, 3)[perm].reshape(-1).tolist()
    p = tmp_path / "shuffled.json"
    p.write_text(json.dumps(shuffled))
    a, b = sio.read(COCO), sio.read(p)
    assert b.layout == "coco17"
    np.testing.assert_array_equal(a.data, b.data)


def test_coco_unknown_keypoint_names_are_refused_naming_them(tmp_path):
    obj = _coco()
    obj["categories"][0]["keypoints"][0] = "tail_tip"
    p = tmp_path / "animal.json"
    p.write_text(json.dumps(obj))
    with pytest.raises(sio.SkeletonFormatError, match=r"tail_tip.*match no registered 2D layout.*closest: 'coco17'"):
        sio.read(p)
    seq = sio.read(p, layout="coco17")  # forcing a layout of that size still reads it
    assert seq.layout == "coco17"


# ------------------------------------------------------------------------------------------ broken files
def test_truncated_coco_json_says_invalid_json_at_line_and_column(tmp_path):
    raw = COCO.read_text()
    p = tmp_path / "cut.json"
    p.write_text(raw[:300])  # ends inside the categories, before "annotations" / "images"
    with pytest.raises(sio.SkeletonFormatError) as e:
        sio.read(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and "invalid JSON" in msg and "column" in msg and "truncated" in msg
    assert "unknown skeleton format" not in msg and e.value.line == raw[:300].count("\n") + 1


def test_empty_skeleton_file_says_empty(tmp_path):
    p = tmp_path / NTU.name
    p.write_bytes(b"")
    for fmt in (None, "ntu_skeleton", "smg_csv", "ntu_npy"):
        with pytest.raises(sio.SkeletonFormatError, match=r"empty file \(0 bytes\)") as e:
            sio.read(p, format=fmt)
        assert e.value.path == str(p)


def test_unrecognised_content_names_the_readers_of_the_ending(tmp_path):
    p = tmp_path / NTU.name
    p.write_bytes(NTU.read_bytes()[3:])  # first line damaged
    with pytest.raises(sio.SkeletonFormatError, match=r"'\.skeleton' belongs to ntu_skeleton.*first line"):
        sio.read(p)
    j = tmp_path / "valid.json"
    j.write_text(json.dumps({"frames": []}))
    with pytest.raises(sio.SkeletonFormatError, match=r"valid JSON.*keys \['frames'\]"):
        sio.read(j)


# ------------------------------------------------------------------------------------------ iMiGUE labels
@pytest.mark.skipif(not (IM / "labels_raw_298.txt").is_file(), reason=f"iMiGUE labels not found at {IM}")
def test_raw_and_csv_labels_both_feed_cut_clips():
    raw = sio.read_imigue_raw_labels(IM / "labels_raw_298.txt")
    rows = [lab for lab in sio.read_imigue_labels(IM / "labels_20200831.csv") if lab.video == 298]
    t = max(lab.end_frame for lab in rows) + 1
    video = sio.SkeletonSequence(np.arange(t * 22 * 3, dtype=np.float32).reshape(1, t, 22, 3), "imigue22")
    a = sio.cut_clips(video, raw)
    b = sio.cut_clips(video, rows)
    assert len(a) == len(b) == 56
    for ca, cb, lab in zip(a, b, raw, strict=True):
        np.testing.assert_array_equal(ca.data, video.data[:, lab.start_frame : lab.end_frame + 1])
        np.testing.assert_array_equal(ca.data, cb.data)
        assert ca.label.label == cb.label.label and ca.label.num_frames == cb.label.num_frames
    with pytest.raises(TypeError, match=r"labels\[0\] is tuple.*start_frame"):
        sio.cut_clips(video, [(1, 2, 3)])

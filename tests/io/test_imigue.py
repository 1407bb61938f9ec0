"""iMiGUE: labels, protocol split sizes, clip cutting of video 298 and the imigue22 joint mapping."""

from __future__ import annotations

import json
import math
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

import skelaug.io as sio
from skelaug.data.imigue import EMOTION_TEST_VIDEOS, EMOTION_TRAIN_VIDEOS, emotion_split, mg_split

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
IM = SHARED / "data" / "imigue"
LABELS = IM / "labels_20200831.csv"
ARCHIVE = IM / "skeleton_298_openpose.tar.xz"
pytestmark = pytest.mark.skipif(
    not LABELS.is_file(), reason=f"iMiGUE data not found at {IM} (set SKELAUG_SHARED)"
)


@pytest.fixture(scope="module")
def labels():
    return sio.read_imigue_labels(LABELS)


@pytest.fixture(scope="module")
def video298(tmp_path_factory, labels):
    """Raw BODY_25+hands sequence, the imigue22 sequence, and JSON oracles for the clip boundary frames."""
    cache = tmp_path_factory.getbasetemp() / "skelaug-imigue-cache"
    raw = sio.read(ARCHIVE, cache_dir=cache)
    mapped = sio.read_imigue_skeleton(ARCHIVE, cache_dir=cache)
    want = {f for lab in labels if lab.video == 298 for f in (lab.start_frame, lab.end_frame)}
    oracle = {}
    with tarfile.open(ARCHIVE) as tf:
        for m in tf:
            if m.isfile():
                k = int(m.name.rsplit("_", 2)[1])
                if k in want:
                    oracle[k] = json.loads(tf.extractfile(m).read())
    return raw, mapped, oracle


def test_label_file_and_protocol_split_sizes(labels):
    assert len(labels) == 18498
    assert sum(lab.mg_class == 32 for lab in labels) == 5715  # 99 -> 32
    assert all(lab.start_frame == math.floor(25 * lab.start_time) for lab in labels)
    train, test = mg_split(labels, "train"), mg_split(labels, "test")
    assert (len(train), len(test)) == (13935, 4563)
    assert not {lab.label for lab in test if lab.mg_class == 19}  # class 19 has no test sample
    assert not {lab.subject for lab in train} & {lab.subject for lab in test}
    etr, ete = emotion_split(labels, "train"), emotion_split(labels, "test")
    assert (len(etr), len(ete)) == (102, 100)
    assert set(etr) == EMOTION_TRAIN_VIDEOS and set(ete) == EMOTION_TEST_VIDEOS
    assert sum(etr.values()) == 51 and sum(ete.values()) == 50  # balanced win / lose


def test_raw_label_file_agrees_with_csv(labels):
    raw = sio.read_imigue_raw_labels(IM / "labels_raw_298.txt")
    rows = [lab for lab in labels if lab.video == 298]
    assert len(raw) == len(rows) == 56
    assert raw == [(lab.start_frame, lab.end_frame, lab.mg_class) for lab in rows]


def test_bad_label_rows_name_the_line(tmp_path):
    lines = LABELS.read_text().splitlines()
    lines[5] = lines[5].replace(",Win", ",Maybe").replace(",Lose", ",Maybe")
    p = tmp_path / "labels.csv"
    p.write_text("\n".join(lines[:10]))
    with pytest.raises(sio.SkeletonFormatError, match=r"line 6: win_or_lose is 'Maybe'"):
        sio.read_imigue_labels(p)
    lines = LABELS.read_text().splitlines()
    lines[3] = lines[3] + ",extra"
    p.write_text("\n".join(lines[:10]))
    with pytest.raises(sio.SkeletonFormatError, match=r"line 4: 12 columns, expected 11"):
        sio.read_imigue_labels(p)


def test_video_298_reads_whole(video298):
    raw, mapped, _ = video298
    assert raw.layout == "openpose25" and raw.num_frames == 21068 and raw.counts["files"] == 21068
    assert raw.counts["empty_frames"] == 175 and raw.counts["max_people_per_frame"] == 2
    assert {"hand_left", "hand_right", "face"} <= set(raw.extras)
    assert mapped.layout == "imigue22" and mapped.data.shape == (1, 21068, 22, 3) and mapped.fps == 25.0
    assert mapped.counts["persons_dropped"] == raw.num_persons - 1


def test_56_clips_with_frame_ranges_classes_and_values(video298, labels):
    _, mapped, oracle = video298
    rows = [lab for lab in labels if lab.video == 298]
    clips = sio.cut_clips(mapped, labels, video=298)
    assert len(clips) == 56
    tips = (4, 8, 12, 16, 20)
    for clip, lab in zip(clips, rows, strict=True):
        assert clip.label is lab and clip.data.shape == (1, lab.end_frame - lab.start_frame + 1, 22, 3)
        assert clip.sequence.source["frame_offset"] == lab.start_frame
        for k, t in ((lab.start_frame, 0), (lab.end_frame, -1)):
            people = oracle[k]["people"]
            if len(people) != 1:
                continue
            p = people[0]
            body = np.array(p["pose_keypoints_2d"], np.float32).reshape(25, 3)
            hr = np.array(p["hand_right_keypoints_2d"], np.float32).reshape(21, 3)
            hl = np.array(p["hand_left_keypoints_2d"], np.float32).reshape(21, 3)
            want = np.concatenate([body[:8], body[15:19], hr[list(tips)], hl[list(tips)]])
            np.testing.assert_array_equal(clip.data[0, t], want)
    assert [c.label.mg_class for c in clips] == [lab.mg_class for lab in rows]
    with pytest.raises(ValueError, match="ends at frame"):
        sio.cut_clips(mapped.frames(0, 1000), rows)


def test_hand_assignment_matches_body_wrists(video298):
    """hand_right's wrist (keypoint 0) sits at BODY_25 joint 4, hand_left's at joint 7."""
    raw, _, _ = video298
    body = raw.data[..., :2]
    ok = (raw.confidence[..., 4] > 0) & (raw.confidence[..., 7] > 0)
    hr, hl = raw.extras["hand_right"], raw.extras["hand_left"]
    ok_r = ok & (hr[..., 0, 2] > 0)
    ok_l = ok & (hl[..., 0, 2] > 0)
    d_r4 = np.linalg.norm(hr[..., 0, :2] - body[..., 4, :], axis=-1)[ok_r]
    d_r7 = np.linalg.norm(hr[..., 0, :2] - body[..., 7, :], axis=-1)[ok_r]
    d_l7 = np.linalg.norm(hl[..., 0, :2] - body[..., 7, :], axis=-1)[ok_l]
    d_l4 = np.linalg.norm(hl[..., 0, :2] - body[..., 4, :], axis=-1)[ok_l]
    assert ok_r.sum() > 15000 and ok_l.sum() > 15000
    assert np.mean(d_r4 < d_r7) > 0.85 and np.mean(d_l7 < d_l4) > 0.75
    assert np.median(d_r4) < 30 and np.median(d_l7) < 30  # pixels, 1280 x 720 frames

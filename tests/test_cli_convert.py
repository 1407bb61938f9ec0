"""``python -m skelaug convert IN OUT`` on the real fixtures (../shared/fixtures); outputs are checked
against :func:`skelaug.io.read` of the same input and against the documented ``.npz`` keys."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import skelaug.io as sio
from skelaug.__main__ import main

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
FX = SHARED / "fixtures"
pytestmark = pytest.mark.skipif(
    not FX.is_dir(), reason=f"shared fixtures not found at {FX} (set SKELAUG_SHARED)"
)


def _check_npz(npz: Path, src: Path) -> None:
    want = sio.read(src)
    with np.load(npz, allow_pickle=False) as z:
        assert {"data", "layout", "fps", "channels", "counts", "source"} <= set(z.files)
        np.testing.assert_array_equal(z["data"], want.data)
        assert str(z["layout"]) == want.layout
        assert (np.isnan(z["fps"]) and want.fps is None) or float(z["fps"]) == want.fps
        assert [str(c) for c in z["channels"]] == list(want.channels)
        assert json.loads(str(z["counts"])) == want.counts


def test_folder_to_npz_folder(tmp_path, capsys):
    src = FX / "ntu_skeleton"
    out = tmp_path / "out"
    rc = main(["convert", str(src), str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    inputs = sorted(p for p in src.iterdir() if p.suffix in (".skeleton", ".npy"))
    assert len(inputs) == 5
    written = sorted(out.glob("*.npz"))
    assert len(written) == len(inputs)
    for p in inputs:
        name = p.name.removesuffix(".skeleton") if p.suffix == ".skeleton" else p.name.removesuffix(".npy")
        _check_npz(out / f"{name}.npz", p)
    assert "converted 5 clips" in captured.out and "ignored 1 file" in captured.out  # SOURCES.md
    back = sio.read(out / "S001C003P008R002A058.npz")  # skelaug reads its own files back
    assert back.layout == "ntu25" and back.fps == 30.0 and back.source["original"]["format"] == "ntu_skeleton"


def test_single_file_and_openpose_folder(tmp_path):
    assert main(["convert", str(FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv"),
                 str(tmp_path / "mp.npz"), "--fps", "30"]) == 0  # fmt: skip
    with np.load(tmp_path / "mp.npz") as z:
        assert float(z["fps"]) == 30.0 and str(z["layout"]) == "mediapipe33"
    jog = FX / "openpose_json" / "kth_mpi15_jogging"
    assert main(["convert", str(jog), str(tmp_path / "clips")]) == 0
    _check_npz(tmp_path / "clips" / "kth_mpi15_jogging.npz", jog)


def test_folder_to_one_pyskl_pickle(tmp_path):
    src = FX / "kinect_v2_csv"
    out = tmp_path / "ann.pkl"
    assert main(["convert", str(src), str(out), "--label", "3"]) == 0
    data = sio.load_pyskl(out)
    files = sorted(src.glob("*.csv"))
    assert data.names == [f.stem for f in files] and data.labels == [3] * len(files)
    for seq, f in zip(data.sequences, files, strict=True):
        want = sio.read(f)
        np.testing.assert_array_equal(seq.data[..., :3], want.data[..., :3])
        assert seq.layout == want.layout == "ntu25"


def test_broken_inputs_are_skipped_with_reasons_and_exit_1(tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(FX / "kinect_v2_csv" / "Non-fall-2-45-1_Skeleton.csv", src / "sub" / "good.csv")
    (src / "empty.skeleton").write_bytes(b"")
    raw = (FX / "coco_keypoints_json" / "mmpose_test_coco.json").read_text()
    (src / "cut.json").write_text(raw[:500])
    (src / "README.md").write_text("notes")
    out = tmp_path / "out"
    rc = main(["convert", str(src), str(out)])
    cap = capsys.readouterr()
    assert rc == 1
    assert (out / "sub" / "good.npz").is_file() and not (out / "empty.npz").exists()
    assert "converted 1 clip " in cap.out and "skipped 2" in cap.out and "ignored 1 file" in cap.out
    assert f"{src / 'empty.skeleton'}: empty file" in cap.err
    assert f"{src / 'cut.json'}" in cap.err and "invalid JSON" in cap.err
    assert "Traceback" not in cap.out + cap.err
    # a second run does not overwrite the outputs unless asked
    assert main(["convert", str(src / "sub"), str(out / "sub")]) == 1
    assert "exists (pass --overwrite" in capsys.readouterr().err
    assert main(["convert", str(src / "sub"), str(out / "sub"), "--overwrite"]) == 0
    # an output folder inside IN is not read back as input on the next run
    inner = src / "sub" / "converted"
    assert main(["convert", str(src / "sub"), str(inner)]) == 0
    assert main(["convert", str(src / "sub"), str(inner), "--overwrite"]) == 0
    assert sorted(p.name for p in inner.rglob("*")) == ["good.npz"]


def test_usage_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "o.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "o.npz").write_bytes(b"x")
    src = FX / "mediapipe_csv" / "ash1708_jump_pose_landmarks.csv"
    assert main(["convert", str(src), str(tmp_path / "o.npz")]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "a.md").write_text("x")
    assert main(["convert", str(tmp_path / "nothing"), str(tmp_path / "o2")]) == 2
    assert main(["convert", str(src), str(tmp_path / "o3.npz"), "--max-persons", "0"]) == 2


def test_coco_video_file_gives_one_clip_per_video(tmp_path):
    obj = json.loads((FX / "coco_keypoints_json" / "mmpose_test_coco.json").read_text())
    for i, im in enumerate(obj["images"]):
        im["vid_id"] = f"v{i % 2}"
    p = tmp_path / "in" / "track.json"
    p.parent.mkdir()
    p.write_text(json.dumps(obj))
    assert main(["convert", str(p.parent), str(tmp_path / "out")]) == 0
    clips = sio.read_coco_videos(p)
    for vid, seq in clips.items():
        with np.load(tmp_path / "out" / f"track__{vid}.npz") as z:
            np.testing.assert_array_equal(z["data"], seq.data)
    assert main(["convert", str(p), str(tmp_path / "one.npz")]) == 1  # two videos cannot be one .npz


def test_python_dash_m_entry_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, "-m", "skelaug", "convert", str(FX / "kinect_v2_csv"), str(tmp_path / "o")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "converted 2 clips" in r.stdout and len(list((tmp_path / "o").glob("*.npz"))) == 2


class _Terminal:
    """A stderr that says it is a terminal, keeping what is written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(tmp_path, monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["convert", str(FX / "kinect_v2_csv"), str(tmp_path / "a")]) == 0
    assert "convert: 100%" in term.text and "2/2" in term.text
    term.text = ""
    assert main(["convert", str(FX / "kinect_v2_csv"), str(tmp_path / "b"), "--no-progress"]) == 0
    assert "100%" not in term.text

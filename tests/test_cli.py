"""``python -m skelaug``: demo output and figure, file modes, closed pipes, --version, and ``augment`` over a
folder of real pose files (outputs replayed from their params JSON)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import skelaug
from skelaug.__main__ import main
from skelaug.augment import from_dict, presets
from skelaug.augment.ops import Program

ROOT = Path(__file__).resolve().parent.parent


def _python(*args: str, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.run([sys.executable, "-m", "skelaug", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, **kw)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_demo_names_each_step_and_writes_readable_outputs(tmp_path, capsys, umask_022):
    assert main(["demo", "--out", str(tmp_path), "--samples", "3", "--layout", "ntu25"]) == 0
    out = capsys.readouterr().out
    for step in presets.micro_gesture("ntu25"):
        assert f"    {step!r}: " in out                      # every step named, per sample
    assert "resample / affine" not in out
    params, fig = tmp_path / "params.json", tmp_path / "mg_preset_before_after.png"
    for f in (params, fig):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f     # 0666 minus the umask, like any new file
    d = json.loads(params.read_text())
    assert d["pipeline"]["type"] == "Compose" and len(d["program"]["ops"]) >= 1
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_version_and_closed_pipe():
    res = _python("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"skelaug {skelaug.__version__}"
    # `python -m skelaug demo | head -1`: the reader closes the pipe after one line
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "skelaug", "demo", "--samples", "4", "--out",
                             str(Path(os.environ.get("TMPDIR", "/tmp")) / f"skelaug_pipe_{os.getpid()}")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=600)
    assert first.startswith(b"skelaug demo:")
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.fixture
def clip_folder(tmp_path, shared_dir):
    """Real pose files (linked, not copied) plus files that are not clips or are broken."""
    fx = shared_dir / "fixtures"
    src = tmp_path / "in"
    src.mkdir()
    ntu = fx / "ntu_skeleton" / "S001C003P008R002A058.skeleton"
    jog = fx / "openpose_json" / "kth_mpi15_jogging"
    kin = fx / "kinetics_skeleton_json" / "--33Lscn6sk.json"
    for p in (ntu, jog, kin):
        if not p.exists():
            pytest.skip(f"fixture {p} not found")
        (src / p.name).symlink_to(p)
    (src / "README.txt").write_text("notes about these clips\n")
    (src / ".hidden").write_text("ignored")
    return src, {"S001C003P008R002A058": ntu, "kth_mpi15_jogging": jog, "--33Lscn6sk": kin}


def test_augment_folder_writes_replayable_npz_and_reports_skips(clip_folder, tmp_path, capsys, umask_022):
    src, clips = clip_folder
    out_dir = tmp_path / "out"
    status = main(["augment", str(src), str(out_dir), "--preset", "micro_gesture", "--seed", "5", "--no-progress"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "augmented 3 of 4 entries" in out
    assert "skipped" in out and "README.txt" in out and ".hidden" not in out
    from skelaug import io as sio

    for stem, path in clips.items():
        npz, pj = out_dir / f"{stem}.npz", out_dir / f"{stem}.params.json"
        assert stat.S_IMODE(npz.stat().st_mode) == 0o644 and stat.S_IMODE(pj.stat().st_mode) == 0o644
        seq = sio.read(npz)
        d = json.loads(pj.read_text())
        original = sio.read(path)
        assert seq.layout == original.layout == d["layout"] and seq.channels == original.channels
        aug, prog = from_dict(d["pipeline"]), Program.from_dict(d["program"])
        y, n = aug(original.data, original.data.shape[1], params=prog)      # exact replay from the JSON
        np.testing.assert_array_equal(seq.data, y[:, :n])
        assert seq.source["original"]["augmented_from"] == str(src / path.name)


def test_augment_folder_failures_exit_non_zero_without_traceback(clip_folder, tmp_path):
    src, _ = clip_folder
    (src / "broken.json").write_text('{"data": [{"frame_index": 1, "skeleton": [')    # truncated JSON
    res = _python("augment", str(src), str(tmp_path / "out"), "--preset", "isc")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "failed: 1" in res.stdout and "broken.json" in res.stdout
    assert "augmented 3 of 5 entries" in res.stdout
    assert "Traceback" not in res.stderr
    missing = _python("augment", str(tmp_path / "nope"), str(tmp_path / "out2"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "is not a folder" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    bad_preset = _python("augment", str(src), str(tmp_path / "out3"), "--preset", "nope")
    assert bad_preset.returncode == 2 and "invalid choice" in bad_preset.stderr and "Traceback" not in bad_preset.stderr

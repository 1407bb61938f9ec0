"""Configs of the contrastive MG reference model: every shipped TOML parses; bad keys/values fail clearly."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
import tomllib

from reference_models.mg_contrastive.__main__ import main
from reference_models.mg_contrastive.config import (
    ConfigError,
    config_to_dict,
    load_config,
    load_config_dict,
    parse_override,
)

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "reference_models/mg_contrastive/configs").glob("*.toml"))


def test_shipped_configs_exist():
    names = {p.stem for p in CONFIGS}
    assert {"synthetic", "imigue", "smg", "ntu60_xsub", "ntu60_xview", "tiny", "nwucla", "utd_mhad"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_parses_and_round_trips(path):
    cfg = load_config(path)
    raw = tomllib.loads(path.read_text())
    # every key written in the file arrives in the config with its value
    flat = config_to_dict(cfg)

    def check(d, node, where):
        for k, v in d.items():
            assert k in node, f"{where}{k}"
            if isinstance(v, dict) and k not in ("grid",):
                check(v, node[k], f"{where}{k}.")
            elif not isinstance(v, dict):
                assert node[k] == v, f"{where}{k}"

    check(raw, flat, "")
    assert load_config_dict(flat) == cfg


def test_isc_moco_defaults():
    cfg = load_config_dict({})
    assert (cfg.contrast.queue_size, cfg.contrast.temperature, cfg.contrast.momentum) == (16384, 0.07, 0.999)
    assert cfg.contrast.loss == "cross" and cfg.model.streams == ["graph", "recurrent"]


@pytest.mark.parametrize(
    ("d", "needle"),
    [
        ({"optim": {"lrr": 0.1}}, "'optim.lrr' is not known; did you mean 'optim.lr'"),
        ({"modle": {}}, "'modle' is not known"),
        ({"model": {"graph": {"widthz": [1]}}}, "'model.graph.widthz'"),
        ({"optim": {"epochs": "ten"}}, "'optim.epochs' = 'ten'; expected an integer"),
        ({"optim": {"epochs": 2.5}}, "'optim.epochs' = 2.5; expected an integer"),
        ({"data": {"normalize": 1}}, "'data.normalize' = 1; expected true or false"),
        ({"augment": {"preset": "strong"}}, "'augment.preset' = 'strong'; expected one of"),
        ({"contrast": {"momentum": 1.0}}, "'contrast.momentum' = 1.0"),
        ({"contrast": {"temperature": 0}}, "'contrast.temperature' = 0.0"),
        ({"contrast": {"queue_size": 0}}, "'contrast.queue_size' = 0"),
        ({"model": {"streams": ["graph"]}}, "'contrast.loss' = 'cross' needs two streams"),
        ({"model": {"streams": ["graph", "graph"]}}, "'model.streams'"),
        ({"model": {"graph": {"widths": [8, 16], "strides": [1]}}}, "'model.graph.strides'"),
        ({"model": {"graph": {"widths": [8], "fusion_after": 3}}}, "'model.graph.fusion_after' = 3"),
        ({"model": {"graph": {"kernel_size": 4}}}, "'model.graph.kernel_size' = 4"),
        ({"model": {"streams": "graph"}}, "'model.streams' = 'graph'; expected a list"),
        ({"model": {"streams": ["graph", "gru"]}}, "'model.streams[1]' = 'gru'"),
        ({"eval": {"semi": {"fractions": [0.0]}}}, "'eval.semi.fractions'"),
        ({"eval": {"knn": {"k": [0]}}}, "'eval.knn.k'"),
        ({"data": {"kind": "imigue"}}, "'data.root' is empty"),
        ({"data": {"kind": "imigue", "root": "x"}}, "'data.labels' is empty"),
        ({"optim": {"schedule": "step"}}, "'optim.milestones' is empty"),
        ({"optim": {"epochs": 2, "warmup_epochs": 2}}, "'optim.warmup_epochs' = 2"),
        ({"ablate": {"variants": [{"set": {}}]}}, "'ablate.variants[0]'"),
        ({"data": 3}, "'data' = 3; expected a table"),
        ({"augment": {"pipeline": [{"type": "RandomWobble"}]}}, "'augment.pipeline[0]'"),
        ({"data": {"preprocess": [{"type": "Align"}]}}, "'data.preprocess[0]' = {'type': 'Align'}"),
        ({"model": {"input": "acceleration"}}, "'model.input' = 'acceleration'"),
    ],
)
def test_bad_config_names_the_key(d, needle):
    with pytest.raises(ConfigError) as e:
        load_config_dict(d)
    assert needle in str(e.value)


def test_overrides():
    assert parse_override("optim.lr=0.05") == (["optim", "lr"], 0.05)
    assert parse_override("augment.preset=mg") == (["augment", "preset"], "mg")
    assert parse_override('model.streams=["graph"]') == (["model", "streams"], ["graph"])
    cfg = load_config_dict({"optim": {"lr": 0.1}}, ["optim.lr=0.2", "contrast.loss=within", "model.streams=['graph']"])
    assert cfg.optim.lr == 0.2 and cfg.model.streams == ["graph"]
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_override("optim.lr")
    with pytest.raises(ConfigError, match=r"'optim\.lrr' is not known"):
        load_config_dict({}, ["optim.lrr=1"])


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim\nlr = 1")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[optim]\nbatchsize = 3\n")
    with pytest.raises(ConfigError, match=r"typo\.toml: config key 'optim.batchsize' is not known; did you mean"):
        load_config(typo)


def test_cli_reports_bad_config(tmp_path, capsys):
    typo = tmp_path / "typo.toml"
    typo.write_text("[contrast]\nqueue = 3\n")
    assert main(["pretrain", "--config", str(typo), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "config key 'contrast.queue' is not known" in err and "queue_size" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("module", ["config", "data", "model", "train", "evaluate", "ablate", "utils"])
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"reference_models.mg_contrastive.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

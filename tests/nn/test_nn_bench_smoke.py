"""The benchmark's dense and message-passing references compute each layer's math (tiny shapes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_nn.py"


def load_bench() -> ModuleType:
    pytest.importorskip("torch_geometric")
    if not BENCH.exists():
        pytest.skip(f"{BENCH} is not in this checkout")
    spec = importlib.util.spec_from_file_location("skelaug_bench_nn", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_run_checks_references(tmp_path: Path) -> None:
    bench = load_bench()
    threads = torch.get_num_threads()
    try:
        # main() asserts, before timing, that every reference matches the layer's output
        result = bench.main(["--quick", "--out", str(tmp_path / "nn.json")])
    finally:
        torch.set_num_threads(threads)
    names = [row["layer"] for row in result["results"]]
    assert names[:4] == [f"AdaptiveGraphConv[{m}]" for m in ("none", "offset", "attention", "channelwise")]
    assert {"TemporalConv[k=5, d=(1,2)]", "STGCNBlock[offset]", "STBalancedFusion"} <= set(names)
    on_disk = json.loads((tmp_path / "nn.json").read_text())
    assert on_disk["machine"]["torch"] == torch.__version__
    assert all("layer_ms" in row for row in on_disk["results"])

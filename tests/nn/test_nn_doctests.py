"""The docstring examples of skelaug.nn run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import skelaug.nn

MODULES = ["skelaug.nn"] + [
    f"skelaug.nn.{info.name}"
    for info in pkgutil.iter_modules(skelaug.nn.__path__)
    if not info.name.startswith("_")
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"


def test_every_public_layer_has_an_example() -> None:
    for name in (
        "AdaptiveGraphConv",
        "TemporalConv",
        "STGCNBlock",
        "STGCNEncoder",
        "STBalancedFusion",
        "BalancedLateFusion",
        "SequenceEncoder",
        "JointBatchNorm",
    ):
        doc = getattr(skelaug.nn, name).__doc__ or ""
        assert ">>>" in doc and "Shapes:" in doc, name

"""Every docstring example in the package runs (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import skelaug

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(skelaug.__path__, "skelaug.")
    if not m.name.endswith("__main__") and "numba_cuda" not in m.name
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"

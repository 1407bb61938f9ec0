"""Shared fixtures of the reference-model tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from _mg_common import TINY


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run the test with one torch intra-op thread (small tensors; steady under ``pytest -n 2``)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_data() -> Any:
    """The tiny config's datasets, built once per test session."""
    from reference_models.mg_contrastive.config import load_config
    from reference_models.mg_contrastive.data import build_datasets

    return build_datasets(load_config(TINY).data)

"""Shared test configuration: hypothesis profile and the location of the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The folder with the real third-party data (override with SKELAUG_SHARED)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} not found; set SKELAUG_SHARED to its location")
    return SHARED

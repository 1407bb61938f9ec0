"""Sphinx configuration for skelaug. Tables that describe code are generated from the code at build time."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import skelaug  # noqa: E402

project = "skelaug"
author = "skelaug developers"
release = skelaug.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated"]
html_theme = "alabaster"
nitpicky = False
suppress_warnings = ["autosummary.import_cycle"]


def _write_generated(app: object) -> None:
    from docs_tables import write_tables

    write_tables(Path(__file__).resolve().parent / "_generated")


sys.path.insert(0, str(Path(__file__).resolve().parent))


def setup(app: object) -> None:
    app.connect("builder-inited", _write_generated)  # type: ignore[attr-defined]

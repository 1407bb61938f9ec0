"""Sphinx configuration for skelaug. Tables that describe code are generated from the code at build time."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

import skelaug  # noqa: E402

# Tutorials and the gallery read the real fixtures from the shared data folder beside the checkout.
os.environ.setdefault("SKELAUG_SHARED", str(ROOT.parent / "shared"))

project = "skelaug"
author = "skelaug developers"
release = skelaug.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]
sphinx_gallery_conf = {
    "examples_dirs": "tutorials_src",
    "gallery_dirs": "tutorials",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",     # plot_01, plot_02, ...: the reading order
}
# Links to NumPy, PyTorch and PyG need their inventories from the web; builds without network (CI, this
# project's machines) leave them out. Set SKELAUG_DOCS_INTERSPHINX=1 where the network is reachable.
if os.environ.get("SKELAUG_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "torch_geometric": ("https://pytorch-geometric.readthedocs.io/en/latest", None),
    }
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "tutorials_src"]
html_theme = "alabaster"
nitpicky = False
suppress_warnings = ["autosummary.import_cycle"]


def _write_generated(app: object) -> None:
    from docs_tables import write_tables

    write_tables(Path(__file__).resolve().parent / "_generated")


sys.path.insert(0, str(Path(__file__).resolve().parent))


def _check_api_reference(app: object, exception: object) -> None:
    """Fail the build when a public symbol is missing from the API reference."""
    if exception is not None:
        return
    from docs_tables import missing_from_reference

    env = app.env  # type: ignore[attr-defined]
    documented = set(env.get_domain("py").objects) | set(env.get_domain("py").modules)
    missing = missing_from_reference(documented)
    if missing:
        raise RuntimeError(f"public symbols missing from the API reference: {', '.join(missing)}")


def setup(app: object) -> None:
    app.connect("builder-inited", _write_generated)  # type: ignore[attr-defined]
    app.connect("build-finished", _check_api_reference)  # type: ignore[attr-defined]

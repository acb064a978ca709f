"""Sphinx configuration of fastnn's documentation site.

Build it from the repository root with the package importable (installed, or
built in place and on PYTHONPATH):

    sphinx-build -W --keep-going -b html docs /tmp/site

The API pages are generated from the docstrings (autodoc, autosummary), which
are written in numpydoc's format; numpydoc renders them and validates their
sections. The prose pages are Markdown (MyST).
"""

import sphinx.util.inspect

import fastnn

project = "fastnn"
author = "the fastnn authors"
copyright = "the fastnn authors"
release = fastnn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# sklearn.md and coursework.md are written to be read on their own (they start at
# a second-level heading); the site includes them under a title of its own.
exclude_patterns = ["_build"]

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# the API reference: one page per module, members in source order
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
# the signatures show the annotations; the Parameters sections describe them
autodoc_typehints = "signature"
# numpy.typing's aliases by their names, not expanded into the unions they stand for
autodoc_type_aliases = {"ArrayLike": "numpy.typing.ArrayLike", "DTypeLike": "numpy.typing.DTypeLike",
                        "NDArray": "numpy.typing.NDArray"}
# Inside another type (Sequence[ArrayLike], tuple[ArrayLike, ...]) Sphinx writes such an alias
# with the repr of its placeholder, "TypeAliasForwardRef('numpy.typing.ArrayLike')": the
# placeholder's repr is the alias's name instead.
sphinx.util.inspect.TypeAliasForwardRef.__repr__ = lambda self: self.name  # type: ignore[method-assign]
autodoc_typehints_format = "short"

# numpydoc: the class pages list their methods through autodoc, not again
# through numpydoc's autosummary tables
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


html_theme = "alabaster"
html_title = f"fastnn {release}"


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out the set_*_request methods scikit-learn adds to every estimator class:
    scikit-learn documents them, and their docstrings refer to its own glossary."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)

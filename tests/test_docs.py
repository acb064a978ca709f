"""The API's docstrings: numpydoc sections that help() shows, covering every parameter.

`help()` renders what pydoc.render_doc returns, so the tests read that text.
The sections are parsed here (a numpydoc section is a title line underlined
with dashes; a parameter entry is an unindented ``name : type`` line, several
names separated by commas), which keeps numpydoc itself out of the test
dependencies; the documentation build (.ci/run) renders the same docstrings
with numpydoc and fails on a malformed one.
"""

from __future__ import annotations

import importlib
import inspect
import pydoc
import re

import pytest

import fastnn
from fastnn import optim
from fastnn._ops import ACTIVATIONS

# the modules of the API reference; __all__ lists each one's public names
MODULES = ["ops", "reference", "columns", "layers", "losses", "optim", "init", "schedules", "callbacks", "model",
           "sklearn", "coursework", "diagnostics", "data", "io", "classic"]


def sections(doc: str) -> dict[str, list[str]]:
    """{section title: its lines} of a cleaned docstring ("" holds the summary part)."""
    lines = doc.splitlines()
    out: dict[str, list[str]] = {"": []}
    title = ""
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].strip() and set(lines[i + 1].strip()) == {"-"} \
                and len(lines[i + 1].strip()) == len(lines[i].strip()):
            title = lines[i].strip()
            out[title] = []
            i += 2
            continue
        out[title].append(lines[i])
        i += 1
    return out


def documented_parameters(doc: str) -> set[str]:
    """The names the Parameters section describes."""
    text = "\n".join(sections(doc).get("Parameters", [])).replace("\\\n", " ")
    names: set[str] = set()
    for line in text.splitlines():
        if line and not line[0].isspace():
            for name in line.split(" : ")[0].split(","):
                names.add(name.strip().lstrip("*"))
    return names


def signature_parameters(obj) -> list[str]:
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def public_objects():
    """(qualified name, object) of every public function, class and method of the API modules."""
    for module_name in MODULES:
        module = importlib.import_module(f"fastnn.{module_name}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            yield f"fastnn.{module_name}.{name}", obj
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__call__":
                        continue
                    if isinstance(member, property) or callable(member):
                        yield f"fastnn.{module_name}.{name}.{attr}", getattr(obj, attr)
    for name in ("set_num_threads", "get_num_threads", "build_info"):
        yield f"fastnn.{name}", getattr(fastnn, name)


HELP_PAGES = [fastnn.MLP, fastnn.Sequential, fastnn.Sequential.fit, fastnn.ops.linear_forward,
              optim.Optimizer, optim.SGD, optim.AdaGrad, optim.RMSProp, optim.Adam]


@pytest.mark.parametrize("obj", HELP_PAGES, ids=lambda o: o.__qualname__)
def test_help_shows_a_numpydoc_parameters_section(obj):
    page = pydoc.render_doc(obj, renderer=pydoc.plaintext)
    assert re.search(r"^\s*(\|\s*)?Parameters\n\s*(\|\s*)?-{10}$", page, re.MULTILINE), page[:2000]
    missing = [p for p in signature_parameters(obj) if p not in documented_parameters(inspect.getdoc(obj))]
    assert not missing, f"help({obj.__qualname__}) does not describe {missing}"


def test_help_of_mlp_lists_the_activations_initialisers_and_fit():
    page = pydoc.render_doc(fastnn.MLP, renderer=pydoc.plaintext)
    for activation in ACTIVATIONS:
        assert activation in page, activation
    for init in fastnn.init.NAMES:
        assert init in page, init
    assert "fit(" in page


def test_kernel_pairs_share_one_docstring():
    for name in fastnn.reference.__all__:
        ops_doc = inspect.getdoc(getattr(fastnn.ops, name))
        reference_doc = inspect.getdoc(getattr(fastnn.reference, name))
        summary, _, body = reference_doc.partition("\n\n")
        assert ops_doc.startswith(summary + "\n\nThe compiled kernel: "), name
        for title, lines in sections(body).items():
            if title and title != "Examples":
                assert "\n".join(lines).strip() in ops_doc, (name, title)


@pytest.mark.parametrize("qualname, obj", list(public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_api_is_documented(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"{qualname} has no docstring"
    if isinstance(obj, property):
        return
    missing = [p for p in signature_parameters(obj) if p not in documented_parameters(doc)]
    assert not missing, f"{qualname}'s docstring does not describe {missing}"


def test_docstrings_name_no_issue_or_lecture_file():
    pattern = re.compile(r"\bissue \d+|\bseed \d{3}\b|#\d+\b", re.IGNORECASE)
    for qualname, obj in public_objects():
        assert not pattern.search(inspect.getdoc(obj) or ""), qualname
    for module_name in MODULES:
        module = importlib.import_module(f"fastnn.{module_name}")
        assert not pattern.search(module.__doc__ or ""), module_name

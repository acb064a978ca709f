"""The public API is annotated: every parameter and every return of every public callable.

mypy checks the bodies of annotated functions only, and Sphinx shows the annotations in the
signatures it renders, so a public function left unannotated is both unchecked and shown
bare. "Public" is what ``__all__`` lists, in ``fastnn`` and in each public module, with the
methods and properties of the classes listed (inherited ones included, when fastnn defines
them; scikit-learn's own, such as ``get_params``, are scikit-learn's to type).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

# the public modules; each one's __all__ lists its public names
MODULES = ["fastnn", "fastnn.ops", "fastnn.reference", "fastnn.columns", "fastnn.layers", "fastnn.losses",
           "fastnn.optim", "fastnn.init", "fastnn.schedules", "fastnn.callbacks", "fastnn.model", "fastnn.sklearn",
           "fastnn.coursework", "fastnn.diagnostics", "fastnn.data", "fastnn.io", "fastnn.classic", "fastnn.plot"]

# dunder methods that are part of the API (called as obj(...) or ClassName(...))
PUBLIC_DUNDERS = ("__init__", "__call__")


def missing_annotations(func: Any) -> list[str]:
    """The parameters (and "return") of ``func`` that have no annotation.

    ``__init__`` may leave its return out: it returns None by definition.
    """
    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty and func.__name__ != "__init__":
        missing.append("return")
    return missing


def _defined_by_fastnn(member: Any) -> bool:
    return str(getattr(member, "__module__", "") or "").split(".")[0] == "fastnn"


def public_callables() -> Iterator[tuple[str, Any]]:
    """(qualified name, function) of every public function, method and property getter."""
    seen: set[int] = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if not inspect.isclass(obj):
                yield f"{module_name}.{name}", obj
                continue
            for attr in dir(obj):
                if attr.startswith("_") and attr not in PUBLIC_DUNDERS:
                    continue
                static = inspect.getattr_static(obj, attr)
                member = static.fget if isinstance(static, property) else getattr(obj, attr)
                if not callable(member) or not _defined_by_fastnn(member) or id(member) in seen:
                    continue
                seen.add(id(member))
                yield f"{module_name}.{name}.{attr}", member


PUBLIC = list(public_callables())


def test_the_walk_finds_the_api():
    names = {qualname for qualname, _ in PUBLIC}
    for expected in ("fastnn.Sequential.fit", "fastnn.Sequential.__init__", "fastnn.MLP",
                     "fastnn.callbacks.Callback.on_epoch_end", "fastnn.History.plot",
                     "fastnn.sklearn.MLPClassifier.fit", "fastnn.sklearn.MLPRegressor.partial_fit",
                     "fastnn.sklearn.MLPClassifier.coefs_", "fastnn.coursework.compute_gradients",
                     "fastnn.plot.history", "fastnn.diagnostics.probe_round_trip", "fastnn.thread_report",
                     "fastnn.schedules.Cyclical.__call__"):
        assert expected in names, expected
    # scikit-learn's inherited methods are its own
    assert "fastnn.sklearn.MLPClassifier.get_params" not in names


def test_missing_annotations_are_found():
    def bare(x, y: int, *args, **kwargs):
        pass

    def annotated(x: int, *args: Any, **kwargs: Any) -> None:
        pass

    assert missing_annotations(bare) == ["x", "args", "kwargs", "return"]
    assert missing_annotations(annotated) == []


@pytest.mark.parametrize("qualname, func", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_public_callable_is_annotated(qualname, func):
    missing = missing_annotations(func)
    assert not missing, f"{qualname} has no annotation on {missing}"

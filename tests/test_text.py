"""fastnn/_text.py: the wording of messages and printed output."""

from __future__ import annotations

import pytest

from fastnn import _text


@pytest.mark.parametrize("noun, phrase", [("Optimizer", "an Optimizer"), ("Loss", "a Loss"),
                                          ("Initializer", "an Initializer"), ("Callback", "a Callback"),
                                          ("Engine", "an Engine"), ("Updater", "an Updater")])
def test_with_article_picks_a_or_an(noun, phrase):
    assert _text.with_article(noun) == phrase


@pytest.mark.parametrize("n, phrase", [(0, "0 threads"), (1, "1 thread"), (2, "2 threads")])
def test_count_is_singular_only_for_one(n, phrase):
    assert _text.count(n, "thread") == phrase


@pytest.mark.parametrize("seconds, text", [(8.5e-4, "850 µs"), (0.0312, "31.2 ms"), (0.0004, "400 µs"),
                                           (1.482, "1.48 s"), (12.34, "12.3 s"), (125.2, "2 min 5 s")])
def test_duration_keeps_three_significant_digits_in_a_fitting_unit(seconds, text):
    assert _text.duration(seconds) == text


def test_a_type_error_names_an_optimizer_with_its_article():
    import fastnn

    with pytest.raises(TypeError, match="optimizer must be an Optimizer or one of"):
        fastnn.optim.get(3)
    with pytest.raises(ValueError, match="loss must be a Loss or one of"):
        fastnn.losses.get("hinge")


def test_install_hints_name_what_pip_can_find(monkeypatch):
    """fastnn installs from its source folder: a hint names the missing package, then the source install's extra."""
    import sys

    from fastnn import _plotting, data

    assert _plotting.INSTALL_HINT.startswith("pip install matplotlib") and "fastnn-mlp" not in _plotting.INSTALL_HINT
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError) as info:
        data.load_digits()
    assert "pip install scikit-learn" in str(info.value) and "'.[datasets]'" in str(info.value)
    assert "fastnn-mlp" not in str(info.value)

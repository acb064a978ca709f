"""fastnn/bench/report.py: the tables of `fastnn bench`.

The numbers here are made up: these tests check the layout and the marks, not
any timing.
"""

from __future__ import annotations

from fastnn.bench import report
from fastnn.bench.kernels import Case
from fastnn.bench.timing import Result
from fastnn.bench.training import TrainCase

SMALL_TRAINING = TrainCase((12, 9, 4), True, 37, 8)


def test_format_table_aligns_names_left_and_numbers_right():
    text = report.format_table(["kernel", "c µs"], [["relu", "1.5"], ["softmax", "12.25"]])
    assert text.splitlines() == [
        "kernel    c µs",
        "-------  -----",
        "relu       1.5",
        "softmax  12.25",
    ]


def test_the_kernel_table_has_gflops_only_with_a_matrix_product(capsys):
    def result(case):
        return Result(case, "float32", {"c": 1e-3, "numpy": 2e-3}, {"c": (1e-3, 1e-3), "numpy": (2e-3, 2e-3)}, 5)

    report.print_results("float32", [result(Case("batchnorm", (256, 512)))])
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("kernel"))
    assert header.split() == ["kernel", "size", "c", "µs", "numpy", "µs", "numpy/c"]
    report.print_results("float32", [result(Case("linear_forward", (100, 3072, 50))),
                                     result(Case("batchnorm", (256, 512)))])
    lines = capsys.readouterr().out.splitlines()
    assert "c GFLOP/s" in next(line for line in lines if line.startswith("kernel"))
    [batchnorm] = [line.split() for line in lines if line.startswith("batchnorm")]
    assert batchnorm[:3] == ["batchnorm", "fwd+bwd", "256x512"]
    assert batchnorm[3:] == ["1000", "2000", "-", "-", "2.00x"]


def test_noisy_training_times_are_marked(capsys):
    def result(c_quartiles):
        seconds = {"c": 0.5, "numpy": 0.25}
        return Result(SMALL_TRAINING, "float32", seconds, {"c": c_quartiles, "numpy": (0.24, 0.26)}, 5)

    report.print_results("float32", [result((0.48, 0.52))])
    assert "*" not in capsys.readouterr().out
    report.print_results("float32", [result((0.45, 0.75))])  # spread 0.3 s on a median of 0.5 s
    out = capsys.readouterr().out
    assert "500.0*" in out and "250.0*" not in out and "the machine was probably busy" in out

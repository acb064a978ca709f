"""fastnn/bench/report.py: the tables of `fastnn bench`.

The numbers here are made up: these tests check the layout and the marks, not
any timing.
"""

from __future__ import annotations

from fastnn.bench import report, timing
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
        r = Result(SMALL_TRAINING, "float32", seconds, {"c": c_quartiles, "numpy": (0.24, 0.26)}, 5)
        r.assess()
        return r

    report.print_results("float32", [result((0.48, 0.52))])
    out = capsys.readouterr().out
    assert "1 case, none marked *" in out and "500.0 " in out + " " and "500.0*" not in out
    report.print_results("float32", [result((0.45, 0.75))])  # spread 0.3 s on a median of 0.5 s
    out = capsys.readouterr().out
    assert "500.0*" in out and "250.0*" not in out and "0.50x*" in out
    assert "1 case, 1 marked *" in out and "samples spread 60% of the median" in out


def synthetic(case, samples, probes=None):
    return Result.from_samples(case, "float32", samples, probes)


def test_an_eight_row_product_at_500x_is_marked_with_its_reason(capsys):
    """Every NumPy sample slowed alike (a core held elsewhere): no spread, but its probe ran far above its floor."""
    case = Case("linear_forward", (8, 784, 512), group="scaling")
    floors = timing.ProbeFloors()
    floors.observe({"c": [25e-6, 26e-6], "numpy": [47e-6, 50e-6]})
    slow = synthetic(case, {"c": [47e-6, 46e-6, 48e-6, 47e-6, 47e-6], "numpy": [0.024, 0.0241, 0.0239, 0.024, 0.024]},
                     {"c": [25e-6] * 5, "numpy": [0.024] * 5})
    assert slow.speedup("numpy") > 500
    slow.assess(floors)
    assert set(slow.untrusted) == {"numpy"} and "above its quiet floor" in slow.untrusted["numpy"]
    report.print_results("float32", [slow])
    out = capsys.readouterr().out
    [row] = [line.split() for line in out.splitlines() if line.startswith("8 ")]
    assert row[1] == "47.0" and row[2] == "24000*" and row[-1].endswith("x*")
    assert "1 case, 1 marked *" in out
    assert "linear_forward 8x784->512, numpy (measured 1 times)" not in out  # a count reads as a count
    assert "linear_forward 8x784->512, numpy (measured once)" in out


def test_the_summary_counts_the_marked_and_the_remeasured(capsys):
    quiet = synthetic(Case("batchnorm", (256, 512)), {"c": [1.0, 1.01, 0.99], "numpy": [2.0, 2.02, 1.98]})
    noisy = synthetic(Case("softmax_cross_entropy", (256, 10)), {"c": [1.0, 1.0, 1.0], "numpy": [1.0, 3.0, 9.0]})
    for r in (quiet, noisy):
        r.assess()
    noisy.attempts = 3
    report.print_summary([quiet, noisy])
    assert capsys.readouterr().out == "fastnn bench: 2 results, 1 measured again, 1 marked *; compare marked " \
        "figures only after a quieter run (or with --threads 1)\n"

"""The `fastnn` command line (fastnn/__main__.py): `info` and `bench`.

Timings are never checked (the machine is shared and noisy); these tests check
that the commands run, print their tables, write valid JSON and plots, refuse
bad options with the help text, and work with and without PyTorch. Runs are
kept short with --cases (one small case), --rounds and --seconds.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile

import pytest

import fastnn
from fastnn import __main__ as cli
from fastnn import bench
from fastnn.bench import machine

SMALL = ["--cases", "softmax_cross_entropy 256x10", "--rounds", "2", "--seconds", "0"]


def run(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_torch(monkeypatch):
    """Make `import torch` fail, as on an install without PyTorch."""
    monkeypatch.setitem(sys.modules, "torch", None)
    assert machine.import_torch() is None


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


# ------------------------------------------------------------------ info

def test_info_prints_build_facts_and_a_timing_table(capsys, monkeypatch, thread_count):
    monkeypatch.setattr(cli, "INFO_CASES", [("softmax_cross_entropy", (256, 10), None)])
    code, out, _ = run(capsys, "info", "--threads", "1", "--dtype", "float64")
    assert code == 0
    assert "Build (fastnn.build_info())" in out and "simd:" in out
    assert "float64, 1 fastnn thread," in out
    assert "softmax_cross_entropy" in out and "speed-up vs numpy" in out


def test_info_prints_the_thread_probes(capsys, monkeypatch, thread_count):
    monkeypatch.setattr(cli, "INFO_CASES", [("softmax_cross_entropy", (256, 10), None)])
    monkeypatch.setattr(cli, "PROBE_ROUNDS", 1)
    monkeypatch.setattr(cli, "PROBE_STEPS", 2)
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert "round trip of a cache line between two cores:" in out
    assert "training step of [3072, 50, 50, 10] bn float32 B=100: 1 thread" in out
    lines = out.splitlines()
    step = next(i for i, line in enumerate(lines) if "training step of" in line)
    assert any(word in lines[step + 1] for word in ("faster than one", "slower than one", "one CPU"))


def test_info_with_one_cpu_says_so(capsys, monkeypatch, thread_count):
    from fastnn import diagnostics

    monkeypatch.setattr(cli, "INFO_CASES", [("softmax_cross_entropy", (256, 10), None)])
    monkeypatch.setattr(cli, "PROBE_ROUNDS", 1)
    monkeypatch.setattr(cli, "PROBE_STEPS", 1)
    monkeypatch.setattr(diagnostics, "probe_round_trip", lambda *a, **k: None)
    monkeypatch.setattr(diagnostics, "allowed_cpus", lambda: 1)
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert "not measured, 1 CPU available" in out
    assert "1 thread" in out and "2 threads" not in out
    assert "one CPU available: fastnn trains on one thread here" in out


# ------------------------------------------------------------------ bench

def table_rows(out, first_cell):
    return [line.split() for line in out.splitlines() if line.startswith(first_cell)]


def test_bench_without_torch_times_c_and_numpy(capsys, no_torch):
    code, out, err = run(capsys, "bench", "--quick", "--dtype", "float32", *SMALL)
    assert code == 0, err
    assert "PyTorch not importable" in out
    header = next(line for line in out.splitlines() if line.startswith("kernel"))
    assert header.split() == ["kernel", "size", "c", "µs", "numpy", "µs", "numpy/c"]
    [row] = table_rows(out, "softmax_cross_entropy")
    assert row[1] == "256x10"
    # a time the harness could not trust (the machine is shared) carries a "*"
    c_us, numpy_us, ratio = float(row[2].rstrip("*")), float(row[3].rstrip("*")), row[4].rstrip("*")
    assert c_us > 0 and numpy_us > 0
    assert ratio.endswith("x") and math.isclose(float(ratio[:-1]), numpy_us / c_us, rel_tol=0.05, abs_tol=0.01)
    assert "float32: 1 case, " in out and "fastnn bench: 1 result, " in out
    assert "float64" not in out


def test_bench_with_torch_adds_a_column_and_uses_the_same_threads(capsys, torch, thread_count):
    torch.set_num_threads(2)
    fastnn.set_num_threads(2)
    code, out, err = run(capsys, "bench", "--quick", "--threads", "1", *SMALL)
    assert code == 0, err
    assert f"PyTorch {torch.__version__}" in out
    assert "threads: fastnn 1, torch 1" in out
    assert "torch/c" in out
    rows = table_rows(out, "softmax_cross_entropy")
    assert len(rows) == 2  # float32 and float64 (the default: both)
    assert all(len(row) == 2 + 3 + 2 for row in rows)  # kernel, size, 3 times, 2 speed-ups
    # the settings of the calling session are put back
    assert fastnn.get_num_threads() == 2 and torch.get_num_threads() == 2


def test_bench_shows_gflops_for_matrix_products_and_the_scaling_table(capsys, no_torch):
    code, out, err = run(capsys, "bench", "--dtype", "float32", "--cases", "linear_forward 8x784",
                         "--rounds", "2", "--seconds", "0")
    assert code == 0, err
    # the only case is a scaling-table row, so only the scaling table is printed
    assert "float32: linear_forward 784->512 against the batch size N" in out
    assert "c GFLOP/s" in out
    [row] = table_rows(out, "8 ")
    assert float(row[3].rstrip("*")) > 0  # c's GFLOP/s


def test_bench_json_has_every_number_and_the_machine(capsys, tmp_path, thread_count):
    fastnn.set_num_threads(2)
    path = tmp_path / "bench.json"
    code, _, err = run(capsys, "bench", "--quick", "--threads", "1", *SMALL, "--json", str(path))
    assert code == 0, err
    record = json.loads(path.read_text())
    assert {"settings", "threads", "build", "cpu", "versions", "backends", "results",
            "fused_dense_forward", "load_average_at_start", "thread_pool_environment"} <= set(record)
    assert record["build"]["simd"] == fastnn.build_info()["simd"]
    assert record["build"]["max_threads"] == record["threads"]["fastnn"] == 1
    assert record["versions"]["fastnn"] == fastnn.__version__
    assert record["cpu"]["cpu_count"] == os.cpu_count()
    assert record["settings"]["min_rounds"] == 2 and record["settings"]["quick"] is True
    assert [r["dtype"] for r in record["results"]] == ["float32", "float64"]
    backends = set(record["backends"])
    for result in record["results"]:
        assert result["case"] == "softmax_cross_entropy 256x10"
        assert result["shape"] == [256, 10] and result["flops"] is None and result["gflops"] is None
        assert set(result["seconds"]) == backends
        assert all(0 < s < 1 for s in result["seconds"].values())
        assert result["rounds"] >= 2
        for backend, (low, high) in result["seconds_quartiles"].items():
            assert low <= result["seconds"][backend] <= high
        assert set(result["speedup"]) == {f"{b}/c" for b in backends - {"c"}}
        for key, value in result["speedup"].items():
            other = key.split("/")[0]
            assert math.isclose(value, result["seconds"][other] / result["seconds"]["c"])


def test_bench_json_gflops_of_a_matrix_product(capsys, tmp_path, no_torch):
    path = tmp_path / "bench.json"
    code, _, err = run(capsys, "bench", "--dtype", "float64", "--cases", "linear_backward 100x3072",
                       "--rounds", "2", "--seconds", "0", "--json", str(path))
    assert code == 0, err
    [result] = json.loads(path.read_text())["results"]
    assert result["flops"] == 2 * 2 * 100 * 3072 * 50
    for backend, gflops in result["gflops"].items():
        assert math.isclose(gflops, result["flops"] / result["seconds"][backend] / 1e9)


def test_bench_plot_writes_an_image(capsys, tmp_path, no_torch):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    code, out, err = run(capsys, "bench", "--dtype", "float32", *SMALL, "--plot", str(path))
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {path}" in out


def test_bench_plot_without_matplotlib_fails_clearly_before_timing(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = tmp_path / "bench.png"
    code, out, err = run(capsys, "bench", *SMALL, "--plot", str(path))
    assert code == 1
    assert "--plot needs matplotlib" in err and "pip install matplotlib" in err
    assert out == "" and not path.exists()


def test_bench_refuses_an_output_path_in_a_missing_folder(capsys, tmp_path):
    code, out, err = run(capsys, "bench", *SMALL, "--json", str(tmp_path / "missing" / "b.json"))
    assert code == 2 and "does not exist" in err and out == ""


def test_bench_cases_that_match_nothing_list_the_cases(capsys):
    code, out, err = run(capsys, "bench", "--cases", "no such kernel")
    assert code == 2 and out == ""
    assert "no case name contains 'no such kernel'" in err
    assert all(case.name in err for case in bench.all_cases())


@pytest.mark.parametrize("argv", [
    ["bench", "--dtype", "float16"],
    ["bench", "--threads", "0"],
    ["bench", "--threads", "two"],
    ["bench", "--seconds", "-1"],
    ["bench", "--rounds", "0"],
    ["bench", "--no-such-option"],
    ["info", "--dtype", "both"],
    ["no-such-command"],
])
def test_bad_options_exit_2_with_the_help(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert "usage: fastnn" in err and "error:" in err
    assert "--threads" in err or "COMMAND" in err  # the full help, not just the usage line


def test_a_bare_fastnn_prints_the_full_help_and_exits_0(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: fastnn") and "bench" in out and "info" in out and "--version" in out


def test_version_prints_the_installed_version(capsys, monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: {"fastnn-mlp": "9.8.7"}[name])
    code, out, err = run(capsys, "--version")
    assert code == 0 and out == "fastnn 9.8.7\n" and err == ""


def test_version_falls_back_to_the_package_version_in_a_source_tree(capsys, monkeypatch):
    from importlib import metadata

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"fastnn {fastnn.__version__}\n"


def test_the_fastnn_command_prints_its_version_and_bare_help_in_a_fresh_interpreter():
    # from outside the source tree, so that an installed fastnn is not shadowed by it
    version = subprocess.run([sys.executable, "-m", "fastnn", "--version"], capture_output=True, text=True,
                             timeout=60, cwd=tempfile.gettempdir())
    assert version.returncode == 0 and version.stdout.startswith("fastnn ") and version.stdout.count("\n") == 1
    bare = subprocess.run([sys.executable, "-m", "fastnn"], capture_output=True, text=True, timeout=60,
                          cwd=tempfile.gettempdir())
    assert bare.returncode == 0 and "usage: fastnn" in bare.stdout and "COMMAND" in bare.stdout


def test_python_dash_m_fastnn_bench_runs_in_a_fresh_interpreter():
    """The module entry point, from outside the source tree (the installed package)."""
    out = subprocess.run([sys.executable, "-m", "fastnn", "bench", "--quick", "--dtype", "float32", *SMALL],
                         capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr
    assert "softmax_cross_entropy  256x10" in out.stdout


def test_the_bench_command_sets_every_idle_pool_to_a_short_spin_but_keeps_the_users_choice():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT")}
    env["GOMP_SPINCOUNT"] = "777"
    out = subprocess.run([sys.executable, "-m", "fastnn", "bench", "--quick", "--dtype", "float32",
                          "--cases", "softmax_cross_entropy 256x10"],
                         capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir(), env=env)
    assert out.returncode == 0, out.stderr
    assert "idle thread pools: OPENBLAS_THREAD_TIMEOUT=20, GOMP_SPINCOUNT=777" in out.stdout

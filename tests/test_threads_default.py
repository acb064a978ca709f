"""The default thread count: the affinity mask, one thread per physical core where
sysfs reports SMT siblings, the cgroup CPU quota; OMP_NUM_THREADS and
set_num_threads override it. The topology and cgroup files are faked through
FASTNN_SYSFS_ROOT in fresh interpreters, which choose their count at first use."""

import json
import os
import subprocess
import sys
import tempfile

import pytest

import fastnn
from fastnn import _ops

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs Linux affinity")

CPUS = sorted(os.sched_getaffinity(0))


@pytest.mark.parametrize("allowed, cores, quota, expected", [
    (64, 0, 0.0, 64),      # nothing but the mask known
    (64, 32, 0.0, 32),     # two SMT siblings per core
    (64, 32, 2.0, 2),      # a container limited to 2 CPUs on a large host
    (64, 0, 1.5, 2),       # a fractional quota rounds up
    (4, 0, 0.25, 1),       # a quota below one CPU still runs one thread
    (4, 4, 16.0, 4),       # a quota above the mask does not add threads
    (2, 8, 0.0, 2),        # cores are counted among the allowed CPUs only
    (0, 0, 0.0, 1),        # an unknown mask still gives one thread
])
def test_default_threads_decision(allowed, cores, quota, expected):
    assert _ops.default_threads(allowed, cores, quota) == expected


def _write(root, path, text):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as fh:
        fh.write(text + "\n")


def _fake_root(tmp_path, siblings=None, cgroup=None, files=()):
    """A directory mirroring /sys and /proc: siblings maps each CPU to its
    thread_siblings_list text, cgroup is /proc/self/cgroup's text, files more paths."""
    root = str(tmp_path / "root")
    os.makedirs(root, exist_ok=True)
    for cpu, text in (siblings or {}).items():
        _write(root, f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list", text)
    _write(root, "/proc/self/cgroup", cgroup or "0::/")
    for path, text in files:
        _write(root, path, text)
    return root


def _threads_in_child(root, env=None, affinity=None, then_set=None):
    code = (
        "import os, json\n"
        + (f"os.sched_setaffinity(0, {sorted(affinity)!r})\n" if affinity else "")
        + "import fastnn\n"
        "out = {'default': fastnn.get_num_threads()}\n"
        + (f"fastnn.set_num_threads({then_set})\nout['set'] = fastnn.get_num_threads()\n" if then_set else "")
        + "print(json.dumps(out))\n"
    )
    child_env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    child_env["FASTNN_SYSFS_ROOT"] = root
    child_env.update(env or {})
    # from outside the source tree, so that an installed fastnn is not shadowed by it
    done = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True, text=True,
                          timeout=120, cwd=tempfile.gettempdir())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


needs_openmp = pytest.mark.skipif(not fastnn.build_info()["openmp"], reason="serial build: always 1")


@needs_openmp
def test_no_topology_no_quota_uses_the_affinity_mask(tmp_path):
    assert _threads_in_child(_fake_root(tmp_path))["default"] == len(CPUS)


@needs_openmp
def test_smt_siblings_count_once(tmp_path):
    # every allowed CPU reports the first one as its sibling: one physical core
    first = CPUS[0]
    siblings = {cpu: f"{first},{cpu}" if cpu != first else f"{first}" for cpu in CPUS}
    assert _threads_in_child(_fake_root(tmp_path, siblings))["default"] == 1


@needs_openmp
def test_cpus_without_siblings_each_count(tmp_path):
    siblings = {cpu: str(cpu) for cpu in CPUS}
    assert _threads_in_child(_fake_root(tmp_path, siblings))["default"] == len(CPUS)


@needs_openmp
@pytest.mark.parametrize("cpu_max, expected", [("max 100000", None), ("100000 100000", 1),
                                               ("50000 100000", 1)])
def test_cgroup_v2_quota(tmp_path, cpu_max, expected):
    root = _fake_root(tmp_path, cgroup="0::/box/job", files=[("/sys/fs/cgroup/box/job/cpu.max", cpu_max)])
    assert _threads_in_child(root)["default"] == (expected or len(CPUS))


@needs_openmp
def test_cgroup_v2_quota_at_the_container_root(tmp_path):
    root = _fake_root(tmp_path, files=[("/sys/fs/cgroup/cpu.max", "100000 100000")])
    assert _threads_in_child(root)["default"] == 1


@needs_openmp
def test_cgroup_v1_cfs_quota(tmp_path):
    root = _fake_root(tmp_path, cgroup="3:cpu,cpuacct:/docker/abc\n0::/",
                      files=[("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "100000"),
                             ("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000")])
    assert _threads_in_child(root)["default"] == 1


@needs_openmp
def test_cgroup_v1_without_quota(tmp_path):
    root = _fake_root(tmp_path, files=[("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"),
                                       ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000")])
    assert _threads_in_child(root)["default"] == len(CPUS)


@needs_openmp
def test_affinity_mask_limits_threads(tmp_path):
    assert _threads_in_child(_fake_root(tmp_path), affinity={CPUS[0]})["default"] == 1


@needs_openmp
def test_omp_num_threads_and_set_num_threads_override(tmp_path):
    root = _fake_root(tmp_path, files=[("/sys/fs/cgroup/cpu.max", "100000 100000")])
    got = _threads_in_child(root, env={"OMP_NUM_THREADS": "3"}, then_set=5)
    assert got == {"default": 3, "set": 5}
    assert _threads_in_child(root, then_set=4) == {"default": 1, "set": 4}

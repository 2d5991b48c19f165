"""The cores the app's trainings share are those the process may use, not the host's: affinity, the cgroup's
CPU quota (v2 and v1 files, faked in a folder), a Space's ``CPU_CORES``; ``CHARLSTM_CORES`` overrides them all."""

import os
import subprocess
import sys

import pytest

from demo.server.limits import usable_cores
from tests.helpers import ROOT

AFFINITY = len(os.sched_getaffinity(0))


def cgroup_v2(tmp_path, line: str):
    (tmp_path / "cpu.max").write_text(line + "\n")
    return tmp_path


def cgroup_v1(tmp_path, quota: int, period: int = 100_000, folder: str = "cpu,cpuacct"):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (tmp_path / folder / "cpu.cfs_period_us").write_text(f"{period}\n")
    return tmp_path


def test_with_no_quota_and_no_space_the_cores_are_the_affinity(tmp_path):
    assert usable_cores({}, tmp_path) == AFFINITY
    assert usable_cores({}, cgroup_v2(tmp_path, "max 100000")) == AFFINITY


def test_a_cgroup_v2_quota_caps_the_cores_rounded_up(tmp_path):
    assert usable_cores({}, cgroup_v2(tmp_path, "100000 100000")) == 1
    assert usable_cores({}, cgroup_v2(tmp_path, "150000 100000")) == min(2, AFFINITY)
    assert usable_cores({}, cgroup_v2(tmp_path, "50000 100000")) == 1  # half a core still runs one thread
    assert usable_cores({}, cgroup_v2(tmp_path, "6400000 100000")) == AFFINITY  # a quota above the CPUs given


@pytest.mark.parametrize("folder", ["cpu", "cpu,cpuacct"])
def test_a_cgroup_v1_quota_caps_the_cores_and_minus_one_means_none(tmp_path, folder):
    assert usable_cores({}, cgroup_v1(tmp_path, 100_000, folder=folder)) == 1
    (tmp_path / folder / "cpu.cfs_quota_us").write_text("-1\n")
    assert usable_cores({}, tmp_path) == AFFINITY


def test_a_spaces_cpu_cores_caps_the_cores(tmp_path):
    assert usable_cores({"CPU_CORES": "1"}, tmp_path) == 1
    assert usable_cores({"CPU_CORES": "64"}, tmp_path) == AFFINITY  # the host's count is not believed


@pytest.mark.parametrize("value", ["two", "0", "-2", "1.5"])
def test_a_malformed_cpu_cores_is_refused_naming_the_setting(tmp_path, value):
    with pytest.raises(SystemExit, match=r"CPU_CORES must be a whole number of cores from 1 up"):
        usable_cores({"CPU_CORES": value}, tmp_path)


def test_charlstm_cores_overrides_the_count_and_cpu_cores_is_read_at_import():
    def cores(**env: str) -> int:
        environ = {k: v for k, v in os.environ.items() if k not in ("CPU_CORES", "CHARLSTM_CORES")} | env
        out = subprocess.run(
            [sys.executable, "-c", "from demo.server import limits; print(limits.CORES)"],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout)

    assert cores(CPU_CORES="1") == 1
    assert cores(CPU_CORES="1", CHARLSTM_CORES="6") == 6

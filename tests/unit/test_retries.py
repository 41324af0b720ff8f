"""Retries: more memory and time per attempt (capped), and no second try of a deterministic stop.

The joblog tests run a tiny job script in a subprocess (joblog.capture rewires stderr and the
excepthook of the whole process), the way Snakemake runs a rule's script.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prunesweep import retries
from prunesweep.config import ConfigError
from prunesweep.files import SchemaError

ROOT_SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_each_attempt_asks_for_attempt_times_the_config_up_to_the_cap():
    assert [retries.scaled(1440, k) for k in (1, 2, 3)] == [1440, 2880, 4320]
    assert [retries.scaled(1440, k, cap=2880) for k in (1, 2, 3)] == [1440, 2880, 2880]
    assert retries.scaled(4000, 0) == 4000  # Snakemake counts from 1; never less than one


def test_a_cap_below_the_first_request_is_a_config_error():
    retries.check_cap("resources.prune.max_runtime", 720, 720)
    retries.check_cap("resources.prune.max_runtime", 720, None)
    with pytest.raises(ConfigError, match=r"resources.prune.max_runtime: max \(600\) is below"):
        retries.check_cap("resources.prune.max_runtime", 720, 600)


def test_only_bad_inputs_and_settings_count_as_deterministic():
    assert isinstance(SchemaError("x"), retries.DETERMINISTIC)
    assert isinstance(ConfigError("x"), retries.DETERMINISTIC)
    for transient in (FileNotFoundError("x"), MemoryError(), RuntimeError("x")):
        assert not isinstance(transient, retries.DETERMINISTIC)


def test_marker_is_read_on_retries_only(tmp_path):
    log = str(tmp_path / "job.log")
    assert retries.earlier_stop(log, 2) is None
    retries.remember_stop(log, "prunesweep: prune stopped: bad file\n")
    assert retries.earlier_stop(log, 1) is None  # a new run tries for real
    assert retries.earlier_stop(log, 2) == "prunesweep: prune stopped: bad file"
    retries.forget_stop(log)
    retries.forget_stop(log)  # twice is fine
    assert retries.earlier_stop(log, 3) is None


JOB = textwrap.dedent(
    """
    import sys
    from prunesweep import joblog
    log, attempt, error = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    joblog.capture(log, attempt=attempt)
    print("working", file=sys.stderr)
    if error == "schema":
        from prunesweep.files import SchemaError
        raise SchemaError("network file x.nc cannot be read as NetCDF")
    if error == "missing":
        raise FileNotFoundError("no such file: x.nc")
    """
)


def run_job(tmp_path, attempt: int, error: str) -> subprocess.CompletedProcess:
    script = tmp_path / "tmpab12.prune.py"  # named as Snakemake names a rule's script
    script.write_text(JOB)
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "job.log"), str(attempt), error],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": ROOT_SRC, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_a_retry_repeats_a_deterministic_stop_without_working(tmp_path):
    first = run_job(tmp_path, 1, "schema")
    line = "prunesweep: prune stopped: network file x.nc cannot be read as NetCDF"
    assert first.returncode != 0 and first.stderr.strip() == line
    assert (tmp_path / "job.log.stopped").read_text().strip() == line

    retry = run_job(tmp_path, 2, "none")  # would succeed if it ran: it must not run
    assert retry.returncode == 1
    log = (tmp_path / "job.log").read_text()
    assert "working" not in log
    assert log.strip().startswith(line) and "(attempt 2 not run:" in log
    assert retry.stderr.strip() == log.strip()  # on the console too

    fresh = run_job(tmp_path, 1, "none")  # a new Snakemake run: attempt 1 works again
    assert fresh.returncode == 0, fresh.stderr
    assert "working" in (tmp_path / "job.log").read_text()
    assert not (tmp_path / "job.log.stopped").exists()


def test_a_missing_file_is_retried_for_real(tmp_path):
    assert run_job(tmp_path, 1, "missing").returncode != 0
    assert not (tmp_path / "job.log.stopped").exists()
    retry = run_job(tmp_path, 2, "none")
    assert retry.returncode == 0 and "working" in (tmp_path / "job.log").read_text()

"""Retries that cannot help are not tried: Snakemake for real, locally, with `--retries`.

Snakemake retries every failed job (the Slurm profile sets `retries: 2`). A job that stopped on a
bad input file stops the same way every time, so its retry must not do the work again
(prunesweep.retries, prunesweep.joblog): here a dataset that is not NetCDF stops `train_dense`,
and its retry stops at once with the same line, before TensorFlow is even imported. A new
Snakemake run then tries for real again. Each job gets its attempt through the `attempt`
resource, which the dry run shows for every job. (That a retry gets more time and memory, and
that the retry of a job that ran out of time succeeds, tests/workflow/test_slurm.py shows on a
real Slurm cluster.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.workflow.conftest import copy_project, snakemake

pytestmark = pytest.mark.workflow

CONFIG = "tests/config/robust.yaml"
DATASET = "results/data/moth.nc"
DENSE = "results/runs/moth/a/seed1/dense.nc"
LOG = "results/logs/train_dense/moth/a/seed1.log"
STOP = f"prunesweep: train_dense stopped: dataset file {DATASET}"


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "project")


def test_every_job_gets_its_attempt(project):
    proc = snakemake(project, "-n", "--cores", "1", "--configfile", CONFIG)
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", proc.stdout, re.M)
    assert jobs, proc.stdout[-2000:]
    missing = sorted({rule for rule, res in jobs if rule != "all" and "attempt=1" not in res})
    assert not missing, f"rules without the attempt resource: {missing}"


def test_retry_after_a_bad_input_stops_at_once(project):
    (project / DATASET).parent.mkdir(parents=True)
    (project / DATASET).write_text("not NetCDF\n")

    proc = snakemake(
        project, DENSE, "--cores", "1", "--retries", "2", "--configfile", CONFIG, check=False
    )

    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert output.count("Trying to restart job") == 2, output[-3000:]
    # attempt 1 stopped on the file; it left its reason next to the log
    marker = project / f"{LOG}.stopped"
    assert marker.read_text().startswith(STOP), marker.read_text()
    first = [line for line in output.splitlines() if line.startswith(STOP)]
    assert len(first) == 3, first  # once from attempt 1, then from each retry
    # attempts 2 and 3 said so and stopped before any work: the log holds that line only
    log = (project / LOG).read_text().strip().splitlines()
    assert len(log) == 1 and "(attempt 3 not run: an earlier attempt stopped on this" in log[0]
    assert log[0].startswith(STOP)
    assert not (project / DENSE).exists()

    # a new run is attempt 1: it reads the file again (and stops on it again, for real)
    proc = snakemake(project, DENSE, "--cores", "1", "--configfile", CONFIG, check=False)
    assert proc.returncode != 0
    log = (project / LOG).read_text().strip().splitlines()
    assert log[-1].startswith(STOP) and "not run" not in log[-1], log[-3:]

"""Run Snakemake for real on the tiny config, once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "config" / "tiny.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_project(dest: Path) -> Path:
    """A clean copy of the workflow (no results), so runs never touch the checkout."""
    for part in ("workflow", "rules", "scripts", "envs", "config", "report", "slurm", "tests"):
        if (ROOT / part).exists():
            shutil.copytree(
                ROOT / part,
                dest / part,
                ignore=shutil.ignore_patterns("__pycache__", "results", ".snakemake"),
            )
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1200):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [*SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny sweep, run once: returns the project copy holding results/."""
    workdir = copy_project(tmp_path_factory.mktemp("tiny"))
    proc = snakemake(workdir, "--cores", "2", "--configfile", str(TINY))
    (workdir / "snakemake.out").write_text(proc.stdout + proc.stderr)  # for the run's last line
    return workdir

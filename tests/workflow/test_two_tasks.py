"""Two tasks of one simulator under different names run side by side (the `simulator:` key picks
the plug-in, the task's name only names its files)."""

import pytest
import xarray as xr

from tests.workflow.conftest import copy_project, snakemake

pytestmark = pytest.mark.workflow


def test_two_moth_tasks_of_different_names(tmp_path):
    work = copy_project(tmp_path)
    snakemake(work, "--cores", "2", "--configfile", "tests/config/two_tasks.yaml")
    with (
        xr.open_dataset(work / "results/data/moth.nc") as short,
        xr.open_dataset(work / "results/data/moth_long.nc") as long,
    ):
        assert short.attrs["task"] == "moth" and long.attrs["task"] == "moth_long"
        assert short.attrs["horizon_s"] == 0.02 and long.attrs["horizon_s"] == 0.03
        # the same seed draws the same initial states; a longer flight ends elsewhere
        assert (short["initial_state"].values == long["initial_state"].values).all()
        assert (short["final_state"].values != long["final_state"].values).any()
        assert short.attrs["config_hash"] != long.attrs["config_hash"]
    for task, arch in (("moth", "a"), ("moth_long", "b")):
        with xr.open_dataset(work / f"results/summary/{task}/metrics.nc") as metrics:
            assert list(metrics["arch"].values) == [arch]
        assert (work / f"results/tables/{task}/answer.html").exists()

"""Files that prove their own integrity, on a real sweep (the tiny config's, shared: `tiny_run`).

A copy of the finished sweep is damaged the ways a hostile but realistic user would (issue 12):
a mask bit flipped 0 -> 1 and a NaN written into a live weight (both edited with xarray and
written back), level02.nc swapped between seed 1 and seed 2, one bit of a weight flipped on disk,
an attribute edited, a level re-sealed with another dense network's digest. Then:

1. `python -m prunesweep.verify` (and `snakemake verify`) name exactly those files, one line each
   with the `--forcerun` that remakes it, and find nothing wrong with the untouched sweep;
2. the sweep run again stops every job that reads a damaged file, naming that file;
3. the `--forcerun`s the lines give remake the files (the swapped pair, in a copy of its own),
   byte for byte those of the untouched sweep.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from prunesweep import files
from tests.workflow.conftest import ROOT, TINY, snakemake

pytestmark = pytest.mark.workflow

RUNS = "results/runs/moth"
FLIPPED = f"{RUNS}/a/seed1/magnitude/level01.nc"  # a mask bit 0 -> 1
POISONED = f"{RUNS}/a/seed2/magnitude/level01.nc"  # NaN in a live weight
SWAPPED = (f"{RUNS}/b/seed1/magnitude/level02.nc", f"{RUNS}/b/seed2/magnitude/level02.nc")
DAMAGED = f"{RUNS}/b/seed1/nodal/level01.nc"  # one bit of a weight, on disk
RETOUCHED = f"{RUNS}/b/seed2/nodal/level01.nc"  # an attribute edited
RELINKED = f"{RUNS}/a/seed1/sap/level01.nc"  # valid file, made from "another" dense network
BAD = sorted([FLIPPED, POISONED, *SWAPPED, DAMAGED, RETOUCHED, RELINKED])
HINT = "remake it with `snakemake --forcerun {}` and your usual options"


def clone(workdir: Path, dest: Path) -> Path:
    """A copy with results and Snakemake's metadata; copy2 keeps the mtimes Snakemake compares."""
    shutil.copytree(workdir, dest, symlinks=True)
    return dest


def rewrite(path: Path, edit) -> None:
    """Edit with xarray and write back, as a user would: the old digest attribute stays."""
    with xr.open_dataset(path) as src:
        ds = src.load()
    edit(ds)
    ds.to_netcdf(path)


def flip_pruned_mask_bit(ds):
    mask = ds["kernel_mask_1"].values
    mask[tuple(np.argwhere(mask == 0)[0])] = 1  # its weight is 0: masks and kernels still agree


def poison_live_weight(ds):
    live = np.argwhere(ds["kernel_mask_1"].values == 1)[0]
    ds["kernel_1"].values[tuple(live)] = np.nan


def damage(path: Path) -> None:
    """Flip one bit of one of kernel_1's live weights in the file's bytes (no NetCDF library
    involved): the first whose 4 bytes occur once in the file (a pruned weight's zeros do not)."""
    with xr.open_dataset(path) as ds:
        values = ds["kernel_1"].values.astype(np.float32).ravel()
    data = bytearray(path.read_bytes())
    weight = next(w for w in (v.tobytes() for v in values[values != 0]) if data.count(w) == 1)
    at = data.find(weight)
    data[at + 1] ^= 0x10
    path.write_bytes(bytes(data))


def relink(path: Path) -> None:
    """A valid, sealed file of the right run and settings, whose recorded dense network is not the
    one beside it (as if that dense network had been remade differently since)."""
    with xr.open_dataset(path) as src:
        ds = src.load()
    ds.attrs["dense_digest"] = "sha256:" + "0" * 64
    files.write_netcdf(ds, path)


@pytest.fixture(scope="module")
def damaged(tiny_run, tmp_path_factory) -> Path:
    work = clone(tiny_run, tmp_path_factory.mktemp("damaged") / "work")
    rewrite(work / FLIPPED, flip_pruned_mask_bit)
    rewrite(work / POISONED, poison_live_weight)
    a, b = (work / p for p in SWAPPED)
    held = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(held)
    damage(work / DAMAGED)
    rewrite(work / RETOUCHED, lambda ds: ds.attrs.update(final_val_loss=1e-9))
    relink(work / RELINKED)
    return work


def verify(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "prunesweep.verify", "results", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_verify_finds_nothing_wrong_with_a_sweep_as_it_ran(tiny_run):
    proc = verify(tiny_run, "--configfile", str(TINY))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("prunesweep: all ") and "files under results verified" in (
        proc.stderr
    )


def expected_lines() -> dict[str, str]:
    """The start of each damaged file's line (a: 10-8-8-7 has 80 + 64 + 56 = 200 kernel weights,
    level 1 prunes half of each layer; the flipped bit brings one back)."""
    swapped = {
        path: f"network file {path}: attribute seed={other}, but this job expects {own} (a file "
        f"from another config or run? Remake it with `snakemake --forcerun {path}` and your "
        "usual options)"
        for path, own, other in ((SWAPPED[0], 1, 2), (SWAPPED[1], 2, 1))
    }
    return {
        FLIPPED: f"network file {FLIPPED}: its masks prune 99 of 200 kernel weights (sparsity "
        "0.4950), but the file records achieved_sparsity=0.5000; " + HINT.format(FLIPPED),
        POISONED: f"network file {POISONED}: layer 1 holds 1 non-finite weight(s) or bias(es) "
        "(NaN or inf); " + HINT.format(POISONED),
        **swapped,
        DAMAGED: f"network file {DAMAGED}: variable 'kernel_1' cannot be read (NetCDF: HDF "
        "error): the file is damaged (a failed checksum) or truncated; " + HINT.format(DAMAGED),
        RETOUCHED: f"network file {RETOUCHED} does not match its digest (recorded sha256:",
        RELINKED: f"network file {RELINKED} was made from a dense network with digest "
        f"sha256:000000000000, but {RUNS}/a/seed1/dense.nc has digest sha256:",
    }


def test_verify_names_each_damaged_file_once_with_its_fix(damaged):
    proc = verify(damaged)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == len(BAD), proc.stdout
    for path, line in zip(BAD, lines, strict=True):
        assert line.startswith(expected_lines()[path]), (path, line)
        assert f"`snakemake --forcerun {path}` and your usual options" in line, line
    assert proc.stderr.startswith(f"prunesweep: {len(BAD)} of ")


def test_snakemake_verify_is_a_rule_the_user_can_run(damaged, tmp_path):
    work = clone(damaged, tmp_path / "work")  # the rule writes its log into results/
    proc = snakemake(work, "verify", "--configfile", str(TINY), "--cores", "1", check=False)
    assert proc.returncode != 0
    log = (work / "results/logs/verify.log").read_text().splitlines()
    assert len(log) == len(BAD) + 1 and log[-1].startswith(f"prunesweep: {len(BAD)} of ")
    for path, line in zip(BAD, log, strict=False):
        assert line.startswith(expected_lines()[path]), line
        assert line in proc.stderr  # on the console too


@pytest.fixture(scope="module")
def rerun(damaged, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The usual command on a copy of the damaged sweep, going on past failures (-k)."""
    work = clone(damaged, tmp_path_factory.mktemp("rerun") / "work")
    return work, snakemake(work, "--cores", "2", "-k", "--configfile", str(TINY), check=False)


def last_line(workdir: Path, rule: str, path: str) -> str:
    run = Path(path).relative_to(RUNS).with_suffix("")
    log = workdir / "results/logs" / rule / "moth" / f"{run}.log"
    return log.read_text().strip().splitlines()[-1]


def next_level(path: str) -> str:
    return f"{path[:-5]}{int(path[-5:-3]) + 1:02d}.nc"


@pytest.mark.parametrize("path", BAD)
def test_every_job_that_reads_a_damaged_file_stops_naming_it(rerun, path):
    work, proc = rerun
    assert proc.returncode != 0
    expected = expected_lines()[path]
    metrics = path.replace("/level", "/metrics/level")
    for rule, job, output in (("evaluate", path, metrics), ("prune", next_level(path), None)):
        line = last_line(work, rule, job)
        assert line.startswith(f"prunesweep: {rule} stopped: {expected}"), (rule, line)
        assert f"prunesweep: {rule} stopped: {expected}" in proc.stderr
        assert not (work / (output or job)).exists()  # the failed job left nothing


def test_the_forcerun_lines_remake_the_sweep_byte_for_byte(tiny_run, tmp_path):
    """Only the swapped pair (issue 12's case 3): the two lines' --forcerun remake them and what
    was made from them, byte for byte as in the sweep that ran straight through."""
    work = clone(tiny_run, tmp_path / "work")
    a, b = (work / p for p in SWAPPED)
    held = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(held)
    lines = verify(work).stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"network file {p}" for p in SWAPPED]
    fixes = [re.search(r"`snakemake --forcerun (\S+)`", line)[1] for line in lines]
    assert fixes == list(SWAPPED)
    proc = verify(work)
    together = f"`snakemake --forcerun {' '.join(fixes)}`"  # a second --forcerun replaces the first
    assert together in proc.stderr.splitlines()[-1], proc.stderr
    snakemake(work, "--cores", "2", "--configfile", str(TINY), "--forcerun", *fixes)
    proc = verify(work, "--configfile", str(TINY))
    assert proc.returncode == 0, proc.stdout
    results = sorted(
        p.relative_to(tiny_run)
        for p in (tiny_run / "results").rglob("*")
        if p.suffix in (".nc", ".png") and "models" not in p.parts
    )
    differ = [p for p in results if (tiny_run / p).read_bytes() != (work / p).read_bytes()]
    assert len(results) > 50 and differ == []

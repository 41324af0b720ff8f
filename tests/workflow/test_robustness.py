"""Nothing lost, nothing silently wrong: Snakemake for real on tests/config/robust.yaml.

Bad configs stop before any job; bad input files stop the job that reads them (one line naming the
file, no output, nothing downstream); a sweep killed in the middle resumes with the same command
and ends with the same bytes as one that ran straight through; a diverging level is flagged and the
sweep goes on; appending seeds or levels, or editing a setting, reruns exactly what depends on it.

One straight run of the config (`base_run`) is shared; tests that change files work on a copy.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from prunesweep import network_file
from prunesweep.report_items import ITEMS
from tests.workflow.conftest import ROOT, SNAKEMAKE, copy_project, snakemake

pytestmark = pytest.mark.workflow

CONFIG = "tests/config/robust.yaml"
CFG = yaml.safe_load((ROOT / CONFIG).read_text())
RUN = "results/runs/moth/a/seed1"
DATASET = "results/data/moth.nc"
DENSE = f"{RUN}/dense.nc"
LEVEL = f"{RUN}/magnitude/level{{:02d}}.nc"
LEVEL_METRICS = f"{RUN}/magnitude/metrics/level{{:02d}}.nc"
LOG = "results/logs/{rule}/moth/a/seed1/magnitude/level{level:02d}.log"


def report_jobs(reading=None) -> set[tuple[str, str]]:
    """(rule, output) of every report item of the robust config (prunesweep.report_items), or
    of those reading one of the inputs `reading`."""
    return {
        (
            f"{'plot' if item.kind == 'figure' else 'table'}_{name}",
            f"results/{'figures' if item.kind == 'figure' else 'tables'}/moth/{name}.{item.suffix}",
        )
        for name, item in ITEMS.items()
        if item.applies(CFG, "moth") and (reading is None or set(reading) & set(item.inputs))
    }


REPORT_JOBS = report_jobs()


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """The robust config run once, straight through. Tests must not change it: use `clone`."""
    workdir = copy_project(tmp_path_factory.mktemp("base"))
    snakemake(workdir, "--cores", "2", "--configfile", CONFIG)
    return workdir


def clone(workdir: Path, dest: Path) -> Path:
    """A copy with results and Snakemake's metadata; copy2 keeps the mtimes Snakemake compares."""
    shutil.copytree(workdir, dest, symlinks=True)
    return dest


#: report items that show timings measured on this machine (prunesweep.report_items)
MEASURED = {f"{name}.{item.suffix}" for name, item in ITEMS.items() if item.measured}


def result_files(workdir: Path) -> list[str]:
    """Every NetCDF file, figure and table, except exported models (`export` picks each layer's
    storage format by timing it on this machine, prunesweep.export.choose_formats) and report
    items that show measured timings: those may differ. Timings themselves are in
    results/benchmarks/ (JSON, TSV), never in these files."""
    return sorted(
        str(p.relative_to(workdir))
        for p in (workdir / "results").rglob("*")
        if p.suffix in (".nc", ".png", ".html")
        and not p.relative_to(workdir).parts[1] == "models"
        and p.name not in MEASURED
    )


def temp_files(workdir: Path) -> list[Path]:
    return sorted(p for p in (workdir / "results").rglob("*") if p.name.endswith(".tmp"))


def mtimes(workdir: Path, *paths: str) -> dict[str, int]:
    return {p: (workdir / p).stat().st_mtime_ns for p in paths}


def write_config(path: Path, edit=None) -> str:
    cfg = copy.deepcopy(CFG)
    if edit:
        edit(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


#: the rules these tests know; planned_jobs(..., core=True) ignores others added later (export)
CORE_RULES = {"simulate", "train_dense", "evaluate_dense", "prune", "evaluate", "aggregate"}
CORE_RULES |= {"collect_networks"}
CORE_RULES |= {"select", *(rule for rule, _ in REPORT_JOBS)}


def planned_jobs(workdir: Path, *args: str, core: bool = False) -> set[tuple[str, str]]:
    """(rule, output) of every job a dry run would run (rule `all` has no output: left out)."""
    out = snakemake(workdir, "-n", *args)
    text = out.stdout + out.stderr
    jobs, rule = set(), None
    for line in text.splitlines():
        match = re.match(r"\s*(?:local)?rule (\w+):$", line)
        if match:
            rule = match[1]
            continue
        match = re.match(r"\s*output: (.+)$", line)
        if match and rule:
            jobs.add((rule, match[1].strip()))
            rule = None
    if not jobs:
        assert "Nothing to be done" in text, text[-3000:]
    return {job for job in jobs if job[0] in CORE_RULES} if core else jobs


def plots_jobs() -> set[tuple[str, str]]:
    return set(REPORT_JOBS)


def summary_jobs() -> set[tuple[str, str]]:
    return {
        ("aggregate", "results/summary/moth/metrics.nc"),
        ("collect_networks", "results/summary/moth/networks.nc"),
        ("select", "results/summary/moth/selection.nc"),
    } | plots_jobs()


def level_jobs(seed: int, levels) -> set[tuple[str, str]]:
    run = f"results/runs/moth/a/seed{seed}/magnitude"
    jobs = set()
    for k in levels:
        jobs.add(("prune", f"{run}/level{k:02d}.nc"))
        jobs.add(("evaluate", f"{run}/metrics/level{k:02d}.nc"))
    return jobs


def job_log(workdir: Path, rule: str, level: int) -> str:
    return (workdir / LOG.format(rule=rule, level=level)).read_text()


# ----------------------------------------------------------------------------- bad config


def _set(dotted, value):
    def edit(cfg):
        *path, last = dotted.split(".")
        node = cfg
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value

    return edit


BAD_CONFIGS = {
    "decreasing schedule": (
        _set("schedule", [0.8, 0.5]),
        (),
        "config key 'schedule' has value [0.8, 0.5], expected a strictly increasing list",
    ),
    "threshold 0": (
        _set("selection.threshold", 0),
        (),
        "config key 'selection.threshold' has value 0, expected type number, > 0",
    ),
    "unknown task": (
        _set("architectures.a.task", "fly"),
        (),
        "config key 'architectures.a.task' has value 'fly', expected one of the tasks ['moth']",
    ),
    "unknown kind": (
        _set("methods.magnitude.kind", "pruneall"),
        (),
        "config key 'methods.magnitude.kind' has value \"pruneall\", expected one of",
    ),
    "empty seeds on the command line": (
        None,
        ("--config", "seeds=[]"),
        "config key 'seeds' has value [], expected type array, at least 1 item(s)",
    ),
    # round 2 (issue 12): each used to pass validation and fail in a job, or later
    "a seed of 1.0": (
        _set("seeds", [1.0]),
        (),
        "config key 'seeds.0' has value 1.0, expected type integer, >= 0 (seeds of the replicate "
        "networks); write it without a decimal point, e.g. 1",
    ),
    "a width of 6.0": (
        _set("architectures.a.hidden", [6.0]),
        (),
        "config key 'architectures.a.hidden.0' has value 6.0, expected type integer, >= 1",
    ),
    "100 levels": (
        _set("schedule", [round(0.005 * k, 3) for k in range(1, 101)]),
        (),
        "config key 'schedule' asks for 100 levels of method 'magnitude', expected at most 99 "
        "(a level is two digits in file names: level01 ... level99)",
    ),
    "a task name unusable in paths": (
        lambda cfg: (
            cfg["tasks"].update({"my task/x": cfg["tasks"].pop("moth")}),
            cfg["architectures"]["a"].update(task="my task/x"),
        ),
        (),
        "config key 'tasks.my task/x' has a name that cannot be used in paths and wildcards",
    ),
    "a nodal level removing every unit": (
        _set("methods.nodal", {"kind": "nodal", "schedule": [0.5, 0.95]}),
        (),
        "config key 'methods.nodal.schedule' has value 0.95 at level 2, which would remove all 6 "
        "units of hidden layer 1 of architecture 'a' (method 'nodal': round(0.95 x 6) = 6)",
    ),
    "an empty val split": (
        _set("tasks.moth.fractions", {"train": 0.95, "val": 0.001, "test": 0.049}),
        (),
        "config key 'tasks.moth': n_samples 300 with fractions {'train': 0.95, 'val': 0.001, "
        "'test': 0.049} leaves the val split empty",
    ),
    "a rewind epoch after the dense training": (
        lambda cfg: (
            cfg["methods"].update(lottery={"kind": "lottery", "rewind": "epoch"}),
            cfg["training"].update(rewind_epoch=3),
        ),
        (),
        "config key 'training.rewind_epoch' has value 3, expected at most "
        "training.dense.max_epochs (2): method 'lottery' rewinds to the weights of that dense "
        "epoch",
    ),
    "a dataset larger than memory": (
        _set("tasks.moth.n_samples", 10**12),
        (),
        "config key 'tasks.moth.n_samples' has value 1000000000000: simulating task 'moth' needs "
        "about 600.0 TB of memory",
    ),
}


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("bad_config"))


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_stops_before_any_job_with_one_line(empty_project, case):
    edit, extra, expected = BAD_CONFIGS[case]
    configfile = write_config(empty_project / f"{case.replace(' ', '_')}.yaml", edit)
    for mode in (["-n"], ["--cores", "1"]):
        proc = snakemake(empty_project, *mode, "--configfile", configfile, *extra, check=False)
        # Snakemake announces the workflow profile (workflow/profiles/default) before our line
        lines = [
            line
            for line in (proc.stdout + proc.stderr).splitlines()
            if line.strip() and not line.startswith("Using workflow specific profile")
        ]
        assert proc.returncode != 0, (mode, lines)
        assert len(lines) == 1, (mode, lines)  # no traceback, no banner: the message alone
        assert lines[0].startswith("prunesweep: invalid config: ") and expected in lines[0], lines
        assert not (empty_project / "results").exists()


def test_list_values_on_the_command_line_mean_what_they_mean_in_a_file(empty_project):
    """Snakemake reads `seeds=[1,2]` as ['1', '2']; prunesweep reads the text again as YAML."""
    plan = planned_jobs(empty_project, "--configfile", CONFIG, "--config", "seeds=[1,2]")
    dense = {out for rule, out in plan if rule == "train_dense"}
    assert dense == {f"results/runs/moth/a/seed{s}/dense.nc" for s in (1, 2)}


def test_levels_that_prune_nothing_are_a_warning_naming_method_and_level(empty_project):
    configfile = write_config(
        empty_project / "idle.yaml",
        _set("methods.nodal", {"kind": "nodal", "schedule": [0.01, 0.02, 0.5]}),
    )
    proc = snakemake(empty_project, "-n", "--configfile", configfile)
    warnings = [line for line in proc.stderr.splitlines() if "prunesweep: warning" in line]
    assert warnings == [
        "prunesweep: warning: method 'nodal' prunes nothing at level 1 (target 0.01) in "
        "architecture(s) a; level 2 (target 0.02) in architecture(s) a: the target, rounded to "
        "whole units per hidden layer, removes no more than the level before "
        "(methods.nodal.schedule)"
    ]


def test_a_read_only_results_folder_stops_before_any_job(tmp_path):
    """A real read-only mount (a private mount namespace), or a folder without write permission
    for a user other than root (root may write to any folder that is not a read-only mount)."""
    work = copy_project(tmp_path / "ro")
    (work / "results").mkdir()
    command = [*SNAKEMAKE, "--cores", "1", "--configfile", CONFIG]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if os.geteuid() != 0:
        (work / "results").chmod(0o555)
        words = "Permission denied"
    else:
        probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip("root without user namespaces: no way to make a folder read-only")
        mount = "mount --bind results results && mount -o remount,bind,ro results"
        command = ["unshare", "-rm", "sh", "-ec", f'{mount} && exec "$@"', "sh", *command]
        words = "Read-only file system"
    proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    (work / "results").chmod(0o755)
    assert proc.returncode != 0
    last = (proc.stdout + proc.stderr).strip().splitlines()[-1]
    assert last == (
        f"prunesweep: results folder results/ is not writable ({words}); make it writable, or run "
        "in a copy of the project"
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert list((work / "results").iterdir()) == []  # no job ran


def test_number_that_yaml_reads_as_text_is_explained(empty_project):
    text = (ROOT / CONFIG).read_text().replace("learning_rate: 3.0e-3", "learning_rate: 1.0e6")
    assert "1.0e6" in text
    (empty_project / "yaml_text.yaml").write_text(text)
    proc = snakemake(empty_project, "-n", "--configfile", "yaml_text.yaml", check=False)
    assert proc.returncode != 0
    assert (
        "config key 'training.retrain.learning_rate' has value \"1.0e6\", expected type number"
        in proc.stderr
    )
    assert "write exponents with a sign and a dot" in proc.stderr


# ----------------------------------------------------------------------------- bad files


def test_truncated_level_file_stops_its_readers_and_nothing_downstream(base_run, tmp_path):
    work = clone(base_run, tmp_path / "truncated")
    level1 = work / LEVEL.format(1)
    level1.write_bytes(level1.read_bytes()[:3000])  # a copy cut short, a full disk
    summary = ("results/summary/moth/metrics.nc", "results/summary/moth/selection.nc")
    before = mtimes(work, *summary)

    proc = snakemake(work, "--cores", "1", "-k", "--configfile", CONFIG, check=False)

    assert proc.returncode != 0
    message = f"network file {LEVEL.format(1)} cannot be read as NetCDF, truncated or not NetCDF"
    for rule, level, job in (("prune", 2, "prune"), ("evaluate", 1, "evaluate")):
        last = job_log(work, rule, level).strip().splitlines()[-1]
        assert last.startswith(f"prunesweep: {job} stopped: {message}"), last
        assert "Traceback" not in job_log(work, rule, level)
        assert f"prunesweep: {job} stopped: {message}" in proc.stderr  # also on the console
    # no output of the failed jobs, nothing downstream ran, nothing half-written
    assert not (work / LEVEL.format(2)).exists()
    assert not (work / LEVEL_METRICS.format(1)).exists()
    assert mtimes(work, *summary) == before
    assert temp_files(work) == []
    # The message says how to remake the file; that remakes everything that depends on it. (What
    # a plain rerun does depends on the DAG: Snakemake skips missing intermediate files whose
    # consumers are up to date, so it may find nothing to do, or fail on the same file again.)
    remake = planned_jobs(work, "--forcerun", LEVEL.format(1), "--configfile", CONFIG, core=True)
    assert remake == level_jobs(1, [1, 2]) | summary_jobs()


def test_wrong_files_stop_the_job_that_reads_them(base_run, tmp_path):
    work = clone(base_run, tmp_path / "wrong")

    # 1. a level file from another config: the next level checks the config_hash it expects
    other = write_config(tmp_path / "other.yaml", _set("training.retrain.learning_rate", 1e-3))
    proc = snakemake(
        work, "--cores", "1", "--configfile", other, "--rerun-triggers", "mtime",
        "--force", LEVEL.format(2), check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    last = job_log(work, "prune", 2).strip().splitlines()[-1]
    assert last.startswith(
        f"prunesweep: prune stopped: network file {LEVEL.format(1)}: attribute config_hash="
    ), last
    assert "a file from another config or run?" in last
    assert not (work / LEVEL.format(2)).exists()

    # 2. a level file whose masks do not match its kernels
    path = work / LEVEL.format(1)
    with xr.open_dataset(path) as src:
        ds = src.load()
    mask = ds["kernel_mask_1"].values
    live = np.argwhere((mask == 1) & (ds["kernel_1"].values != 0))[0]
    mask[tuple(live)] = 0
    ds["kernel_mask_1"] = (ds["kernel_mask_1"].dims, mask, ds["kernel_mask_1"].attrs)
    ds.to_netcdf(path)
    proc = snakemake(
        work, "--cores", "1", "--configfile", CONFIG, "--force", LEVEL_METRICS.format(1),
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    last = job_log(work, "evaluate", 1).strip().splitlines()[-1]
    assert last == (
        f"prunesweep: evaluate stopped: network file {LEVEL.format(1)}: "
        "layer 1 has non-zero weights where its mask is 0; remake it with `snakemake --forcerun "
        f"{LEVEL.format(1)}` and your usual options"
    )
    assert not (work / LEVEL_METRICS.format(1)).exists()

    # 3. a dataset without its split
    with xr.open_dataset(work / DATASET) as src:
        data = src.load().drop_vars("split")
    data.to_netcdf(work / DATASET)
    proc = snakemake(work, "--cores", "1", "--configfile", CONFIG, "--force", DENSE, check=False)
    assert proc.returncode != 0
    log = (work / "results/logs/train_dense/moth/a/seed1.log").read_text()
    assert log.strip().splitlines()[-1] == (
        f"prunesweep: train_dense stopped: dataset file {DATASET} lacks required variable(s) "
        "['split']"
    )
    assert not (work / DENSE).exists()
    assert temp_files(work) == []


# ----------------------------------------------------------------------------- interruptions


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found += [int(entry.name), *_descendants(int(entry.name))]
    return found


def _job_processes(snakemake_pid: int, script: str) -> list[int]:
    """The Python processes of Snakemake's child jobs running `script` (not bash wrappers)."""
    pids = []
    for pid in _descendants(snakemake_pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if (
            words
            and Path(words[0]).name.startswith("python")
            and any(w.endswith(script) for w in words[1:])
        ):
            pids.append(pid)
    return pids


def _start(workdir: Path, name: str) -> subprocess.Popen:
    # another hash seed than base_run's: nothing may depend on it
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    return subprocess.Popen(
        [*SNAKEMAKE, "--cores", "1", "--configfile", CONFIG],
        cwd=workdir,
        env=env,
        stdout=open(workdir / f"{name}.out", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: Ctrl-C reaches Snakemake and its jobs
    )


def _wait_for_training(proc: subprocess.Popen, log: Path, timeout=600) -> None:
    """Until the job logged that it pruned and starts retraining (TensorFlow is loaded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if log.exists() and "pruning to weight sparsity" in log.read_text():
            return
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended ({proc.returncode}) before {log} trained")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"no training in {log} after {timeout} s")


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> dict:
    """The config run again in another folder, interrupted twice, resumed with the same command.

    1. SIGKILL of the training job of level 1 (the OOM killer, a node that fails);
    2. Ctrl-C (SIGINT to Snakemake and its jobs) while level 2 retrains;
    3. the same command again, to the end.
    """
    work = copy_project(tmp_path_factory.mktemp("resumed"))
    seen: dict = {"workdir": work}

    proc = _start(work, "run1")
    _wait_for_training(proc, work / LOG.format(rule="prune", level=1))
    jobs = _job_processes(proc.pid, "prune.py")
    assert len(jobs) == 1, jobs
    os.kill(jobs[0], signal.SIGKILL)
    seen["run1_rc"] = proc.wait(timeout=600)
    seen["run1_out"] = (work / "run1.out").read_text()
    seen["after_kill"] = {p: (work / p).exists() for p in (DENSE, LEVEL.format(1))}
    seen["dense_mtime"] = (work / DENSE).stat().st_mtime_ns
    seen["plan_after_kill"] = planned_jobs(work, "--configfile", CONFIG)
    # what a writer killed while writing leaves behind; the next write of that file removes it
    stale = work / f"{RUN}/magnitude/.level01.nc.k1ll3d.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a NetCDF file")

    proc = _start(work, "run2")
    _wait_for_training(proc, work / LOG.format(rule="prune", level=2))
    os.killpg(proc.pid, signal.SIGINT)
    seen["run2_rc"] = proc.wait(timeout=600)
    seen["run2_out"] = (work / "run2.out").read_text()
    seen["after_interrupt"] = {p: (work / p).exists() for p in (LEVEL.format(1), LEVEL.format(2))}
    seen["stale_left"] = stale.exists()
    seen["level1_mtime"] = (work / LEVEL.format(1)).stat().st_mtime_ns
    seen["plan_after_interrupt"] = planned_jobs(work, "--configfile", CONFIG)

    proc = _start(work, "run3")
    seen["run3_rc"] = proc.wait(timeout=1200)
    seen["run3_out"] = (work / "run3.out").read_text()
    return seen


def test_killed_and_interrupted_sweep_resumes_with_the_same_command(resumed_run):
    seen, work = resumed_run, resumed_run["workdir"]
    # 1. the killed job failed, its output is absent, the finished dense network stays
    assert seen["run1_rc"] != 0
    assert "died with <Signals.SIGKILL: 9>" in seen["run1_out"]
    assert seen["after_kill"] == {DENSE: True, LEVEL.format(1): False}
    planned = {rule for rule, _ in seen["plan_after_kill"]}
    assert "simulate" not in planned and "train_dense" not in planned
    assert level_jobs(1, [1, 2]) <= seen["plan_after_kill"]
    # 2. Ctrl-C: level 1 finished (and cleaned the killed writer's temp file), level 2 absent
    assert seen["run2_rc"] != 0
    assert seen["after_interrupt"] == {LEVEL.format(1): True, LEVEL.format(2): False}
    assert not seen["stale_left"]
    assert ("prune", LEVEL.format(1)) not in seen["plan_after_interrupt"]
    assert ("prune", LEVEL.format(2)) in seen["plan_after_interrupt"]
    # 3. the same command finishes the sweep without redoing finished levels
    assert seen["run3_rc"] == 0, seen["run3_out"][-4000:]
    assert (work / DENSE).stat().st_mtime_ns == seen["dense_mtime"]
    assert (work / LEVEL.format(1)).stat().st_mtime_ns == seen["level1_mtime"]
    assert temp_files(work) == []
    assert planned_jobs(work, "--configfile", CONFIG) == set()


def test_same_config_gives_the_same_bytes(base_run, resumed_run):
    """Two folders, one run straight with 2 cores, one killed, interrupted and resumed with 1 core
    and another PYTHONHASHSEED: every NetCDF file and figure is the same, byte for byte.

    (NetCDF-C writes HDF5 without object timestamps, and result files carry no clock time.)
    """
    work = resumed_run["workdir"]
    files = result_files(base_run)
    assert len(files) >= 15 and result_files(work) == files
    differ = [f for f in files if (base_run / f).read_bytes() != (work / f).read_bytes()]
    assert differ == []


# ----------------------------------------------------------------------------- config identity


def test_appending_seeds_and_levels_runs_only_the_new_jobs(base_run, tmp_path):
    def more(cfg):
        cfg["seeds"] = [1, 2]
        cfg["schedule"] = [*cfg["schedule"], 0.9]

    configfile = write_config(tmp_path / "more.yaml", more)
    planned = planned_jobs(base_run, "--configfile", configfile, core=True)
    expected = (
        {
            ("train_dense", "results/runs/moth/a/seed2/dense.nc"),
            ("evaluate_dense", "results/runs/moth/a/seed2/dense_metrics.nc"),
        }
        | level_jobs(1, [3])
        | level_jobs(2, [1, 2, 3])
        | summary_jobs()
    )
    assert planned == expected


IDENTITY = {
    # a setting that changes no result reruns nothing, or only what draws it
    "plots.palette": ("deep", plots_jobs()),
    "plots.dpi": (100, plots_jobs()),
    "training.retrain.eval_batch_size": (1024, set()),
    # (items that read no selection, nor exported models, which depend on it, stay)
    "selection.threshold": (
        0.1,
        {("select", "results/summary/moth/selection.nc")} | report_jobs({"selection", "exports"}),
    ),
    # a setting that changes results reruns what depends on it, and not more
    "training.retrain.learning_rate": (1e-3, level_jobs(1, [1, 2]) | summary_jobs()),
    "methods.magnitude.scope": ("global", level_jobs(1, [1, 2]) | summary_jobs()),
    "training.dense.max_epochs": (
        3,
        {("train_dense", DENSE), ("evaluate_dense", f"{RUN}/dense_metrics.nc")}
        | level_jobs(1, [1, 2])
        | summary_jobs(),
    ),
}


@pytest.mark.parametrize("key", list(IDENTITY))
def test_editing_a_setting_reruns_exactly_what_depends_on_it(base_run, tmp_path, key):
    value, expected = IDENTITY[key]
    configfile = write_config(tmp_path / "edited.yaml", _set(key, value))
    assert planned_jobs(base_run, "--configfile", configfile, core=True) == expected


# ----------------------------------------------------------------------------- divergence


def test_diverging_levels_are_flagged_and_the_sweep_goes_on(base_run, tmp_path):
    """Retraining with an absurd learning rate: the loss is NaN in the first epoch of every level.

    Today's fix: training keeps finite weights and flags the level, evaluation records it,
    selection ignores it, the figure lists it, the sweep ends normally.
    """
    work = clone(base_run, tmp_path / "diverged")

    def absurd(cfg):
        cfg["training"]["retrain"]["learning_rate"] = 1e30
        cfg["selection"]["threshold"] = 1.0  # every level would qualify on its loss alone

    configfile = write_config(tmp_path / "absurd.yaml", absurd)
    planned = {rule for rule, _ in planned_jobs(work, "--configfile", configfile)}
    assert "train_dense" not in planned and "simulate" not in planned

    snakemake(work, "--cores", "2", "--configfile", configfile)

    for level in (1, 2):
        assert "DIVERGED" in job_log(work, "prune", level)
        net = network_file.read_network(work / LEVEL.format(level))
        assert int(net.attrs["diverged"]) == 1
        assert all(np.isfinite(layer.kernel).all() for layer in net.layers)
    with xr.open_dataset(work / "results/summary/moth/metrics.nc") as metrics:
        assert metrics["diverged"].values.ravel().tolist() == [0, 1, 1]
        assert np.isfinite(metrics["val_loss"]).all()
    with xr.open_dataset(work / "results/summary/moth/selection.nc") as selection:
        assert selection["selected_level"].values.ravel().tolist() == [0]
    assert (work / "results/figures/moth/loss_vs_sparsity.png").stat().st_size > 3000
    assert temp_files(work) == []

"""`snakemake --profile slurm` on a real (single-node) Slurm cluster gives the local run's results.

A session fixture brings a cluster up on localhost with tests/slurm/slurm_up.sh (Debian packages,
two partitions `cpu` and `gpu` with fake GPUs of type `fake` on a node with feature `fakegpu`: the
placeholders of slurm/config.yaml, so the profile runs as shipped) and always stops what it
started with tests/slurm/slurm_down.sh. Without root or apt-get (and no cluster already up) the
test is skipped, with the reason in `pytest -ra`.

The test copies the project twice and runs the tiny config in both copies at the same time:
`snakemake --cores 2` in one, `snakemake --profile slurm` in the other (only the status-check
latency and --jobs overridden). The Slurm copy's profile gets the lines docs/cluster.md shows for
clusters that want them: `prune` asks for its GPU as `gres` (with `cpus_per_gpu`, `constraint` and
`slurm_extra`), `train_dense` keeps `gpu: 1`, and `slurm-no-account` is on (which plugin 2.8.0
ignores, as docs/cluster.md says; the test checks that too). The config gives
`simulate` a 1-minute `runtime`, and the test keeps that job's first attempt stopped (SIGSTOP)
until Slurm ends it, as a job too slow for its limit. It then checks that
  * a run that would wait for ever (the plugin would switch to sacct, which this cluster lacks)
    stops at start-up with one line, before any submission;
  * both runs succeed and produce the same files, and the Slurm copy has nothing left to do;
  * simulate timed out at its 1-minute limit and its retry, with 2 minutes, succeeded;
  * results/summary/moth/metrics.nc is identical (values bit for bit, and attributes), and every
    other NetCDF file has bit-identical data;
  * train_dense and prune ran in the GPU partition with one GPU (prune through its GRES, node
    feature and extra option), everything else in the CPU partition without one;
  * each evaluation was a submission of its own, and one ended before the last prune job
    started; exports were grouped, and the group asked for what its members need together;
  * the number of submissions is what tests/slurm/submissions.py predicts from a dry run, plus
    the one retry; the start-up check warned that job states come from squeue.
It prints the number of sbatch submissions and the wall times.

Both runs use the tiny config with only its first pruning method (magnitude), which keeps every
kind of job (simulate, train_dense, prune chains, evaluate/evaluate_dense, grouped exports,
aggregate, select, plots) at about half the jobs, and the test at a few minutes on 2 cores.
PRUNESWEEP_SLURM_METHODS=all runs the whole tiny config (about twice as long),
PRUNESWEEP_SLURM_METHODS=N its first N methods.
"""

from __future__ import annotations

import filecmp
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.slurm.jobs import FirstJobPauser, job_record, limit_minutes, when
from tests.slurm.runlogs import (
    describe_difference,
    failed_slurm_logs,
    job_counts,
    result_files,
    submissions_of,
    tail,
)
from tests.slurm.submissions import plan

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

ROOT = Path(__file__).resolve().parents[2]
SLURM_SCRIPTS = ROOT / "tests" / "slurm"
PROFILE = ROOT / "slurm" / "config.yaml"
TINY = "tests/config/tiny.yaml"
RUN_TIMEOUT = int(os.environ.get("PRUNESWEEP_SLURM_TIMEOUT", "1800"))
JOBS = 6
GPU_RULES = {"train_dense", "prune"}
GROUPED_RULES = {"export"}  # small jobs, all ready at once: submitted in groups
TIMED_OUT = "simulate"  # runtime 1 minute in the test's config; its first attempt is paused
# the lines docs/cluster.md shows for a cluster that wants a GRES string and more; prune gets them
PRUNE_GPU_REQUEST = {
    "gpu": 0,
    "gres": "gpu:fake:1",
    "cpus_per_gpu": 1,
    "constraint": "fakegpu",
    "slurm_extra": "--nice=7",
}
# what a project copy leaves out: at the top level, and at any depth
SKIP_TOP = {".git", ".venv", ".snakemake", "results", "logs", "report.html", "report.zip"}
SKIP_ANY = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def _profile(path: Path = PROFILE) -> dict:
    return yaml.safe_load(path.read_text())


def _partitions() -> tuple[str, str]:
    """The CPU and the GPU partition that slurm/config.yaml asks for."""
    profile = _profile()
    cpu = profile["default-resources"]["slurm_partition"]
    gpu = profile["set-resources"]["train_dense"].get("slurm_partition", cpu)
    return str(cpu), str(gpu)


def _sinfo(fields: str) -> list[str] | None:
    """`sinfo -h -o fields` lines of a cluster that answers, or None."""
    if not shutil.which("sinfo"):
        return None
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", fields], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _cluster_partitions() -> set[str] | None:
    """Partitions of a cluster that answers, or None."""
    lines = _sinfo("%R")
    return None if lines is None else set(lines)


def _skip(reason: str):
    print(f"SKIPPED test_slurm: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A Slurm cluster with the profile's partitions; started here unless one already runs."""
    if not sys.platform.startswith("linux"):
        _skip(f"Slurm needs Linux, this is {sys.platform}")
    wanted = set(_partitions())
    existing = _cluster_partitions()
    if existing is not None and wanted <= existing:
        nodes = " ".join(_sinfo("%G %f") or [])
        if "gpu:fake" not in nodes or "fakegpu" not in nodes:
            _skip(
                f"the Slurm cluster that runs here has no GPUs of type fake and feature fakegpu "
                f"({nodes!r}); stop it and let the test start one (tests/slurm/slurm_up.sh)"
            )
        yield {"started": False}  # someone else's cluster: use it, stop nothing
        return
    if os.geteuid() != 0:
        _skip(
            f"no Slurm cluster with partitions {sorted(wanted)} answers, and starting one "
            f"needs root (uid {os.geteuid()}); run tests/slurm/slurm_up.sh as root first"
        )
    installed = all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged"))
    if not installed and not shutil.which("apt-get"):
        _skip("Slurm is not installed and cannot be: there is no apt-get")
    if existing is not None:
        _skip(
            f"a Slurm cluster already runs here with partitions {sorted(existing)}, "
            f"not the profile's {sorted(wanted)}; leaving it alone"
        )
    state = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "PRUNESWEEP_SLURM_PIDFILE": str(state / "pids")}
    cpu, gpu = _partitions()
    env.update(PRUNESWEEP_SLURM_CPU_PARTITION=cpu, PRUNESWEEP_SLURM_GPU_PARTITION=gpu)
    try:
        up = subprocess.run(
            ["bash", str(SLURM_SCRIPTS / "slurm_up.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if up.returncode == 2:
            _skip(up.stderr.strip().splitlines()[-1])
        if up.returncode != 0:
            pytest.fail(f"slurm_up.sh failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
        yield {"started": True, "log": up.stderr}
    finally:
        down = subprocess.run(
            ["bash", str(SLURM_SCRIPTS / "slurm_down.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        print(down.stderr, file=sys.stderr)


# ------------------------------------------------------------------------------------ helpers
def _copy_project(dst: Path) -> Path:
    def ignore(folder, names):
        top = Path(folder).resolve() == ROOT
        return [
            n for n in names if n in SKIP_ANY or n.endswith(".egg-info") or (top and n in SKIP_TOP)
        ]

    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)
    return dst


def _test_config(project: Path) -> str:
    """The tiny config, with only its first PRUNESWEEP_SLURM_METHODS methods (default 1), and a
    1-minute runtime for simulate (resources change no result)."""
    keep = os.environ.get("PRUNESWEEP_SLURM_METHODS", "1")
    config = yaml.safe_load((project / TINY).read_text())
    if keep != "all":
        config["methods"] = dict(list(config["methods"].items())[: int(keep)])
    config.setdefault("resources", {})[TIMED_OUT] = {"runtime": 1}
    path = project / "tests" / "config" / "tiny_slurm.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path.relative_to(project))


def _cluster_profile(project: Path) -> dict:
    """The copy's profile, with prune's GPU asked for as docs/cluster.md shows for GRES."""
    path = project / "slurm" / "config.yaml"
    profile = _profile(path)
    profile["set-resources"]["prune"] = {**profile["set-resources"]["prune"], **PRUNE_GPU_REQUEST}
    profile["slurm-no-account"] = True
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return profile


def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    # Each copy imports its own src/ (PYTHONPATH comes before the editable install), so that
    # edits to the checkout while the test runs cannot reach either run; Slurm jobs inherit it
    # (the plugin submits with --export=ALL).
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(cwd / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    }
    env.pop("SNAKEMAKE_PROFILE", None)
    handle = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log, proc.handle, proc.started = log, handle, time.monotonic()  # type: ignore[attr-defined]
    return proc


def _finish(proc: subprocess.Popen, deadline: float) -> tuple[int, float]:
    try:
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)  # Snakemake cancels its Slurm jobs on SIGINT
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        rc = -1
    proc.handle.close()  # type: ignore[attr-defined]
    return rc, time.monotonic() - proc.started  # type: ignore[attr-defined]


def _records(submissions) -> dict[str, dict[str, str]]:
    """Slurm job id -> its record, for the jobs Slurm still remembers (MinJobAge)."""
    out = {}
    for _, jobid, _ in submissions:
        if (record := job_record(jobid)) is not None:
            out[jobid] = record
    return out


def _check_placement(submissions, records, profile: dict) -> dict[str, int]:
    """GPU rules in the GPU partition with one GPU each (prune through its GRES request),
    everything else in the CPU partition without one."""
    cpu, gpu = _partitions()
    checked = {"gpu": 0, "cpu": 0}
    for _, jobid, kind in submissions:
        record = records.get(jobid)
        if record is None:
            continue
        rule = kind.removeprefix("rule_")
        wants_gpu = rule in GPU_RULES
        tres = record.get("TresPerJob", "") + record.get("TresPerNode", "")
        where = f"{kind} (Slurm job {jobid}): {record}"
        assert record.get("Partition") == (gpu if wants_gpu else cpu), where
        assert ("gpu" in tres) == wants_gpu, where
        assert record.get("Account") in ("(null)", ""), where  # submitted without -A
        if rule == "prune":
            assert record.get("TresPerNode", "").endswith("gpu:fake:1"), where
            assert "gpu" not in record.get("TresPerJob", ""), f"two GPU requests: {where}"
            assert record.get("Features") == PRUNE_GPU_REQUEST["constraint"], where
            assert record.get("Nice") == "7", where  # slurm_extra reached sbatch
        elif rule == "train_dense":
            assert "gpu" in record.get("TresPerJob", "") and "gpu" not in record.get(
                "TresPerNode", ""
            ), where  # --gpus=1
        checked["gpu" if wants_gpu else "cpu"] += 1
    assert checked["gpu"] and checked["cpu"], f"no Slurm job records left to check: {checked}"
    return checked


def _check_timed_out_job(submissions, records, pauser: FirstJobPauser, log: Path) -> None:
    """simulate: attempt 1 hit its 1-minute limit, the retry got 2 minutes and succeeded."""
    assert pauser.error is None, pauser.error
    assert pauser.stopped, f"the first {TIMED_OUT} job ended before the test could pause it"
    ids = [jobid for _, jobid, kind in submissions if kind == f"rule_{TIMED_OUT}"]
    assert len(ids) == 2 and ids[0] == pauser.jobid, (ids, pauser.jobid)
    first, retry = records.get(ids[0]), records.get(ids[1])
    assert first and retry, f"Slurm forgot the {TIMED_OUT} jobs {ids}"
    assert first["JobState"] == "TIMEOUT" and limit_minutes(first["TimeLimit"]) == 1, first
    assert retry["JobState"] == "COMPLETED" and limit_minutes(retry["TimeLimit"]) == 2, retry
    assert log.read_text(errors="replace").count("Trying to restart job") == 1


def _check_grouping_and_order(submissions, records, counts, profile) -> None:
    kinds = [kind for _, _, kind in submissions]
    per_kind = {k: kinds.count(k) for k in sorted(set(kinds))}
    assert not GROUPED_RULES & {k.removeprefix("rule_") for k in kinds}, (
        f"exports were submitted one by one, not grouped: {per_kind}"
    )
    for rule in ("evaluate", "evaluate_dense"):
        assert per_kind.get(f"rule_{rule}") == counts[rule], f"{rule}: {per_kind}"

    # the export group asks for what its members need together (Snakemake's group resources)
    n = counts["export"]
    slots, size = profile["resources"]["group_slots"], profile["group-components"]["export"]
    groups = [jobid for _, jobid, kind in submissions if kind.startswith("group_")]
    assert len(groups) == math.ceil(n / size), per_kind
    record = records.get(groups[0])
    assert record is not None, "Slurm forgot the export group"
    members = min(n, size)
    parallel = min(members, slots)
    assert int(record["NumCPUs"]) == parallel * 1, record  # the tiny config: 1 thread each
    assert record["MinMemoryNode"] == f"{parallel * 2000}M", record  # 2000 MB each
    assert limit_minutes(record["TimeLimit"]) == math.ceil(members / slots) * 30, record

    # evaluations keep up with the chains: one ended before the last prune job started
    def times(rule, key):
        return [
            when(records[j][key])
            for _, j, kind in submissions
            if kind == f"rule_{rule}" and j in records
        ]

    first_evaluation_end = min(times("evaluate", "EndTime"))
    last_prune_start = max(times("prune", "StartTime"))
    assert first_evaluation_end < last_prune_start, (
        f"no evaluation ended before the last prune job started ({last_prune_start}); "
        f"the first ended at {first_evaluation_end}"
    )


# ------------------------------------------------------------------------------------ the test
def test_profile_slurm_matches_local_run(slurm_cluster, tmp_path, capsys):
    import xarray as xr

    began = time.monotonic()
    on_slurm = _copy_project(tmp_path / "slurm_run")
    local = tmp_path / "local_run"
    shutil.copytree(on_slurm, local, symlinks=True)  # the same snapshot for both runs
    config = _test_config(on_slurm)
    _test_config(local)
    profile = _cluster_profile(on_slurm)
    predicted = plan(config, on_slurm)  # a dry run (tests/slurm/submissions.py)

    slurm_args = [
        "--profile",
        "slurm",
        "--configfile",
        config,
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--jobs",
        str(JOBS),
    ]
    # MinJobAge here is 3600 s: with the first status check after 1300 s, the plugin would
    # leave squeue for sacct, which this cluster has no accounting for
    waits = _start(
        [*slurm_args, "--slurm-init-seconds-before-status-checks", "1300"],
        on_slurm,
        tmp_path / "waits.log",
    )
    rc, _ = _finish(waits, time.monotonic() + 300)
    text = (tmp_path / "waits.log").read_text(errors="replace")
    assert rc != 0 and "prunesweep: Slurm accounting is not available here" in text, text[-3000:]
    assert "set `slurm-init-seconds-before-status-checks` to at most 1200" in text, text[-3000:]
    assert not submissions_of(tmp_path / "waits.log"), "submitted despite the start-up check"

    deadline = time.monotonic() + RUN_TIMEOUT
    pauser = FirstJobPauser(TIMED_OUT, give_up_s=RUN_TIMEOUT)
    pauser.start()
    slurm_proc = _start(slurm_args, on_slurm, tmp_path / "slurm.log")
    local_proc = _start(["--cores", "2", "--configfile", config], local, tmp_path / "local.log")
    local_rc, local_s = _finish(local_proc, deadline)
    slurm_rc, slurm_s = _finish(slurm_proc, deadline)
    pauser.stop_watching()
    submissions = submissions_of(tmp_path / "slurm.log")
    if slurm_rc != 0:
        ids = [jobid for _, jobid, _ in submissions]
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=60)
    assert local_rc == 0, f"local run failed ({local_rc}):\n{tail(tmp_path / 'local.log')}"
    assert slurm_rc == 0, (
        f"Slurm run {'timed out' if slurm_rc == -1 else 'failed'} ({slurm_rc}):\n"
        f"{tail(tmp_path / 'slurm.log')}\n{failed_slurm_logs(on_slurm)}"
    )

    # ---- what was submitted, and where it ran
    kinds = [kind for _, _, kind in submissions]
    counts = job_counts(tmp_path / "local.log")
    per_kind = {k: kinds.count(k) for k in sorted(set(kinds))}
    with capsys.disabled():
        print(
            f"\n[test_slurm] {len(submissions)} sbatch submissions for "
            f"{sum(counts.values()) - counts.get('all', 0)} jobs (a dry run predicted "
            f"{predicted.submissions}, plus 1 retry); Slurm run {slurm_s:.0f} s, local run "
            f"{local_s:.0f} s (side by side), test so far {time.monotonic() - began:.0f} s\n"
            f"[test_slurm] per rule: {per_kind}"
        )
    assert submissions, "no 'has been submitted with SLURM jobid' lines in the Snakemake log"
    assert len(submissions) == predicted.submissions + 1, (predicted.summary(), per_kind)
    slurm_log = (tmp_path / "slurm.log").read_text(errors="replace")
    assert "prunesweep: no Slurm accounting here" in slurm_log  # the start-up check's warning
    # plugin 2.8.0 declares slurm-no-account but never reads it: it still guesses an account,
    # finds none on this cluster and submits without -A (what docs/cluster.md says)
    assert "No SLURM account given, trying to guess." in slurm_log
    assert "Unable to guess SLURM account. Trying to proceed without." in slurm_log
    records = _records(submissions)
    _check_timed_out_job(submissions, records, pauser, tmp_path / "slurm.log")
    _check_placement(submissions, records, profile)
    _check_grouping_and_order(submissions, records, counts, profile)

    # ---- the same outputs, nothing left to do
    files = result_files(on_slurm)
    assert files == result_files(local), (
        f"only in the Slurm run: {sorted(files - result_files(local))}; "
        f"only in the local run: {sorted(result_files(local) - files)}"
    )
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", config],
        cwd=on_slurm,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(on_slurm / "src")},
        timeout=300,
    )
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, (
        f"after the Slurm run a dry run still has work:\n{dry.stdout[-3000:]}{dry.stderr[-3000:]}"
    )

    # ---- the same numbers
    metrics = "results/summary/moth/metrics.nc"
    with xr.open_dataset(on_slurm / metrics) as a, xr.open_dataset(local / metrics) as b:
        a, b = a.load(), b.load()
    assert a.identical(b), (
        f"{metrics} differs between Slurm and local:\n{describe_difference(a, b)}"
    )
    different = []
    for name in sorted(f for f in files if f.endswith(".nc")):
        with xr.open_dataset(on_slurm / name) as a, xr.open_dataset(local / name) as b:
            a, b = a.load(), b.load()
        # attributes hold timings and timestamps (train_seconds, history): data only
        a.attrs, b.attrs = {}, {}
        if not a.equals(b):
            different.append(f"{name}:\n{describe_difference(a, b)}")
    assert not different, "NetCDF data differs between Slurm and local:\n" + "\n".join(different)
    same = [f for f in sorted(files) if filecmp.cmp(on_slurm / f, local / f, shallow=False)]
    with capsys.disabled():
        print(
            f"[test_slurm] {len(same)} of {len(files)} result files byte-identical"
            + (f"; not: {sorted(files - set(same))}" if len(same) < len(files) else "")
        )

"""`snakemake --profile slurm` on a real (single-node) Slurm cluster gives the local run's results.

A session fixture brings a cluster up on localhost with tests/slurm/slurm_up.sh (Debian packages,
two partitions `cpu` and `gpu` with fake GPUs: the placeholders of slurm/config.yaml, so the profile
runs as shipped) and always stops what it started with tests/slurm/slurm_down.sh. Without root or
apt-get (and no cluster already up) the test is skipped, with the reason in `pytest -ra`.

The test copies the project twice and runs the tiny config in both copies at the same time:
`snakemake --cores 2` in one, `snakemake --profile slurm` in the other (only the status-check
latency and --jobs overridden). It then checks that
  * both runs succeed and produce the same files, and the Slurm copy has nothing left to do;
  * results/summary/moth/metrics.nc is identical (values bit for bit, and attributes), and every
    other NetCDF file has bit-identical data;
  * train_dense and prune ran in the GPU partition with a GPU, everything else in the CPU
    partition without one;
  * evaluations and exports were grouped: none of them was a submission of its own.
It prints the number of sbatch submissions and the wall times.

Both runs use the tiny config with only its first pruning method (magnitude), which keeps every
kind of job (simulate, train_dense, prune chains, grouped evaluate/evaluate_dense/export,
aggregate, select, plots) at about half the jobs, and the test at a few minutes on 2 cores.
PRUNESWEEP_SLURM_METHODS=all runs the whole tiny config (about twice as long),
PRUNESWEEP_SLURM_METHODS=N its first N methods.
"""

from __future__ import annotations

import filecmp
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

ROOT = Path(__file__).resolve().parents[2]
SLURM_SCRIPTS = ROOT / "tests" / "slurm"
PROFILE = ROOT / "slurm" / "config.yaml"
TINY = "tests/config/tiny.yaml"
RUN_TIMEOUT = int(os.environ.get("PRUNESWEEP_SLURM_TIMEOUT", "1800"))
JOBS = 6
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$")
GPU_RULES = {"train_dense", "prune"}
GROUPED_RULES = {"evaluate", "evaluate_dense", "export"}  # small jobs, submitted in groups
# what a project copy leaves out: at the top level, and at any depth
SKIP_TOP = {".git", ".venv", ".snakemake", "results", "logs", "report.html", "report.zip"}
SKIP_ANY = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def _profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def _partitions() -> tuple[str, str]:
    """The CPU and the GPU partition that slurm/config.yaml asks for."""
    profile = _profile()
    cpu = profile["default-resources"]["slurm_partition"]
    gpu = profile["set-resources"]["train_dense"].get("slurm_partition", cpu)
    return str(cpu), str(gpu)


def _cluster_partitions() -> set[str] | None:
    """Partitions of a cluster that answers, or None."""
    if not shutil.which("sinfo"):
        return None
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


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
    """The tiny config, with only its first PRUNESWEEP_SLURM_METHODS methods (default 1)."""
    keep = os.environ.get("PRUNESWEEP_SLURM_METHODS", "1")
    if keep == "all":
        return TINY
    config = yaml.safe_load((project / TINY).read_text())
    config["methods"] = dict(list(config["methods"].items())[: int(keep)])
    path = project / "tests" / "config" / "tiny_slurm.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path.relative_to(project))


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


def _tail(path: Path, n: int = 60) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-n:])


def _submissions(log: Path) -> list[tuple[str, str, str]]:
    """(snakemake job id, Slurm job id, rule or group_<name>) of every sbatch submission."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        m = SUBMITTED.search(line.strip())
        if m:
            parts = Path(m.group(3)).parts
            kind = parts[parts.index("slurm_logs") + 1] if "slurm_logs" in parts else "?"
            found.append((m.group(1), m.group(2), kind))
    return found


def _job_record(jobid: str) -> dict[str, str] | None:
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", jobid], capture_output=True, text=True, timeout=20
    )
    if out.returncode != 0:
        return None  # purged already (MinJobAge)
    return dict(f.split("=", 1) for f in out.stdout.split() if "=" in f)


def _failed_slurm_logs(project: Path) -> str:
    logs = sorted((project / ".snakemake" / "slurm_logs").rglob("*.log"))
    return "\n".join(f"--- {p}\n{_tail(p, 40)}" for p in logs[-3:])


def _result_files(project: Path) -> set[str]:
    skip = ("results/logs/", "results/benchmarks/")
    files = {
        p.relative_to(project).as_posix() for p in (project / "results").rglob("*") if p.is_file()
    }
    return {f for f in files if not f.startswith(skip)}


def _job_counts(log: Path) -> dict[str, int]:
    """The 'Job stats' table at the start of a Snakemake log: rule -> number of jobs."""
    counts, inside = {}, False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Job stats:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
            if m and m.group(1) != "total":
                counts[m.group(1)] = int(m.group(2))
            elif line.strip().startswith("total"):
                break
    return counts


def _describe_difference(a, b) -> str:
    import numpy as np

    lines = []
    for name in sorted(set(a.variables) | set(b.variables)):
        if name not in a.variables or name not in b.variables:
            lines.append(f"  {name}: only in {'slurm' if name in a.variables else 'local'} run")
            continue
        va, vb = a[name], b[name]
        if not va.equals(vb):
            if va.dtype.kind == "f" and va.shape == vb.shape:
                diff = np.abs(va.values.astype(float) - vb.values.astype(float))
                lines.append(f"  {name}: max |slurm - local| = {np.nanmax(diff):.3e}")
            else:
                lines.append(f"  {name}: differs")
        if va.attrs != vb.attrs:
            lines.append(f"  {name}: attributes differ")
    for key in sorted(set(a.attrs) | set(b.attrs)):
        if a.attrs.get(key) != b.attrs.get(key):
            lines.append(f"  attribute {key}: {a.attrs.get(key)!r} != {b.attrs.get(key)!r}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ the test
def test_profile_slurm_matches_local_run(slurm_cluster, tmp_path, capsys):
    import xarray as xr

    began = time.monotonic()
    on_slurm = _copy_project(tmp_path / "slurm_run")
    local = tmp_path / "local_run"
    shutil.copytree(on_slurm, local, symlinks=True)  # the same snapshot for both runs
    config = _test_config(on_slurm)
    _test_config(local)

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
    deadline = time.monotonic() + RUN_TIMEOUT
    slurm_proc = _start(slurm_args, on_slurm, tmp_path / "slurm.log")
    local_proc = _start(["--cores", "2", "--configfile", config], local, tmp_path / "local.log")
    local_rc, local_s = _finish(local_proc, deadline)
    slurm_rc, slurm_s = _finish(slurm_proc, deadline)
    submissions = _submissions(tmp_path / "slurm.log")
    if slurm_rc != 0:
        ids = [jobid for _, jobid, _ in submissions]
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=60)
    assert local_rc == 0, f"local run failed ({local_rc}):\n{_tail(tmp_path / 'local.log')}"
    assert slurm_rc == 0, (
        f"Slurm run {'timed out' if slurm_rc == -1 else 'failed'} ({slurm_rc}):\n"
        f"{_tail(tmp_path / 'slurm.log')}\n{_failed_slurm_logs(on_slurm)}"
    )

    # ---- what was submitted, and where it ran
    kinds = [kind for _, _, kind in submissions]
    counts = _job_counts(tmp_path / "local.log")
    n_grouped = {r: counts.get(r, 0) for r in GROUPED_RULES}
    groups = [k for k in kinds if k.startswith("group_")]
    per_kind = {k: kinds.count(k) for k in sorted(set(kinds))}
    with capsys.disabled():
        print(
            f"\n[test_slurm] {len(submissions)} sbatch submissions for "
            f"{sum(counts.values()) - counts.get('all', 0)} jobs "
            f"({sum(n_grouped.values())} of them in {len(groups)} grouped submissions); "
            f"Slurm run {slurm_s:.0f} s, local run {local_s:.0f} s (side by side), "
            f"test so far {time.monotonic() - began:.0f} s\n[test_slurm] per rule: {per_kind}"
        )
    assert submissions, "no 'has been submitted with SLURM jobid' lines in the Snakemake log"
    assert not GROUPED_RULES & {k.removeprefix("rule_") for k in kinds}, (
        f"small jobs were submitted one by one, not grouped: {per_kind}"
    )
    size = _profile()["group-components"]
    n_eval = n_grouped["evaluate"] + n_grouped["evaluate_dense"]
    max_groups = math.ceil(n_eval / size["evaluate"]) + math.ceil(
        n_grouped["export"] / size["export"]
    )
    assert 2 <= len(groups) <= max_groups + 1, f"{len(groups)} groups for {n_grouped}"

    cpu, gpu = _partitions()
    checked = {"gpu": 0, "cpu": 0}
    for _, jobid, kind in submissions:
        record = _job_record(jobid)
        if record is None:
            continue
        rule = kind.removeprefix("rule_")
        wants_gpu = rule in GPU_RULES
        has_gpu = "gpu" in record.get("TresPerJob", "") + record.get("TresPerNode", "")
        where = f"{kind} (Slurm job {jobid}): partition {record.get('Partition')}, {record}"
        assert record.get("Partition") == (gpu if wants_gpu else cpu), where
        assert has_gpu == wants_gpu, where
        checked["gpu" if wants_gpu else "cpu"] += 1
    assert checked["gpu"] and checked["cpu"], f"no Slurm job records left to check: {checked}"

    # ---- the same outputs, nothing left to do
    files = _result_files(on_slurm)
    assert files == _result_files(local), (
        f"only in the Slurm run: {sorted(files - _result_files(local))}; "
        f"only in the local run: {sorted(_result_files(local) - files)}"
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
        f"{metrics} differs between Slurm and local:\n{_describe_difference(a, b)}"
    )
    different = []
    for name in sorted(f for f in files if f.endswith(".nc")):
        with xr.open_dataset(on_slurm / name) as a, xr.open_dataset(local / name) as b:
            a, b = a.load(), b.load()
        # attributes hold timings and timestamps (train_seconds, history): data only
        a.attrs, b.attrs = {}, {}
        if not a.equals(b):
            different.append(f"{name}:\n{_describe_difference(a, b)}")
    assert not different, "NetCDF data differs between Slurm and local:\n" + "\n".join(different)
    same = [f for f in sorted(files) if filecmp.cmp(on_slurm / f, local / f, shallow=False)]
    with capsys.disabled():
        print(
            f"[test_slurm] {len(same)} of {len(files)} result files byte-identical"
            + (f"; not: {sorted(files - set(same))}" if len(same) < len(files) else "")
        )

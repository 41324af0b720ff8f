"""Each conda env of envs/ is enough for its rules: built alone, its scripts' imports all load.

tests/unit/test_envs.py checks the env files on paper (every import of a rule's script, through
the prunesweep modules it uses, is pinned at this venv's version, with its requirement closure).
That cannot catch what the paper check does not model, and at run time nothing would: Snakemake
appends the sys.path of its own process (this venv) to every script's, so a package missing from
an env is silently imported from the venv. So here, for each env file:

1. a clean virtual environment (no system or user site-packages) gets exactly the env's `pip:`
   list, `pip install --no-deps` from the package index (what `snakemake --sdm conda` installs,
   minus conda's Python: the venv's interpreter is the same 3.11 the env pins);
2. `pip check` proves every installed package's own requirements are in the list;
3. a fresh interpreter of that environment, with only src/ on PYTHONPATH (as the envs are used:
   prunesweep comes from the checkout), imports every third-party module and every prunesweep
   module that the scripts of the env's rules reach (the same analysis as test_envs.py, which
   follows imports inside functions too), checks that each came from the clean environment or
   src/, and round-trips a NetCDF file through xarray's netCDF4 engine (every rule reads or
   writes one); with matplotlib, it also saves a PNG (what the plot rules do).

Not covered: a module imported dynamically by name inside a third-party package (not an
`import` statement anywhere in prunesweep), beyond the NetCDF and PNG paths above.

Slow (about a minute per env, most of it unpacking TensorFlow): marker `envs`. pip reuses its
download cache (setup.sh fills it on a fresh machine), so nothing is downloaded twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.unit.test_envs import (
    PACKAGE,
    ROOT,
    SRC,
    Found,
    analyse,
    parse_rules,
    read_env,
)

pytestmark = pytest.mark.envs
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def pip_lines(path: Path) -> list[str]:
    for dep in read_env(path).get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            return [str(line) for line in dep["pip"]]
    return []


def reached_modules(env: Path) -> tuple[list[str], list[str]]:
    """(third-party top-level modules, prunesweep modules) the env's rules' scripts reach."""
    third, internal = set(), set()
    stdlib = set(sys.stdlib_module_names)
    for rule in parse_rules():
        if rule.conda != env.resolve() or rule.script is None:
            continue
        found = Found()
        analyse(rule.script, None, None, found, SRC)
        third |= {m for m in found.modules if m not in stdlib and m not in (PACKAGE, "snakemake")}
        internal |= {key.split(":")[0] for key in found.visited if key.startswith(f"{PACKAGE}")}
    return sorted(third), sorted(internal)


CHECK = textwrap.dedent(
    """
    import importlib, json, os, sys
    third, internal, roots, out = json.loads(sys.argv[1])
    problems, places = [], {}
    for name in third + internal:
        try:
            module = importlib.import_module(name)
        except Exception as err:
            problems.append(f"import {name}: {type(err).__name__}: {err}")
            continue
        where = os.path.realpath(getattr(module, "__file__", None) or "")
        places[name] = where
        if not any(where.startswith(root) for root in roots):
            problems.append(f"{name} came from {where}, outside the env and src/")
    def netcdf_round_trip():
        import numpy as np
        import xarray as xr
        path = os.path.join(out, "check.nc")
        xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(path, engine="netcdf4")
        with xr.open_dataset(path, engine="netcdf4") as ds:
            assert ds["x"].values.tolist() == [0.0, 1.0, 2.0]
    def png():
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        fig.savefig(os.path.join(out, "check.png"))
    for needs, work in ((("xarray", "netCDF4"), netcdf_round_trip), (("matplotlib",), png)):
        if all(n in third for n in needs):
            try:
                work()
            except Exception as err:
                problems.append(f"{work.__name__}: {type(err).__name__}: {err}")
    print(json.dumps({"problems": problems, "places": places}))
    """
)


@pytest.mark.parametrize("env", ENV_FILES, ids=lambda p: p.stem)
def test_env_alone_runs_its_scripts_imports(env, tmp_path):
    lines = pip_lines(env)
    third, internal = reached_modules(env)
    assert lines and third, f"{env.name}: no pip list or no rule uses it"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    try:
        install = subprocess.run(
            [*pip, "install", "-q", "--no-deps", "--no-compile", "-r", str(requirements)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert install.returncode == 0, f"{env.name}: pip install failed:\n{install.stderr[-3000:]}"
        check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=300)
        assert check.returncode == 0, (
            f"{env.name}: the env's packages need packages it does not list:\n{check.stdout}"
        )

        roots = [os.path.realpath(venv), os.path.realpath(SRC)]
        clean_env = {
            "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYTHONPATH": str(SRC),
            "PYTHONNOUSERSITE": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(tmp_path / "mpl"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        run = subprocess.run(
            [str(python), "-c", CHECK, json.dumps([third, internal, roots, str(tmp_path)])],
            cwd=tmp_path,
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, f"{env.name}: the check failed:\n{run.stderr[-4000:]}"
        result = json.loads(run.stdout.strip().splitlines()[-1])
        assert not result["problems"], f"{env.name}:\n  " + "\n  ".join(result["problems"])
        assert set(result["places"]) == set(third) | set(internal)
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # TensorFlow alone is 1.5 GB

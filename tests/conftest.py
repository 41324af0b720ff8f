"""Shared fixtures: small random networks and a small scaled data set."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from prunesweep.network import Network
from prunesweep.network import random_network as library_random_network

ROOT = Path(__file__).resolve().parents[1]


def random_network(widths=(10, 12, 8, 7), *, seed=0, activation="tanh") -> Network:
    net = library_random_network(widths, seed=seed, activation=activation)
    net.attrs.update(task="moth", arch="t", seed=1)
    return net


@pytest.fixture
def net() -> Network:
    return random_network()


def python_without_prunesweep(script: str, *args: str, cwd: Path) -> str:
    """Run `script` in a fresh Python that cannot import prunesweep; return its stdout.

    `-S -I`: no site processing, so the editable install's .pth file is never read, and no
    PYTHONPATH (which points at src/ in development). The venv's site-packages are put on
    sys.path by hand, and an import hook refuses prunesweep in case it is installed there as
    a regular package. The script fails if anything it runs tries to import prunesweep.
    """
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    prelude = (
        "import sys\n"
        f"sys.path.extend({site!r})\n"
        "class _Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'prunesweep':\n"
        "            raise ImportError('prunesweep must not be needed here')\n"
        "sys.meta_path.insert(0, _Refuse())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [sys.executable, "-S", "-I", "-c", prelude + script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the script failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout

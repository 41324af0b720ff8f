"""Imports go one way (rules -> scripts -> stages -> library -> network and NetCDF layers).

The contracts are in pyproject.toml ([tool.importlinter]); this runs import-linter on them, so a
module that imports against the grain (or TensorFlow where it must not) fails the tests.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is not installed (bash setup.sh installs it)"
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout or "BROKEN" not in proc.stdout


def test_every_module_imports_on_its_own():
    """No import circle: each library module imports in a fresh interpreter."""
    modules = sorted(
        ".".join(p.relative_to(ROOT / "src").with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "src" / "prunesweep").rglob("*.py")
    )
    heavy = ("prunesweep.train", "prunesweep.models.mlp")
    # a __main__ module runs its command when imported (`python -m`); tests/unit/test_cli.py runs it
    light = [m for m in modules if m not in heavy and not m.endswith(".__main__")]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    for module in light:
        proc = subprocess.run(
            [sys.executable, "-c", code, module], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"{module}: {proc.stderr[-2000:]}"


def test_one_handler_per_workflow_event():
    """Snakemake keeps only the last `onstart:` (and onsuccess, onerror): a second one silently
    drops the first's checks, as it once dropped the start-up check that results/ is writable."""
    sources = [*(ROOT / "rules").glob("*.smk"), ROOT / "workflow" / "Snakefile"]
    for event in ("onstart", "onsuccess", "onerror"):
        found = [
            f"{path.name}:{n}"
            for path in sources
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if line.startswith(f"{event}:")
        ]
        assert len(found) <= 1, f"{event} defined {len(found)} times: {found}"

"""Suggested resources from benchmark files: the largest use per key, with the margins.

Numbers are checked by hand (closed form), and the printed block must be a valid `resources:`
section of a config (the config schema says so). tests/workflow/test_tiny_workflow.py's run
feeds it the benchmark files of a real run.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from prunesweep import config as psconfig
from prunesweep import efficiency
from prunesweep.efficiency import Usage, suggest, usage_by_key

ROOT = Path(__file__).resolve().parents[2]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(path: Path, seconds, rss) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t1\n")


def benchmarks(root: Path) -> Path:
    bench(root / "prune/moth/a/seed1/magnitude/level01.tsv", 30.0, 730.0)
    bench(root / "prune/moth/a/seed1/magnitude/level02.tsv", 90.0, 500.0)
    bench(root / "evaluate/moth/a/seed1/dense.tsv", 4.5, "NA")  # too short to sample memory
    return root


def test_largest_use_per_key(tmp_path):
    usages = usage_by_key(benchmarks(tmp_path))
    assert usages == {
        "evaluate": Usage("evaluate", 1, 4.5, None),
        "prune": Usage("prune", 2, 90.0, 730.0),
    }


def test_margins_by_hand():
    # 730 MB x 1.25 + 100 = 1012.5 -> 1100; 90 s x 1.5 = 135 s -> 3 minutes
    assert suggest(Usage("prune", 2, 90.0, 730.0)) == {"mem_mb": 1100, "runtime": 3}
    # a few seconds: at least one minute; memory unknown: not suggested
    assert suggest(Usage("evaluate", 1, 4.5, None)) == {"runtime": 1}
    assert suggest(Usage("x", 1, 600.0, 10.0), mem_margin=2, time_margin=1) == {
        "mem_mb": 200,
        "runtime": 10,
    }


def test_printed_block_is_a_valid_resources_section(tmp_path, capsys):
    config_path = ROOT / "config" / "config.yaml"
    assert efficiency.main([str(benchmarks(tmp_path)), "--config", str(config_path)]) == 0
    block = yaml.safe_load(capsys.readouterr().out)
    # the config's threads and gpu are kept, memory and time replaced
    assert block["resources"]["prune"] == {"threads": 1, "mem_mb": 1100, "runtime": 3, "gpu": 0}
    assert block["resources"]["evaluate"] == {"runtime": 1}
    config = yaml.safe_load(config_path.read_text())
    config["resources"].update(block["resources"])
    psconfig.validate(config, ROOT / "config" / "schema.yaml")


def test_bad_input_is_one_line(tmp_path, capsys):
    assert efficiency.main([str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err.strip() == f"prunesweep: no benchmark folder {tmp_path}/missing"
    (tmp_path / "prune").mkdir()
    (tmp_path / "prune" / "x.tsv").write_text("not\ta benchmark\n1\t2\n")
    assert efficiency.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("prunesweep: benchmark file ") and "x.tsv: no 's' column" in err

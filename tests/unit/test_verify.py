"""prunesweep.verify on a small results folder built with the library (no training).

The same on a real sweep, damaged the ways issue 12 lists: tests/workflow/test_verify_results.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from prunesweep import files, lineage, network_file, verify
from prunesweep.lineage import Source
from tests.conftest import random_network
from tests.unit.test_reliability import dataset_file

RUN = "runs/moth/a/seed1"


def network(seed: int, method: str, level: int, **links):
    net = random_network((2, 4, 1), seed=level)
    if level:
        rng = np.random.default_rng(level)
        net = net.with_masks(
            [
                (rng.random(lay.kernel.shape) > 0.3, np.ones(lay.bias.shape, bool))
                for lay in net.layers
            ]
        )
    total = sum(lay.kernel_mask.size for lay in net.layers)
    live = sum(int(lay.kernel_mask.sum()) for lay in net.layers)
    net.attrs.update(
        task="moth", arch="a", seed=seed, method=method, level=level,
        achieved_sparsity=(total - live) / total, **lineage.record(**links),
    )  # fmt: skip
    return net


@pytest.fixture
def results(tmp_path):
    """results/: a dataset, a dense network and two levels, chained as the workflow chains them."""
    root = tmp_path / "results"
    (root / "data").mkdir(parents=True)
    data = dataset_file(root / "data")  # results/data/moth.nc
    dataset = Source(str(data), files.open_netcdf(data, kind="dataset").attrs["digest"])
    dense_path = root / RUN / "dense.nc"
    dense = network_file.write_network(network(1, "dense", 0, dataset_digest=dataset), dense_path)
    parent = Source(str(dense), files.open_netcdf(dense, kind="n").attrs["digest"])
    dense_source = parent
    for level in (1, 2):
        path = root / RUN / f"magnitude/level{level:02d}.nc"
        links = {"parent_digest": parent, "dense_digest": dense_source, "dataset_digest": dataset}
        network_file.write_network(network(1, "magnitude", level, **links), path)
        parent = Source(str(path), files.open_netcdf(path, kind="n").attrs["digest"])
    return root


def test_a_good_folder_has_no_problems(results, capsys):
    assert verify.verify_results(results) == []
    assert verify.count_files(results) == 4
    assert verify.main([str(results)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err == f"prunesweep: all 4 files under {results} verified\n"


def test_a_level_of_another_seed_is_named_with_its_fix(results, capsys):
    level2 = results / RUN / "magnitude/level02.nc"
    net = network_file.read_network(level2)
    net.attrs["seed"] = 2
    network_file.write_network(net, level2)
    problems = verify.verify_results(results)
    assert [p.path for p in problems] == [level2]
    assert problems[0].line.startswith(f"network file {level2}: attribute seed=2, but this job")
    assert problems[0].fix == f"snakemake --forcerun {level2}"
    assert verify.main([str(results)]) == 1
    out = capsys.readouterr()
    assert out.out == problems[0].line + "\n"
    assert out.err == f"prunesweep: 1 of 4 files under {results} are bad\n"


def test_only_the_first_bad_file_of_a_chain_is_reported(results):
    """level01 remade from another parent: level02's link to it is then broken too, but level01
    is the one to remake (--forcerun remakes level02 after it)."""
    level1 = results / RUN / "magnitude/level01.nc"
    net = network_file.read_network(level1)
    net.attrs["parent_digest"] = "sha256:" + "1" * 64
    network_file.write_network(net, level1)
    problems = verify.verify_results(results)
    assert [p.path for p in problems] == [level1]
    assert "was made from a previous level with digest sha256:111111111111" in problems[0].line
    assert problems[0].line.endswith(
        f"remake it with `snakemake --forcerun {level1}` and your usual options"
    )


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    assert verify.main([str(tmp_path / "nothing")]) == 1
    assert (
        capsys.readouterr().err == f"prunesweep: results folder {tmp_path}/nothing does not exist\n"
    )

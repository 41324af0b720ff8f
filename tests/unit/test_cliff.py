"""The cliff diagnosis (prunesweep.cliff): which output a level cuts off, found from the masks."""

import numpy as np
import xarray as xr

from prunesweep import cliff
from prunesweep.selection import select_levels


def metrics(losses, reach, sparsity):
    """One arch/method, seeds on the first axis: losses (seed, level), reach (seed, level, out)."""
    losses, reach = np.asarray(losses, float), np.asarray(reach, float)
    n_seed, n_level = losses.shape
    dims = ("arch", "method", "seed", "level")
    coords = {
        "arch": ["a"],
        "method": ["m"],
        "seed": np.arange(1, n_seed + 1),
        "level": np.arange(n_level),
        "output": ["Fx", "Fy", "tau"],
    }
    return xr.Dataset(
        {
            "val_loss": (dims, losses[None, None]),
            "sparsity": (dims, np.broadcast_to(sparsity, losses.shape)[None, None]),
            "diverged": (dims, np.zeros((1, 1, n_seed, n_level))),
            "compression_ratio": (dims, np.ones((1, 1, n_seed, n_level))),
            "output_inputs": ((*dims, "output"), reach[None, None]),
        },
        coords=coords,
    )


def test_a_cliff_caused_by_a_cut_output_is_named():
    m = metrics(
        losses=[[1e-4, 1e-4, 2e-4, 6e-3], [1e-4, 2e-4, 3e-3, 9e-3]],
        reach=[
            [[10, 10, 10], [9, 8, 9], [5, 3, 4], [4, 0, 3]],  # seed 1: Fy cut at level 3
            [[10, 10, 10], [9, 9, 9], [7, 6, 5], [2, 1, 0]],  # seed 2: fails at 2, cut at 3
        ],
        sparsity=[0.0, 0.5, 0.9, 0.95],
    )
    sel = select_levels(m, threshold=1e-3)
    out = cliff.diagnose(m, sel)
    assert out["first_cut_level"].values.ravel().tolist() == [3, 3]
    assert out["first_cut_output"].values.ravel().tolist() == [1, 2]
    assert out["cut_outputs_at_failure"].values.ravel().tolist() == [1, 0]
    merged = sel.merge(out)
    one = cliff.describe(merged, m, arch="a", method="m", seed=1)
    assert one == (
        "over the threshold from level 3 (95.0 % sparse): output Fy is cut off from every "
        "input there"
    )
    two = cliff.describe(merged, m, arch="a", method="m", seed=2)
    assert "level 2 (90.0 % sparse)" in two and "capacity" in two


def test_no_failure_no_cliff():
    m = metrics(losses=[[1e-4, 1e-4]], reach=[[[3, 3, 3], [2, 0, 1]]], sparsity=[0.0, 0.9])
    sel = select_levels(m, threshold=1e-3)
    out = cliff.diagnose(m, sel)
    assert out["cut_outputs_at_failure"].item() == -1
    assert out["first_cut_level"].item() == 1  # cut, yet under the threshold: a constant fits
    merged = sel.merge(out)
    assert "stays under the threshold" in cliff.describe(merged, m, arch="a", method="m", seed=1)

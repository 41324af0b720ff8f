import numpy as np
import pytest
import xarray as xr

from prunesweep.selection import select_levels


def metrics(val, sparsity, diverged=None):
    val = np.asarray(val, float)[None, None, :, :]
    sp = np.broadcast_to(np.asarray(sparsity, float), val.shape)
    ds = xr.Dataset(
        {
            "val_loss": (("arch", "method", "seed", "level"), val),
            "sparsity": (("arch", "method", "seed", "level"), sp.copy()),
            "compression_ratio": (("arch", "method", "seed", "level"), 1 / (1 - sp + 1e-9)),
        },
        coords={
            "arch": ["a"],
            "method": ["m"],
            "seed": list(range(1, val.shape[2] + 1)),
            "level": list(range(val.shape[3])),
        },
    )
    if diverged is not None:
        ds["diverged"] = (
            ("arch", "method", "seed", "level"),
            np.asarray(diverged, float)[None, None],
        )
    return ds


def picked(ds, **kw):
    return select_levels(ds, threshold=1e-3, **kw)["selected_level"].values.ravel().tolist()


def test_sparsest_level_under_threshold_even_after_a_failure():
    # the original rule: the last (sparsest) level under the threshold wins, even if an
    # intermediate level went above it
    ds = metrics([[5e-4, 6e-4, 2e-3, 9e-4, 5e-3]], [0, 0.5, 0.8, 0.9, 0.95])
    out = select_levels(ds, threshold=1e-3)
    assert out["selected_level"].item() == 3
    assert out["selected_sparsity"].item() == pytest.approx(0.9)
    assert out["selected_loss"].item() == pytest.approx(9e-4)
    assert out["first_failure_level"].item() == 2
    assert out["has_selection"].item() == 1


def test_all_above_threshold_gives_minus_one_and_nan():
    ds = metrics([[2e-3, 3e-3, 4e-3]], [0, 0.5, 0.8])
    out = select_levels(ds, threshold=1e-3)
    assert out["selected_level"].item() == -1
    assert out["has_selection"].item() == 0
    assert np.isnan(out["selected_sparsity"].item()) and np.isnan(out["selected_loss"].item())
    assert out["first_failure_level"].item() == 0


def test_nan_and_diverged_levels_are_never_selected():
    ds = metrics([[5e-4, np.nan, 1e-4]], [0, 0.5, 0.8], diverged=[[0, 0, 1]])
    assert picked(ds) == [0]


def test_threshold_is_inclusive():
    assert picked(metrics([[1e-3, 1e-3]], [0, 0.5])) == [1]


def test_ties_in_sparsity_go_to_lower_loss_then_lower_level():
    ds = metrics([[5e-4, 3e-4, 3e-4, 4e-4]], [0, 0.9, 0.9, 0.9])
    assert picked(ds) == [1]
    ds = metrics([[5e-4, 4e-4, 3e-4]], [0, 0.9, 0.9])
    assert picked(ds) == [2]


def test_per_seed_and_missing_levels():
    # seed 2 has fewer levels (NaN padding from aggregation)
    ds = metrics([[5e-4, 6e-4, 7e-4], [5e-4, 2e-3, np.nan]], [0, 0.5, 0.8])
    ds["sparsity"].values[0, 0, 1, 2] = np.nan
    assert picked(ds) == [2, 0]


def test_bad_threshold_and_split():
    ds = metrics([[5e-4]], [0])
    with pytest.raises(ValueError, match="threshold"):
        select_levels(ds, threshold=0)
    with pytest.raises(ValueError, match="train_loss"):
        select_levels(ds, threshold=1e-3, split="train")

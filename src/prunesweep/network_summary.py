"""What the network files of a task say beyond their metrics, in one networks.nc.

The metrics files hold what evaluation measures; the report also needs what only the level
files hold: the loss of every epoch (how training went, where early stopping fired, which level
ran into its epoch cap), the magnitudes of the live weights (their distribution level by level,
over seeds: the Monte Carlo view of Zahn et al. 2022) and where the networks were trained
(device, TensorFlow and Keras versions). `collect_networks` reads every level file of a task once
and writes dims (arch, method, seed, level[, epoch | magnitude_bin]); the dense network is level
0 of every method, as in metrics.nc.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from prunesweep.files import SchemaError, open_netcdf, read_attrs

#: edges of the |w| histogram: 16 bins per decade from 1e-6 to 1e2, the same for every task so
#: that histograms of different runs add up; values outside fall into the end bins
MAGNITUDE_EDGES = np.logspace(-6, 2, 8 * 16 + 1)


def magnitude_counts(kernels: Iterable[np.ndarray], masks: Iterable[np.ndarray]) -> np.ndarray:
    """Counts of the live weights' |w| in the bins of MAGNITUDE_EDGES (end bins take the rest)."""
    live = [np.abs(k[m.astype(bool)]) for k, m in zip(kernels, masks, strict=True)]
    values = np.concatenate(live) if live else np.zeros(0)
    clipped = np.clip(values, MAGNITUDE_EDGES[0], MAGNITUDE_EDGES[-1])
    counts, _ = np.histogram(clipped, bins=MAGNITUDE_EDGES)
    return counts


def _max_epochs(attrs) -> float:
    """The epoch cap the level was trained under, from the settings it records (a baseline,
    trained from scratch, records its dense run's training)."""
    settings = json.loads(attrs.get("config", "{}"))
    from_scratch = (settings.get("dense") or {}).get("training")
    training = settings.get("retraining") or settings.get("training") or from_scratch or {}
    return float(training.get("max_epochs", np.nan))


def _read(path) -> dict:
    """What networks.nc needs of one network file; only those variables are read (the files
    also hold initial weights and optimizer moments)."""
    attrs = read_attrs(path, kind="network")
    missing = [a for a in ("arch", "seed", "method", "level", "n_layers") if a not in attrs]
    if missing:
        raise SchemaError(f"network file {path} lacks attribute(s) {missing}")
    n_layers = int(attrs["n_layers"])
    names = ["history_loss", "history_val_loss"]
    names += [f"{v}_{i}" for i in range(1, n_layers + 1) for v in ("kernel", "kernel_mask")]
    ds = open_netcdf(path, kind="network", required=tuple(names), variables=names)
    kernels = [ds[f"kernel_{i}"].values for i in range(1, n_layers + 1)]
    masks = [ds[f"kernel_mask_{i}"].values for i in range(1, n_layers + 1)]
    return {
        "key": (
            ds.attrs["arch"],
            ds.attrs["method"],
            int(ds.attrs["seed"]),
            int(ds.attrs["level"]),
        ),
        "loss": ds["history_loss"].values,
        "val_loss": ds["history_val_loss"].values,
        "epochs": float(ds.attrs.get("epochs", ds.sizes["epoch"])),
        "best_epoch": float(ds.attrs.get("best_epoch", np.nan)),
        "max_epochs": _max_epochs(ds.attrs),
        "diverged": float(ds.attrs.get("diverged", 0)),
        "counts": magnitude_counts(kernels, masks),
        "device": str(ds.attrs.get("device", "unknown")),
        "software": str(ds.attrs.get("software", "not recorded")),
    }


def collect_networks(
    paths: Iterable[str],
    *,
    methods: Sequence[str],
    archs: Sequence[str],
    seeds: Sequence[int],
    methods_of: Mapping[str, Sequence[str]] | None = None,
) -> xr.Dataset:
    """Histories, early stopping, |w| histograms and device of every level file in `paths`.

    `methods_of` maps an architecture to the methods that prune it (default: all `methods`);
    the dense network starts the chain of those only, so an (arch, method) that is not pruned
    stays empty (NaN), as in metrics.nc.
    """
    records = {}
    for path in paths:
        rec = _read(path)
        arch, method, seed, level = rec["key"]
        if level == 0:  # the dense network starts every chain of its architecture
            for m in (methods_of or {}).get(arch, methods):
                records[(arch, m, seed, 0)] = rec
        else:
            records[(arch, method, seed, level)] = rec
    if not records:
        raise ValueError("no network files to collect")
    levels = sorted({key[3] for key in records})
    n_epochs = max(len(r["loss"]) for r in records.values())
    coords = {"arch": list(archs), "method": list(methods), "seed": list(seeds), "level": levels}
    shape = tuple(len(v) for v in coords.values())
    index = {d: {v: i for i, v in enumerate(values)} for d, values in coords.items()}
    scalars = {
        n: np.full(shape, np.nan) for n in ("epochs", "best_epoch", "max_epochs", "diverged")
    }
    history = {n: np.full((*shape, n_epochs), np.nan) for n in ("loss", "val_loss")}
    counts = np.zeros((*shape, len(MAGNITUDE_EDGES) - 1), np.int64)
    devices, software = set(), set()
    for key, rec in records.items():
        if any(k not in index[d] for k, d in zip(key, coords, strict=True)):
            continue
        at = tuple(index[d][k] for k, d in zip(key, coords, strict=True))
        for name in scalars:
            scalars[name][at] = rec[name]
        for name in history:
            history[name][at][: len(rec[name])] = rec[name]
        counts[at] = rec["counts"]
        devices.add(rec["device"])
        software.add(rec["software"])
    dims = tuple(coords)
    ds = xr.Dataset(
        coords={
            **coords,
            "epoch": np.arange(1, n_epochs + 1),
            "magnitude_bin": np.sqrt(MAGNITUDE_EDGES[:-1] * MAGNITUDE_EDGES[1:]),
        }
    )
    ds["history_loss"] = ((*dims, "epoch"), history["loss"])
    ds["history_val_loss"] = ((*dims, "epoch"), history["val_loss"])
    for name, values in scalars.items():
        ds[name] = (dims, values)
    ds["weight_count"] = ((*dims, "magnitude_bin"), counts)
    ds["magnitude_edges"] = (("magnitude_edge",), MAGNITUDE_EDGES)
    ds["epoch"].attrs.update(long_name="training epoch", units="1")
    ds["magnitude_bin"].attrs.update(long_name="geometric centre of the |w| bin", units="1")
    ds.attrs.update(
        title="prunesweep networks: training histories, weight magnitudes, device",
        devices="; ".join(sorted(devices)),
        software="; ".join(sorted(software)),
    )
    return ds

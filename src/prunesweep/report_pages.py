"""The report's pages on what was run, how training went and what the exported model gains.

`study_page` fills in the config (tasks with split sizes, architectures with parameter counts,
methods with their settings and levels, training, selection), the device and software versions;
`training_page` the epochs of every level (early stopping, epoch caps, divergence);
`exported_page` the measured size and speed of the exported models beside the dense networks.
Each returns one self-contained HTML page (prunesweep.htmlpage); prunesweep.tables re-exports
them, the report items (prunesweep.report_items) name them.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from importlib import metadata

import numpy as np
import pandas as pd
import xarray as xr

from prunesweep.htmlpage import html_page, mean_sd
from prunesweep.pruning import parse_method

#: packages whose versions the Study page lists (the report-making environment)
PACKAGES = ("prunesweep", "numpy", "scipy", "xarray", "pandas", "netCDF4", "matplotlib",
            "seaborn", "snakemake")  # fmt: skip


def _config(metrics: xr.Dataset) -> dict:
    return json.loads(metrics.attrs.get("config", "{}"))


def _pairs(rows: Sequence[tuple[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([{"setting": k, "value": str(v)} for k, v in rows])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _settings_text(settings: Mapping, skip=()) -> str:
    return ", ".join(f"{k} = {v}" for k, v in settings.items() if k not in skip) or "–"


# ------------------------------------------------------------------------------------ study
def task_table(config: Mapping, dataset: Mapping, metrics: xr.Dataset) -> pd.DataFrame:
    """The task's settings, the split sizes the dataset really has, its inputs and outputs."""
    task = str(metrics.attrs.get("task", dataset.get("task", "")))
    settings = dict(config.get("tasks", {}).get(task, {}))
    n = {s: int(dataset[f"n_{s}"]) for s in ("train", "val", "test") if f"n_{s}" in dataset}
    total = sum(n.values())
    rows = [("task", task), ("simulator", settings.pop("simulator", "–"))]
    if total:
        rows.append(("samples in the data set", f"{total:,}"))
        rows += [(f"{s} split", f"{k:,} ({100 * k / total:.0f} %)") for s, k in n.items()]
    if "input" in metrics.coords:
        rows.append(
            (f"inputs ({metrics.sizes['input']})", ", ".join(map(str, metrics["input"].values)))
        )
    if "output" in metrics.coords:
        rows.append(
            (f"outputs ({metrics.sizes['output']})", ", ".join(map(str, metrics["output"].values)))
        )
    rows += [(k, v) for k, v in settings.items()]
    return _pairs(rows)


def architecture_table(config: Mapping, metrics: xr.Dataset) -> pd.DataFrame:
    """Per architecture: layer widths, activation, parameters and weight multiply-adds."""
    rows = []
    n_in = metrics.sizes.get("input")
    n_out = metrics.sizes.get("output")
    for arch in metrics["arch"].values:
        settings = dict(config.get("architectures", {}).get(str(arch), {}))
        dense = metrics.sel(arch=arch, level=0).isel(method=0, seed=0)
        widths = [n_in, *settings.get("hidden", []), n_out]
        rows.append(
            {
                "architecture": str(arch),
                "layer widths (input to output)": " × ".join(str(w) for w in widths if w),
                "activation": settings.get("activation", "tanh"),
                "parameters (weights + biases)": f"{int(dense['total_params']):,}",
                "weight multiply-adds per sample": f"{int(dense['macs_dense']):,}"
                if "macs_dense" in dense
                else "–",
                "other settings": _settings_text(settings, ("task", "hidden", "activation")),
            }
        )
    return pd.DataFrame(rows)


def method_table(config: Mapping) -> pd.DataFrame:
    """Per method: kind, settings, number of levels and the target sparsity of each."""
    rows = []
    for name, settings in config.get("methods", {}).items():
        spec = parse_method(name, settings, default_schedule=config.get("schedule", []))
        if spec.schedule is not None:
            targets = ", ".join(f"{100 * t:g}" for t in spec.schedule) + " %"
            unit = " of hidden units" if spec.kind == "nodal" else " of weights"
            targets += unit
        else:
            targets = "decided at run time by the method"
        retrain = dict(getattr(spec, "retrain", None) or {})
        rows.append(
            {
                "method": name,
                "kind": settings.get("kind", "–"),
                "own retraining settings": _settings_text(retrain),
                "settings (defaults filled in)": _settings_text(
                    asdict(spec.params) if is_dataclass(spec.params) else settings,
                    ("kind", "schedule"),
                ),
                "levels": str(spec.n_levels),
                "target sparsity per level": targets,
            }
        )
    return pd.DataFrame(rows)


def training_settings_table(config: Mapping) -> pd.DataFrame:
    training = config.get("training", {})
    rows = []
    for phase, title in (("dense", "dense training"), ("retrain", "retraining at each level")):
        settings = training.get(phase, {})
        rows.append({"phase": title, **{k: str(v) for k, v in settings.items()}})
    out = pd.DataFrame(rows).fillna("default")
    return out


def study_page(
    metrics: xr.Dataset, selection: xr.Dataset, networks: xr.Dataset, dataset: Mapping
) -> str:
    """What was run: the config filled in, split sizes, parameter counts, device, versions."""
    config = _config(metrics)
    seeds = ", ".join(str(int(s)) for s in metrics["seed"].values)
    n_levels = int(np.isfinite(metrics["val_loss"].sel(level=slice(1, None))).sum())
    run_rows = [
        ("seeds (one network per architecture and seed)", seeds),
        ("selection", f"sparsest level with {selection.attrs.get('metric')} <= "
                      f"{selection.attrs.get('threshold'):g} (MSE of scaled targets)"),
        ("networks trained", f"{metrics.sizes['arch'] * metrics.sizes['seed']} dense, "
                             f"{n_levels} pruned levels"),
        ("rewind epoch (lottery tickets)", config.get("training", {}).get("rewind_epoch", "–")),
        ("PQ Index", _settings_text(config.get("pqi", {}))),
    ]  # fmt: skip
    software = [
        ("trained on", networks.attrs.get("devices", "unknown")),
        ("training software", networks.attrs.get("software", "not recorded")),
        ("python (report)", platform.python_version()),
        *((f"{p} (report)", _version(p)) for p in PACKAGES),
    ]
    return html_page(
        "What was run",
        [
            ("Task", "The simulated data set: its size, splits, inputs and outputs.",
             task_table(config, dataset, metrics)),
            ("Architectures", "Dense networks before pruning (hidden layers use the "
             "activation, the output layer is linear).", architecture_table(config, metrics)),
            ("Methods", "Every method prunes the same dense networks; each level is pruned "
             "from the previous one and retrained with its masks fixed.", method_table(config)),
            ("Training", "Settings not listed take their defaults (config/README.md).",
             training_settings_table(config)),
            ("Sweep and selection", "", _pairs(run_rows)),
            ("Device and software", "Where the networks were trained (from the network "
             "files) and the versions that made this report.", _pairs(software)),
        ],
    )  # fmt: skip


# --------------------------------------------------------------------------------- training
def training_table(metrics: xr.Dataset, networks: xr.Dataset) -> pd.DataFrame:
    """Per architecture, method and level: epochs and best epoch per seed, caps, divergence."""
    rows = []
    seeds = [int(s) for s in networks["seed"].values]
    for arch in networks["arch"].values:
        for m, method in enumerate(networks["method"].values):
            for level in networks["level"].values:
                if level == 0 and m > 0:
                    continue  # the dense network is level 0 of every method: list it once
                where = {"arch": arch, "method": method, "level": level}
                cell = networks.sel(where)
                epochs = cell["epochs"].values
                if not np.isfinite(epochs).any():
                    continue
                best = cell["best_epoch"].values
                cap = cell["max_epochs"].values
                diverged = cell["diverged"].values > 0
                at_cap = (epochs >= cap) & ~diverged
                sparsity = metrics["sparsity"].sel(where).values
                rows.append(
                    {
                        "architecture": str(arch),
                        "method": "dense" if level == 0 else str(method),
                        "level": int(level),
                        "sparsity": mean_sd(sparsity, ".1f", percent=True),
                        "epoch cap": f"{int(np.nanmax(cap))}",
                        "epochs per seed": ", ".join(
                            f"{s}: {int(e)}" for s, e in zip(seeds, epochs, strict=True)
                            if np.isfinite(e)
                        ),
                        "best epoch per seed": ", ".join(
                            f"{s}: {int(b)}" for s, b in zip(seeds, best, strict=True)
                            if np.isfinite(b)
                        ),
                        "seeds at the epoch cap": f"{int(at_cap.sum())}",
                        "seeds diverged": f"{int(diverged.sum())}",
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def training_page(metrics: xr.Dataset, networks: xr.Dataset) -> str:
    return html_page(
        "How training went",
        [
            (
                "Epochs of every level",
                "Training stops early after `patience` epochs without improvement and keeps "
                "the weights of the best epoch. A level whose seeds ran to the epoch cap "
                "might have improved with more epochs; a diverged level (loss not finite or "
                "over 1000 x dense) is never selected.",
                training_table(metrics, networks),
            )
        ],
    )


# --------------------------------------------------------------------------------- exported
def _read_exports(paths: Sequence[str]) -> list[dict]:
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def exported_tables(metrics: xr.Dataset, selection: xr.Dataset, exports: Sequence[str]):
    """Per architecture the dense network, then each method's exported models (mean over the
    seeds that have one): (size table, time table). Size: bytes on disk against the dense
    network exported unpruned; time: seconds per predict call at each batch size, with the
    measured speed-up (dense time / exported time, mean over seeds)."""
    records = _read_exports(exports)
    if not records:
        return pd.DataFrame(), pd.DataFrame()
    batches = records[0]["batches"]
    speedup = "speedup_macs" if "speedup_macs" in metrics else "speedup"
    sizes, times = [], []

    def per_batch(parts, reference=None) -> dict:
        cells = {}
        for i, batch in enumerate(batches):
            t = np.array([p["seconds_per_call"][i] for p in parts]) * 1e6
            text = f"{t.mean():.3g} µs"
            if reference is not None:
                dense = np.array([r["seconds_per_call"][i] for r in reference]) * 1e6
                text += f" ({dense.mean() / t.mean():.2g}x)"
            cells[f"batch {batch}"] = text
        return cells

    for arch in selection["arch"].values:
        mine = [r for r in records if r["arch"] == arch]
        if not mine:
            continue
        dense = [r["dense"] for r in mine]
        key = {"architecture": str(arch), "method": "dense (level 0)"}
        sizes.append({**key, "seeds with a model": str(len({r["seed"] for r in mine})),
                      "file size": f"{np.mean([d['file_bytes'] for d in dense]) / 1024:.1f} kB",
                      "size / dense": "1",
                      "parameters": f"{dense[0]['parameters']:,} (with biases)",
                      "theoretical speed-up": "1"})  # fmt: skip
        times.append({**key, **per_batch(dense)})
        for method in selection["method"].values:
            runs = [r for r in mine if r["method"] == method]
            done = [r for r in runs if r["exported"]]
            key = {"architecture": str(arch), "method": str(method)}
            if not done:
                sizes.append({**key, "seeds with a model": f"0 of {len(runs)}",
                              "file size": "– (no level under the threshold)"})  # fmt: skip
                times.append(key)
                continue
            ratio = np.mean([r["exported"]["file_bytes"] / r["dense"]["file_bytes"] for r in done])
            theory = [
                float(metrics[speedup].sel({**key_of(r), "level": r["selected_level"]}))
                for r in done
            ]
            size = np.mean([r["exported"]["file_bytes"] for r in done]) / 1024
            live = np.mean([r["exported"]["nonzero_weights"] for r in done])
            sizes.append({**key, "seeds with a model": f"{len(done)} of {len(runs)}",
                          "file size": f"{size:.1f} kB", "size / dense": f"{ratio:.2g}",
                          "parameters": f"{live:,.0f} live weights",
                          "theoretical speed-up": f"{np.mean(theory):.3g}"})  # fmt: skip
            times.append({**key, **per_batch([r["exported"] for r in done],
                                             [r["dense"] for r in done])})  # fmt: skip
    return pd.DataFrame(sizes).fillna("–"), pd.DataFrame(times).fillna("–")


def key_of(record: Mapping) -> dict:
    return {"arch": record["arch"], "method": record["method"], "seed": record["seed"]}


def exported_page(metrics: xr.Dataset, selection: xr.Dataset, exports: Sequence[str]) -> str:
    size, time = exported_tables(metrics, selection, exports)
    return html_page(
        "The exported model: how much smaller and faster",
        [
            (
                "Size on disk (mean over the seeds that have a model)",
                "Each seed's selected level, shrunk (units that cannot change the output "
                "removed) and stored per layer dense or sparse (CSR), against the same dense "
                "network exported unpruned. Theoretical speed-up: dense / live weight "
                "multiply-adds. Small networks gain little on disk: the file's labels and "
                "sparse indices weigh as much as their weights.",
                size,
            ),
            (
                "Time per predict call, and the measured speed-up over dense",
                "One NumPy/SciPy predict call on this machine, fastest of three runs, at each "
                "batch size; in brackets the dense network's mean time / the exported one's. "
                "Measured numbers differ between machines and runs (results/benchmarks/export/).",
                time,
            ),
        ],
    )

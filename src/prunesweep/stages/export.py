"""The `export` job: the selected level as a smaller, faster model file (an MLP, or a NIF with its
inactive ShapeNet nodes removed), its Keras form, and its timings against the dense network."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from prunesweep import files, lineage, network_file
from prunesweep.lineage import Source
from prunesweep.runs import DenseRun
from prunesweep.stages.common import log


def export(
    run: DenseRun,
    method: str,
    selection: str,
    levels: Sequence[str],
    dataset: str,
    output: str,
    keras_output: str,
    timings: str,
) -> None:
    """Export the selected level of `method` on dense run `run` as a smaller, faster model.

    `levels` lists the chain's files, dense first (level 0). The model carries the scaling and
    units of the dataset it was trained on, and is also written as a Keras file (`keras_output`,
    which imports TensorFlow). Where no level is under the threshold both outputs still appear,
    holding no network and saying so. `timings` (JSON, prunesweep.export.compare) gets the file
    sizes and the inference time at batch 1, 64 and 4096 of the exported model and of the dense
    network, measured here: they are kept out of the result files, which reruns reproduce byte
    for byte.
    A NIF is exported as a smaller NIF (prunesweep.export.nif: inactive ShapeNet nodes removed);
    it has no Keras form here, so `keras_output` is a note-only zip, and its timings come from
    `compare_nif` on the test points, in the same JSON shape.
    """
    import json

    import xarray as xr

    from prunesweep import data
    from prunesweep.export import compare_nif, export_model, save_exported, save_exported_nif
    from prunesweep.export.compare import compare

    sel = files.open_netcdf(selection, kind="selection", required=("selected_level",))
    chosen_by = lineage.record(selection_digest=Source(selection, sel.attrs["digest"]))
    where = {"arch": run.arch, "method": method, "seed": int(run.seed)}
    level = int(sel["selected_level"].sel(where))
    dense = network_file.read_network(levels[0], expect={**where, "method": "dense", "level": 0})
    dataset_hash = {"config_hash": run.dataset_hash}
    nif = dense.model == "nif"
    splits = data.load_splits(dataset, expect=dataset_hash) if nif else None
    if level < 0:
        note = (
            f"no level of {run.arch}/{method}/seed {run.seed} has a {sel.attrs['metric']} <= "
            f"{sel.attrs['threshold']}; nothing to export"
        )
        empty = xr.Dataset(
            attrs={
                "title": "prunesweep exported model: none selected",
                "task": run.task,
                "selected_level": -1,
                "note": note,
                **where,
                **chosen_by,
            }
        )
        files.write_netcdf(empty, output, step="export")
        files.atomic_save(lambda tmp: _write_note_zip(tmp, note), keras_output)
        log(note)
        model = None
    else:
        expect = {**where, "method": method if level else "dense", "level": level}
        net = network_file.read_network(levels[level], expect=expect)
        source = Source(levels[level], net.attrs["digest"])
        chosen_by.update(lineage.record(network_digest=source))
        inputs, outputs = data.load_features(dataset, expect=dataset_hash)
        if nif:
            model = _export_nif(net, splits.x_test, level=level, inputs=inputs, outputs=outputs)
        else:
            model = export_model(net, inputs=inputs, outputs=outputs)
        model.attrs.update(selected_level=level, threshold=sel.attrs["threshold"], **chosen_by)
        if nif:
            save_exported_nif(model, output, step=f"export level {level}")
            log(f"exported level {level}: {model.summary()}")
        else:
            save_exported(model, output, step=f"export level {level}")
            log(
                f"exported level {level}: {model.nbytes:,} bytes, formats "
                f"{[layer.formats for layer in model.layers]}"
            )
    path = output if model is not None else None
    if nif:
        measured = compare_nif(model, dense, path, splits.x_test)
    else:
        measured = compare(model, dense, path)
    measured.update(where, selected_level=level)
    text = json.dumps(measured, indent=1, sort_keys=True)
    files.atomic_save(lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"), timings)
    for name in ("dense", "exported"):
        if measured[name]:
            per_call = ", ".join(
                f"batch {b}: {1e6 * t:.1f} us"
                for b, t in zip(
                    measured["batches"], measured[name]["seconds_per_call"], strict=True
                )
            )
            log(f"{name}: {measured[name]['file_bytes']:,} bytes on disk; {per_call}")
    if model is not None and nif:
        note = (
            f"{run.arch}/{method}/seed {run.seed} is a NIF: it has no Keras export (its ShapeNet "
            f"weights are generated per query by ParameterNet); load {output} with "
            "prunesweep.export.load_exported_nif"
        )
        files.atomic_save(lambda tmp: _write_note_zip(tmp, note), keras_output)
        log(note)
    elif model is not None:  # last: importing TensorFlow would disturb the timings above
        start = time.perf_counter()
        from prunesweep.export.keras_model import save_keras

        save_keras(model, keras_output)
        seconds = time.perf_counter() - start
        log(f"wrote the Keras model {keras_output} ({seconds:.1f} s with imports)")


def _export_nif(net, x_test, *, level: int, inputs, outputs):
    """A NIF level as a smaller NIF, its predictions checked against the masked network's."""
    import numpy as np

    from prunesweep.export import NifPredictor, export_nif

    model = export_nif(net, inputs=inputs, outputs=outputs)
    exported = model.predict(x_test, scaled=True)
    gap = float(np.max(np.abs(exported - NifPredictor.of(net).predict(x_test))))
    log(f"level {level}: exported vs masked NIF on {len(x_test):,} test points: max diff {gap:.1e}")
    return model


def _write_note_zip(path: str, note: str) -> None:
    """The .keras stand-in where nothing was selected, or for a NIF (which has no Keras form):
    a zip of note.txt only (Keras refuses it)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("note.txt", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, note + "\n")

"""`prunesweep predict MODEL.nc INPUTS`: an exported model on named physical inputs (NumPy only).

Inputs are matched by name, never by position:

- a CSV file: a header row naming the columns, optionally with units in brackets
  (`x_f [cm]`), then one row per sample; other columns are ignored;
- a NetCDF file: one 1-D variable per input (its `units` attribute is checked), or a 2-D
  `inputs(sample, input)` variable whose `input` coordinate names them (and whose `input_units`
  coordinate gives the units), as in prunesweep's dataset files.

Units given must be the model's, written the same way (`cm s-1`, as `ncdump` shows them); units
are not converted. Inputs the model does not read (pruning dropped them) are not needed. The
outputs are written as CSV (header `name [units]`) to stdout or `-o OUT.csv`, or as NetCDF with
`-o OUT.nc`.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import files
from prunesweep.cli.common import CommandError, file_kind, load_exported_file, open_lazily
from prunesweep.export import ExportedModel, ExportedNif

HELP = "run an exported model on named physical inputs (CSV or NetCDF)"
DESCRIPTION = __doc__.split("\n", 2)[2].strip()
NETCDF_SUFFIXES = (".nc", ".nc4")
_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<units>[^\]]*)\])?\s*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="an exported model file (results/models/...nc)")
    parser.add_argument("inputs", help="the inputs: a .csv file or a .nc file")
    parser.add_argument(
        "-o", "--output", help="write the outputs here (.csv or .nc); default: CSV on stdout"
    )


def load_model(path: str | Path) -> ExportedModel | ExportedNif:
    """The exported model (an MLP or a NIF) in `path`; any other file is one line saying what
    it is."""
    if Path(path).suffix == ".keras":
        raise CommandError(
            f"model file {path} is the Keras model: give the .nc file beside it, or load this "
            "one with keras.saving.load_model"
        )
    with open_lazily(path, what="model file") as ds:
        kind = file_kind(ds)
        note = ds.attrs.get("note", "")
    if kind == "exported model (nothing selected)":
        raise CommandError(f"model file {path} holds no network: {note}")
    if kind not in ("exported model", "exported NIF"):
        what = f"a prunesweep {kind} file" if kind else "not a prunesweep file"
        raise CommandError(f"model file {path} is {what}, not an exported model")
    try:
        model = load_exported_file(path, kind)
    except (files.SchemaError, ValueError) as err:
        raise CommandError(str(err)) from err
    if not model.physical:
        raise CommandError(
            f"model file {path} records no input scaling (exported by an older prunesweep); "
            "export it again"
        )
    return model


def _check_units(path, column: str, given: str | None, expected: str) -> None:
    if given is not None and " ".join(given.split()) != " ".join(expected.split()):
        raise CommandError(
            f"inputs file {path}: column {column!r} is in {given!r}, the model expects "
            f"{expected!r} (units are not converted)"
        )


def read_csv(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str | None]]:
    """Columns by name (float64) and the units their headers give (None where none)."""
    try:
        with path.open(newline="") as handle:
            lines = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise CommandError(f"inputs file {path} cannot be read as CSV ({err})") from err
    if not lines:
        raise CommandError(f"inputs file {path} is empty")
    names, units = [], {}
    for cell in lines[0]:
        match = _HEADER.match(cell)
        name = match["name"] if match else cell.strip()
        if name in units:
            raise CommandError(f"inputs file {path}: column {name!r} appears twice")
        names.append(name)
        units[name] = match["units"].strip() if match and match["units"] is not None else None
    values = np.empty((len(lines) - 1, len(names)))
    for i, row in enumerate(lines[1:], start=2):
        if len(row) != len(names):
            raise CommandError(
                f"inputs file {path} line {i}: {len(row)} values, the header names {len(names)}"
            )
        for j, cell in enumerate(row):
            try:
                values[i - 2, j] = float(cell)
            except ValueError:
                raise CommandError(
                    f"inputs file {path} line {i}, column {names[j]!r}: {cell!r} is not a number"
                ) from None
    return {name: values[:, j] for j, name in enumerate(names)}, units


def read_netcdf(path: Path, wanted) -> tuple[dict[str, np.ndarray], dict[str, str | None]]:
    """The `wanted` inputs of a NetCDF file: 1-D variables, or a dataset-style inputs(sample,
    input) with the `input` coordinate naming the columns."""
    with open_lazily(path, what="inputs file") as ds:
        if "inputs" in ds.data_vars and "input" in ds["inputs"].dims:
            table = ds["inputs"]
            if table.ndim != 2:
                raise CommandError(
                    f"inputs file {path}: variable 'inputs' has dimensions {table.dims}, "
                    "expected (sample, input)"
                )
            names = [str(v) for v in ds["input"].values]
            units = [str(v) for v in ds["input_units"].values] if "input_units" in ds else None
            values = table.transpose(..., "input").values
            return (
                {n: values[:, j] for j, n in enumerate(names)},
                {n: (units[j] if units else None) for j, n in enumerate(names)},
            )
        columns, units = {}, {}
        for name in wanted:
            if name not in ds.variables:
                continue
            var = ds[name]
            if var.ndim != 1:
                raise CommandError(
                    f"inputs file {path}: variable {name!r} has dimensions {var.dims}, "
                    "expected one (the samples)"
                )
            columns[name] = np.asarray(var.values, dtype=np.float64)
            units[name] = var.attrs.get("units")
        return columns, units


def inputs_array(model: ExportedModel, path: Path) -> np.ndarray:
    """(n, n_inputs) physical inputs for `model` from the named columns of `path`."""
    wanted = model.used_inputs
    if path.suffix.lower() == ".csv":
        columns, units = read_csv(path)
    elif path.suffix.lower() in NETCDF_SUFFIXES:
        columns, units = read_netcdf(path, wanted)
    else:
        raise CommandError(f"inputs file {path}: expected a .csv or a .nc file")
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise CommandError(
            f"inputs file {path}: missing column(s) {', '.join(map(repr, missing))} "
            f"(the model reads {', '.join(wanted)})"
        )
    lengths = {columns[name].shape[0] for name in wanted}
    if len(lengths) > 1:
        raise CommandError(f"inputs file {path}: the input columns differ in length {lengths}")
    n = lengths.pop()
    if n == 0:
        raise CommandError(f"inputs file {path} holds no samples")
    x = np.zeros((n, len(model.input_names)))
    for name, expected in zip(wanted, model.inputs.units, strict=True):
        _check_units(path, name, units.get(name), expected)
        column = columns[name]
        bad = np.flatnonzero(~np.isfinite(column))
        if bad.size:
            raise CommandError(
                f"inputs file {path}: column {name!r} holds a non-finite value (sample {bad[0]})"
            )
        x[:, model.input_names.index(name)] = column
    return x


def write_outputs(model: ExportedModel, y: np.ndarray, output: str | None) -> None:
    """CSV on stdout, or the file `output` (.csv or .nc), written whole or not at all."""
    names, units = model.outputs.names, model.outputs.units
    if output is not None and Path(output).suffix.lower() in NETCDF_SUFFIXES:
        ds = xr.Dataset(
            {
                name: (("sample",), y[:, j], {"units": u, "long_name": long})
                for j, (name, u, long) in enumerate(
                    zip(names, units, model.outputs.long_names, strict=True)
                )
            },
            coords={"sample": np.arange(y.shape[0], dtype=np.int32)},
            attrs={"title": "prunesweep predictions", **_model_attrs(model)},
        )
        files.write_netcdf(ds, output, step="predict")
        return
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([f"{n} [{u}]" for n, u in zip(names, units, strict=True)])
    for row in y:
        writer.writerow([format(float(v), ".9g") for v in row])
    if output is None:
        sys.stdout.write(text.getvalue())
    else:
        files.atomic_save(lambda tmp: Path(tmp).write_text(text.getvalue()), output)


def _model_attrs(model: ExportedModel) -> dict:
    """Which model made the predictions: its run and settings hash."""
    keys = ("task", "arch", "method", "seed", "level", "config_hash")
    return {f"model_{k}": model.attrs[k] for k in keys if k in model.attrs}


def run(args: argparse.Namespace, extra: list[str]) -> int:
    if args.output is not None and Path(args.output).suffix.lower() not in (
        ".csv",
        *NETCDF_SUFFIXES,
    ):
        raise CommandError(f"output file {args.output}: expected a .csv or a .nc name")
    model = load_model(args.model)
    x = inputs_array(model, Path(args.inputs))
    write_outputs(model, model.predict(x), args.output)
    return 0

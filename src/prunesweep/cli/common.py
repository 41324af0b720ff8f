"""What the subcommands share: the one-line error, opening a file, telling what kind it is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import xarray as xr


class CommandError(Exception):
    """A wrong input: the message is the one line the user sees (it names the file or column)."""


#: file kinds by their `title` attribute (prunesweep writes one on every result file)
TITLES = {
    "prunesweep exported model": "exported model",
    "prunesweep exported model: none selected": "exported model (nothing selected)",
    "prunesweep exported NIF": "exported NIF",
    "prunesweep network state": "network",
    "prunesweep metrics of one level": "metrics of one level",
    "prunesweep metrics of every level": "metrics of every level",
    "prunesweep networks: training histories, weight magnitudes, device": "networks summary",
    "prunesweep selection: sparsest level under the threshold": "selection",
}


def load_exported_file(path: str | Path, kind: str):
    """The model of an exported file of `kind` ("exported model" or "exported NIF", as
    `file_kind` names them): an ExportedModel or an ExportedNif."""
    from prunesweep.export import load_exported, load_exported_nif

    return (load_exported_nif if kind == "exported NIF" else load_exported)(path)


def file_kind(ds: xr.Dataset) -> str | None:
    """What a prunesweep file is ("dataset", "network", ...), or None for another file."""
    kind = TITLES.get(str(ds.attrs.get("title", "")))
    if kind is not None:
        return kind
    if {"inputs", "targets", "split"} <= set(ds.variables):
        return "dataset"
    return None


@contextlib.contextmanager
def open_lazily(path: str | Path, *, what: str = "file") -> Iterator[xr.Dataset]:
    """Open a NetCDF file without loading its arrays; a file that is not one is one line."""
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"{what} {path} does not exist")
    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except Exception as err:  # truncated, not NetCDF, or not readable
        reason = " ".join(str(err).split())  # one line, whatever the library said
        raise CommandError(f"{what} {path} cannot be read as NetCDF ({reason})") from err
    with ds:
        yield ds

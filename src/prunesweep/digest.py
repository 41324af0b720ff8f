"""The digest of a NetCDF file: a SHA-256 of its contents, independent of how HDF5 stores them.

Every file prunesweep writes records `digest = "sha256:<hex>"` among its global attributes, and
every reader recomputes it, so a file edited or damaged after it was written is refused. Files
that derive from others record their inputs' digests (`parent_digest`, `dense_digest`, ...), a
chain as in a content-addressed store. The digest covers what a reader sees, never how it is
laid out: chunking, compression and checksums may change without changing it.

Canonical form, version 1 (`ALGORITHM`). The SHA-256 runs over a sequence of fields, each
written as its length (8 bytes, little-endian) followed by its bytes:

1. the tag `prunesweep-digest-1`;
2. per dimension, in sorted name order: its name, its size in decimal;
3. per variable (coordinates included), in sorted name order: its name, its dimensions as a JSON
   list, its type (NumPy's little-endian type string, e.g. `<f4`, `|i1`, or `str` for text), its
   shape as a JSON list, its values (numbers: the raw little-endian bytes in C order; text: one
   field per element, UTF-8), then its attributes in sorted name order (name, then value);
4. the global attributes in sorted name order, except `digest` itself (name, then value).

An attribute's value is one field: text as `s:` + UTF-8 (several texts: `s:` + their JSON list);
numbers as their type string, `:`, the shape as JSON, `:`, then the raw little-endian bytes.
Values are read raw, without CF decoding (no masking, scaling or character-array joining).
Reading a variable also runs HDF5's Fletcher-32 check of its chunks, so a damaged chunk is found
here and named by its variable.
"""

from __future__ import annotations

import hashlib
import json
import os

import netCDF4
import numpy as np

#: the global attribute holding a file's own digest
DIGEST_ATTR = "digest"
ALGORITHM = "sha256"
TAG = b"prunesweep-digest-1"
#: what `write_netcdf` stores before the digest is known: the same length, so the final value
#: overwrites it in place and the file's size and layout do not change
PLACEHOLDER = f"{ALGORITHM}:" + "0" * 64


class DigestReadError(RuntimeError):
    """A variable of the file could not be read (a failed checksum, a damaged chunk)."""

    def __init__(self, variable: str, cause: BaseException):
        super().__init__(f"variable {variable!r} cannot be read ({cause})")
        self.variable = variable


def _field(h, data: bytes) -> None:
    h.update(len(data).to_bytes(8, "little"))
    h.update(data)


def _text(h, value: str) -> None:
    _field(h, value.encode("utf-8"))


def _type_name(values: np.ndarray) -> str:
    if values.dtype.kind in "OU":
        return "str"
    return values.dtype.newbyteorder("<").str if values.dtype.byteorder != "|" else values.dtype.str


def _values(h, values: np.ndarray) -> None:
    if values.dtype.kind in "OU":
        for item in values.ravel(order="C"):
            _text(h, item.decode("utf-8") if isinstance(item, bytes) else str(item))
        return
    little = values.astype(values.dtype.newbyteorder("<"), copy=False)
    _field(h, np.ascontiguousarray(little).tobytes(order="C"))


def _attribute(h, name: str, value) -> None:
    _text(h, name)
    if isinstance(value, str):
        _field(h, b"s:" + value.encode("utf-8"))
        return
    array = np.asarray(value)
    if array.dtype.kind in "OU":
        _field(h, b"s:" + json.dumps([str(v) for v in array.ravel()]).encode("utf-8"))
        return
    little = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
    head = f"{_type_name(array)}:{json.dumps(list(array.shape))}:".encode()
    _field(h, head + little.tobytes(order="C"))


def dataset_digest(nc: netCDF4.Dataset) -> str:
    """The canonical digest of an open netCDF4 dataset (see the module docstring)."""
    h = hashlib.sha256()
    _field(h, TAG)
    for name in sorted(nc.dimensions):
        _text(h, name)
        _text(h, str(len(nc.dimensions[name])))
    for name in sorted(nc.variables):
        var = nc.variables[name]
        var.set_auto_maskandscale(False)
        var.set_auto_chartostring(False)
        try:
            values = np.asarray(var[...])
        except (RuntimeError, OSError, IndexError, ValueError) as err:
            raise DigestReadError(name, err) from err
        _text(h, name)
        _text(h, json.dumps(list(var.dimensions)))
        _text(h, _type_name(values))
        _text(h, json.dumps(list(values.shape)))
        _values(h, values)
        for attr in sorted(var.ncattrs()):
            _attribute(h, attr, var.getncattr(attr))
    for attr in sorted(nc.ncattrs()):
        if attr != DIGEST_ATTR:
            _attribute(h, attr, nc.getncattr(attr))
    return f"{ALGORITHM}:{h.hexdigest()}"


def file_digest(path: str | os.PathLike) -> str:
    """The canonical digest of the file at `path` (raises DigestReadError naming a variable)."""
    with netCDF4.Dataset(path, "r") as nc:
        return dataset_digest(nc)


def seal(path: str | os.PathLike) -> str:
    """Compute the digest of a freshly written file and store it in its `digest` attribute.

    The writer stored `PLACEHOLDER`, of the same length, so the attribute is overwritten in place.
    """
    digest = file_digest(path)
    with netCDF4.Dataset(path, "r+") as nc:
        found = nc.getncattr(DIGEST_ATTR) if DIGEST_ATTR in nc.ncattrs() else None
        if found != PLACEHOLDER:
            raise ValueError(f"{path}: expected the digest placeholder, found {found!r}")
        nc.setncattr(DIGEST_ATTR, digest)
    return digest

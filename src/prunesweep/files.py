"""NetCDF files of prunesweep: atomic writers and checked readers.

Every file a stage writes goes through `write_netcdf`: it checks that each variable carries `units`
and `long_name`, writes to a temporary name beside the target and renames, so a file that exists is
complete. Readers check what they read and name the file in every error.

Files follow CF 1.8 (`Conventions`), so any NetCDF tool reads them without surprises: integer
variables are stored as the types CF 1.8 allows (int8, int16, int32; int64 counts and indices
become int32, or float64 where they do not fit), units are UDUNITS strings, every variable and
coordinate has a long_name. The one departure: names (architectures, methods, inputs, outputs)
are string-valued coordinate variables, so that xarray selects by name (`ds.sel(arch="base")`,
`ds.sel({"method": "global"})`: a dict, since `method=` is the keyword of `sel` for inexact
matches); CF would have numeric coordinate variables with the names as auxiliary labels.

Every file carries its own digest (`prunesweep.digest`: a SHA-256 of its arrays and attributes)
and HDF5's Fletcher-32 checksum on every chunked variable (a writer may store small variables
contiguous, covered by the digest alone); readers recompute the
digest and refuse a file that does not match. A write that fails on a full disk or an unwritable
folder says so (`OutputError`), naming the folder.

Result files hold no run-time-varying facts (no wall-clock timestamps, no timings): the same config
gives the same bytes on the CPU. Timings are in Snakemake's benchmark files and the job logs.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import __version__
from prunesweep.digest import DIGEST_ATTR, PLACEHOLDER, DigestReadError, file_digest, seal
from prunesweep.variables import annotate

#: where `open_netcdf` keeps the digest it computed, in the returned Dataset's `encoding`
COMPUTED_DIGEST = "prunesweep_computed_digest"
#: a folder with less free space than this after a failed write is reported as full
FULL_BELOW_BYTES = 1 << 20


class SchemaError(ValueError):
    """A NetCDF file does not have the variables, dimensions or attributes it should."""


class OutputError(OSError):
    """An output cannot be written: a full disk, a read-only or unwritable folder."""


def remake_hint(path) -> str:
    """What a user does about a bad file: remake it and everything made from it."""
    return f"remake it with `snakemake --forcerun {path}` and your usual options"


def short_digest(digest) -> str:
    """The first 12 hex digits of a digest, enough to tell files apart in a message."""
    text = str(digest)
    return text[: len("sha256:") + 12] if text.startswith("sha256:") else repr(digest)


def validate(ds: xr.Dataset, *, where: str = "dataset") -> None:
    """Reject a dataset whose variables lack units or long_name."""
    for name in ds.data_vars:
        missing = [a for a in ("units", "long_name") if a not in ds[name].attrs]
        if missing:
            raise SchemaError(f"{where}: variable {name!r} lacks attribute(s) {missing}")


def clean_attrs(attrs: Mapping) -> dict:
    """NetCDF attrs must be str, numbers or arrays: bool -> int, None dropped, dicts -> JSON."""
    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            value = int(value)
        elif isinstance(value, Mapping):
            value = json.dumps(value, sort_keys=True)
        elif isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            value = json.dumps(list(value))
        out[str(key)] = value
    return out


#: the CF version the files follow (global attribute `Conventions`)
CONVENTIONS = "CF-1.8"
#: integer dtypes CF 1.8 allows in a variable (netCDF byte, short, int)
_CF_INTEGERS = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32))


def cf_integer_dtype(values: np.ndarray) -> np.dtype | None:
    """The dtype to store integer `values` as under CF 1.8, or None if theirs is allowed.

    int64 and unsigned integers become the smallest allowed signed type that holds them
    (int32 at least for int64, so a coordinate keeps one type whatever its values), or float64
    (exact up to 2**53) where int32 does not suffice.
    """
    dtype = np.dtype(values.dtype)
    if dtype.kind not in "iu" or dtype in _CF_INTEGERS:
        return None
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    candidates = _CF_INTEGERS if dtype.kind == "u" else _CF_INTEGERS[2:]
    for target in candidates:
        info = np.iinfo(target)
        if info.min <= low and high <= info.max and target.itemsize >= min(dtype.itemsize, 4):
            return target
    return np.dtype(np.float64)


def history_line(step: str) -> str:
    """The step that wrote a file, for its CF `history` attribute.

    No timestamp, on purpose: a timestamp would make two runs of the same config differ in bytes.
    When a job ran is in its log and in Snakemake's metadata (`snakemake --summary`).
    """
    return f"{step} - prunesweep {__version__}"


def write_netcdf(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    step: str = "",
    encoding: Mapping[str, dict] | None = None,
) -> Path:
    """Write `ds` atomically (a temporary file in the same folder, then a rename), sealed with its
    digest and with Fletcher-32 checksums on every variable that has a dimension.

    `encoding` maps variable names to NetCDF encoding keys merged over the default below (e.g. a
    writer of small files that compresses sooner): the caller's keys win. A variable the caller
    stores `contiguous` has no checksum (HDF5 checksums chunks only) and is covered by the digest
    alone: the exported models do so for their small variables, where a chunk index per variable
    would make the file several times larger than its numbers. Scalars cannot be
    chunked in HDF5: the digest alone covers them. On return `ds.attrs["digest"]` is the digest.
    """
    path = Path(path)
    annotate(ds)
    validate(ds, where=str(path))
    ds.attrs = clean_attrs({k: v for k, v in ds.attrs.items() if k != DIGEST_ATTR})
    ds.attrs.setdefault("Conventions", CONVENTIONS)
    ds.attrs.setdefault("source", f"prunesweep {__version__}")
    if step:
        previous = ds.attrs.get("history", "")
        ds.attrs["history"] = (previous + "\n" if previous else "") + history_line(step)
    ds.attrs[DIGEST_ATTR] = PLACEHOLDER
    merged: dict = {}
    for name, var in ds.data_vars.items():
        if var.dtype == bool or str(name).endswith("mask") or "_mask_" in str(name):
            merged[name] = {"dtype": "int8", "_FillValue": None}
        elif var.dtype.kind == "f":
            merged[name] = {"_FillValue": None if var.dtype == np.float32 else np.nan}
        if var.size > 100_000 and var.dtype.kind in "fi":
            merged.setdefault(name, {}).update(zlib=True, complevel=4, shuffle=True)
    for name, var in ds.coords.items():  # CF: a coordinate variable has no _FillValue
        if var.dtype.kind == "f":
            merged.setdefault(name, {}).setdefault("_FillValue", None)
    for name, var in ds.variables.items():
        target = cf_integer_dtype(var.values) if var.dtype.kind in "iu" else None
        if target is not None:
            merged.setdefault(name, {}).setdefault("dtype", target)
            if target.kind == "f":
                merged[name].setdefault("_FillValue", None)
    for name, keys in (encoding or {}).items():
        merged[name] = {**merged.get(name, {}), **keys}
    for name, var in ds.variables.items():
        keys = merged.get(name, {})
        if var.ndim and not keys.get("contiguous"):
            merged[name] = {**keys, "fletcher32": True}
    sealed: dict = {}

    def write(tmp: str) -> None:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=merged)
        sealed["digest"] = seal(tmp)

    atomic_save(write, path)
    ds.attrs[DIGEST_ATTR] = sealed["digest"]
    return path


def _temp_pattern(path: Path) -> str:
    return f".{path.name}.*.tmp"


def stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Temporary files of `path` left behind by a writer that was killed (SIGKILL, power loss)."""
    path = Path(path)
    return sorted(path.parent.glob(_temp_pattern(path))) if path.parent.is_dir() else []


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask is not atomic)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_save(write, path: str | os.PathLike) -> Path:
    """Call `write(tmp_path)` and rename the result to `path`, so `path` is whole or absent.

    The temporary file lies beside `path` (same file system, so the rename is atomic) and is synced
    to disk before the rename. A writer killed with SIGKILL cannot clean up after itself; the next
    write of the same `path` (Snakemake reruns the job) removes what it left. Should a job of a
    killed Snakemake still be writing, its rename then fails and it leaves nothing. A write that
    fails on a full disk or an unwritable folder raises `OutputError` saying so.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in stale_temp_files(path):
            stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _output_error(path, err) from err
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        # mkstemp creates the file rw------- ; give the result the usual permissions
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        # judged before the partial file is removed: a full disk is still full now
        problem = _output_error(path, err) if isinstance(err, Exception) else None
        Path(tmp).unlink(missing_ok=True)
        if problem is not None and problem is not err:
            raise problem from err
        raise
    return path


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _output_error(path: Path, err: BaseException) -> BaseException:
    """`OutputError` naming the folder when `err` comes from a full disk or an unwritable folder;
    `err` itself otherwise. HDF5 hides the cause ("NetCDF: HDF error"), so the free space of the
    folder decides when the error code does not."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    code = getattr(err, "errno", None)
    free = _free_bytes(folder)
    if code in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < FULL_BELOW_BYTES):
        space = "no space" if not free else f"{free:,} bytes"
        return OutputError(
            f"cannot write {path}: the disk holding {folder}/ is full ({space} left); "
            "free some space and run the same command again"
        )
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return OutputError(
            f"cannot write {path}: folder {folder}/ is not writable ({os.strerror(code)}); "
            "make it writable and run the same command again"
        )
    return err


def check_writable(folder: str | os.PathLike) -> None:
    """Refuse (`OutputError`, one line) a results folder that cannot take new files.

    Creates `folder` if needed, then one empty temporary file in it, removed at once.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".prunesweep-write-check.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            text = f"the disk holding the results folder {folder}/ is full; free some space first"
        elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            text = (
                f"results folder {folder}/ is not writable ({os.strerror(err.errno)}); make it "
                "writable, or run in a copy of the project"
            )
        else:
            text = f"results folder {folder}/ cannot take new files ({err})"
        raise OutputError(text) from err
    free = _free_bytes(folder)
    if free is not None and free < FULL_BELOW_BYTES:
        raise OutputError(
            f"the disk holding the results folder {folder}/ is full ({free:,} bytes left); "
            "free some space first"
        )


def open_netcdf(
    path: str | os.PathLike,
    *,
    kind: str,
    required: tuple[str, ...] = (),
    verify: bool = True,
    variables: Sequence[str] | None = None,
) -> xr.Dataset:
    """Open and load a prunesweep file, naming the file in every error; `variables`: load
    only these (and the coordinates), where a file holds much a reader does not need.

    Reading recomputes the file's digest over all its variables, loaded or not (and HDF5 checks
    each chunk's Fletcher-32 checksum). With `verify` the digest is compared at once; readers
    that first run more specific checks (masks, splits) pass `verify=False` and call
    `check_digest` after them.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{kind} file {path} does not exist")
    try:
        computed = file_digest(path)
        with xr.open_dataset(path, engine="netcdf4") as ds:
            if variables is not None:
                ds = ds[[v for v in variables if v in ds.variables]]
            ds = ds.load()
    except DigestReadError as err:
        raise SchemaError(
            f"{kind} file {path}: {err}: the file is damaged (a failed checksum) or truncated; "
            f"{remake_hint(path)}"
        ) from err
    except Exception as err:  # truncated or not NetCDF at all
        raise SchemaError(
            f"{kind} file {path} cannot be read as NetCDF, truncated or not NetCDF ({err}); "
            f"{remake_hint(path)}"
        ) from err
    ds.encoding[COMPUTED_DIGEST] = computed
    missing = [name for name in required if name not in ds.variables]
    if missing:
        raise SchemaError(f"{kind} file {path} lacks required variable(s) {missing}")
    if verify:
        check_digest(ds, path, kind=kind)
    return ds


def check_digest(ds: xr.Dataset, path, *, kind: str) -> str:
    """Refuse a file whose contents differ from the digest it recorded; return the digest."""
    recorded = ds.attrs.get(DIGEST_ATTR)
    computed = ds.encoding.get(COMPUTED_DIGEST)
    if recorded is None:
        raise SchemaError(
            f"{kind} file {path} has no {DIGEST_ATTR} attribute (not written by this version of "
            f"prunesweep); {remake_hint(path)}"
        )
    if computed is None:
        raise ValueError(f"{path}: open it with prunesweep.files.open_netcdf to check its digest")
    if str(recorded) != computed:
        raise SchemaError(
            f"{kind} file {path} does not match its digest (recorded {short_digest(recorded)}, "
            f"contents {short_digest(computed)}): changed or damaged after it was written; "
            f"{remake_hint(path)}"
        )
    return computed


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def read_attrs(path: str | os.PathLike, *, kind: str) -> dict:
    """A file's global attributes, without loading its variables (a dataset may be large).

    The digest is not checked: that would read every variable. Use it for what a report shows,
    never for what a result is computed from (those readers use `open_netcdf`).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{kind} file {path} does not exist")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return dict(ds.attrs)
    except Exception as err:
        raise SchemaError(f"{kind} file {path} cannot be read as NetCDF ({err})") from err


def check_expected(ds: xr.Dataset, path, *, kind: str, expect: Mapping | None) -> None:
    """Refuse a file whose attributes differ from what this job requires, in `expect`'s order:
    its run (task, arch, seed, method, level), then `config_hash`."""
    for key, value in (expect or {}).items():
        found = ds.attrs.get(key)
        if str(found) != str(value):
            raise SchemaError(
                f"{kind} file {path}: attribute {key}={_shown(found)}, but this job expects "
                f"{_shown(value)} (a file from another config or run? Remake it with "
                f"`snakemake --forcerun {path}` and your usual options)"
            )


def check_link(
    attrs: Mapping, path, *, kind: str, key: str, source, source_digest: str, source_kind: str
) -> None:
    """Refuse a file that was made from another version of `source` than the one there now.

    `attrs[key]` is the digest of the input the file was made from (e.g. `parent_digest`); the
    file that records the link is the stale one, so the message names it.
    """
    found = attrs.get(key)
    if str(found) != str(source_digest):
        raise SchemaError(
            f"{kind} file {path} was made from a {source_kind} with digest "
            f"{short_digest(found)}, but {source} has digest {short_digest(source_digest)} "
            f"({key} differs: made from another version of it); {remake_hint(path)}"
        )

"""Files that prove their own integrity: the digest, Fletcher-32, the chain, and what readers check.

The workflow side (a real sweep, corrupted) is tests/workflow/test_verify_results.py.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap

import netCDF4
import numpy as np
import pytest
import xarray as xr

from prunesweep import digest, files, joblog, lineage, network_file
from tests.conftest import ROOT, random_network


def pruned_file(tmp_path, name="level01.nc", **attrs):
    """A pruned level file as the prune stage writes it (sparsity recorded)."""
    net = random_network()
    rng = np.random.default_rng(3)
    masks = [
        (rng.random(lay.kernel.shape) > 0.5, np.ones(lay.bias.shape, bool)) for lay in net.layers
    ]
    net = net.with_masks(masks)
    total = sum(m.size for m, _ in masks)
    pruned = total - sum(int(m.sum()) for m, _ in masks)
    net.attrs.update(
        achieved_sparsity=pruned / total, method="magnitude", level=1, config_hash="h", **attrs
    )
    return network_file.write_network(net, tmp_path / name, extra={"init": net.layers})


def edited(path, edit) -> None:
    """Edit a file with xarray and write it back, as a user would (the digest attribute stays)."""
    with xr.open_dataset(path) as src:
        ds = src.load()
    edit(ds)
    ds.to_netcdf(path)


# ----------------------------------------------------------------------------- the digest


def field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "little") + data


def test_digest_is_the_documented_canonical_form(tmp_path):
    """Recomputed by hand from prunesweep.digest's docstring, for a file of known contents."""
    ds = xr.Dataset(
        {"m": (("x",), np.array([1, 0, 1], np.int8), {"units": "1", "long_name": "mask"})},
        attrs={"title": "t", "n": 3},
    )
    path = files.write_netcdf(ds, tmp_path / "a.nc")
    with netCDF4.Dataset(path) as nc:
        globals_ = sorted(nc.ncattrs())
        var_attrs = sorted(nc["m"].ncattrs())
        values = {a: nc.getncattr(a) for a in globals_}
        m_attrs = {a: nc["m"].getncattr(a) for a in var_attrs}
    assert var_attrs == ["long_name", "units"]  # int8 masks get no fill value

    def attr(name, value):
        if isinstance(value, str):
            return field(name.encode()) + field(b"s:" + value.encode())
        value = np.asarray(value)
        head = f"{value.dtype.newbyteorder('<').str}:{list(value.shape)}:".encode()
        return field(name.encode()) + field(
            head + value.astype("<" + value.dtype.str[1:]).tobytes()
        )

    stream = field(b"prunesweep-digest-1") + field(b"x") + field(b"3")
    stream += field(b"m") + field(b'["x"]') + field(b"|i1") + field(b"[3]")
    stream += field(bytes([1, 0, 1]))
    stream += b"".join(attr(a, m_attrs[a]) for a in var_attrs)
    stream += b"".join(attr(a, values[a]) for a in globals_ if a != "digest")
    assert values["digest"] == "sha256:" + hashlib.sha256(stream).hexdigest()
    assert ds.attrs["digest"] == values["digest"]  # the writer hands it back too


def test_digest_ignores_storage_but_not_contents(tmp_path):
    net = random_network()
    path = network_file.write_network(net, tmp_path / "a.nc")
    recorded = digest.file_digest(path)
    # the same contents stored otherwise (compressed, shuffled): other bytes, the same digest
    ds = network_file.network_to_dataset(net)
    packed = {str(n): {"zlib": True, "complevel": 9, "shuffle": True} for n in ds.data_vars}
    other = files.write_netcdf(ds, tmp_path / "b.nc", encoding=packed)
    assert other.read_bytes() != path.read_bytes()
    assert digest.file_digest(other) == recorded == xr.open_dataset(path).attrs["digest"]
    with xr.open_dataset(path) as src:
        ds = src.load()

    # one weight, one attribute, one coordinate label changed: another digest each
    def weight(d):
        d["kernel_1"].values[0, 0] = np.float32(0.125)
        return d

    changes = {
        "weight": weight,
        "attribute": lambda d: d.assign_attrs(seed=2),
        "label": lambda d: d.assign_coords(input=["renamed", *d["input"].values[1:]]),
    }
    ds.to_netcdf(tmp_path / "same.nc")  # rewritten by xarray: the baseline to differ from
    baseline = digest.file_digest(tmp_path / "same.nc")
    for name, edit in changes.items():
        edit(ds.copy(deep=True)).to_netcdf(tmp_path / f"{name}.nc")
        assert digest.file_digest(tmp_path / f"{name}.nc") != baseline, name


def test_every_variable_with_a_dimension_has_fletcher32_and_scalars_and_empty_ones_work(tmp_path):
    ds = xr.Dataset(
        {
            "loss": ((), 0.5),
            "none": (("e",), np.zeros(0, np.float32)),
            "kernel": (("a", "b"), np.ones((2, 3), np.float32)),
            "mask": (("a", "b"), np.ones((2, 3), bool)),
        },
        coords={"a": ["p", "q"], "b": np.arange(3)},
    )
    for name in ds.variables:
        ds[name].attrs.update(units="1", long_name=str(name))
    path = files.write_netcdf(ds, tmp_path / "f.nc")
    with netCDF4.Dataset(path) as nc:
        for name, var in nc.variables.items():
            assert var.filters()["fletcher32"] == (var.ndim > 0), name
    back = files.open_netcdf(path, kind="test")
    assert float(back["loss"]) == 0.5 and back["none"].size == 0
    # and the bytes do not depend on when or how often the file was written
    again = files.write_netcdf(ds, tmp_path / "g.nc")
    assert path.read_bytes() == again.read_bytes()


def test_a_damaged_chunk_is_named_by_its_variable(tmp_path):
    net = random_network((10, 400, 7))
    path = network_file.write_network(net, tmp_path / "dense.nc")
    data = bytearray(path.read_bytes())
    at = data.find(net.layers[0].kernel[5].astype(np.float32).tobytes())
    assert at > 0
    data[at] ^= 0x01  # one bit of one weight, as a bad disk or copy would
    path.write_bytes(bytes(data))
    with pytest.raises(files.SchemaError) as err:
        network_file.read_network(path)
    assert f"network file {path}: variable 'kernel_1' cannot be read" in str(err.value)
    assert "the file is damaged (a failed checksum)" in str(err.value)
    assert f"--forcerun {path}`" in str(err.value)


def test_a_file_changed_after_writing_is_refused_by_its_digest(tmp_path):
    path = pruned_file(tmp_path)
    edited(path, lambda ds: ds["bias_1"].values.__setitem__(0, np.float32(9.5)))
    with pytest.raises(files.SchemaError, match="does not match its digest") as err:
        network_file.read_network(path)
    assert str(path) in str(err.value) and "changed or damaged after it was written" in str(
        err.value
    )


def test_a_file_without_a_digest_is_refused(tmp_path):
    path = pruned_file(tmp_path)
    edited(path, lambda ds: ds.attrs.pop("digest"))
    with pytest.raises(files.SchemaError, match="has no digest attribute"):
        network_file.read_network(path)


# ----------------------------------------------------------------------------- what readers check


def test_a_mask_bit_flipped_from_0_to_1_contradicts_the_recorded_sparsity(tmp_path):
    path = pruned_file(tmp_path)

    def flip(ds):
        mask = ds["kernel_mask_1"].values
        mask[tuple(np.argwhere(mask == 0)[0])] = 1  # the pruned weight is 0, so it stays "valid"

    edited(path, flip)
    with pytest.raises(files.SchemaError) as err:
        network_file.read_network(path)
    text = str(err.value)
    assert text.startswith(f"network file {path}: its masks prune ")
    assert (
        "kernel weights (sparsity 0." in text and "but the file records achieved_sparsity=" in text
    )


def test_a_nan_weight_is_refused(tmp_path):
    path = pruned_file(tmp_path)

    def poison(ds):
        live = np.argwhere(ds["kernel_mask_2"].values == 1)[0]
        ds["kernel_2"].values[tuple(live)] = np.nan

    edited(path, poison)
    with pytest.raises(files.SchemaError) as err:
        network_file.read_network(path)
    assert str(err.value).startswith(
        f"network file {path}: layer 2 holds 1 non-finite weight(s) or bias(es) (NaN or inf)"
    )


def test_a_file_of_another_run_is_named_before_its_settings(tmp_path):
    path = pruned_file(tmp_path, seed=2)
    expect = {"task": "moth", "arch": "t", "seed": 1, "method": "magnitude", "level": 1}
    with pytest.raises(files.SchemaError) as err:
        network_file.read_network(path, expect={**expect, "config_hash": "other"})
    assert str(err.value).startswith(
        f"network file {path}: attribute seed=2, but this job expects 1 (a file from another "
        "config or run?"
    )
    assert network_file.read_network(path, expect={**expect, "seed": 2, "config_hash": "h"})


def test_a_broken_link_names_the_file_that_records_it(tmp_path):
    child = pruned_file(tmp_path, parent_digest="sha256:" + "ab" * 32)
    net = network_file.read_network(child)
    source = lineage.Source("results/x/dense.nc", "sha256:" + "cd" * 32)
    with pytest.raises(files.SchemaError) as err:
        lineage.check(net.attrs, child, kind="network", parent_digest=source)
    assert str(err.value) == (
        f"network file {child} was made from a previous level with digest sha256:abababababab, "
        "but results/x/dense.nc has digest sha256:cdcdcdcdcdcd (parent_digest differs: made from "
        f"another version of it); remake it with `snakemake --forcerun {child}` and your usual "
        "options"
    )


# ----------------------------------------------------------------------------- full disk, read-only


def test_a_netcdf_write_that_fills_the_disk_says_so(tmp_path, monkeypatch):
    """HDF5 reports a full disk as "NetCDF: HDF error"; the free space tells."""

    def hdf_error(tmp):
        open(tmp, "wb").write(b"part of a file")
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9, 0))
    with pytest.raises(files.OutputError) as err:
        files.atomic_save(hdf_error, tmp_path / "runs" / "level01.nc")
    assert str(err.value) == (
        f"cannot write {tmp_path}/runs/level01.nc: the disk holding {tmp_path}/runs/ is full "
        "(no space left); free some space and run the same command again"
    )
    assert list((tmp_path / "runs").iterdir()) == []
    line = joblog.failure_line(err.value, "prune")
    assert line.startswith("prunesweep: prune stopped: cannot write ")  # one line, no traceback


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "is full"), (errno.EROFS, "is not writable"), (errno.EACCES, "not writable")],
)
def test_write_errors_name_the_folder(tmp_path, code, words):
    def fails(tmp):
        raise OSError(code, os.strerror(code), tmp)

    with pytest.raises(files.OutputError, match=words) as err:
        files.atomic_save(fails, tmp_path / "level01.nc")
    assert f"{tmp_path}/" in str(err.value)


def test_any_other_write_error_is_left_alone(tmp_path):
    def bug(tmp):
        raise ZeroDivisionError("a bug, not the disk")

    with pytest.raises(ZeroDivisionError):
        files.atomic_save(bug, tmp_path / "level01.nc")


def _in_own_mount_namespace(script: str, tmp_path) -> subprocess.CompletedProcess:
    """Run `script` (sh) as root of a new user and mount namespace: its mounts vanish with it."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux `unshare` for a private mount")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"user namespaces are not available here: {probe.stderr.decode().strip()}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        ["unshare", "-rm", "sh", "-ec", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


WRITE_BIG = textwrap.dedent(
    """
    from prunesweep import files, network_file
    from tests.conftest import random_network
    try:
        network_file.write_network(random_network((10, 300, 300, 7)), "small/runs/level01.nc")
    except files.OutputError as err:
        print(err)
    """
)


def test_a_really_full_disk_is_named(tmp_path):
    """A 64 kB tmpfs: the network file does not fit."""
    (tmp_path / "small").mkdir()
    (tmp_path / "write.py").write_text(WRITE_BIG)
    proc = _in_own_mount_namespace(
        f"mount -t tmpfs -o size=64k tmpfs small && {sys.executable} write.py", tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == (
        "cannot write small/runs/level01.nc: the disk holding small/runs/ is full (no space "
        "left); free some space and run the same command again"
    ), proc.stdout + proc.stderr[-2000:]


def test_a_read_only_results_folder_is_named(tmp_path):
    (tmp_path / "results").mkdir()
    check = (
        "from prunesweep import files\n"
        "try:\n    files.check_writable('results')\nexcept files.OutputError as err:\n"
        "    print(err)\n"
    )
    (tmp_path / "check.py").write_text(check)
    proc = _in_own_mount_namespace(
        f"mount --bind results results && mount -o remount,bind,ro results && "
        f"{sys.executable} check.py",
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == (
        "results folder results/ is not writable (Read-only file system); make it writable, or "
        "run in a copy of the project"
    )

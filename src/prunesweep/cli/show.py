"""`prunesweep show FILE.nc`: what a results file is, in a few lines.

The kind of file and the run it belongs to, what it holds, the settings that made it
(`config_hash`), its provenance (`history`, `source`) and whether it records a digest. Arrays
are read only where a line needs them (the masks of a network file), so a large dataset file
is shown as quickly as a small one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep.cli.common import CommandError, file_kind, load_exported_file, open_lazily

HELP = "what a results file is: kind, contents, settings, provenance, digest"
DESCRIPTION = __doc__.split("\n", 2)[2].strip()
_RUN = ("task", "arch", "method", "seed", "level")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a NetCDF file the workflow wrote (results/...nc)")


def _run(attrs) -> str:
    parts = [f"{k} {attrs[k]}" for k in _RUN if k in attrs]
    return ", ".join(parts)


def _names(values, limit: int = 8) -> str:
    names = [str(v) for v in values]
    return ", ".join(names[:limit]) + (f", ... ({len(names)})" if len(names) > limit else "")


def _dataset(ds: xr.Dataset) -> str:
    a = ds.attrs
    return (
        f"{ds.sizes['sample']:,} samples (train/val/test {a.get('n_train')}/{a.get('n_val')}/"
        f"{a.get('n_test')}); {ds.sizes['input']} inputs ({_names(ds['input'].values)}) -> "
        f"{ds.sizes['output']} outputs ({_names(ds['output'].values)}); scaling "
        f"{a.get('input_scaling', 'minmax')} / {a.get('target_scaling', 'minmax')}"
    )


def _network(ds: xr.Dataset) -> str:
    n_layers = int(ds.attrs["n_layers"])
    widths = [ds.sizes[ds[f"kernel_{i}"].dims[0]] for i in range(1, n_layers + 1)]
    widths.append(ds.sizes[ds[f"kernel_{n_layers}"].dims[1]])
    live = sum(int(ds[f"kernel_mask_{i}"].values.sum()) for i in range(1, n_layers + 1))
    total = sum(ds[f"kernel_{i}"].size for i in range(1, n_layers + 1))
    a = ds.attrs
    text = (
        f"{'-'.join(map(str, widths))} {a.get('activation', '')}, weight sparsity "
        f"{1 - live / total:.3f}, {live:,} live weights; val loss "
        f"{float(a.get('final_val_loss', np.nan)):.3e} after {a.get('epochs', '?')} epochs on "
        f"{a.get('device', '?')}"
    )
    return text + (" - DIVERGED" if int(a.get("diverged", 0)) else "")


def _level_metrics(ds: xr.Dataset) -> str:
    def value(name, spec):
        return format(float(ds[name]), spec) if name in ds else "?"

    return (
        f"weight sparsity {value('sparsity', '.3f')}, val loss {value('val_loss', '.3e')}, "
        f"test loss {value('test_loss', '.3e')}, compression {value('compression_ratio', '.1f')}x, "
        f"speed-up {value('speedup', '.1f')}x" + (" - DIVERGED" if int(ds["diverged"]) else "")
    )


def _all_metrics(ds: xr.Dataset) -> str:
    dims = [f"{ds.sizes[d]} {d}" + ("s" if ds.sizes[d] != 1 else "") for d in ds["val_loss"].dims]
    return (
        f"{' x '.join(dims)}: archs {_names(ds['arch'].values)}; methods "
        f"{_names(ds['method'].values)}; variables {_names(list(ds.data_vars), 20)}"
    )


def _networks(ds: xr.Dataset) -> str:
    dims = ", ".join(f"{ds.sizes[d]} {d}" for d in ds.dims)
    return f"per-epoch losses and |w| histograms of every level: {dims}"


def _selection(ds: xr.Dataset) -> str:
    has = ds["has_selection"].values
    return (
        f"rule: {ds.attrs.get('metric', '?')} <= {ds.attrs.get('threshold', '?')}; "
        f"{int(has.sum())} of {has.size} arch x method x seed have a level under it"
    )


def _exported(path: Path, kind: str) -> str:
    model = load_exported_file(path, kind)
    lines = [model.summary().splitlines()[0]]
    if model.physical:
        ins = [f"{n} [{u}]" for n, u in zip(model.inputs.names, model.inputs.units, strict=True)]
        outs = [f"{n} [{u}]" for n, u in zip(model.outputs.names, model.outputs.units, strict=True)]
        lines.append(f"reads {', '.join(ins)}")
        lines.append(f"returns {', '.join(outs)}")
        lines.append(f"use: prunesweep predict {path} inputs.csv (see the usage attribute)")
    else:
        lines.append("records no scaling: predict(x, scaled=True) takes scaled inputs")
    return "\n".join(lines)


def _digest_line(path: Path, attrs: dict) -> str:
    """Whether the file's contents still match the digest it recorded (prunesweep.digest)."""
    from prunesweep.digest import DIGEST_ATTR, DigestReadError, file_digest
    from prunesweep.files import short_digest

    recorded = attrs.get(DIGEST_ATTR)
    if recorded is None:
        return "digest: none recorded"
    try:
        computed = file_digest(path)
    except DigestReadError as err:
        return f"digest: {short_digest(recorded)} recorded, the file cannot be read ({err})"
    if computed == recorded:
        return f"digest: {short_digest(recorded)} recorded and verified"
    return (
        f"digest: MISMATCH, recorded {short_digest(recorded)}, contents {short_digest(computed)}:"
        " the file was changed after it was written"
    )


def describe(path: str | Path) -> str:
    """The lines `show` prints for `path`."""
    path = Path(path)
    with open_lazily(path) as ds:
        kind = file_kind(ds)
        if kind is None:
            raise CommandError(
                f"file {path} is not a prunesweep file (no dataset variables and no prunesweep "
                f"title: {ds.attrs.get('title', 'none')!r})"
            )
        attrs = dict(ds.attrs)
        try:
            contents = {
                "dataset": _dataset,
                "network": _network,
                "metrics of one level": _level_metrics,
                "metrics of every level": _all_metrics,
                "networks summary": _networks,
                "selection": _selection,
            }.get(kind)
            if kind in ("exported model", "exported NIF"):
                body = _exported(path, kind)
            elif kind == "exported model (nothing selected)":
                body = attrs.get("note", "")
            else:
                body = contents(ds)
        except (KeyError, ValueError, TypeError) as err:
            raise CommandError(f"{kind} file {path} is incomplete ({err!r})") from err
    if kind == "network":
        kind = "dense network" if int(attrs.get("level", 0)) == 0 else "pruned network"
    lines = [f"{path}: {kind}" + (f" ({_run(attrs)})" if _run(attrs) else "")]
    lines += body.splitlines()
    settings = f"config_hash {attrs['config_hash']}" if "config_hash" in attrs else "none recorded"
    if "config" in attrs:
        keys = sorted(json.loads(attrs["config"]))
        settings += f" of the settings in attribute config ({', '.join(keys)})"
    lines.append(f"settings: {settings}")
    history = "; ".join(str(attrs.get("history", "")).splitlines()) or "none recorded"
    lines.append(f"provenance: {history} ({attrs.get('Conventions', 'no Conventions')})")
    lines.append(_digest_line(path, attrs))
    return "\n".join(lines)


def run(args: argparse.Namespace, extra: list[str]) -> int:
    print(describe(args.file))
    return 0

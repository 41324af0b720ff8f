"""The `prunesweep` command on files made here: help everywhere, answers parsed, errors one line.

The same subcommands on a real sweep's results are in tests/workflow/test_use.py.
"""

import csv
import io
import tomllib
import types

import netCDF4
import numpy as np
import pytest
import xarray as xr

from prunesweep import cli, files, network_file
from prunesweep.export import export_model, save_exported
from tests.conftest import ROOT, random_network
from tests.unit.test_export_model import random_pruned
from tests.unit.test_export_physical import RTOL, features, max_relative, physical_inputs
from tests.unit.test_export_shrink import ghost_net


def run(capsys, *argv):
    """(exit status, stdout, stderr) of `prunesweep argv...`."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv, command="predict"):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"prunesweep {command}: "), err
    return err


@pytest.fixture
def model_file(tmp_path):
    net = random_pruned(random_network((10, 24, 16, 7), seed=11), 0.4)
    inputs, outputs = features(net, seed=11)
    model = export_model(net, formats="csr", inputs=inputs, outputs=outputs)
    model.attrs.update(level=2, selected_level=2)
    return save_exported(model, tmp_path / "model.nc"), model, inputs


def write_csv(path, header, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def parse_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


@pytest.mark.parametrize("command", [None, "summary", "predict", "show", "verify"])
def test_every_command_has_help_with_the_exit_codes(capsys, command):
    code, out, _ = run(capsys, *([command] if command else []), "--help")
    assert code == 0
    assert out.startswith(f"usage: prunesweep{' ' + command if command else ''}")
    assert "exit status" in out


def test_the_console_script_is_declared_and_usage_errors_exit_2(capsys):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"prunesweep": "prunesweep.cli:main"}
    assert run(capsys)[0] == 2  # no command
    assert run(capsys, "show")[0] == 2  # no file
    assert run(capsys, "summary", "--format", "xml")[0] == 2
    assert run(capsys, "show", "a.nc", "--frobnicate")[0] == 2


def test_predict_matches_columns_by_name_and_checks_units(capsys, tmp_path, model_file):
    path, model, inputs = model_file
    x = physical_inputs(inputs, n=25)
    order = list(np.random.default_rng(0).permutation(10))  # columns in another order
    header = [f"{model.input_names[j]} [{inputs.units[j]}]" for j in order] + ["sample_id"]
    rows = [[repr(float(x[i, j])) for j in order] + [str(i)] for i in range(len(x))]
    data = write_csv(tmp_path / "in.csv", header, rows)
    code, out, err = run(capsys, "predict", str(path), str(data))
    assert code == 0 and err == ""
    names, y = parse_csv(out)
    assert names == [
        f"{n} [{u}]" for n, u in zip(model.outputs.names, model.outputs.units, strict=True)
    ]
    assert max_relative(y, model.predict(x)) <= RTOL
    out_nc = tmp_path / "out.nc"
    assert run(capsys, "predict", str(path), str(data), "-o", str(out_nc))[0] == 0
    with xr.open_dataset(out_nc) as ds:
        assert ds["out0"].attrs["units"] == model.outputs.units[0]
        assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["model_level"] == 2
        y_nc = np.stack([ds[n].values for n in model.outputs.names], axis=1)
    assert max_relative(y_nc, model.predict(x)) <= RTOL


def test_predict_reads_netcdf_inputs_by_variable_or_as_a_dataset_table(
    capsys, tmp_path, model_file
):
    path, model, inputs = model_file
    x = physical_inputs(inputs, n=9)
    per_variable = xr.Dataset(
        {
            n: (("case",), x[:, j], {"units": u})
            for j, (n, u) in enumerate(zip(inputs.names, inputs.units, strict=True))
        }
    )
    per_variable.to_netcdf(tmp_path / "vars.nc")
    table = xr.Dataset(
        {"inputs": (("sample", "input"), x)},
        coords={"input": list(inputs.names), "input_units": ("input", list(inputs.units))},
    )
    table.to_netcdf(tmp_path / "table.nc")
    for name in ("vars.nc", "table.nc"):
        code, out, _ = run(capsys, "predict", str(path), str(tmp_path / name))
        assert code == 0
        assert max_relative(parse_csv(out)[1], model.predict(x)) <= RTOL


def test_predict_needs_only_the_inputs_the_model_reads(capsys, tmp_path):
    net = ghost_net()  # input in4 feeds nothing
    inputs, outputs = features(net, seed=1)
    model = export_model(net, formats="dense", inputs=inputs, outputs=outputs)
    path = save_exported(model, tmp_path / "ghost.nc")
    x = physical_inputs(inputs, n=4)
    used = [0, 1, 2, 3, 5]
    data = write_csv(tmp_path / "in.csv", [f"in{j}" for j in used], x[:, used].tolist())
    code, out, _ = run(capsys, "predict", str(path), str(data))
    assert code == 0 and max_relative(parse_csv(out)[1], model.predict(x)) <= RTOL


def test_bad_inputs_are_one_line_naming_the_file_and_column(capsys, tmp_path, model_file):
    path, model, inputs = model_file
    names = list(model.input_names)
    x = physical_inputs(inputs, n=3).tolist()
    missing = write_csv(tmp_path / "missing.csv", names[1:], [r[1:] for r in x])
    assert "missing column(s) 'in0'" in one_line_error(capsys, "predict", str(path), str(missing))
    short = write_csv(tmp_path / "short.csv", names, [x[0], x[1][:9]])
    err = one_line_error(capsys, "predict", str(path), str(short))
    assert "short.csv line 3: 9 values, the header names 10" in err
    text = write_csv(tmp_path / "text.csv", names, [x[0][:4] + ["abc"] + x[0][5:]])
    err = one_line_error(capsys, "predict", str(path), str(text))
    assert "column 'in4': 'abc' is not a number" in err
    units = write_csv(tmp_path / "units.csv", ["in0 [m]", *names[1:]], x)
    err = one_line_error(capsys, "predict", str(path), str(units))
    assert "column 'in0' is in 'm', the model expects 'cm s-0'" in err
    nan = write_csv(tmp_path / "nan.csv", names, [x[0], ["nan"] + x[1][1:]])
    assert "column 'in0' holds a non-finite value (sample 1)" in one_line_error(
        capsys, "predict", str(path), str(nan)
    )
    xr.Dataset({"in0": (("a", "b"), np.zeros((2, 2)))}).to_netcdf(tmp_path / "shape.nc")
    err = one_line_error(capsys, "predict", str(path), str(tmp_path / "shape.nc"))
    assert "variable 'in0' has dimensions ('a', 'b'), expected one" in err
    err = one_line_error(capsys, "predict", str(path), str(tmp_path / "absent.csv"))
    assert "absent.csv" in err
    (tmp_path / "in.txt").write_text("in0\n1\n")
    assert "expected a .csv or a .nc file" in one_line_error(
        capsys, "predict", str(path), str(tmp_path / "in.txt")
    )


def test_a_file_that_is_not_a_model_is_named_for_what_it_is(capsys, tmp_path):
    level = network_file.write_network(random_network(), tmp_path / "level01.nc")
    err = one_line_error(capsys, "predict", str(level), "in.csv")
    assert f"model file {level} is a prunesweep network file, not an exported model" in err
    (tmp_path / "junk.nc").write_bytes(b"not netcdf at all")
    err = one_line_error(capsys, "predict", str(tmp_path / "junk.nc"), "in.csv")
    assert "junk.nc cannot be read as NetCDF" in err
    err = one_line_error(capsys, "predict", str(tmp_path / "model.keras"), "in.csv")
    assert "is the Keras model: give the .nc file beside it" in err
    none = files.write_netcdf(
        xr.Dataset(attrs={"title": "prunesweep exported model: none selected", "note": "no level"}),
        tmp_path / "none.nc",
    )
    assert "holds no network: no level" in one_line_error(capsys, "predict", str(none), "in.csv")
    scaled_only = save_exported(
        export_model(random_network((10, 8, 7)), formats="dense"), tmp_path / "s.nc"
    )
    assert "records no input scaling" in one_line_error(
        capsys, "predict", str(scaled_only), "x.csv"
    )


def test_show_says_what_a_file_is(capsys, tmp_path, model_file):
    path, model, _ = model_file
    code, out, _ = run(capsys, "show", str(path))
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"{path}: exported model (task moth, arch t, seed 1, level 2)"
    assert lines[1].startswith("exported 10-24-16-7 -> ")
    assert lines[2].startswith("reads in0 [cm s-0], in1 [cm s-1]")
    assert lines[-1].startswith("digest: sha256:") and lines[-1].endswith("recorded and verified")
    assert lines[-2] == "provenance: export - prunesweep 0.1.0 (CF-1.8)"
    net = random_pruned(random_network(), 0.5)
    net.attrs.update(level=3, method="magnitude", final_val_loss=0.01, epochs=4, config_hash="abc")
    level = network_file.write_network(net, tmp_path / "level03.nc", step="prune")
    code, out, _ = run(capsys, "show", str(level))
    lines = out.splitlines()
    assert (
        lines[0]
        == f"{level}: pruned network (task moth, arch t, method magnitude, seed 1, level 3)"
    )
    live = sum(int(lay.kernel_mask.sum()) for lay in net.layers)
    total = sum(lay.kernel.size for lay in net.layers)
    assert f"weight sparsity {1 - live / total:.3f}, {live:,} live weights" in lines[1]
    assert "settings: config_hash abc" in out
    with netCDF4.Dataset(level, "a") as nc:  # changed behind prunesweep's back
        nc.setncattr("epochs", 5)
    last = run(capsys, "show", str(level))[1].splitlines()[-1]
    assert last.startswith("digest: MISMATCH, recorded sha256:"), last
    other = files.write_netcdf(xr.Dataset(attrs={"title": "rainfall"}), tmp_path / "rain.nc")
    err = one_line_error(capsys, "show", str(other), command="show")
    assert "is not a prunesweep file" in err and "'rainfall'" in err


def test_verify_hands_over_to_the_verifier(capsys, monkeypatch):
    from prunesweep.cli import verify as subcommand

    calls = []
    fake = types.SimpleNamespace(main=lambda argv: calls.append(argv) or 3)
    monkeypatch.setattr(subcommand, "verify", fake)
    assert run(capsys, "verify", "my_results", "--quiet")[0] == 3
    assert calls == [["my_results", "--quiet"]]


def test_summary_needs_a_results_folder(capsys, tmp_path):
    err = one_line_error(capsys, "summary", str(tmp_path / "nowhere"), command="summary")
    assert "nowhere does not exist" in err
    err = one_line_error(capsys, "summary", str(tmp_path), command="summary")
    assert "no summary/<task>/selection.nc" in err


def test_predict_and_show_take_an_exported_nif(capsys, tmp_path):
    """A NIF file carries its scaling too: the field at physical (t, x) points, by name."""
    from prunesweep.export import export_nif, save_exported_nif
    from prunesweep.scaling import Features, Scaling
    from tests.unit.test_nif import random_nif

    net = random_nif()
    inputs = Features(
        ("t", "x"), ("s", "m"), ("time", "position"), Scaling("symmetric", [0, 0], [9, 2])
    )
    outputs = Features(("u",), ("K",), ("temperature",), Scaling("standard", [3.0], [0.5]))
    model = export_nif(net, inputs=inputs, outputs=outputs)
    path = save_exported_nif(model, tmp_path / "nif.nc")
    x = np.column_stack([np.linspace(0, 9, 30), np.linspace(2, 0, 30)])
    rows = [[repr(float(b)), repr(float(a))] for a, b in x]  # columns x, t: matched by name
    data = write_csv(tmp_path / "in.csv", ["x [m]", "t [s]"], rows)
    code, out, err = run(capsys, "predict", str(path), str(data))
    assert code == 0 and err == ""
    names, y = parse_csv(out)
    assert names == ["u [K]"]
    np.testing.assert_allclose(y, model.predict(x), rtol=1e-6)
    bad = write_csv(tmp_path / "bad.csv", ["x [cm]", "t [s]"], rows)
    assert "'x'" in one_line_error(capsys, "predict", str(path), str(bad))
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0 and "exported NIF" in out and "reads t [s], x [m]" in out

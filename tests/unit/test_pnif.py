"""pNIF: ShapeNet nodes pruned through ParameterNet's output mask; ranking, counts, the exported
smaller NIF and its file."""

import numpy as np
import pytest
import xarray as xr

from prunesweep import nif
from prunesweep.export import export_nif, load_exported_nif, save_exported_nif
from prunesweep.nif import NifSpec
from prunesweep.pruning import (
    PnifParams,
    next_masks,
    node_scores,
    parse_method,
    pnif_masks,
    prune_count,
)
from prunesweep.scaling import Features, Scaling
from tests.conftest import random_network
from tests.unit.test_nif import random_nif

ARCH = {"hidden": [6, 6], "latent_dim": 2, "shape": {"width": 8, "layers": 2}}
RESIDUAL = {**ARCH, "shape": {"width": 8, "layers": 2, "residual": True}}
ROWS = np.linspace(-1, 1, 9)[:, None]  # ParameterNet's (scaled) training inputs: 9 snapshots


def removed_nodes(net):
    """Per ShapeNet layer, nodes whose incoming weights, bias and outgoing weights are masked."""
    spec = NifSpec.of(net)
    live = nif.live_outputs(net)
    out = []
    for e in spec.shape.node_entries():
        group = np.concatenate([e["incoming"], e["bias"][:, None], e["outgoing"]], axis=1)
        out.append(~live[group].any(axis=1))
    return out


@pytest.mark.parametrize("arch", [ARCH, RESIDUAL], ids=["plain", "residual"])
def test_schedule_removes_whole_nodes_in_exact_numbers_through_the_last_layer_only(arch):
    net = random_nif(arch)
    for target in (0.25, 0.5, 0.75):
        masks = pnif_masks(net.layers, target=target, network=net, data=ROWS)
        for (kmask, bmask), layer in zip(masks[:-1], net.layers[:-1], strict=True):
            np.testing.assert_array_equal(kmask, layer.kernel_mask)
            np.testing.assert_array_equal(bmask, layer.bias_mask)
        net = net.with_masks(masks)
        removed = removed_nodes(net)
        assert [int(r.sum()) for r in removed] == [prune_count(8, target)] * 3
        if arch is RESIDUAL:
            assert all((r == removed[0]).all() for r in removed), "a channel goes from every layer"
        active = nif.active_nodes(NifSpec.of(net).shape, nif.live_outputs(net))
        assert [(~a).tolist() for a in active] == [r.tolist() for r in removed]
        # everything of a removed node is masked, and nothing else is
        live = nif.live_outputs(net)
        assert live.sum() == nif.shape_params(NifSpec.of(net).shape, live)


def test_nodes_with_the_smallest_generated_weights_go_first():
    net = random_nif(ARCH)
    spec = NifSpec.of(net)
    entries = spec.shape.node_entries()
    weak = [3, 5, 0]  # per layer, make one node's generated weights tiny (for every input)
    last = net.layers[-1]
    for e, j in zip(entries, weak, strict=True):
        cols = np.concatenate([e["incoming"][j], e["outgoing"][j]])
        last.kernel[:, cols] *= 1e-3
        last.bias[cols] *= 1e-3
    scores = node_scores(net, ROWS, "both")
    assert [int(np.argmin(s)) for s in scores] == weak
    masks = pnif_masks(net.layers, target=0.125, network=net, data=ROWS)  # one node per layer
    assert [np.flatnonzero(r).tolist() for r in removed_nodes(net.with_masks(masks))] == [
        [j] for j in weak
    ]


def test_scores_are_l2_norms_of_generated_weights_averaged_over_the_inputs():
    net = random_nif(ARCH)
    e = NifSpec.of(net).shape.node_entries()[1]
    o = net.layers_forward(ROWS)
    expected = np.mean([np.sqrt(np.sum(o[r, e["incoming"][4]] ** 2)) for r in range(len(ROWS))])
    np.testing.assert_allclose(node_scores(net, ROWS, "incoming")[1][4], expected, rtol=1e-12)
    both = np.mean(
        [
            np.sqrt(np.sum(o[r, e["incoming"][4]] ** 2) + np.sum(o[r, e["outgoing"][4]] ** 2))
            for r in range(len(ROWS))
        ]
    )
    np.testing.assert_allclose(node_scores(net, ROWS, "both")[1][4], both, rtol=1e-12)


def test_pruned_nodes_generate_exactly_zero_and_perturbing_them_changes_nothing():
    net = random_nif(ARCH)
    pruned = net.with_masks(pnif_masks(net.layers, target=0.5, network=net, data=ROWS))
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    before = nif.forward(pruned, x)
    shaken = pruned.layers[-1]
    off = ~shaken.kernel_mask
    shaken.kernel = np.where(off, 5.0, shaken.kernel).astype(np.float32)  # under the mask
    shaken.bias = np.where(~shaken.bias_mask, -5.0, shaken.bias).astype(np.float32)
    np.testing.assert_array_equal(nif.forward(pruned, x), before)


@pytest.mark.parametrize("arch", [ARCH, RESIDUAL], ids=["plain", "residual"])
def test_exported_smaller_nif_predicts_what_the_masked_one_does(arch, tmp_path):
    net = random_nif(arch, inputs=("nu", "t", "x"))
    rows = np.random.default_rng(1).uniform(-1, 1, (12, 2))
    pruned = net.with_masks(pnif_masks(net.layers, target=0.75, network=net, data=rows))
    model = export_nif(pruned)
    assert list(model.shape.widths) == [2, 2, 2]
    assert model.net.widths[-1] == model.shape.n_params < NifSpec.of(net).shape.n_params
    dense_bytes = sum(lay.kernel.nbytes + lay.bias.nbytes for lay in net.layers)
    assert model.nbytes < dense_bytes
    x = np.random.default_rng(2).uniform(-1, 1, (300, 3)).astype(np.float32)
    x[:150, :2] = x[0, :2]  # many points share a parameter row, as in a query of a snapshot
    reference = nif.forward(pruned, x)
    np.testing.assert_allclose(model.predict(x, scaled=True), reference, rtol=1e-4, atol=1e-5)
    back = load_exported_nif(save_exported_nif(model, tmp_path / "model.nc"))
    np.testing.assert_array_equal(back.predict(x, scaled=True), model.predict(x, scaled=True))
    np.testing.assert_array_equal(back.kept_params, model.kept_params)
    with pytest.raises(ValueError, match="records no input and output scaling"):
        back.predict(x)


def test_an_exported_nif_takes_and_returns_physical_values(tmp_path):
    """With the dataset's scaling recorded, predict(x) = unscale(NIF(scale(x))), from the file."""
    net = random_nif(ARCH, inputs=("nu", "t", "x"))
    inputs = Features(
        names=("nu", "t", "x"),
        units=("1", "s", "m"),
        long_names=("viscosity", "time", "position"),
        scaling=Scaling("symmetric", np.array([0.2, 0.0, 0.0]), np.array([0.28, 10.0, 6.28])),
    )
    outputs = Features(("u",), ("m s-1",), ("velocity",), Scaling("standard", [0.1], [2.0]))
    model = export_nif(net, inputs=inputs, outputs=outputs)
    rng = np.random.default_rng(5)
    x = np.column_stack(
        [rng.uniform(0.2, 0.28, 40), rng.uniform(0, 10, 40), rng.uniform(0, 6.28, 40)]
    )
    z = 2 * (x - [0.2, 0.0, 0.0]) / [0.08, 10.0, 6.28] - 1  # to [-1, 1], by hand
    expected = 0.1 + 2.0 * nif.forward(net, z.astype(np.float32))
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-5)
    back = load_exported_nif(save_exported_nif(model, tmp_path / "model.nc"))
    for got, want in ((back.inputs, inputs), (back.outputs, outputs)):
        assert (got.names, got.units, got.long_names) == (want.names, want.units, want.long_names)
        assert got.scaling.kind == want.scaling.kind
        np.testing.assert_array_equal(got.scaling.first, want.scaling.first)
        np.testing.assert_array_equal(got.scaling.second, want.scaling.second)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    np.testing.assert_array_equal(back.predict(x[0]), model.predict(x)[0])  # one point
    with xr.open_dataset(tmp_path / "model.nc") as ds:
        assert list(ds["input_units"].values) == ["1", "s", "m"]
        assert "predict" in ds.attrs["usage"] and ds.attrs["input_scaling"] == "symmetric"
    with pytest.raises(ValueError, match=r"expected inputs of shape \(batch, 3\)"):
        model.predict(x[:, :2])
    with pytest.raises(ValueError, match="describe both the inputs and the outputs, or neither"):
        export_nif(net, inputs=inputs)
    swapped = Features(("t", "nu", "x"), inputs.units, inputs.long_names, inputs.scaling)
    with pytest.raises(ValueError, match=r"inputs described as \('t', 'nu', 'x'\)"):
        export_nif(net, inputs=swapped, outputs=outputs)


def test_export_of_a_dense_nif_keeps_everything():
    net = random_nif(ARCH)
    model = export_nif(net)
    assert model.shape.widths == NifSpec.of(net).shape.widths
    np.testing.assert_array_equal(model.kept_params, np.arange(NifSpec.of(net).shape.n_params))


def test_next_masks_passes_data_and_refuses_the_wrong_model():
    method = parse_method("pnif", {"kind": "pnif", "schedule": [0.5]}, default_schedule=[0.5])
    assert method.params == PnifParams(score="both")
    net = random_nif(ARCH)
    with pytest.raises(ValueError, match="ranks with data"):
        next_masks(method, net, level=1, seed=0)
    masks = next_masks(method, net, level=1, seed=0, data=ROWS)
    assert [int(r.sum()) for r in removed_nodes(net.with_masks(masks))] == [4, 4, 4]
    with pytest.raises(ValueError, match=r"prunes \['nif'\] models, not 'mlp'"):
        next_masks(method, random_network(), level=1, seed=0, data=ROWS)
    nodal = parse_method("nodal", {"kind": "nodal"}, default_schedule=[0.5])
    with pytest.raises(ValueError, match=r"prunes \['mlp'\] models, not 'nif'"):
        next_masks(nodal, net, level=1, seed=0)


def test_a_target_that_would_empty_a_layer_is_refused():
    net = random_nif(ARCH)
    with pytest.raises(ValueError, match="at least one node must stay"):
        pnif_masks(net.layers, target=0.99, network=net, data=ROWS)

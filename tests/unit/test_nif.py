"""NIF in NumPy: the slicing of ParameterNet's output, ShapeNet's forward pass, parameter counts,
which ShapeNet nodes are active, and the network file of a NIF."""

import numpy as np
import pytest

from prunesweep import network_file, nif
from prunesweep.models import get_kind
from prunesweep.network import Network
from prunesweep.nif import NifSpec, ShapeSpec


def random_nif(arch=None, *, inputs=("t", "x"), seed=0) -> Network:
    """A NIF blueprint with random ParameterNet weights (std 0.5: generated weights of order 1)."""
    arch = arch or {"hidden": [5, 4], "latent_dim": 2, "shape": {"width": 4, "layers": 2}}
    net = get_kind("nif").blueprint(arch, list(inputs), ["u"])
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        layer.kernel = rng.normal(0, 0.5, layer.kernel.shape).astype(np.float32)
        layer.bias = rng.normal(0, 0.5, layer.bias.shape).astype(np.float32)
    return net


def test_slicing_reproduces_a_shapenet_forward_pass_computed_by_hand():
    """si = so = 1, widths (2, 2): o = [W0 (1x2), W1 (2x2), W2 (2x1), b0, b1, b2], weights first."""
    shape = ShapeSpec(n_in=1, n_out=1, widths=(2, 2), activation="tanh")
    o = np.linspace(-1.3, 1.1, shape.n_params)[None, :]
    assert shape.n_params == 2 + 4 + 2 + 2 + 2 + 1
    w0 = [[o[0, 0], o[0, 1]]]
    w1 = [[o[0, 2], o[0, 3]], [o[0, 4], o[0, 5]]]  # row-major: w1[i][j] from unit i to unit j
    w2 = [[o[0, 6]], [o[0, 7]]]
    b0, b1, b2 = [o[0, 8], o[0, 9]], [o[0, 10], o[0, 11]], o[0, 12]
    for x in (-0.7, 0.0, 0.4):
        h0 = [np.tanh(x * w0[0][j] + b0[j]) for j in range(2)]
        h1 = [np.tanh(h0[0] * w1[0][j] + h0[1] * w1[1][j] + b1[j]) for j in range(2)]
        u = h1[0] * w2[0][0] + h1[1] * w2[1][0] + b2
        np.testing.assert_allclose(shape.forward(np.array([[x]]), o), [[u]], rtol=1e-12)
    # the residual and SIREN variants, by hand
    res = ShapeSpec(n_in=1, n_out=1, widths=(2, 2), activation="swish", residual=True)
    sine = ShapeSpec(n_in=1, n_out=1, widths=(2, 2), activation="sine", omega_0=3.0)
    x = 0.3
    swish = lambda z: z / (1 + np.exp(-z))  # noqa: E731
    h0 = [swish(x * w0[0][j] + b0[j]) for j in range(2)]
    h1 = [swish(h0[0] * w1[0][j] + h0[1] * w1[1][j] + b1[j]) + h0[j] for j in range(2)]
    u = h1[0] * w2[0][0] + h1[1] * w2[1][0] + b2
    np.testing.assert_allclose(res.forward(np.array([[x]]), o), [[u]], rtol=1e-12)
    h0 = [np.sin(3.0 * x * w0[0][j] + b0[j]) for j in range(2)]  # omega_0 scales x W only
    h1 = [np.sin(3.0 * (h0[0] * w1[0][j] + h0[1] * w1[1][j]) + b1[j]) for j in range(2)]
    u = h1[0] * w2[0][0] + h1[1] * w2[1][0] + b2
    np.testing.assert_allclose(sine.forward(np.array([[x]]), o), [[u]], rtol=1e-12)


def test_each_sample_uses_its_own_generated_weights():
    shape = ShapeSpec(n_in=2, n_out=3, widths=(4, 4, 4), activation="swish")
    rng = np.random.default_rng(1)
    o, x = rng.normal(size=(5, shape.n_params)), rng.normal(size=(5, 2))
    batched = shape.forward(x, o)
    one_by_one = np.concatenate([shape.forward(x[i : i + 1], o[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-12)


@pytest.mark.parametrize(
    "si, so, n, n_layers", [(1, 1, 30, 2), (1, 1, 2, 2), (3, 9, 32, 4), (2, 1, 7, 0)]
)
def test_shapenet_parameter_count_is_the_nif_formula(si, so, n, n_layers):
    shape = ShapeSpec(n_in=si, n_out=so, widths=(n,) * (n_layers + 1))
    l = n_layers  # noqa: E741 - the paper's symbol
    assert shape.n_params == l * n**2 + (si + so + 1 + l) * n + so
    assert sum(int(np.prod(dims)) for _, _, dims in shape.slices()) == shape.n_params
    offsets = [offset for _, offset, _ in shape.slices()]
    assert offsets == sorted(offsets) and offsets[0] == 0


@pytest.mark.parametrize(
    "arch, inputs, expected",
    [
        # NIF-small of the NIF paper's comparison with DeepONet: 51 trainable parameters
        ({"hidden": [2, 2], "latent_dim": 1, "shape": {"width": 2, "layers": 2}}, ("t", "x"), 51),
        # tutorial 1 (1D wave): ShapeNet 30 x (2 + 1), ParameterNet 30-30-30-1
        ({"hidden": [30, 30, 30], "latent_dim": 1, "shape": {"width": 30}}, ("t", "x"), 5853),
        # the paper's parametric KS: (t, nu) -> N_T -> N_T -> 2 -> ShapeNet N_S x 3
        ({"hidden": [30, 30], "latent_dim": 2, "shape": {"width": 30}}, ("nu", "t", "x"), 6935),
        ({"hidden": [29, 29], "latent_dim": 2, "shape": {"width": 38}}, ("nu", "t", "x"), 10254),
        ({"hidden": [60, 60], "latent_dim": 2, "shape": {"width": 70}}, ("nu", "t", "x"), 34415),
    ],
)
def test_nif_parameter_counts_match_the_published_ones(arch, inputs, expected):
    net = get_kind("nif").blueprint(arch, list(inputs), ["u"])
    stored = sum(lay.kernel.size + lay.bias.size for lay in net.layers)
    spec = NifSpec.of(net)
    formula = nif.parameter_net_count(
        len(inputs) - 1, arch["hidden"], arch["latent_dim"], spec.shape.n_params
    )
    assert stored == formula == expected


def test_node_entries_are_the_columns_bias_and_rows_of_each_node():
    shape = ShapeSpec(n_in=2, n_out=3, widths=(4, 5, 4))
    blocks = {name: (offset, dims) for name, offset, dims in shape.slices()}
    entries = shape.node_entries()
    marker = np.arange(shape.n_params, dtype=float)
    weights, biases = shape.split(marker[None, :])
    for i, e in enumerate(entries):
        for j in range(shape.widths[i]):
            np.testing.assert_array_equal(e["incoming"][j], weights[i][0][:, j])
            np.testing.assert_array_equal(e["outgoing"][j], weights[i + 1][0][j, :])
            assert e["bias"][j] == biases[i][0][j] == blocks[f"b_{i}"][0] + j
    every = np.concatenate([np.concatenate([e["incoming"].ravel(), e["bias"]]) for e in entries])
    assert len(set(every.tolist())) == every.size, "a node's incoming weights belong to it alone"


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "swish", "sine"])
def test_a_pruned_node_contributes_nothing(residual, activation):
    """Zeroing a node's incoming weights, bias and outgoing weights removes it; then perturbing
    either its incoming side or its outgoing side alone changes nothing (act(0) = 0)."""
    shape = ShapeSpec(n_in=1, n_out=2, widths=(5, 5, 5), activation=activation, residual=residual)
    rng = np.random.default_rng(3)
    o, x = rng.normal(0, 0.5, (7, shape.n_params)), rng.uniform(-1, 1, (7, 1))
    layers = range(shape.n_layers) if residual else [1]  # residual: a channel of every layer
    node = 2
    groups = [shape.node_entries()[i] for i in layers]
    incoming = np.concatenate(
        [np.concatenate([g["incoming"][node], [g["bias"][node]]]) for g in groups]
    )
    outgoing = np.concatenate([g["outgoing"][node] for g in groups])
    o[:, incoming] = o[:, outgoing] = 0.0
    pruned = shape.forward(x, o)
    for side in (incoming, outgoing):
        shaken = o.copy()
        shaken[:, side] = rng.normal(0, 3.0, (7, side.size))
        np.testing.assert_allclose(shape.forward(x, shaken), pruned, rtol=1e-12, atol=1e-12)
    both = o.copy()
    both[:, np.concatenate([incoming, outgoing])] = rng.normal(
        0, 3.0, (7, incoming.size + outgoing.size)
    )
    assert not np.allclose(shape.forward(x, both), pruned), "the node matters once both sides live"


def test_active_nodes_follow_silent_and_unread_nodes_through_the_layers():
    shape = ShapeSpec(n_in=1, n_out=1, widths=(3, 3))
    entries = shape.node_entries()
    live = np.ones(shape.n_params, bool)
    assert [a.tolist() for a in nif.active_nodes(shape, live)] == [[True] * 3] * 2
    live[entries[1]["incoming"][0]] = False  # node 0 of layer 1: no input, but a bias
    assert nif.active_nodes(shape, live)[1].tolist() == [True, True, True]
    live[entries[1]["bias"][0]] = False  # ... now silent
    assert nif.active_nodes(shape, live)[1].tolist() == [False, True, True]
    # node 2 of layer 1 is read by nothing; node 1 of layer 0 only feeds it: unread in turn
    live[entries[1]["outgoing"][2]] = False
    live[entries[0]["outgoing"][1]] = False
    live[entries[0]["outgoing"][1][2]] = True
    assert [a.tolist() for a in nif.active_nodes(shape, live)] == [
        [True, False, True],
        [False, True, False],
    ]
    res = ShapeSpec(n_in=1, n_out=1, widths=(3, 3), residual=True)
    live = np.ones(res.n_params, bool)
    e = res.node_entries()
    live[e[0]["incoming"][2]] = live[e[0]["bias"][2]] = False  # silent in layer 0 only
    assert [a.tolist() for a in nif.active_nodes(res, live)] == [[True] * 3] * 2
    live[e[1]["incoming"][2]] = live[e[1]["bias"][2]] = False  # silent in every layer
    assert [a.tolist() for a in nif.active_nodes(res, live)] == [[True, True, False]] * 2


def test_shapenet_size_metrics_of_dense_and_pruned_nets():
    shape = ShapeSpec(n_in=1, n_out=1, widths=(4, 4, 4), residual=True)
    live = np.ones(shape.n_params, bool)
    weights = 4 + 2 * 16 + 4
    assert nif.shape_params(shape, live) == shape.n_params == weights + 13
    assert nif.shape_flops(shape, live) == 2 * weights + 13 + 2 * 4  # two residual additions
    for e in shape.node_entries():
        live[e["incoming"][0]] = live[e["bias"][0]] = live[e["outgoing"][0]] = False
    small = ShapeSpec(n_in=1, n_out=1, widths=(3, 3, 3), residual=True)
    assert nif.shape_params(shape, live) == small.n_params
    assert nif.shape_flops(shape, live) == nif.shape_flops(small, np.ones(small.n_params, bool))


def test_nif_forward_sends_parameter_columns_to_parameternet_and_x_to_shapenet():
    net = random_nif(inputs=("nu", "t", "x"))
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (40, 3))
    x[:20, :2] = x[0, :2]  # repeated parameter rows are evaluated once
    o = net.layers_forward(x[:, :2])
    expected = NifSpec.of(net).shape.forward(x[:, 2:], o)
    np.testing.assert_allclose(nif.forward(net, x), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="MLP forward pass"):
        net.forward(x)


def test_network_file_round_trip_keeps_the_nif(tmp_path):
    net = random_nif()
    net.attrs.update(task="wave", arch="nif", seed=1)
    path = network_file.write_network(net, tmp_path / "nif.nc")
    back = network_file.read_network(path)
    assert back.model == "nif" and back.spec == net.spec
    assert back.layer_activations == ("swish", "swish", "linear", "linear")
    assert back.input_names == ("t",) and back.output_names == ()
    x = np.random.default_rng(0).uniform(-1, 1, (30, 2))
    np.testing.assert_array_equal(nif.forward(back, x), nif.forward(net, x))


def test_mlp_network_files_carry_no_model_attributes(tmp_path, net):
    ds = network_file.network_to_dataset(net)
    assert not {"model", "model_spec", "activations"} & set(ds.attrs)
    path = network_file.write_network(net, tmp_path / "mlp.nc")
    back = network_file.read_network(path)
    assert back.model == "mlp" and back.spec == {} and back.activations == ()

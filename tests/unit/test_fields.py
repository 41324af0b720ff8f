"""Field tasks: the travelling wave against its closed form and NIF's own files, the KS solver
against its invariant, a finer time step and an independent stiff solver, and the splits."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from prunesweep.dataset import to_dataset
from prunesweep.splits import interleaved_codes
from prunesweep.tasks import get_task
from prunesweep.tasks.fields import ks, wave

#: NIF's tutorial files (pswpswpsw/nif demo/dataset): t = 0, 10, ..., 90, x = linspace(0, 1, 200,
#: endpoint=False), c = 0.006, x0 = 0.2; traveling_wave.npz has omega = 4, max |u| = 0.0536;
#: traveling_wave_high_freq.npz has omega = 400, max |u| = 0.887
TUTORIAL = {"n_t": 10, "t_span": 100.0, "n_x": 200, "x_span": 1.0, "speed": 0.006, "x0": 0.2}


@pytest.mark.parametrize("omega, max_abs", [(4.0, 0.0536), (400.0, 0.887)])
def test_travelling_wave_matches_nifs_low_and_high_frequency_files(omega, max_abs):
    settings = {**TUTORIAL, "omega": omega}
    t, x = wave.grid(settings)
    np.testing.assert_array_equal(t, np.arange(0, 100, 10))
    np.testing.assert_allclose(x, np.linspace(0, 1, 200, endpoint=False), rtol=0, atol=1e-15)
    u = wave.travelling_wave(t, x, settings)
    assert u.shape == (10, 200)
    assert round(float(np.abs(u).max()), 4 if omega < 100 else 3) == max_abs


def test_travelling_wave_dataset_is_the_closed_form_point_by_point():
    data = get_task("wave").build({"simulator": "wave"})
    t, x, u = data.inputs[:, 0], data.inputs[:, 1], data.targets[:, 0]
    s = x - 0.1 - 0.012 * t
    np.testing.assert_allclose(u, np.exp(-1000 * s**2) * np.sin(70 * s), rtol=0, atol=1e-15)
    assert data.inputs.shape == (20 * 300, 2) and len(np.unique(t)) == 20
    np.testing.assert_array_equal(data.extras["field"].values.ravel(), u.astype(np.float32))


@pytest.mark.parametrize("split, axis", [("points", 1), ("snapshots", 0)])
def test_the_wave_holds_out_points_or_snapshots_between_training_ones(split, axis):
    data = get_task("wave").build({"simulator": "wave", "split": split})
    codes = data.extras["point_split"].values[0]  # (t, x)
    np.testing.assert_array_equal(data.split, codes.ravel())
    line = codes[0] if axis == 1 else codes[:, 0]
    np.testing.assert_array_equal(line, interleaved_codes(codes.shape[axis], 5))
    assert (codes == (line[None, :] if axis == 1 else line[:, None])).all(), "same rule everywhere"
    for j in np.flatnonzero(line > 0):
        assert line[j - 1] == 0 and line[j + 1] == 0, "held-out points are interpolated"
    column = data.inputs[:, axis]  # inputs are (t, x): x for points, t for snapshots
    for code in (0, 1, 2):
        held = np.unique(column[data.split == code])
        assert {int(c) for c in line[np.isin(np.unique(column), held)]} == {code}


def test_field_datasets_scale_inputs_to_plus_minus_one_and_standardise_u_on_train():
    ds = to_dataset(get_task("wave").build({"simulator": "wave", "n_x": 50}), task="wave")
    train = ds["split"].values == 0
    u = ds["targets"].values[train, 0].astype(np.float64)
    assert ds.attrs["input_scaling"] == "symmetric" and ds.attrs["target_scaling"] == "standard"
    np.testing.assert_allclose(ds["target_mean"].values[0], u.mean(), rtol=0, atol=1e-8 * u.std())
    np.testing.assert_allclose(ds["target_std"].values[0], u.std(), rtol=1e-6)
    np.testing.assert_allclose(ds["input_min"].values, ds["inputs"].values[train].min(0))
    assert set(ds["field"].dims) == {"run", "t", "x"} and ds["field"].attrs["units"] == "1"


def test_interleaved_codes_never_hold_out_the_ends():
    for n in range(5, 40):
        for period in (4, 5, 7):
            codes = interleaved_codes(n, period)
            assert codes[0] == 0 and codes[-1] == 0
    with pytest.raises(ValueError, match="period >= 4"):
        interleaved_codes(10, 3)


# --------------------------------------------------------------------------------- KS


def _ks(nu, u0, dt, t_end, n_x=32, length=2 * np.pi):
    steps = round(t_end / dt)
    return ks.solve(nu, u0, length=length, dt=dt, steps_per_snapshot=steps, n_t=2)[:, -1]


def test_ks_conserves_the_spatial_mean_to_round_off():
    x = np.arange(64) * 2 * np.pi / 64
    u0 = ks.initial_condition(x, 2 * np.pi) + 0.3  # a non-zero mean makes the packet travel
    u = ks.solve([0.2, 0.28], u0, length=2 * np.pi, dt=0.01, steps_per_snapshot=100, n_t=11)
    drift = np.abs(u.mean(axis=-1) - u0.mean())
    assert drift.max() < 1e-13
    assert np.abs(u[:, -1] - u[:, 0]).max() > 0.5, "the field itself does change"


def test_ks_solution_agrees_with_a_twice_finer_time_step_at_fourth_order():
    x = np.arange(32) * 2 * np.pi / 32
    u0 = ks.initial_condition(x, 2 * np.pi)
    nu = [0.2, 0.24, 0.28]
    coarse, fine, finest = (_ks(nu, u0, dt, 2.0) for dt in (0.0125, 0.00625, 0.003125))
    scale = np.abs(finest).max()
    assert np.abs(fine - finest).max() / scale < 1e-7
    # for an error C h^p: (e(h) - e(h/4)) / (e(h/2) - e(h/4)) = 2^p + 1. Cox & Matthews' ETDRK4
    # is fourth order for non-stiff problems and at least third in the stiff limit (Hochbruck &
    # Ostermann 2005); on KS we observe 3.4-3.7 at these steps
    ratio = np.abs(coarse - finest).max() / np.abs(fine - finest).max()
    order = np.log2(ratio - 1)
    assert 3.0 < order < 4.6, f"observed order {order:.2f}"


def test_ks_matches_an_independent_stiff_solver():
    """The Fourier ODE of the same equation by scipy's Radau at tight tolerances."""
    n_x, length, nu, t_end = 32, 2 * np.pi, 0.25, 1.0
    x = np.arange(n_x) * length / n_x
    u0 = ks.initial_condition(x, length)
    k = 2 * np.pi / length * np.fft.fftfreq(n_x, 1 / n_x)
    k[n_x // 2] = 0.0

    def rhs(_, u):
        v = np.fft.fft(u)
        ux = np.real(np.fft.ifft(1j * k * v))
        lin = np.real(np.fft.ifft((k**2 - nu * k**4) * v))
        return lin - u * ux

    ref = solve_ivp(rhs, (0, t_end), u0, method="Radau", rtol=1e-10, atol=1e-12).y[:, -1]
    ours = _ks([nu], u0, 0.01, t_end)[0]
    assert np.abs(ours - ref).max() < 1e-6 * np.abs(ref).max()


def test_ks_task_splits_by_nu_and_never_trains_on_test_values():
    settings = {"simulator": "ks", "n_runs": 9, "n_x": 16, "n_t": 6, "t_end": 1.0, "dt": 0.05}
    data = get_task("ks").build(settings)
    nu, split = data.inputs[:, 0], data.split
    train, test, val = (set(np.unique(nu[split == c]).tolist()) for c in (0, 2, 1))
    assert not train & test and not train & val and not test & val
    assert min(train) == 0.2 and max(train) == 0.28, "the ends of the range are trained on"
    assert all(min(train) < v < max(train) for v in test | val)
    assert data.inputs.shape == (9 * 6 * 16, 3)
    assert data.extras["field"].shape == (9, 6, 16)
    np.testing.assert_array_equal(data.extras["nu"].values, np.linspace(0.2, 0.28, 9))
    np.testing.assert_array_equal(
        data.targets[:, 0].astype(np.float32), data.extras["field"].values.ravel()
    )


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"dt": 0.03}, "does not divide"),
        ({"n_runs": 4}, "leave the test split"),
        ({"nu_max": 0.1}, "nu_max must exceed nu_min"),
        ({"n_x": 15}, "n_x must be even"),
    ],
)
def test_ks_check_names_the_setting(settings, match):
    with pytest.raises(ValueError, match=match):
        get_task("ks").check({"simulator": "ks", **settings})

"""Hawkmoth simulator: parameters, equations, integrator accuracy, physics, sampling, I/O."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from prunesweep.integrators.rosenbrock import DenseProblem
from prunesweep.tasks import moth
from prunesweep.tasks.moth import dynamics

P = moth.MothParameters()
HORIZON = moth.DEFAULT_HORIZON


def direct_rhs(state: np.ndarray, controls: np.ndarray, p: moth.MothParameters = P) -> np.ndarray:
    """docs/moth-model.md (equations of motion) term by term for one sample, solved by LAPACK."""
    x, xd, y, yd, th, thd, ph, phd = state
    force, alpha, tau = controls
    m1, m2, l1, l2 = p.m1, p.m2, p.L1, p.L2
    sth, cth, sph, cph = math.sin(th), math.cos(th), math.sin(ph), math.cos(ph)
    mass = np.array(
        [
            [m1 + m2, 0.0, -m1 * l1 * sth, -m2 * l2 * sph],
            [0.0, m1 + m2, m1 * l1 * cth, m2 * l2 * cph],
            [-m1 * l1 * sth, m1 * l1 * cth, p.I1 + m1 * l1**2, 0.0],
            [-m2 * l2 * sph, m2 * l2 * cph, 0.0, p.I2 + m2 * l2**2],
        ]
    )
    speed = math.hypot(xd, yd)
    cd_area = 0.0
    if p.rho_air > 0.0 and speed > 0.0:
        for b, area in ((p.b_head, p.S_head), (p.b_butt, p.S_butt)):
            re = p.rho_air * speed * 2.0 * b / p.mu_air
            cd_area += (24.0 / re + 6.0 / (1.0 + math.sqrt(re)) + 0.4) * area
    drag_x = 0.5 * p.rho_air * cd_area * abs(xd) * xd
    drag_y = 0.5 * p.rho_air * cd_area * abs(yd) * yd
    delta = ph - th - math.pi - p.beta_r
    f = np.array(
        [
            force * math.cos(th + alpha) - drag_x + m1 * l1 * thd**2 * cth + m2 * l2 * phd**2 * cph,
            force * math.sin(th + alpha)
            - drag_y
            - (m1 + m2) * p.g
            + m1 * l1 * thd**2 * sth
            + m2 * l2 * phd**2 * sph,
            tau + force * p.L3 * math.sin(alpha) - m1 * p.g * l1 * cth + p.K * delta
            + p.c * (phd - thd),
            -tau - m2 * p.g * l2 * cph - p.K * delta - p.c * (phd - thd),
        ]
    )  # fmt: skip
    acc = np.linalg.solve(mass, f)
    return np.array([xd, acc[0], yd, acc[1], thd, acc[2], phd, acc[3]])


def radau_reference(state0: np.ndarray, controls: np.ndarray, t_end: float) -> np.ndarray:
    """Final states from scipy Radau per trajectory at tight tolerance, (N, 8)."""
    out = []
    for s, u in zip(state0, controls, strict=True):
        sol = solve_ivp(
            lambda t, y, u=u: direct_rhs(y, u),
            (0.0, t_end),
            s,
            method="Radau",
            rtol=1e-11,
            atol=1e-11 * moth.STATE_SCALES,
            jac=lambda t, y, u=u: moth.jacobian(y[None], u[None])[0],
        )
        assert sol.success, sol.message
        out.append(sol.y[:, -1])
    return np.array(out)


def test_relative_error_uses_a_floor_of_a_thousandth_of_the_typical_magnitude():
    ref = np.zeros((2, 8))
    ref[1] = 10 * moth.STATE_SCALES
    err = moth.relative_error(ref + 1e-6 * moth.STATE_SCALES, ref)
    np.testing.assert_allclose(err, [[1e-3] * 8, [1e-7] * 8])


@pytest.fixture(scope="module")
def random_batch() -> tuple[np.ndarray, np.ndarray]:
    return moth.sample(24, np.random.default_rng(2024))


# ---------------------------------------------------------------------------------------------
# Parameters and equations
# ---------------------------------------------------------------------------------------------


def test_derived_parameters_match_the_published_values():
    assert P.m1 == pytest.approx(0.84823, rel=1e-5)
    assert P.m2 == pytest.approx(1.79071, rel=1e-5)
    assert P.I1 == pytest.approx(0.179825, rel=1e-5)
    assert P.I2 == pytest.approx(1.494346, rel=1e-6)
    assert P.S_head == pytest.approx(0.78540, rel=1e-5)
    assert P.S_butt == pytest.approx(1.76715, rel=1e-5)
    assert P.I1 + P.m1 * P.L1**2 == pytest.approx(0.86689, rel=1e-5)
    assert P.I2 + P.m2 * P.L2**2 == pytest.approx(7.95880, rel=1e-5)


def test_parameters_are_documented_and_flatten_to_a_dict():
    for f in dataclasses.fields(moth.MothParameters):
        assert f.metadata["units"] and f.metadata["help"], f.name
    flat = P.as_dict()
    assert flat["K"] == 23000.0 and flat["m1"] == pytest.approx(P.m1)
    assert set(flat) == set(moth.MothParameters.units())
    with pytest.raises(ValueError, match="rho_air"):
        moth.MothParameters(rho_air=-1.0)


def test_rhs_matches_a_direct_transcription_of_the_equations(random_batch):
    state, controls = random_batch
    state = state.copy()
    state[:, [0, 2]] = np.random.default_rng(0).normal(size=(len(state), 2))
    state[:3, [1, 3]] = 0.0  # at rest: Re = 0 must stay finite
    for p in (P, dataclasses.replace(P, rho_air=0.0, c=0.0, beta_r=0.3)):
        ours = moth.rhs(state, controls, p)
        ref = np.array([direct_rhs(s, u, p) for s, u in zip(state, controls, strict=True)])
        np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-9)


def test_jacobian_matches_finite_differences(random_batch):
    state, controls = random_batch
    jac = moth.jacobian(state, controls)
    fd = np.empty_like(jac)
    for j in range(8):
        step = 1e-6 * np.maximum(1.0, np.abs(state[:, j]))
        up, down = state.copy(), state.copy()
        up[:, j] += step
        down[:, j] -= step
        fd[:, :, j] = (moth.rhs(up, controls) - moth.rhs(down, controls)) / (2 * step[:, None])
    row_scale = np.abs(fd).max(axis=(0, 2))[None, :, None] + 1e-300
    assert np.max(np.abs(jac - fd) / (np.abs(fd) + 1e-6 * row_scale)) < 1e-4


def test_mass_matrix_is_the_one_of_the_equations(random_batch):
    state, _ = random_batch
    mass = moth.mass_matrix(state)
    th, ph = state[:, 4], state[:, 6]
    m1l1, m2l2 = P.m1 * P.L1, P.m2 * P.L2
    np.testing.assert_allclose(mass[:, 0, 2], -m1l1 * np.sin(th), rtol=1e-14)
    np.testing.assert_allclose(mass[:, 1, 3], m2l2 * np.cos(ph), rtol=1e-14)
    np.testing.assert_allclose(mass[:, 3, 3], P.I2 + P.m2 * P.L2**2, rtol=1e-14)
    np.testing.assert_array_equal(mass, mass.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(mass) > 0)


# ---------------------------------------------------------------------------------------------
# Integrator
# ---------------------------------------------------------------------------------------------


def test_structured_stage_solve_equals_the_generic_dense_solve(random_batch):
    # MothProblem eliminates the stage systems in closed form; DenseProblem solves
    # (I/(h gamma) - J) U = r with LAPACK from the analytic Jacobian. Same U to rounding.
    state, controls = random_batch
    y = dynamics.to_internal(state)
    args = dynamics.controls_internal(controls)
    perm = dynamics.TO_INTERNAL

    def jac_internal(y, args):
        return moth.jacobian(dynamics.to_state(y), controls)[:, perm][:, :, perm]

    structured, dense = moth.MothProblem(), DenseProblem(moth.MothProblem().rhs, jac_internal)
    r = np.random.default_rng(3).normal(size=y.shape) * moth.STATE_SCALES[perm, None] * 1e3
    for h in (1e-6, 1e-4, 2e-3):
        hg = np.full(y.shape[1], 0.2119 * h)
        f_s, solve_s = structured.linearize(y, args, hg)
        f_d, solve_d = dense.linearize(y, args, hg)
        np.testing.assert_array_equal(f_s, f_d)
        u_s, u_d = np.empty_like(y), np.empty_like(y)
        solve_s(r, u_s)
        solve_d(r, u_d)
        scale = np.abs(u_d).max(axis=1, keepdims=True)
        assert np.max(np.abs(u_s - u_d) / scale) < 1e-11, h  # measured <= 1.1e-13


def test_integrator_matches_tight_radau_per_trajectory(random_batch):
    state0, controls = random_batch
    res = moth.integrate(state0, controls, HORIZON)
    assert res.ok.all()
    ref = radau_reference(state0, controls, HORIZON)
    err = moth.relative_error(res.final, ref).max(axis=0)
    assert np.all(err <= 1e-6), dict(zip(moth.STATE_NAMES, err, strict=True))


def test_energy_is_conserved_without_damping_drag_or_controls():
    p = dataclasses.replace(P, rho_air=0.0, c=0.0)
    state0, controls = moth.sample(16, np.random.default_rng(5))
    controls[:] = 0.0
    res = moth.integrate(state0, controls, HORIZON, p, rtol=1e-10)
    assert res.ok.all()
    e0, e1 = moth.mechanical_energy(state0, p), moth.mechanical_energy(res.final, p)
    kinetic0 = e0 - moth.mechanical_energy(state0 * [1, 0, 1, 0, 1, 0, 1, 0], p)
    assert np.all(np.abs(e1 - e0) <= 1e-9 * (kinetic0 + p.K * math.pi**2))


def test_energy_never_increases_with_damping_and_drag():
    state, controls = moth.sample(16, np.random.default_rng(6))
    controls[:] = 0.0
    energies = [moth.mechanical_energy(state)]
    for _ in range(10):
        res = moth.integrate(state, controls, HORIZON / 10)
        assert res.ok.all()
        state = res.final
        energies.append(moth.mechanical_energy(state))
    energies = np.array(energies)
    scale = np.abs(energies).max(axis=0)
    assert np.all(np.diff(energies, axis=0) <= 1e-10 * scale)
    assert np.all(energies[-1] < energies[0] - 1e-3 * scale)  # and it does dissipate


def test_centre_of_mass_falls_freely_without_wing_force_or_drag():
    # tau, the spring and the damper are internal: only gravity moves the centre of mass.
    p = dataclasses.replace(P, rho_air=0.0)
    state0, controls = moth.sample(16, np.random.default_rng(7))
    controls[:, 0] = 0.0
    res = moth.integrate(state0, controls, HORIZON, p)
    assert res.ok.all()
    cx0, cy0, vx0, vy0 = moth.centre_of_mass(state0, p).T
    cx, cy, vx, vy = moth.centre_of_mass(res.final, p).T
    t = HORIZON
    np.testing.assert_allclose(cx, cx0 + vx0 * t, rtol=0, atol=2e-8)  # cm, |cx| ~ 30
    np.testing.assert_allclose(cy, cy0 + vy0 * t - 0.5 * p.g * t**2, rtol=0, atol=2e-8)
    np.testing.assert_allclose(vx, vx0, rtol=0, atol=5e-7)  # cm/s, |vx| ~ 1000
    np.testing.assert_allclose(vy, vy0 - p.g * t, rtol=0, atol=5e-7)


def test_failed_samples_are_flagged_not_returned():
    state0, controls = moth.sample(4, np.random.default_rng(8))
    state0[1, 4] = np.nan
    res = moth.integrate(state0, controls, HORIZON)
    assert res.ok.tolist() == [True, False, True, True]
    assert np.isnan(res.final[1]).all() and np.isfinite(res.final[[0, 2, 3]]).all()
    capped = moth.integrate(state0, controls, HORIZON, max_steps=3)
    assert not capped.ok.any() and np.isnan(capped.final).all()


def test_integrate_rejects_bad_arguments():
    state0, controls = moth.sample(3, np.random.default_rng(9))
    with pytest.raises(ValueError, match="state must have shape"):
        moth.integrate(state0[:, :7], controls, HORIZON)
    with pytest.raises(ValueError, match="controls must have shape"):
        moth.integrate(state0, controls[:2], HORIZON)
    with pytest.raises(ValueError, match="t_end"):
        moth.integrate(state0, controls, -1.0)
    with pytest.raises(ValueError, match="atol"):
        moth.integrate(state0, controls, HORIZON, atol=[1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# Sampling, network I/O, end-to-end simulation
# ---------------------------------------------------------------------------------------------


def test_sampling_ranges_are_respected_and_covered():
    state0, controls = moth.sample(4000, np.random.default_rng(10))
    assert state0.shape == (4000, 8) and controls.shape == (4000, 3)
    columns = [
        *zip(moth.CONTROL_NAMES, controls.T, strict=True),
        *zip(moth.STATE_NAMES, state0.T, strict=True),
    ]
    ranges = {**moth.CONTROL_RANGES, **moth.INITIAL_STATE_RANGES}
    assert ranges["F"] == (0.0, 44300.0) and ranges["tau"] == (-1e5, 1e5)
    assert ranges["xd"] == (-1500.0, 1500.0) and ranges["thetad"] == (-25.0, 25.0)
    assert ranges["alpha"] == ranges["theta"] == ranges["phi"] == (0.0, 2 * math.pi)
    for name, values in columns:
        low, high = ranges[name]
        if low == high:
            assert np.all(values == low), name
            continue
        assert low <= values.min() and values.max() < high, name
        assert values.min() - low < 0.01 * (high - low), name
        assert high - values.max() < 0.01 * (high - low), name


def test_network_io_columns_are_in_the_documented_order():
    state0, controls = moth.sample(50, np.random.default_rng(11))
    final = np.random.default_rng(12).normal(size=(50, 8))
    inputs, targets = moth.network_io(state0, controls, final)
    assert inputs.shape == (50, len(moth.INPUT_NAMES)) == (50, 10)
    assert targets.shape == (50, len(moth.OUTPUT_NAMES)) == (50, 7)
    assert len(moth.INPUT_UNITS) == len(moth.INPUT_LONG_NAMES) == 10
    assert len(moth.OUTPUT_UNITS) == len(moth.OUTPUT_LONG_NAMES) == 7
    s0 = dict(zip(moth.STATE_NAMES, state0.T, strict=True))
    sf = dict(zip(moth.STATE_NAMES, final.T, strict=True))
    expected_inputs = {
        "phi_0": s0["phi"], "theta_0": s0["theta"], "x_f": sf["x"], "y_f": sf["y"],
        "phi_f": sf["phi"], "theta_f": sf["theta"], "xdot_0": s0["xd"], "ydot_0": s0["yd"],
        "phidot_0": s0["phid"], "thetadot_0": s0["thetad"],
    }  # fmt: skip
    for i, name in enumerate(moth.INPUT_NAMES):
        np.testing.assert_array_equal(inputs[:, i], expected_inputs[name], err_msg=name)
    out = dict(zip(moth.OUTPUT_NAMES, targets.T, strict=True))
    force, alpha, tau = controls.T
    np.testing.assert_allclose(out["Fx"] ** 2 + out["Fy"] ** 2, force**2, rtol=1e-12)
    np.testing.assert_allclose(np.arctan2(out["Fy"], out["Fx"]) % (2 * math.pi), alpha)
    np.testing.assert_array_equal(out["tau"], tau)
    for name, state_name in (("xdot_f", "xd"), ("ydot_f", "yd")):
        np.testing.assert_array_equal(out[name], sf[state_name])
    np.testing.assert_array_equal(out["phidot_f"], sf["phid"])
    np.testing.assert_array_equal(out["thetadot_f"], sf["thetad"])


def test_simulate_is_deterministic_and_loses_no_samples():
    calls = []
    a = moth.simulate(3000, seed=3, chunk_size=1200, progress=lambda d, t: calls.append((d, t)))
    b = moth.simulate(3000, seed=3, chunk_size=1200)
    c = moth.simulate(3000, seed=3, chunk_size=3000)
    assert calls == [(1200, 3000), (2400, 3000), (3000, 3000)]
    assert a.n_failed == 0 and a.n_samples == 3000
    for name in ("state0", "controls", "final", "n_steps"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # Another chunk size draws the same samples; results may differ in the last bit only.
    np.testing.assert_array_equal(a.state0, c.state0)
    np.testing.assert_allclose(a.final, c.final, rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(a.final))
    assert 10 < a.step_stats["mean"] < 200
    state0, controls = moth.sample(3000, np.random.default_rng(3))
    np.testing.assert_array_equal(a.state0, state0)
    np.testing.assert_array_equal(a.controls, controls)
    inputs, targets = moth.network_io(a.state0, a.controls, a.final)
    assert np.all(np.isfinite(inputs)) and np.all(np.isfinite(targets))


def test_parallel_chunks_are_bit_identical():
    serial = moth.simulate(300, 11, chunk_size=100, workers=1)
    parallel = moth.simulate(300, 11, chunk_size=100, workers=2)
    np.testing.assert_array_equal(serial.final, parallel.final)
    np.testing.assert_array_equal(serial.n_steps, parallel.n_steps)

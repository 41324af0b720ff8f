"""Hovering hawkmoth (*Manduca sexta*): two rigid ellipsoids in 2-D, simulated in bulk.

The model (Bustamante et al. 2022; the data generator behind Zahn et al. 2022) is a head-thorax
ellipsoid and an abdomen ellipsoid joined at the petiole by a torsional spring K and damper c.
A wing force F acts on the thorax at angle alpha from its long axis, an abdominal torque tau acts
at the joint, and quadratic drag acts on the joint velocity. Generalised coordinates are
q = (x, y, theta, phi) and the equations are M(q) q'' = f(q, q', u), see `rhs`.

Why a Rosenbrock method
-----------------------
The damped relative rotation of the two bodies is a stiff mode (eigenvalue -2e4 to -7e4 s-1 over
the sampled states) next to non-stiff dynamics on a 10-100 ms scale, so an explicit method's
step is bounded by stability, not accuracy (explicit RK4 needs > 800 steps over 20 ms).
We use Rodas5P (Steinebach, BIT Numer. Math. 2023): a linearly implicit, L-stable, stiffly
accurate 8-stage Rosenbrock method of order 5 with an embedded order-4 error estimate.
Unlike implicit Runge-Kutta or BDF (Radau, LSODA) it needs no Newton iteration, so every
sample does exactly the same arithmetic in a step: that is what lets a per-sample adaptive
integrator run vectorised over samples in NumPy. L-stability damps the stiff transient in one
step instead of ringing. Rodas5P needs 30-45 % fewer right-hand-side evaluations than RODAS4 at
the accuracy we want (final-state error <= 1e-6). Its order holds only with the exact Jacobian,
which we derive analytically (see `jacobian`).

Each stage solves (I/(h gamma) - J) U = r with J = [[0, I], [A_q, A_v]]. Eliminating the
position block and multiplying by M(q_n) leaves a 4x4 system W = sigma M - df/dv - G/sigma
(sigma = 1/(h gamma), G = df/dq - (dM/dq) q''); its translational 2x2 block is eliminated in
closed form, once per step, so no LAPACK call and no Python loop over samples is needed.

Samples are the columns of an (8, n) array internally (q first, then q'). Each has its own time,
step size and error control (RMS norm with atol + rtol |y|, I-controller); finished or failed
samples leave the active set. Defaults (rtol 1e-9, atol = rtol * STATE_SCALES) keep every final
state component within 1.2e-7 `relative_error` of a tight reference on 300 random samples, in
~60 steps per sample.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property, partial
from types import SimpleNamespace

import numpy as np

# ----------------------------------------------------------------------------------------------
# Names, units and sampling ranges
# ----------------------------------------------------------------------------------------------

STATE_NAMES = ("x", "xd", "y", "yd", "theta", "thetad", "phi", "phid")
STATE_UNITS = ("cm", "cm s-1", "cm", "cm s-1", "rad", "rad s-1", "rad", "rad s-1")
STATE_LONG_NAMES = (
    "x position of the thorax–abdomen joint",
    "x velocity of the thorax–abdomen joint",
    "y position of the thorax–abdomen joint (up is positive)",
    "y velocity of the thorax–abdomen joint",
    "head-thorax long-axis angle from +x (counter-clockwise)",
    "head-thorax angular velocity",
    "abdomen long-axis angle from +x (counter-clockwise)",
    "abdomen angular velocity",
)

CONTROL_NAMES = ("F", "alpha", "tau")
CONTROL_UNITS = ("dyn", "rad", "dyn cm")
CONTROL_LONG_NAMES = (
    "wing force magnitude",
    "wing force angle from the head-thorax long axis",
    "abdominal torque at the joint (+ on the thorax, - on the abdomen)",
)

INPUT_NAMES = (
    "phi_0",
    "theta_0",
    "x_f",
    "y_f",
    "phi_f",
    "theta_f",
    "xdot_0",
    "ydot_0",
    "phidot_0",
    "thetadot_0",
)
INPUT_UNITS = ("rad", "rad", "cm", "cm", "rad", "rad", "cm s-1", "cm s-1", "rad s-1", "rad s-1")
INPUT_LONG_NAMES = (
    "initial abdomen angle",
    "initial head-thorax angle",
    "final x displacement of the joint",
    "final y displacement of the joint",
    "final abdomen angle (not wrapped)",
    "final head-thorax angle (not wrapped)",
    "initial x velocity of the joint",
    "initial y velocity of the joint",
    "initial abdomen angular velocity",
    "initial head-thorax angular velocity",
)

OUTPUT_NAMES = ("Fx", "Fy", "tau", "xdot_f", "ydot_f", "phidot_f", "thetadot_f")
OUTPUT_UNITS = ("dyn", "dyn", "dyn cm", "cm s-1", "cm s-1", "rad s-1", "rad s-1")
OUTPUT_LONG_NAMES = (
    "wing force along the head-thorax axis, F cos(alpha) (body frame)",
    "wing force across the head-thorax axis, F sin(alpha) (body frame)",
    "abdominal torque",
    "final x velocity of the joint",
    "final y velocity of the joint",
    "final abdomen angular velocity",
    "final head-thorax angular velocity",
)

CONTROL_RANGES: dict[str, tuple[float, float]] = {
    "F": (0.0, 44300.0),
    "alpha": (0.0, 2.0 * math.pi),
    "tau": (-100000.0, 100000.0),
}
INITIAL_STATE_RANGES: dict[str, tuple[float, float]] = {
    "x": (0.0, 0.0),
    "xd": (-1500.0, 1500.0),
    "y": (0.0, 0.0),
    "yd": (-1500.0, 1500.0),
    "theta": (0.0, 2.0 * math.pi),
    "thetad": (-25.0, 25.0),
    "phi": (0.0, 2.0 * math.pi),
    "phid": (-25.0, 25.0),
}
DEFAULT_HORIZON = 0.02  # s: about half a wing stroke, as in the original data

# Typical magnitude of each final-state component over 20 ms (research/moth.md sec. 2.2).
# Sets the absolute tolerance (atol = rtol * scale) and the floor of the relative error.
STATE_SCALES = np.array([10.0, 1000.0, 10.0, 1000.0, 1.0, 100.0, 1.0, 100.0])
STATE_SCALES.flags.writeable = False
ERROR_FLOOR = 1e-3 * STATE_SCALES  # see `relative_error`
ERROR_FLOOR.flags.writeable = False

DEFAULT_RTOL = 1e-9
INTEGRATOR = "Rodas5P (L-stable Rosenbrock, order 5(4)) with per-sample adaptive steps"
DEFAULT_CHUNK_SIZE = 10_000  # samples per chunk: the fastest of 2k-20k on this machine

# ----------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------


def _par(value: float, units: str, help_: str) -> float:
    return field(default=value, metadata={"units": units, "help": help_})


@dataclass(frozen=True)
class MothParameters:
    """Physical parameters in CGS units (s = 1 moth of the original data set)."""

    b_head: float = _par(0.5, "cm", "head-thorax semi-minor axis")
    a_head: float = _par(0.9, "cm", "head-thorax semi-major axis")
    b_butt: float = _par(0.75, "cm", "abdomen semi-minor axis")
    a_butt: float = _par(1.9, "cm", "abdomen semi-major axis")
    rho_head: float = _par(0.9, "g cm-3", "head-thorax density")
    rho_butt: float = _par(0.4, "g cm-3", "abdomen density")
    rho_air: float = _par(0.00118, "g cm-3", "air density; 0 switches drag off")
    mu_air: float = _par(0.000186, "g cm-1 s-1", "air dynamic viscosity")
    L1: float = _par(0.9, "cm", "joint to head-thorax centre of mass")
    L2: float = _par(1.9, "cm", "joint to abdomen centre of mass")
    L3: float = _par(0.75, "cm", "joint to the point where the wing force acts")
    K: float = _par(23000.0, "g cm2 rad-1 s-2", "torsional spring constant at the joint")
    c: float = _par(14075.8, "g cm2 s-1", "torsional damping constant at the joint")
    g: float = _par(980.0, "cm s-2", "gravitational acceleration (along -y)")
    beta_r: float = _par(0.0, "rad", "spring rest-angle offset")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                raise ValueError(f"MothParameters.{f.name} must be finite. Received: {value}")
        for name in ("b_head", "a_head", "b_butt", "a_butt", "rho_head", "rho_butt", "mu_air"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"MothParameters.{name} must be > 0. Received: {getattr(self, name)}"
                )
        for name in ("rho_air", "K", "c"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"MothParameters.{name} must be >= 0. Received: {getattr(self, name)}"
                )

    @property
    def m1(self) -> float:
        """Head-thorax mass (g)."""
        return self.rho_head * 4.0 / 3.0 * math.pi * self.b_head**2 * self.a_head

    @property
    def m2(self) -> float:
        """Abdomen mass (g)."""
        return self.rho_butt * 4.0 / 3.0 * math.pi * self.b_butt**2 * self.a_butt

    @property
    def I1(self) -> float:
        """Head-thorax moment of inertia about its centre of mass (g cm2)."""
        return 0.2 * self.m1 * (self.b_head**2 + self.a_head**2)

    @property
    def I2(self) -> float:
        """Abdomen moment of inertia about its centre of mass (g cm2)."""
        return 0.2 * self.m2 * (self.b_butt**2 + self.a_butt**2)

    @property
    def S_head(self) -> float:
        """Head-thorax drag reference area (cm2)."""
        return math.pi * self.b_head**2

    @property
    def S_butt(self) -> float:
        """Abdomen drag reference area (cm2)."""
        return math.pi * self.b_butt**2

    def as_dict(self) -> dict[str, float]:
        """Flat {name: value} of the fields and derived quantities, e.g. for NetCDF attributes."""
        out = {k: float(v) for k, v in asdict(self).items()}
        for name in ("m1", "m2", "I1", "I2", "S_head", "S_butt"):
            out[name] = float(getattr(self, name))
        return out

    @staticmethod
    def units() -> dict[str, str]:
        """Units of every entry of `as_dict`."""
        out = {f.name: f.metadata["units"] for f in fields(MothParameters)}
        out.update(m1="g", m2="g", I1="g cm2", I2="g cm2", S_head="cm2", S_butt="cm2")
        return out


def _constants(p: MothParameters) -> SimpleNamespace:
    """Scalars the kernels need, computed once per integration."""
    m1, m2 = p.m1, p.m2
    m = m1 + m2
    mu1, mu2 = m1 * p.L1, m2 * p.L2
    j1, j2 = p.I1 + m1 * p.L1**2, p.I2 + m2 * p.L2**2
    has_drag = p.rho_air > 0.0
    # Drag per component of the joint velocity v: D_x = (1/2) rho sum_i Cd_i S_i |xd| xd with
    # Cd_i = 24/Re_i + 6/(1 + sqrt(Re_i)) + 0.4 and Re_i = k_i |v|, k_i = 2 rho b_i / mu. The
    # 24/Re part, (6 mu S_i / b_i) |xd| xd / |v|, is finite at |v| = 0 and independent of rho;
    # its coefficient is `stokes`, set to 0 with rho_air = 0 (no air, no drag). The rest uses
    # q_i = rho S_i / 2 and r_i = sqrt(k_i).
    b = np.array([p.b_head, p.b_butt])
    area = np.array([p.S_head, p.S_butt])
    stokes = float(np.sum(6.0 * p.mu_air * area / b)) if has_drag else 0.0
    q = 0.5 * p.rho_air * area
    r = np.sqrt(p.rho_air * 2.0 * b / p.mu_air)
    return SimpleNamespace(
        m=m,
        inv_m=1.0 / m,
        weight=m * p.g,
        mu1=mu1,
        mu2=mu2,
        two_mu1=2.0 * mu1,
        two_mu2=2.0 * mu2,
        mu1_m=mu1 / m,
        mu2_m=mu2 / m,
        mu1g=mu1 * p.g,
        mu2g=mu2 * p.g,
        j1=j1,
        j2=j2,
        s11=j1 - mu1**2 / m,
        s22=j2 - mu2**2 / m,
        s11s22=(j1 - mu1**2 / m) * (j2 - mu2**2 / m),
        s12c=-mu1 * mu2 / m,
        g=p.g,
        K=p.K,
        c=p.c,
        L3=p.L3,
        rest=math.pi + p.beta_r,
        has_drag=has_drag,
        stokes=stokes,
        q6=6.0 * float(q[0]),
        q6b=6.0 * float(q[1]),
        q04=0.4 * float(q[0] + q[1]),
        q3r1=3.0 * float(q[0] * r[0]),
        q3r2=3.0 * float(q[1] * r[1]),
        r1=float(r[0]),
        r2=float(r[1]),
    )


# ----------------------------------------------------------------------------------------------
# Dynamics on the internal layout: y is (8, n) with rows (x, y, theta, phi, xd, yd, thd, phd)
# ----------------------------------------------------------------------------------------------

_TO_INTERNAL = np.array([0, 2, 4, 6, 1, 3, 5, 7])  # internal row i <- state column
_TO_STATE = np.argsort(_TO_INTERNAL)  # state column j <- internal row


def _to_internal(state: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(state[:, _TO_INTERNAL].T)


def _to_state(y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(y[_TO_STATE].T)


def _controls_internal(controls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F cos alpha, F sin alpha, tau): the body-frame force is all the kernels need."""
    f, alpha, tau = controls[:, 0], controls[:, 1], controls[:, 2]
    return f * np.cos(alpha), f * np.sin(alpha), np.ascontiguousarray(tau)


def _sincos(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos from t = tan(angle / 2): one SIMD tan is ~7x cheaper than sin + cos in
    NumPy on x86-64 (float64 sin/cos are scalar libm calls); the error is ~2e-16 absolute."""
    t = np.tan(0.5 * angle)
    t2 = t * t
    inv = 1.0 / (1.0 + t2)
    return (2.0 * t) * inv, (1.0 - t2) * inv


def _dynamics(y: np.ndarray, ctl, k: SimpleNamespace, with_jacobian: bool = False):
    """Accelerations (4, n) = M^-1 f at y (8, n); with `with_jacobian`, also the pieces of J.

    Returns (acc, ns): ns holds the trig values and, if asked, df/dv and G = df/dq - M_q acc.
    """
    th, ph = y[2], y[3]
    xd, yd, thd, phd = y[4], y[5], y[6], y[7]
    fc, fs, tau = ctl
    st, ct = _sincos(th)
    sp, cp = _sincos(ph)
    flx = fc * ct - fs * st  # lab-frame wing force: direction theta + alpha
    fly = fc * st + fs * ct
    cen1 = k.mu1 * (thd * thd)
    cen2 = k.mu2 * (phd * phd)
    fx = flx + cen1 * ct + cen2 * cp
    fy = fly + cen1 * st + cen2 * sp - k.weight
    if k.has_drag:
        s = np.sqrt(xd * xd + yd * yd)
        sq = np.sqrt(s)
        inv_s = 1.0 / np.maximum(s, 1e-150)
        ex, ey = xd * inv_s, yd * inv_s  # unit direction; |ex|, |ey| <= 1, 0 at rest
        aex, aey = np.abs(ex), np.abs(ey)
        t1 = 1.0 / (1.0 + k.r1 * sq)
        t2 = 1.0 / (1.0 + k.r2 * sq)
        # big = (1/2) rho sum_i Cd_i S_i |v|, finite at |v| = 0 thanks to the Stokes constant.
        big = k.stokes + (k.q6 * t1 + k.q6b * t2 + k.q04) * s
        sb = s * big
        fx -= (aex * ex) * sb
        fy -= (aey * ey) * sb
    spring = k.K * (ph - th - k.rest) + k.c * (phd - thd)
    fth = tau + k.L3 * fs - k.mu1g * ct + spring
    fph = -tau - k.mu2g * cp - spring
    # Schur complement of the (m I) translational block: a 2x2 system for the angles.
    bth = fth + k.mu1_m * (st * fx - ct * fy)
    bph = fph + k.mu2_m * (sp * fx - cp * fy)
    s12 = k.s12c * (cp * ct + sp * st)
    inv_det = 1.0 / (k.s11s22 - s12 * s12)
    acc = np.empty((4,) + th.shape)
    thdd = np.multiply(k.s22 * bth - s12 * bph, inv_det, out=acc[2])
    phdd = np.multiply(k.s11 * bph - s12 * bth, inv_det, out=acc[3])
    np.multiply(fx + k.mu1 * st * thdd + k.mu2 * sp * phdd, k.inv_m, out=acc[0])
    np.multiply(fy - k.mu1 * ct * thdd - k.mu2 * cp * phdd, k.inv_m, out=acc[1])
    ns = SimpleNamespace(st=st, ct=ct, sp=sp, cp=cp)
    if with_jacobian:
        _jacobian_terms(ns, acc, y, flx, fly, cen1, cen2, k)
        if k.has_drag:
            dphi = -k.stokes - (s * sq) * (k.q3r1 * (t1 * t1) + k.q3r2 * (t2 * t2))
            ns.dxx = -aex * (2.0 * big + dphi * (ex * ex))  # d fx / d xd
            ns.dxy = -(aex * ex) * ey * dphi
            ns.dyx = -(aey * ey) * ex * dphi
            ns.dyy = -aey * (2.0 * big + dphi * (ey * ey))
    return acc, ns


def _jacobian_terms(ns, acc, y, flx, fly, cen1, cen2, k) -> None:
    """df/dv (without drag) and G = df/dq - (dM/dq) acc into ns; G's x, y columns vanish."""
    st, ct, sp, cp = ns.st, ns.ct, ns.sp, ns.cp
    xdd, ydd, thdd, phdd = acc
    thd, phd = y[6], y[7]
    zero = np.zeros_like(thd)
    ns.dxx = ns.dxy = ns.dyx = ns.dyy = zero  # drag block, overwritten when drag is on
    ns.vxt = k.two_mu1 * thd * ct  # d fx / d thd, centripetal
    ns.vxp = k.two_mu2 * phd * cp
    ns.vyt = k.two_mu1 * thd * st
    ns.vyp = k.two_mu2 * phd * sp
    ns.gxt = k.mu1 * ct * thdd - fly - cen1 * st
    ns.gyt = k.mu1 * st * thdd + flx + cen1 * ct
    ns.gtt = k.mu1 * (k.g * st + ct * xdd + st * ydd) - k.K
    ns.gxp = k.mu2 * cp * phdd - cen2 * sp
    ns.gyp = k.mu2 * sp * phdd + cen2 * cp
    ns.gpp = k.mu2 * (k.g * sp + cp * xdd + sp * ydd) - k.K


def _check_batch(state: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    state = np.asarray(state, dtype=np.float64)
    controls = np.asarray(controls, dtype=np.float64)
    if state.ndim != 2 or state.shape[1] != 8:
        raise ValueError(f"state must have shape (N, 8). Received: {state.shape}")
    if controls.shape != (state.shape[0], 3):
        raise ValueError(
            f"controls must have shape (N, 3) with N = {state.shape[0]} rows like state. "
            f"Received: {controls.shape}"
        )
    return state, controls


def rhs(
    state: np.ndarray, controls: np.ndarray, params: MothParameters | None = None
) -> np.ndarray:
    """Time derivative of the state.

    state: (N, 8) in STATE_NAMES order; controls: (N, 3) in CONTROL_NAMES order.
    Returns (N, 8): (xd, xdd, yd, ydd, thetad, thetadd, phid, phidd).
    """
    state, controls = _check_batch(state, controls)
    k = _constants(params or MothParameters())
    y = _to_internal(state)
    acc, _ = _dynamics(y, _controls_internal(controls), k)
    return _to_state(np.concatenate((y[4:], acc)))


def jacobian(
    state: np.ndarray, controls: np.ndarray, params: MothParameters | None = None
) -> np.ndarray:
    """Analytic Jacobian d rhs / d state, (N, 8, 8) in STATE_NAMES order (the integrator's J)."""
    state, controls = _check_batch(state, controls)
    k = _constants(params or MothParameters())
    y = _to_internal(state)
    n = y.shape[1]
    acc, ns = _dynamics(y, _controls_internal(controls), k, with_jacobian=True)
    # df/dv and G in internal order; solve M a' = (df/dv | G) column by column.
    zero = np.zeros(n)
    fv = [
        [ns.dxx, ns.dxy, ns.vxt, ns.vxp],
        [ns.dyx, ns.dyy, ns.vyt, ns.vyp],
        [zero, zero, zero - k.c, zero + k.c],
        [zero, zero, zero + k.c, zero - k.c],
    ]
    gq = [
        [zero, zero, ns.gxt, ns.gxp],
        [zero, zero, ns.gyt, ns.gyp],
        [zero, zero, ns.gtt, zero + k.K],
        [zero, zero, zero + k.K, ns.gpp],
    ]
    mass = _mass_matrix(ns, k, n)
    rhs_cols = np.concatenate((np.array(gq), np.array(fv)), axis=1)  # (4, 8, n)
    a_jac = np.linalg.solve(mass.transpose(2, 0, 1), rhs_cols.transpose(2, 0, 1))  # (n, 4, 8)
    jac = np.zeros((n, 8, 8))
    jac[:, 0:4, 4:8] = np.eye(4)
    jac[:, 4:8, :] = a_jac
    return jac[:, _TO_STATE][:, :, _TO_STATE]


def _mass_matrix(ns: SimpleNamespace, k: SimpleNamespace, n: int) -> np.ndarray:
    """M(q) as (4, 4, n) from the trig values in `ns`."""
    mass = np.zeros((4, 4, n))
    mass[0, 0] = mass[1, 1] = k.m
    mass[0, 2] = mass[2, 0] = -k.mu1 * ns.st
    mass[0, 3] = mass[3, 0] = -k.mu2 * ns.sp
    mass[1, 2] = mass[2, 1] = k.mu1 * ns.ct
    mass[1, 3] = mass[3, 1] = k.mu2 * ns.cp
    mass[2, 2] = k.j1
    mass[3, 3] = k.j2
    return mass


def relative_error(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|values - reference| / max(|reference|, 1e-3 * STATE_SCALES), per entry, (N, 8).

    The floor keeps a component that happens to end near zero from dividing by ~0; it is a
    thousandth of the component's typical magnitude (10 cm, 1000 cm/s, 1 rad, 100 rad/s).
    """
    reference = np.asarray(reference, dtype=np.float64)
    return np.abs(np.asarray(values) - reference) / np.maximum(np.abs(reference), ERROR_FLOOR)


def mechanical_energy(state: np.ndarray, params: MothParameters | None = None) -> np.ndarray:
    """Kinetic + gravitational + spring energy (erg), (N,) for state (N, 8)."""
    p = params or MothParameters()
    state = np.asarray(state, dtype=np.float64)
    x, xd, y, yd, th, thd, ph, phd = state.T
    m1, m2 = p.m1, p.m2
    v1x, v1y = xd - p.L1 * np.sin(th) * thd, yd + p.L1 * np.cos(th) * thd
    v2x, v2y = xd - p.L2 * np.sin(ph) * phd, yd + p.L2 * np.cos(ph) * phd
    kinetic = 0.5 * (m1 * (v1x**2 + v1y**2) + m2 * (v2x**2 + v2y**2))
    kinetic += 0.5 * (p.I1 * thd**2 + p.I2 * phd**2)
    height = m1 * (y + p.L1 * np.sin(th)) + m2 * (y + p.L2 * np.sin(ph))
    delta = ph - th - math.pi - p.beta_r
    return kinetic + p.g * height + 0.5 * p.K * delta**2


def centre_of_mass(state: np.ndarray, params: MothParameters | None = None) -> np.ndarray:
    """Centre of mass of the two bodies and its velocity, (N, 4): (x, y, xd, yd)."""
    p = params or MothParameters()
    state = np.asarray(state, dtype=np.float64)
    x, xd, y, yd, th, thd, ph, phd = state.T
    w1, w2 = p.m1 / (p.m1 + p.m2), p.m2 / (p.m1 + p.m2)
    cx = x + w1 * p.L1 * np.cos(th) + w2 * p.L2 * np.cos(ph)
    cy = y + w1 * p.L1 * np.sin(th) + w2 * p.L2 * np.sin(ph)
    vx = xd - w1 * p.L1 * np.sin(th) * thd - w2 * p.L2 * np.sin(ph) * phd
    vy = yd + w1 * p.L1 * np.cos(th) * thd + w2 * p.L2 * np.cos(ph) * phd
    return np.stack((cx, cy, vx, vy), axis=1)


# ----------------------------------------------------------------------------------------------
# Rosenbrock integrator
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tableau:
    """A stiffly accurate Rosenbrock method in Hairer's transformed form.

    Stage i: (I/(h gamma) - J) U_i = f(y + sum_j a_ij U_j) + sum_j (c_ij / h) U_j.
    The step result is y + sum_j a_sj U_j + U_s, and U_s is its local error estimate.
    """

    gamma: float
    a: np.ndarray  # (s, s), strictly lower triangular
    c: np.ndarray  # (s, s), strictly lower triangular
    order: int  # the error estimate is O(h^order)

    @cached_property
    def chained(self) -> tuple[bool, ...]:
        """Stage i's point is stage i-1's point plus U_{i-1} (saves a linear combination)."""
        out = [False]
        for i in range(1, self.a.shape[0]):
            step = np.zeros(self.a.shape[0])
            step[i - 1] = 1.0
            out.append(i > 1 and bool(np.array_equal(self.a[i], self.a[i - 1] + step)))
        return tuple(out)


def _lower(rows: list[list[float]]) -> np.ndarray:
    out = np.zeros((len(rows), len(rows)))
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


# Rodas5P (Steinebach 2023, BIT Numer. Math.): 8 stages, order 5 with an embedded order-4
# estimate, L-stable and stiffly accurate. Coefficients as tabulated in OrdinaryDiffEq.jl.
# Rows 7 and 8 repeat row 6 plus ones: the last stages chain onto the sixth stage point.
_A5 = [
    -7.502846399306121,
    2.561846144803919,
    -11.627539656261098,
    -0.18268767659942256,
    0.030198172008377946,
]
_RODAS5P = _Tableau(
    gamma=0.21193756319429014,
    a=_lower(
        [
            [],
            [3.0],
            [2.849394379747939, 0.45842242204463923],
            [-6.954028509809101, 2.489845061869568, -10.358996098473584],
            [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641],
            _A5,
            _A5 + [1.0],
            _A5 + [1.0, 1.0],
        ]
    ),
    c=_lower(
        [
            [],
            [-14.155112264123755],
            [-17.97296035885952, -2.859693295451294],
            [147.12150275711716, -1.41221402718213, 71.68940251302358],
            [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306],
            [24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125]
            + [-0.6610691825249471],
            [30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783]
            + [-19.097331116725623, -28.087943162872662],
            [37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047]
            + [-40.06618937091002, -54.66780262877968, -9.48861652309627],
        ]
    ),
    order=5,
)


@dataclass(frozen=True)
class IntegrationResult:
    """Final states and per-sample status of `integrate`.

    final: (N, 8) state at t_end in STATE_NAMES order, NaN where not ok; ok: (N,) bool;
    n_steps: (N,) accepted steps; n_rejected: (N,) rejected step attempts.
    """

    final: np.ndarray
    ok: np.ndarray
    n_steps: np.ndarray
    n_rejected: np.ndarray


def _stage_operator(ns: SimpleNamespace, k: SimpleNamespace, sigma: np.ndarray) -> np.ndarray:
    """Z (4, 6, n) such that a stage's U_v = Z @ (r_v, r_q[theta], r_q[phi]).

    (I sigma - J) U = r with J = [[0, I], [A_q, A_v]] reduces to W U_v = M r_v + G r_q / sigma,
    W = sigma M - df/dv - G / sigma (M(q_n) A_v = df/dv, M A_q = G). Z = W^-1 [M | G / sigma],
    formed once per step by eliminating W's translational 2x2 block in closed form.
    """
    inv_sig = 1.0 / sigma
    m1s, m1c = k.mu1 * ns.st, k.mu1 * ns.ct
    m2s, m2c = k.mu2 * ns.sp, k.mu2 * ns.cp
    gxt, gyt, gxp, gyp = ns.gxt * inv_sig, ns.gyt * inv_sig, ns.gxp * inv_sig, ns.gyp * inv_sig
    gtt, gpp, gk = ns.gtt * inv_sig, ns.gpp * inv_sig, k.K * inv_sig
    # W blocks: ll (x, y rows and columns), la, al = sigma B^T, aa.
    sm = sigma * k.m
    l11, l12, l21, l22 = sm - ns.dxx, -ns.dxy, -ns.dyx, sm - ns.dyy
    inv_dl = 1.0 / (l11 * l22 - l12 * l21)
    i11, i12, i21, i22 = l22 * inv_dl, -l12 * inv_dl, -l21 * inv_dl, l11 * inv_dl
    axt, axp = -sigma * m1s - ns.vxt - gxt, -sigma * m2s - ns.vxp - gxp
    ayt, ayp = sigma * m1c - ns.vyt - gyt, sigma * m2c - ns.vyp - gyp
    btx, bty, bpx, bpy = -sigma * m1s, sigma * m1c, -sigma * m2s, sigma * m2c
    pxt, pxp = i11 * axt + i12 * ayt, i11 * axp + i12 * ayp  # W_ll^-1 W_la
    pyt, pyp = i21 * axt + i22 * ayt, i21 * axp + i22 * ayp
    stt = sigma * k.j1 + k.c - gtt - (btx * pxt + bty * pyt)  # Schur complement
    stp = -k.c - gk - (btx * pxp + bty * pyp)
    spt = -k.c - gk - (bpx * pxt + bpy * pyt)
    spp = sigma * k.j2 + k.c - gpp - (bpx * pxp + bpy * pyp)
    inv_ds = 1.0 / (stt * spp - stp * spt)
    s11, s12, s21, s22 = spp * inv_ds, -stp * inv_ds, -spt * inv_ds, stt * inv_ds
    # Right-hand sides, one column each: M's four columns, then G's theta and phi columns.
    zero = np.zeros_like(sigma)
    rx = np.stack((zero + k.m, zero, -m1s, -m2s, gxt, gxp))
    ry = np.stack((zero, zero + k.m, m1c, m2c, gyt, gyp))
    rt = np.stack((-m1s, m1c, zero + k.j1, zero, gtt, gk))
    rp = np.stack((-m2s, m2c, zero, zero + k.j2, gk, gpp))
    zx, zy = i11 * rx + i12 * ry, i21 * rx + i22 * ry
    rt -= btx * zx + bty * zy
    rp -= bpx * zx + bpy * zy
    z = np.empty((4,) + rx.shape)
    ut = np.add(s11 * rt, s12 * rp, out=z[2])
    up = np.add(s21 * rt, s22 * rp, out=z[3])
    np.subtract(zx, pxt * ut + pxp * up, out=z[0])
    np.subtract(zy, pyt * ut + pyp * up, out=z[1])
    return z


def _rosenbrock_step(y, h, ctl, k, tab: _Tableau):
    """One step of size h (n,) for every column of y (8, n): (y_new, error estimate), (8, n)."""
    n_stages = tab.a.shape[0]
    hg = tab.gamma * h
    inv_h = 1.0 / h
    acc, ns = _dynamics(y, ctl, k, with_jacobian=True)
    z = _stage_operator(ns, k, 1.0 / hg)
    u = np.empty((n_stages, 8) + h.shape)
    r = np.empty((6,) + h.shape)
    yi = y
    for i, chained in enumerate(tab.chained):
        if i == 0:
            r[:4] = acc
            rq = y[4:].copy()
        else:
            if chained:
                yi = yi + u[i - 1]
            else:
                yi = y + np.einsum("j,jkn->kn", tab.a[i, :i], u[:i])
            ai, _ = _dynamics(yi, ctl, k)
            corr = np.einsum("j,jkn->kn", tab.c[i, :i], u[:i])
            corr *= inv_h
            np.add(ai, corr[4:], out=r[:4])
            rq = np.add(yi[4:], corr[:4], out=corr[:4])
        r[4:] = rq[2:]
        uv = np.einsum("ijn,jn->in", z, r, out=u[i, 4:])
        np.multiply(rq + uv, hg, out=u[i, :4])  # sigma U_q - U_v = r_q
    return yi + u[-1], u[-1]


def _initial_step(y, ctl, k, t_end, atol, rtol, order):
    """Starting step per sample (n,): Hairer's estimate from the first two derivatives, / 100.

    The stiff transient makes the plain estimate about 100x too optimistic (2-3 rejections per
    sample); starting smaller costs about one step since h may grow 6x per step.
    """
    acc, _ = _dynamics(y, ctl, k)
    f0 = np.concatenate((y[4:], acc))
    scale = atol[:, None] + rtol * np.abs(y)
    d0 = np.sqrt(np.mean((y / scale) ** 2, axis=0))
    d1 = np.sqrt(np.mean((f0 / scale) ** 2, axis=0))
    h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6 * t_end, 0.01 * d0 / np.maximum(d1, 1e-300))
    h0 = np.minimum(h0, t_end)
    y1 = y + h0 * f0
    acc1, _ = _dynamics(y1, ctl, k)
    f1 = np.concatenate((y1[4:], acc1))
    d2 = np.sqrt(np.mean(((f1 - f0) / scale) ** 2, axis=0)) / h0
    dmax = np.maximum(d1, d2)
    h1 = np.where(
        dmax <= 1e-15,
        np.maximum(1e-6 * t_end, 1e-3 * h0),
        (0.01 / np.maximum(dmax, 1e-300)) ** (1.0 / (order + 1)),
    )
    return 0.01 * np.minimum(np.minimum(100.0 * h0, h1), t_end)


def _validated_tolerances(rtol, atol) -> tuple[float, np.ndarray]:
    """(rtol, atol as (8,) in the internal row order)."""
    rtol = float(rtol)
    if not (0.0 < rtol < 1.0):
        raise ValueError(f"rtol must be in (0, 1). Received: {rtol}")
    if atol is None:
        atol_v = rtol * STATE_SCALES
    else:
        try:
            atol_v = np.broadcast_to(np.asarray(atol, dtype=np.float64), (8,)).copy()
        except ValueError:
            raise ValueError(f"atol must be a scalar or 8 values. Received: {atol!r}") from None
    if not np.all(atol_v > 0):
        raise ValueError(f"atol must be > 0. Received: {atol!r}")
    return rtol, atol_v[_TO_INTERNAL]


def integrate(
    state0: np.ndarray,
    controls: np.ndarray,
    t_end: float,
    params: MothParameters | None = None,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float | np.ndarray | None = None,
    max_steps: int = 5_000,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> IntegrationResult:
    """Integrate every sample from t = 0 to t_end with constant controls (Rodas5P).

    state0: (N, 8), controls: (N, 3). rtol and atol (scalar or (8,) in STATE_NAMES order,
    default rtol * STATE_SCALES) set each sample's own adaptive step. A sample is ok=False, its
    final state NaN, if its step size falls below 1e-12 t_end, it needs more than `max_steps`
    step attempts, or its state is or becomes non-finite. Chunks of `chunk_size` samples bound
    memory; the arithmetic is per sample.
    """
    state0, controls = _check_batch(state0, controls)
    t_end = float(t_end)
    if not (t_end > 0.0 and math.isfinite(t_end)):
        raise ValueError(f"t_end must be a positive finite time in s. Received: {t_end}")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer. Received: {chunk_size}")
    if int(max_steps) != max_steps or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer. Received: {max_steps}")
    rtol, atol_i = _validated_tolerances(rtol, atol)
    k = _constants(params or MothParameters())
    n = state0.shape[0]
    final = np.full((n, 8), np.nan)
    ok = np.zeros(n, dtype=bool)
    n_steps = np.zeros(n, dtype=np.int64)
    n_rej = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, int(chunk_size)):
        sl = slice(lo, min(lo + int(chunk_size), n))
        out = (final[sl], ok[sl], n_steps[sl], n_rej[sl])
        _integrate_chunk(state0[sl], controls[sl], t_end, k, (rtol, atol_i), int(max_steps), out)
    return IntegrationResult(final=final, ok=ok, n_steps=n_steps, n_rejected=n_rej)


_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 6.0


class _Active:
    """Per-sample integration state of the samples still running; columns are samples."""

    def __init__(self, y, ctl, idx):
        n = idx.size
        self.y, self.ctl, self.idx = y, ctl, idx
        self.t = np.zeros(n)
        self.h = np.zeros(n)
        self.steps = np.zeros(n, dtype=np.int64)
        self.rejects = np.zeros(n, dtype=np.int64)
        self.last_rejected = np.zeros(n, dtype=bool)

    def keep(self, mask: np.ndarray) -> None:
        self.y = self.y[:, mask]
        self.ctl = tuple(c[mask] for c in self.ctl)
        for name in ("idx", "t", "h", "steps", "rejects", "last_rejected"):
            setattr(self, name, getattr(self, name)[mask])


def _integrate_chunk(state0, controls, t_end, k, tols, max_steps, out) -> None:
    """Adaptive Rodas5P on one chunk; writes into the views out = (final, ok, n_steps, n_rej)."""
    final, ok, n_steps, n_rej = out
    rtol, atol = tols
    tab = _RODAS5P
    y = _to_internal(state0)
    ctl = _controls_internal(controls)
    finite = np.all(np.isfinite(y), axis=0) & np.all(np.isfinite(np.stack(ctl)), axis=0)
    s = _Active(y[:, finite], tuple(c[finite] for c in ctl), np.flatnonzero(finite))
    s.h = _initial_step(s.y, s.ctl, k, t_end, atol, rtol, tab.order)
    h_min = 1e-12 * t_end
    expo = -1.0 / tab.order
    while s.idx.size:
        remaining = t_end - s.t
        last = 1.01 * s.h >= remaining  # stretch by <= 1 % rather than leave a sliver
        h = np.where(last, remaining, s.h)
        y_new, err_vec = _rosenbrock_step(s.y, h, s.ctl, k, tab)
        scale = atol[:, None] + rtol * np.maximum(np.abs(s.y), np.abs(y_new))
        err = np.sqrt(np.mean((err_vec / scale) ** 2, axis=0))
        err = np.where(np.isfinite(err) & np.all(np.isfinite(y_new), axis=0), err, np.inf)
        accept = err <= 1.0
        # I-controller; no growth right after a rejection.
        with np.errstate(divide="ignore", over="ignore"):
            fac = _SAFETY * np.maximum(err, 1e-10) ** expo
        fac = np.clip(fac, _FAC_MIN, np.where(s.last_rejected, 1.0, _FAC_MAX))
        s.y = np.where(accept, y_new, s.y)
        s.t = np.where(accept, np.where(last, t_end, s.t + h), s.t)
        s.steps += accept
        s.rejects += ~accept
        s.last_rejected = ~accept
        s.h = h * fac
        done = accept & last
        failed = ~done & ((s.h < h_min) | (s.steps + s.rejects >= max_steps))
        leave = done | failed
        if np.any(leave):
            rows = s.idx[leave]
            final[rows] = np.where(done[leave, None], _to_state(s.y[:, leave]), np.nan)
            ok[rows] = done[leave]
            n_steps[rows] = s.steps[leave]
            n_rej[rows] = s.rejects[leave]
            s.keep(~leave)


# ----------------------------------------------------------------------------------------------
# Sampling and the network's inputs/outputs
# ----------------------------------------------------------------------------------------------


def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw n independent uniform (state0 (n, 8), controls (n, 3)): controls first, then ICs."""
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer. Received: {n}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator. Received: {type(rng).__name__}")
    n = int(n)
    c_lo, c_hi = np.array([CONTROL_RANGES[name] for name in CONTROL_NAMES]).T
    s_lo, s_hi = np.array([INITIAL_STATE_RANGES[name] for name in STATE_NAMES]).T
    controls = rng.uniform(c_lo, c_hi, size=(n, 3))
    state0 = rng.uniform(s_lo, s_hi, size=(n, 8))
    return state0, controls


def network_io(
    state0: np.ndarray, controls: np.ndarray, final: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs (N, 10) in INPUT_NAMES order and targets (N, 7) in OUTPUT_NAMES order."""
    state0, controls = _check_batch(state0, controls)
    final = np.asarray(final, dtype=np.float64)
    if final.shape != state0.shape:
        raise ValueError(
            f"final must have shape {state0.shape} like state0. Received: {final.shape}"
        )
    s0 = dict(zip(STATE_NAMES, state0.T, strict=True))
    sf = dict(zip(STATE_NAMES, final.T, strict=True))
    f, alpha, tau = controls.T
    inputs = np.stack(
        (s0["phi"], s0["theta"], sf["x"], sf["y"], sf["phi"], sf["theta"],
         s0["xd"], s0["yd"], s0["phid"], s0["thetad"]),
        axis=1,
    )  # fmt: skip
    targets = np.stack(
        (f * np.cos(alpha), f * np.sin(alpha), tau, sf["xd"], sf["yd"], sf["phid"], sf["thetad"]),
        axis=1,
    )
    return inputs, targets


@dataclass(frozen=True)
class SimulationResult:
    """Successful samples of `simulate` (failed ones dropped) and run statistics.

    state0, final: (n_ok, 8); controls: (n_ok, 3); n_steps: (n_ok,) accepted steps.
    step_stats summarises accepted steps over all attempted samples.
    """

    state0: np.ndarray
    controls: np.ndarray
    final: np.ndarray
    n_steps: np.ndarray
    n_requested: int
    n_failed: int
    step_stats: dict[str, float]
    seed: int
    horizon: float
    params: MothParameters

    @property
    def n_samples(self) -> int:
        return int(self.final.shape[0])


def _integrate_part(chunk, *, horizon, params, rtol, chunk_size) -> IntegrationResult:
    state0, controls = chunk
    return integrate(state0, controls, horizon, params, rtol=rtol, chunk_size=chunk_size)


def simulate(
    n_samples: int,
    seed: int,
    *,
    horizon: float = DEFAULT_HORIZON,
    params: MothParameters | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    rtol: float = DEFAULT_RTOL,
    workers: int = 1,
) -> SimulationResult:
    """Sample n_samples moths from `seed` and integrate them over `horizon` seconds.

    `workers` > 1 integrates the chunks in that many processes; the chunks and their order are
    the same, so the output is bit-identical to workers=1.

    All samples are drawn first (so the draws do not depend on chunk_size), then integrated in
    chunks; `progress(done, total)` is called after each chunk. The integrator itself works on
    at most DEFAULT_CHUNK_SIZE samples at a time (larger arrays fall out of cache, run slower).
    The same seed and chunk_size give bit-identical output. Another chunk_size gives the same
    samples and the same results to the last bit or so (einsum's SIMD loop may round array
    tails differently).
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer. Received: {n_samples}")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer. Received: {chunk_size}")
    n_samples, chunk_size = int(n_samples), int(chunk_size)
    params = params or MothParameters()
    rng = np.random.default_rng(seed)
    state0, controls = sample(n_samples, rng)
    final = np.empty_like(state0)
    ok = np.empty(n_samples, dtype=bool)
    steps = np.empty(n_samples, dtype=np.int64)
    bounds = [(lo, min(lo + chunk_size, n_samples)) for lo in range(0, n_samples, chunk_size)]
    job = partial(
        _integrate_part,
        horizon=horizon,
        params=params,
        rtol=rtol,
        chunk_size=min(chunk_size, DEFAULT_CHUNK_SIZE),
    )
    chunks = ((state0[lo:hi], controls[lo:hi]) for lo, hi in bounds)
    with ExitStack() as stack:
        if workers > 1 and len(bounds) > 1:
            context = multiprocessing.get_context("fork")
            pool = stack.enter_context(ProcessPoolExecutor(int(workers), mp_context=context))
            results = pool.map(job, chunks)
        else:
            results = map(job, chunks)
        for (lo, hi), res in zip(bounds, results, strict=True):
            final[lo:hi], ok[lo:hi], steps[lo:hi] = res.final, res.ok, res.n_steps
            if progress is not None:
                progress(hi, n_samples)
    ok &= np.all(np.isfinite(final), axis=1)
    stats = {
        "min": float(steps.min()),
        "mean": float(steps.mean()),
        "max": float(steps.max()),
        "p99": float(np.percentile(steps, 99)),
    }
    return SimulationResult(
        state0=state0[ok],
        controls=controls[ok],
        final=final[ok],
        n_steps=steps[ok],
        n_requested=n_samples,
        n_failed=int(n_samples - ok.sum()),
        step_stats=stats,
        seed=int(seed),
        horizon=float(horizon),
        params=params,
    )

"""The moth's physical parameters and the constants the vectorised kernels derive from them.

Values are those of the original data generator (Zahn et al. 2022; the two-body model of
Bustamante et al. 2022); docs/moth-model.md tabulates them with their sources.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field, fields
from types import SimpleNamespace

import numpy as np


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


@functools.lru_cache(maxsize=8)
def kernel_constants(p: MothParameters) -> SimpleNamespace:
    """Scalars the kernels need, computed once per parameter set (cached; do not modify)."""
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

"""How physical values become a network's inputs and targets, and back: one formula, one place.

The dataset file stores the train split's statistics (`prunesweep.dataset`); training and
evaluation scale with them (`prunesweep.data`), and the exported model carries them so that it
takes and returns physical values (`prunesweep.export`). All three use `Scaling`, so the model
in use scales exactly as the network was trained.

    minmax:    z = (v - min) / (max - min) - 0.5      (in [-0.5, 0.5] on the train split)
    symmetric: z = 2 (v - min) / (max - min) - 1      (in [-1, 1])
    standard:  z = (v - mean) / std

A constant feature (max = min, or std = 0) has its span (std) taken as 1, so it is not divided
by zero. Arithmetic is float64; scaled values are returned as float32, what the network reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: scaling kind -> the two statistics it needs, as named in files (`<prefix>_<name>`)
STATISTICS = {
    "minmax": ("min", "max"),
    "symmetric": ("min", "max"),
    "standard": ("mean", "std"),
}

NOTES = {
    "minmax": "z = (v - min)/(max - min) - 0.5, min and max over the train split",
    "symmetric": "z = 2 (v - min)/(max - min) - 1, min and max over the train split",
    "standard": "z = (v - mean)/std, mean and std over the train split",
}


@dataclass(frozen=True)
class Scaling:
    """The scaling of one set of features: `kind` and its statistics `first`, `second` per feature.

    (first, second) are (min, max) for minmax and symmetric, (mean, std) for standard.
    """

    kind: str
    first: np.ndarray
    second: np.ndarray

    def __post_init__(self) -> None:
        if self.kind not in STATISTICS:
            raise ValueError(f"scaling {self.kind!r}: expected one of {sorted(STATISTICS)}")
        first = np.asarray(self.first, dtype=np.float64).reshape(-1)
        second = np.asarray(self.second, dtype=np.float64).reshape(-1)
        if first.shape != second.shape:
            raise ValueError(
                f"scaling statistics differ in length: {first.shape[0]} and {second.shape[0]}"
            )
        if not (np.isfinite(first).all() and np.isfinite(second).all()):
            raise ValueError("scaling statistics hold non-finite values")
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "second", second)

    @property
    def names(self) -> tuple[str, str]:
        """What `first` and `second` are called in files: ("min", "max") or ("mean", "std")."""
        return STATISTICS[self.kind]

    @property
    def size(self) -> int:
        return self.first.shape[0]

    def _span(self) -> np.ndarray:
        if self.kind == "standard":
            return np.where(self.second > 0, self.second, 1.0)
        return np.where(self.second > self.first, self.second - self.first, 1.0)

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """(factor, offset) with z = v * factor + offset (float64): the scaling as one layer."""
        span = self._span()
        if self.kind == "standard":
            return 1.0 / span, -self.first / span
        if self.kind == "symmetric":
            return 2.0 / span, -2.0 * self.first / span - 1.0
        return 1.0 / span, -self.first / span - 0.5

    def scale(self, values) -> np.ndarray:
        """Physical values (..., n) -> scaled float32, as training saw them."""
        v = np.asarray(values, dtype=np.float64)
        span = self._span()
        if self.kind == "standard":
            z = (v - self.first) / span
        elif self.kind == "symmetric":
            z = 2.0 * (v - self.first) / span - 1.0
        else:
            z = (v - self.first) / span - 0.5
        return z.astype(np.float32)

    def unscale(self, scaled) -> np.ndarray:
        """Scaled values (..., n) -> physical float64: the inverse of `scale`."""
        z = np.asarray(scaled, dtype=np.float64)
        span = self._span()
        if self.kind == "standard":
            return z * span + self.first
        if self.kind == "symmetric":
            return (z + 1.0) * 0.5 * span + self.first
        return (z + 0.5) * span + self.first

    def select(self, index) -> Scaling:
        """The scaling of the features at `index` (e.g. the inputs a shrunk model still reads)."""
        index = np.asarray(index, dtype=np.int64)
        return Scaling(self.kind, self.first[index], self.second[index])


@dataclass(frozen=True)
class Features:
    """A network's inputs (or outputs): names, units (UDUNITS), long names and scaling."""

    names: tuple[str, ...]
    units: tuple[str, ...]
    long_names: tuple[str, ...]
    scaling: Scaling

    def __post_init__(self) -> None:
        n = len(self.names)
        if len(self.units) != n or len(self.long_names) != n or self.scaling.size != n:
            raise ValueError(
                f"features: {n} names, {len(self.units)} units, {len(self.long_names)} long "
                f"names and {self.scaling.size} scaling values"
            )

    def select(self, index) -> Features:
        """The features at `index`, in that order."""
        index = [int(i) for i in index]
        return Features(
            names=tuple(self.names[i] for i in index),
            units=tuple(self.units[i] for i in index),
            long_names=tuple(self.long_names[i] for i in index),
            scaling=self.scaling.select(index),
        )

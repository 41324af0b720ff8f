"""Published results a sweep can be compared with, by name (an architecture's `published:` key).

Numbers only, each with its source; the report puts them beside a sweep's own (mean +- sd over
seeds) and says where they differ by more than the seeds' spread.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Published:
    """One published pruning run: network, protocol and what came out of it."""

    citation: str
    source: str
    widths: tuple[int, ...]
    activation: str
    threshold: float
    dense_val_loss: float
    #: target sparsity -> validation loss (MSE of targets scaled to [-0.5, 0.5]) after retraining
    val_loss: dict[float, float]
    selected_sparsity: float
    #: sparsity -> outputs with no live connection left
    cut_outputs: dict[float, tuple[str, ...]] = field(default_factory=dict)
    #: live weights out of each input at the selected level
    input_connections: dict[str, int] = field(default_factory=dict)
    notes: str = ""


ZAHN2022 = Published(
    citation=(
        "Zahn, Bustamante, Switzer, Daniel & Kutz (2022), Pruning deep neural networks generates "
        "a sparse, bio-inspired nonlinear controller for insect flight. PLoS Comput Biol 18(9): "
        "e1010512"
    ),
    source=(
        "the single TensorFlow network of the paper's repository (oliviatessa/MothPruning, "
        "TrainWithPruning.ipynb, run 2022-01-04, and its saved models prunes/<sparsity>_pruned.h5)"
    ),
    widths=(10, 400, 400, 400, 16, 7),
    activation="tanh",
    threshold=1e-3,
    dense_val_loss=1.57e-4,
    val_loss={
        0.15: 1.48e-4,
        0.25: 1.25e-4,
        0.35: 1.30e-4,
        0.45: 1.12e-4,
        0.55: 1.11e-4,
        0.65: 1.15e-4,
        0.75: 1.00e-4,
        0.85: 1.25e-4,
        0.90: 1.26e-4,
        0.91: 1.31e-4,
        0.92: 1.23e-4,
        0.93: 1.67e-4,
        0.94: 1.35e-4,
        0.95: 6.0e-3,
        0.96: 1.36e-2,
        0.97: 1.95e-2,
        0.98: 3.14e-2,
    },
    selected_sparsity=0.94,
    cut_outputs={0.95: ("Fy",)},
    input_connections={
        "phi_0": 32,
        "theta_0": 31,
        "x_f": 22,
        "y_f": 20,
        "phi_f": 47,
        "theta_f": 43,
        "xdot_0": 22,
        "ydot_0": 20,
        "phidot_0": 1,
        "thetadot_0": 2,
    },
    notes=(
        "10M simulated flights (8M train / 2M val), one network, Adam 5e-4 shared across levels, "
        "batch 128, early stopping (patience 2, min_delta 1e-5) without restoring the best epoch; "
        "layer-wise magnitude pruning of kernels only, round(n s) weights per kernel"
    ),
)

PUBLISHED: dict[str, Published] = {"zahn2022": ZAHN2022}

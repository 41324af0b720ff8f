"""Shared fixtures: small random networks and a small scaled data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prunesweep.network import Layer, Network

ROOT = Path(__file__).resolve().parents[1]


def random_network(widths=(10, 12, 8, 7), *, seed=0, activation="tanh") -> Network:
    rng = np.random.default_rng(seed)
    layers = [
        Layer(
            kernel=(rng.normal(size=(a, b)) / np.sqrt(a)).astype(np.float32),
            bias=(rng.normal(size=b) * 0.1).astype(np.float32),
            kernel_mask=np.ones((a, b), bool),
            bias_mask=np.ones(b, bool),
        )
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    names_in = tuple(f"in{i}" for i in range(widths[0]))
    names_out = tuple(f"out{i}" for i in range(widths[-1]))
    return Network(
        layers=layers,
        activation=activation,
        input_names=names_in,
        output_names=names_out,
        attrs={"task": "moth", "arch": "t", "seed": 1},
    )


@pytest.fixture
def net() -> Network:
    return random_network()

"""Shared fixtures: small random networks and a small scaled data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from prunesweep.network import Network
from prunesweep.network import random_network as library_random_network

ROOT = Path(__file__).resolve().parents[1]


def random_network(widths=(10, 12, 8, 7), *, seed=0, activation="tanh") -> Network:
    net = library_random_network(widths, seed=seed, activation=activation)
    net.attrs.update(task="moth", arch="t", seed=1)
    return net


@pytest.fixture
def net() -> Network:
    return random_network()

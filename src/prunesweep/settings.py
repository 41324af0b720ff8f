"""Settings dataclasses that the workflow needs without importing TensorFlow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Literal


@dataclass(frozen=True)
class TrainSettings:
    """How one network is trained (dense) or retrained (each pruning level)."""

    learning_rate: float = field(default=5e-4, metadata={"help": "Adam learning rate"})
    batch_size: int = field(default=128, metadata={"help": "samples per gradient step"})
    max_epochs: int = field(default=50, metadata={"help": "upper bound on epochs"})
    patience: int = field(
        default=2,
        metadata={"help": "epochs without improvement of the validation loss before stopping"},
    )
    min_delta: float = field(
        default=1e-5,
        metadata={"help": "smallest drop of the validation loss that counts as improvement"},
    )
    restore_best: bool = field(
        default=True, metadata={"help": "keep the weights of the best validation epoch"}
    )
    eval_batch_size: int = field(
        default=8192, metadata={"help": "samples per evaluation chunk (memory only)"}
    )
    optimizer: Literal["fresh", "carry"] = field(
        default="fresh",
        metadata={
            "help": "fresh: a new Adam at every level; carry: the previous level's Adam state "
            "(step count and moments) goes on, as one Adam instance shared across levels did "
            "in the original protocol (retraining only)"
        },
    )

    def __post_init__(self) -> None:
        if self.optimizer not in ("fresh", "carry"):
            raise ValueError(f"expected 'fresh' or 'carry'. Received: optimizer={self.optimizer!r}")

    @classmethod
    def from_config(cls, settings: Mapping | None) -> TrainSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings or {}) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; expected {sorted(known)}")
        return cls(**dict(settings or {}))

    def identity(self) -> dict:
        """The settings that change results (eval_batch_size only changes memory use)."""
        out = asdict(self)
        out.pop("eval_batch_size")
        return out

"""Task simulators: each module builds the labelled dataset of one task from its config settings."""

from __future__ import annotations

from types import ModuleType

TASKS = ("moth",)


def get_task(name: str) -> ModuleType:
    if name == "moth":
        from prunesweep.tasks import moth_dataset

        return moth_dataset
    raise ValueError(f"unknown simulator {name!r}; known: {list(TASKS)}")

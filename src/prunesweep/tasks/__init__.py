"""Task plug-ins, keyed by the config's `simulator:` value.

Each entry names the module that defines the task's `TASK` object (see `prunesweep.tasks.base`);
modules are imported only when their task is used. To add a task, write one module and add one
line here (README, "Add your own task").
"""

from __future__ import annotations

import importlib

from prunesweep.tasks.base import Task, TaskData, Variable

SIMULATORS: dict[str, str] = {
    "moth": "prunesweep.tasks.moth",
    "wave": "prunesweep.tasks.fields.wave",
    "ks": "prunesweep.tasks.fields.ks",
}

__all__ = ["SIMULATORS", "Task", "TaskData", "Variable", "get_task"]


def get_task(simulator: str) -> Task:
    """The plug-in of `simulator`; raises ValueError listing the known ones."""
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; expected one of {sorted(SIMULATORS)}")
    return importlib.import_module(SIMULATORS[simulator]).TASK

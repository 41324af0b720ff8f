"""The `simulate` job: a task's dataset, built by its plug-in."""

from __future__ import annotations

import time
from collections.abc import Mapping

from prunesweep import files
from prunesweep.runs import provenance
from prunesweep.stages.common import log


def simulate(task: str, settings: Mapping, output: str, *, threads: int = 1) -> None:
    """Build the dataset of config task `task` with its plug-in, in `threads` processes."""
    from prunesweep.dataset import to_dataset
    from prunesweep.tasks import get_task

    def progress(done: int, total: int) -> None:
        log(f"simulated {done:,}/{total:,} samples")

    start = time.perf_counter()
    plugin = get_task(settings["simulator"])
    ds = to_dataset(plugin.build(settings, progress=progress, workers=threads), task=task)
    ds.attrs.update(provenance(dict(settings)))
    files.write_netcdf(ds, output, step=f"simulate {task}")
    failed = ds.attrs.get("n_failed")
    log(
        f"wrote {ds.sizes['sample']:,} samples"
        + (f" ({failed} failed and dropped)" if failed is not None else "")
        + f" in {time.perf_counter() - start:.1f} s to {output}"
    )

"""rule simulate: generate the task's dataset."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import simulate  # noqa: E402

sm = snakemake  # noqa: F821
simulate.simulate(sm.wildcards.task, sm.params.settings, sm.output[0], threads=sm.threads)

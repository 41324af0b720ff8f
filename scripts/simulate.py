"""rule simulate: generate the task's dataset."""

from prunesweep import joblog

joblog.capture(snakemake.log[0])  # noqa: F821

from prunesweep import stages  # noqa: E402

stages.simulate(snakemake.wildcards.task, snakemake.params.settings, snakemake.output[0])  # noqa: F821

"""rule collect_networks: histories, |w| histograms and device of every network of a task."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import evaluation  # noqa: E402

sm = snakemake  # noqa: F821
evaluation.collect_networks(
    sm.input.levels,
    sm.input.dense,
    sm.output[0],
    methods=sm.params.methods,
    archs=sm.params.archs,
    seeds=sm.params.seeds,
    task=sm.wildcards.task,
    config=sm.config,
    methods_of=sm.params.methods_of,
)

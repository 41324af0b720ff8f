"""rule export: the selected level of one (arch, method, seed) as a smaller, faster model."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import export  # noqa: E402

sm = snakemake  # noqa: F821
export.export(
    sm.params.run,
    sm.wildcards.method,
    sm.input.selection,
    sm.input.levels,
    sm.input.dataset,
    sm.output.model,
    sm.output.keras,
    sm.output.timings,
)

"""rules plot_*: draw one figure of a task from its metrics and selection."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep import stages  # noqa: E402

sm = snakemake  # noqa: F821
stages.plot(
    sm.params.figure,
    sm.input.metrics,
    sm.input.selection,
    sm.output[0],
    palette=sm.params.style["palette"],
    dpi=sm.params.style["dpi"],
)

"""Where every file of a sweep lives: one pattern per kind, relative to the project root.

Snakemake rules use the patterns as outputs (the braces are wildcards); `prunesweep.runs` fills
them in for one run. Nothing else composes result paths.
"""

#: the folder everything the workflow writes goes to
RESULTS = "results"
DATASET = "results/data/{task}.nc"
DENSE = "results/runs/{task}/{arch}/seed{seed}/dense.nc"
DENSE_METRICS = "results/runs/{task}/{arch}/seed{seed}/dense_metrics.nc"
LEVEL = "results/runs/{task}/{arch}/seed{seed}/{method}/level{level}.nc"
LEVEL_METRICS = "results/runs/{task}/{arch}/seed{seed}/{method}/metrics/level{level}.nc"
METRICS = "results/summary/{task}/metrics.nc"
SELECTION = "results/summary/{task}/selection.nc"
NETWORKS = "results/summary/{task}/networks.nc"
MODEL = "results/models/{task}/{arch}/seed{seed}/{method}.nc"
KERAS_MODEL = "results/models/{task}/{arch}/seed{seed}/{method}.keras"
FIGURE = "results/figures/{task}/{figure}.png"
TABLE = "results/tables/{task}/{table}.html"
LOGS = "results/logs"
BENCHMARKS = "results/benchmarks"
#: inference timings of an exported model beside its dense network: measured, so kept out of
#: the result files that reruns reproduce byte for byte (README, Determinism)
EXPORT_TIMINGS = "results/benchmarks/export/{task}/{arch}/seed{seed}/{method}.json"


#: levels per method: the level is two digits in paths and in the rules' wildcard
MAX_LEVELS = 99


def level_name(level: int) -> str:
    """The level as it appears in paths and wildcards: two digits, 00 = the dense network."""
    return f"{int(level):02d}"

rule prune:
    input:
        unpack(get_prune_input),
    output:
        LEVEL,
    log:
        f"{LOGS}/prune/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.log",
    benchmark:
        f"{BENCHMARKS}/prune/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.tsv"
    wildcard_constraints:
        method=names_pattern(STUDY.pruning_methods),
    conda:
        "../envs/tensorflow.yaml"
    threads: get_threads("prune")
    resources:
        mem_mb=get_resource("prune", "mem_mb"),
        runtime=get_resource("prune", "runtime"),
        attempt=job_attempt,
        gpu=get_resource("prune", "gpu"),
    params:
        run=get_level_run,
        settings=get_level_settings,
    script:
        "../scripts/prune.py"


# A baseline's level (prunesweep.baselines): small from the start, trained from scratch with the
# dense training settings; the dense network is read only to check the architecture.
rule train_baseline:
    input:
        unpack(get_baseline_input),
    output:
        LEVEL,
    log:
        f"{LOGS}/train_baseline/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.log",
    benchmark:
        f"{BENCHMARKS}/train_baseline/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.tsv"
    wildcard_constraints:
        method=names_pattern(STUDY.baselines),
    conda:
        "../envs/tensorflow.yaml"
    threads: get_threads("train_baseline")
    resources:
        mem_mb=get_resource("train_baseline", "mem_mb"),
        runtime=get_resource("train_baseline", "runtime"),
        attempt=job_attempt,
        gpu=get_resource("train_baseline", "gpu"),
    params:
        run=get_level_run,
        settings=get_level_settings,
    script:
        "../scripts/train_baseline.py"

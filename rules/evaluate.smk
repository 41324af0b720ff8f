# One job per level: each runs as soon as its level exists, while the chain goes on (no group:
# a group job would wait for all its members' inputs). Benchmarks go under the resources key
# `evaluate` that both rules use, for prunesweep.efficiency.
rule evaluate_dense:
    input:
        network=DENSE,
        dataset=get_dataset,
    output:
        DENSE_METRICS,
    log:
        f"{LOGS}/evaluate/{{task}}/{{arch}}/seed{{seed}}/dense.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{{task}}/{{arch}}/seed{{seed}}/dense.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("evaluate")
    resources:
        mem_mb=get_resource("evaluate", "mem_mb"),
        runtime=get_resource("evaluate", "runtime"),
        attempt=job_attempt,
    params:
        run=get_dense_run,
        settings=get_dense_settings,
        pqi=config["pqi"],
    script:
        "../scripts/evaluate.py"


rule evaluate:
    input:
        network=LEVEL,
        dense=DENSE,
        dataset=get_dataset,
    output:
        LEVEL_METRICS,
    log:
        f"{LOGS}/evaluate/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("evaluate")
    resources:
        mem_mb=get_resource("evaluate", "mem_mb"),
        runtime=get_resource("evaluate", "runtime"),
        attempt=job_attempt,
    params:
        run=get_level_run,
        settings=get_level_settings,
        pqi=config["pqi"],
    script:
        "../scripts/evaluate.py"

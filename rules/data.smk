rule simulate:
    output:
        DATASET,
    log:
        f"{LOGS}/simulate/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/simulate/{{task}}.tsv"
    params:
        settings=get_task_settings,
    threads: get_threads("simulate")
    resources:
        mem_mb=get_resource("simulate", "mem_mb"),
        runtime=get_resource("simulate", "runtime"),
    conda:
        "../envs/simulate.yaml"
    script:
        "../scripts/simulate.py"

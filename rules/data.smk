rule simulate:
    output:
        DATASET,
    log:
        f"{LOGS}/simulate/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/simulate/{{task}}.tsv"
    conda:
        "../envs/simulate.yaml"
    threads: get_threads("simulate")
    resources:
        mem_mb=get_resource("simulate", "mem_mb"),
        runtime=get_resource("simulate", "runtime"),
        attempt=job_attempt,
    params:
        settings=get_task_settings,
    script:
        "../scripts/simulate.py"

rule prune:
    input:
        unpack(get_prune_input),
    output:
        LEVEL,
    log:
        f"{LOGS}/prune/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.log",
    benchmark:
        f"{BENCHMARKS}/prune/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.tsv"
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

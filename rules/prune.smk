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
        gpu=get_resource("prune", "gpu"),
    params:
        settings=get_level_settings,
        previous_hash=get_previous_hash,
        attrs=get_run_attrs,
    script:
        "../scripts/prune.py"

rule aggregate:
    input:
        unpack(get_metrics_input),
    output:
        METRICS,
    log:
        f"{LOGS}/aggregate/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/aggregate/{{task}}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("aggregate")
    resources:
        mem_mb=get_resource("aggregate", "mem_mb"),
        runtime=get_resource("aggregate", "runtime"),
        attempt=job_attempt,
    params:
        methods=get_task_methods,
        archs=get_archs,
        seeds=config["seeds"],
        methods_of=get_methods_of,
    script:
        "../scripts/aggregate.py"


rule collect_networks:
    input:
        unpack(get_network_files),
    output:
        NETWORKS,
    log:
        f"{LOGS}/collect_networks/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/aggregate/networks_{{task}}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("aggregate")
    resources:
        mem_mb=get_resource("aggregate", "mem_mb"),
        runtime=get_resource("aggregate", "runtime"),
        attempt=job_attempt,
    params:
        methods=get_task_methods,
        archs=get_archs,
        seeds=config["seeds"],
        methods_of=get_methods_of,
    script:
        "../scripts/collect_networks.py"


rule select:
    input:
        metrics=METRICS,
    output:
        SELECTION,
    log:
        f"{LOGS}/select/{{task}}.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("select")
    resources:
        mem_mb=get_resource("select", "mem_mb"),
        runtime=get_resource("select", "runtime"),
        attempt=job_attempt,
    params:
        threshold=get_threshold,
        split=config["selection"]["split"],
    script:
        "../scripts/select.py"


rule export:
    input:
        unpack(get_export_input),
    output:
        model=MODEL,
        keras=KERAS_MODEL,
        timings=EXPORT_TIMINGS,
    log:
        f"{LOGS}/export/{{task}}/{{arch}}/seed{{seed}}/{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/export/{{task}}/{{arch}}/seed{{seed}}/{{method}}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: get_threads("export")
    resources:
        mem_mb=get_resource("export", "mem_mb"),
        runtime=get_resource("export", "runtime"),
        attempt=job_attempt,
    params:
        run=get_dense_run,
    script:
        "../scripts/export.py"

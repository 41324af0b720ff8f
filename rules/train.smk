rule train_dense:
    input:
        dataset=get_dataset,
    output:
        DENSE,
    log:
        f"{LOGS}/train_dense/{{task}}/{{arch}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/train_dense/{{task}}/{{arch}}/seed{{seed}}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: get_threads("train_dense")
    resources:
        mem_mb=get_resource("train_dense", "mem_mb"),
        runtime=get_resource("train_dense", "runtime"),
        attempt=job_attempt,
        gpu=get_resource("train_dense", "gpu"),
    params:
        run=get_dense_run,
        settings=get_dense_settings,
    script:
        "../scripts/train_dense.py"

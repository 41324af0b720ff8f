# `snakemake verify`: check every file under results/ (prunesweep.verify) against its digest, its
# run, the files it was made from and this config's settings; one line per bad file with the
# --forcerun that remakes it. Writes nothing; fails when a file is bad.
rule verify:
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        results=RESULTS,
        study=STUDY,
    script:
        "../scripts/verify.py"

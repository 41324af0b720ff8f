"""docs/cluster.md says what the profile and a dry run say: its numbers come from commands.

The table of submissions is what tests/slurm/submissions.py counts in `snakemake -n --profile
slurm` for each config (tests/workflow/test_slurm.py checks the first row against a real Slurm
run); the profile settings the text quotes (`retries: 2`, ...) are the ones slurm/config.yaml
sets. No Slurm needed: dry runs only (the paper config's takes about half a minute).
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.slurm.submissions import plan
from tests.workflow.conftest import ROOT

pytestmark = pytest.mark.workflow

DOC = ROOT / "docs" / "cluster.md"
ROW = re.compile(
    r"^\| `(?P<config>[^`]+)`(?P<first>, first method)? \| (?P<jobs>[\d,]+) \| (?P<subs>[\d,]+) \|$"
)


def _rows() -> list[tuple[str, str, int, int]]:
    rows = []
    for line in DOC.read_text().splitlines():
        if m := ROW.match(line.strip()):
            methods = "1" if m["first"] else "all"
            number = lambda text: int(text.replace(",", ""))  # noqa: E731
            rows.append((m["config"], methods, number(m["jobs"]), number(m["subs"])))
    return rows


def test_the_table_covers_the_test_configs_and_the_paper():
    configs = {(config, methods) for config, methods, _, _ in _rows()}
    assert {
        ("tests/config/tiny.yaml", "1"),
        ("tests/config/tiny.yaml", "all"),
        ("config/paper.yaml", "all"),
    } <= configs, configs


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r[0]}-{r[1]}")
def test_submission_counts_match_a_dry_run(row):
    config, methods, jobs, submissions = row
    result = plan(config, ROOT, methods)
    assert (result.jobs, result.submissions) == (jobs, submissions), (
        f"docs/cluster.md says {jobs} jobs and {submissions} submissions for {config} "
        f"(methods: {methods}); the dry run: {result.summary()}"
    )


def test_quoted_profile_settings_are_the_profiles():
    profile = yaml.safe_load((ROOT / "slurm" / "config.yaml").read_text())
    text = DOC.read_text()
    quoted = {
        f"`retries: {profile['retries']}`",
        f"`jobs: {profile['jobs']}`",
        f"`local-cores: {profile['local-cores']}`",
        f"`group_slots: {profile['resources']['group_slots']}`",
        f"`export: {profile['group-components']['export']}`",
        f"`slurm-status-command: {profile['slurm-status-command']}`",
        f"`slurm-init-seconds-before-status-checks` "
        f"({profile['slurm-init-seconds-before-status-checks']})",
    }
    missing = sorted(q for q in quoted if q not in text)
    assert not missing, f"docs/cluster.md does not quote these profile settings: {missing}"
    # and the numbers written out in words follow them
    assert f"up to {profile['retries']} times" in text
    assert f"up to {profile['group-components']['export']} per submission" in text
    assert f"Up to {profile['jobs']} Slurm jobs" in text

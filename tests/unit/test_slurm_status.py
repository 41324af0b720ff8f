"""The start-up check of Slurm job states: what the cluster says, and what the plugin will do.

`probe` runs against recorded answers of `scontrol show config` and `sacct` (from Slurm 22.05:
a cluster without accounting, one with it, one whose slurmdbd hangs); `verdict` against the
plugin's switching rule (MinJobAge < 3 x the first status check -> sacct when installed).
tests/workflow/test_slurm.py checks the warning and the stop on a real cluster.
"""

from __future__ import annotations

import subprocess

import pytest

from prunesweep import slurm_status
from prunesweep.slurm_status import SlurmFacts, plugin_status_command, probe, verdict

NO_ACCOUNTING = """Configuration data as of 2026-01-01T00:00:00
AccountingStorageType   = accounting_storage/none
MinJobAge               = 300 sec
"""
ACCOUNTING = NO_ACCOUNTING.replace("accounting_storage/none", "accounting_storage/slurmdbd")


def fake_run(config: str | None, sacct: str | Exception = "ok"):
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd[0])
        if cmd[0] == "scontrol":
            if config is None:
                raise FileNotFoundError("scontrol")
            return subprocess.CompletedProcess(cmd, 0, stdout=config, stderr="")
        if isinstance(sacct, Exception):
            raise sacct
        if sacct == "ok":
            return subprocess.CompletedProcess(cmd, 0, stdout="", stderr="")
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr=sacct)

    run.calls = calls
    return run


def installed(*names):
    return lambda name: f"/usr/bin/{name}" if name in names else None


@pytest.mark.parametrize(
    "text,seconds",
    [("300 sec", 300), ("3600", 3600), ("1h", 3600), ("5 min", 300), ("soon", None)],
)
def test_min_job_age_in_its_units(text, seconds):
    assert slurm_status._parse_seconds(text) == seconds


def test_probe_without_accounting_asks_no_sacct():
    run = fake_run(NO_ACCOUNTING)
    facts = probe(run, installed("sacct", "scontrol"))
    assert facts == SlurmFacts(True, False, "AccountingStorageType = accounting_storage/none", 300)
    assert run.calls == ["scontrol"]


def test_probe_with_accounting_asks_sacct():
    facts = probe(fake_run(ACCOUNTING), installed("sacct"))
    assert facts.accounting is True and facts.min_job_age == 300


def test_probe_with_a_hanging_or_failing_slurmdbd():
    hung = probe(fake_run(ACCOUNTING, subprocess.TimeoutExpired("sacct", 20)), installed("sacct"))
    assert hung.accounting is False and "did not answer" in hung.accounting_detail
    down = probe(
        fake_run(ACCOUNTING, "sacct: error: Problem talking to the database"), installed("sacct")
    )
    assert down.accounting is False and "Problem talking" in down.accounting_detail


def test_probe_without_scontrol_knows_nothing_of_min_job_age():
    facts = probe(fake_run(None), installed())
    assert facts.min_job_age is None and facts.accounting is False  # no sacct either


@pytest.mark.parametrize(
    "age,init,setting,expected",
    [
        (300, 20, "squeue", "squeue"),  # 300 >= 60: the plugin keeps squeue
        (300, 101, "squeue", "sacct"),  # 300 < 303: it switches
        (None, 20, "squeue", "sacct"),  # MinJobAge unknown: it switches
        (300, 20, None, "sacct"),  # no setting: sacct when installed
        (300, 20, "sacct", "sacct"),
    ],
)
def test_the_plugins_choice(age, init, setting, expected):
    facts = SlurmFacts(True, None, "", age)
    assert plugin_status_command(facts, setting, init) == expected
    without_sacct = SlurmFacts(False, False, "", age)
    assert plugin_status_command(without_sacct, setting, init) == "squeue"


def test_no_accounting_and_squeue_kept_warns_and_goes_on():
    facts = SlurmFacts(True, False, "AccountingStorageType = x/none", 300)
    level, line = verdict(facts, "squeue", 20)
    assert level == "warn" and line.startswith("prunesweep: no Slurm accounting here")
    assert "MinJobAge (300 s)" in line


def test_no_accounting_and_a_switch_to_sacct_stops_with_the_fix():
    facts = SlurmFacts(True, False, "AccountingStorageType = x/none", 30)
    level, line = verdict(facts, "squeue", 20)
    assert level == "stop" and "\n" not in line
    assert "set `slurm-init-seconds-before-status-checks` to at most 10" in line
    # with the fix applied, the plugin keeps squeue
    assert verdict(facts, "squeue", 10)[0] == "warn"
    level, line = verdict(facts, "sacct", 10)
    assert level == "stop" and "set `slurm-status-command: squeue`" in line
    level, line = verdict(SlurmFacts(True, False, "x", None), "squeue", 20)
    assert level == "stop" and "MinJobAge unknown" in line and "ask the cluster's admins" in line


def test_accounting_is_quiet():
    assert verdict(SlurmFacts(True, True, "sacct answers", 300), "squeue", 20) == ("ok", "")
    assert verdict(SlurmFacts(True, True, "sacct answers", 30), "squeue", 20) == ("ok", "")

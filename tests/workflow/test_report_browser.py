"""report.html opened in a real headless Chromium: it renders offline, with our categories."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.workflow.conftest import snakemake

pytestmark = pytest.mark.workflow

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


def chromium() -> str:
    """Debian's chromium; installed here when missing and we are root with apt-get."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            "headless Chromium is not installed and cannot be installed here "
            "(needs root and apt-get: apt-get install chromium)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        capture_output=True,
    )
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def report(tiny_run):
    snakemake(tiny_run, "--configfile", "tests/config/tiny.yaml", "--report", "report.html")
    return tiny_run / "report.html"


def test_report_renders_in_chromium(report, tmp_path):
    browser = chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # these words exist only after the report's JavaScript has built the page
    for text in ("Workflow", "Statistics", "Pruning", "Methods", "Selection"):
        assert text in html, f"{text!r} missing from the rendered report"
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1280,900",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few kB


def test_report_is_self_contained(report):
    html = report.read_text()
    assert "<script src=" not in html and '<link href="http' not in html

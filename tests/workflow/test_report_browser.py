"""report.html read as a reader would, in a real headless Chromium driven by Playwright.

The report is a single-page app: the test clicks through its own menu, opens every category,
every task's subcategory and every result, and checks what a reader sees: every figure loads
with a non-zero natural size, every table has the rows the results call for and no NaN cell,
the page logs no JavaScript error. Screenshots of the views are kept under the folder the test
prints (PRUNESWEEP_SCREENSHOTS, or a pytest temporary folder).

Chromium is Debian's (`chromium`, installed by the test when missing and run as root with
apt-get); Playwright's Python package drives it through `executable_path`, no browser is
downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from prunesweep.report_items import ITEMS
from tests.workflow.conftest import TINY, snakemake

pytestmark = pytest.mark.workflow
CFG = yaml.safe_load(TINY.read_text())
TASK = "moth"

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's chromium; installed here when missing and we are root with apt-get."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(
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


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("PRUNESWEEP_SCREENSHOTS")
    folder = Path(folder) if folder else tmp_path_factory.mktemp("report-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def expected_rows(tiny_run: Path) -> dict[str, list[int]]:
    """Rows of each table of each HTML item, from the results the report was made from."""
    with xr.open_dataset(tiny_run / f"results/summary/{TASK}/selection.nc") as sel:
        n_arch, n_method, n_seed = (sel.sizes[d] for d in ("arch", "method", "seed"))
    with xr.open_dataset(tiny_run / f"results/summary/{TASK}/networks.nc") as nets:
        trained = np.isfinite(nets["epochs"]).any("seed")
        n_levels = int(trained.sel(level=slice(1, None)).sum())
    per_method = n_arch * (1 + n_method)
    per_seed = n_arch * n_method * n_seed
    # with baselines the answer page also compares them with pruning, one row per architecture
    # x method (tables._baseline_section)
    kinds = {m["kind"] for m in CFG["methods"].values()}
    compared = [n_arch * n_method] if kinds & {"small_dense", "lowrank"} else []
    return {
        "answer": [per_method, per_seed, per_seed, *compared],
        "training": [n_arch + n_levels],
        "exported": [per_method, per_method],
        "study": [None, n_arch, n_method, 2, None, None],  # None: a list of settings
    }


def test_a_reader_can_open_every_view(report, tiny_run, screenshots, capsys):
    from playwright.sync_api import sync_playwright

    items = {name: item for name, item in ITEMS.items() if item.applies(CFG, TASK)}
    categories = sorted({item.category for item in items.values()})
    rows_wanted = expected_rows(tiny_run)
    errors: list[str] = []
    seen: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda err: errors.append(f"page error: {err}"))
        page.on(
            "console",
            lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.goto(report.as_uri())
        menu = page.locator("nav, #menu, body")  # the sidebar
        menu.get_by_text("Workflow", exact=True).first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        assert "prunesweep asks" in page.content()
        page.screenshot(path=screenshots / "00-front-page.png")
        for category in categories:
            open_category(page, category)
            for name, item in items.items():
                if item.category != category:
                    continue
                open_item(page, item.label)
                shot = screenshots / f"{category.replace(' ', '-')}-{name}.png"
                if item.kind == "figure":
                    img = page.locator("img[src^='data:image/png']").first
                    img.wait_for(timeout=30_000)
                    size = img.evaluate(
                        "el => el.complete ? [el.naturalWidth, el.naturalHeight] : [0, 0]"
                    )
                    assert size[0] > 300 and size[1] > 200, f"{name}: natural size {size}"
                    assert size[0] <= 2100, f"{name}: {size[0]} px wide, too wide to read"
                else:
                    frame = page.frame_locator("iframe").first
                    frame.locator("table").first.wait_for(timeout=30_000)
                    check_tables(name, frame, rows_wanted.get(name))
                page.wait_for_timeout(200)
                page.screenshot(path=shot)
                seen[name] = shot.name
        browser.close()
    with capsys.disabled():
        print(f"\nreport screenshots: {screenshots}")
    assert sorted(seen) == sorted(items)
    assert errors == [], errors


def open_category(page, category: str) -> None:
    """Home (the breadcrumbs' first link), the category, then the task's subcategory where
    there is more than one (with one, the category lists its results at once)."""
    page.locator("nav ol a").first.click()
    page.get_by_role("link", name=category, exact=True).first.click()
    page.wait_for_timeout(300)
    task = page.get_by_role("link", name=TASK, exact=True)
    if task.count():
        task.first.click()
        page.wait_for_timeout(300)


def open_item(page, label: str) -> None:
    """Show one result: the report lists a label with two values as a toggle (radio buttons)
    and others as table columns; the row's first link is its view button."""
    toggle = page.locator("fieldset label").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    rows = page.locator("tbody tr").filter(has=page.get_by_text(TASK, exact=True))
    if toggle.count():
        toggle.first.click()
    else:
        rows = rows.filter(has=page.get_by_text(label, exact=True))
    rows.first.locator("a").first.click()


def check_tables(name: str, frame, wanted: list[int | None] | None) -> None:
    """Every table of the page has rows, the expected number where known, and no NaN cell."""
    tables = frame.locator("table")
    counts = []
    for i in range(tables.count()):
        cells = tables.nth(i).locator("tbody td").all_inner_texts()
        counts.append(tables.nth(i).locator("tbody tr").count())
        bad = [c for c in cells if re.search(r"\bnan\b", c, flags=re.I) or not c.strip()]
        assert bad == [], f"{name}: table {i + 1} has empty or NaN cells {bad[:5]}"
    assert counts and all(counts), f"{name}: a table without rows ({counts})"
    if wanted is not None:
        assert len(counts) == len(wanted), f"{name}: {len(counts)} tables, expected {len(wanted)}"
        for i, (got, want) in enumerate(zip(counts, wanted, strict=True)):
            assert want is None or got == want, f"{name}: table {i + 1} has {got} rows, not {want}"


def test_report_is_self_contained(report):
    html = report.read_text()
    assert "<script src=" not in html and '<link href="http' not in html

"""The report's tables (prunesweep.tables): numbers, formats, the published comparison."""

import json

import numpy as np
import pytest
import xarray as xr

from prunesweep import cliff, tables
from prunesweep.reference import ZAHN2022
from prunesweep.selection import select_levels

SCHEDULE = [0.0, *ZAHN2022.val_loss]


def sweep(methods=("magnitude", "keep"), seeds=(1, 2)):
    """A made-up sweep of the paper's schedule: the loss jumps at 95 % for `magnitude` only."""
    n_level = len(SCHEDULE)
    dims = ("arch", "method", "seed", "level")
    shape = (1, len(methods), len(seeds), n_level)
    target = np.broadcast_to(np.array(SCHEDULE), shape).copy()
    loss = np.full(shape, 1.5e-4)
    loss[:, 0, :, SCHEDULE.index(0.95) :] = 6e-3  # magnitude falls off at 95 %
    loss[:, 0, 1, SCHEDULE.index(0.95)] = 5e-3
    reach = np.full((*shape, 7), 10.0)
    reach[:, 0, :, SCHEDULE.index(0.95) :, 1] = 0  # Fy cut off from 95 % on
    inputs = np.full((*shape, 10), 40.0)
    config = {
        "architectures": {"paper": {"task": "moth", "hidden": [400, 400, 400, 16],
                                    "published": "zahn2022"}},
        "methods": {m: {"kind": "magnitude"} for m in methods},
    }  # fmt: skip
    ds = xr.Dataset(
        {
            "val_loss": (dims, loss),
            "test_loss": (dims, loss * 1.1),
            "sparsity": (dims, target),
            "target_sparsity": (dims, np.where(target > 0, target, np.nan)),
            "compression_ratio": (dims, 1 / (1 - 0.99 * target)),
            "speedup_macs": (dims, 1 / (1 - target + 1e-9)),
            "diverged": (dims, np.zeros(shape)),
            "output_inputs": ((*dims, "output"), reach),
            "input_connections": ((*dims, "input"), inputs),
        },
        coords={
            "arch": ["paper"],
            "method": list(methods),
            "seed": list(seeds),
            "level": np.arange(n_level),
            "output": ["Fx", "Fy", "tau", "xdot_f", "ydot_f", "phidot_f", "thetadot_f"],
            "input": list(ZAHN2022.input_connections),
        },
        attrs={"config": json.dumps(config)},
    )
    sel = select_levels(ds, threshold=1e-3)
    return ds, sel.merge(cliff.diagnose(ds, sel))


def test_mean_sd_formats():
    assert tables.mean_sd([1.0, 3.0]) == "2 ± 1.41 (2)"
    assert tables.mean_sd([0.94, 0.94], ".1f", percent=True) == "94.0 ± 0.0 % (2)"
    assert tables.mean_sd([np.nan]) == "–" and tables.mean_sd([2.0]) == "2 (1)"


def test_answer_table_picks_the_sparsest_method_in_bold():
    metrics, sel = sweep()
    df = tables.answer_table(metrics, sel)
    assert df["method"].tolist() == ["dense (level 0)", "magnitude", "keep"]
    assert df.loc[df["best"], "method"].tolist() == ["keep"]
    row = df.set_index("method").loc["magnitude"]
    assert row["selected sparsity"] == "94.0 ± 0.0 % (2)"
    assert row["seeds with a selection"] == "2 of 2"
    page = tables.html_page("t", [("h", "p", df)])
    assert page.count('<tr class="best">') == 1 and "nan" not in page.lower()


def test_cliff_table_names_the_cut_output():
    metrics, sel = sweep()
    df = tables.cliff_table(metrics, sel)
    mag = df[df["method"] == "magnitude"]["cliff"].tolist()
    assert all("output Fy is cut off" in text for text in mag)
    assert all("stays under" in text for text in df[df["method"] == "keep"]["cliff"])


def test_reproduction_tables_put_published_beside_ours():
    metrics, sel = sweep()
    sections = tables.reproduction_tables(metrics, sel, ZAHN2022, "paper")
    losses = sections[0][2].set_index("target sparsity")
    assert losses.loc["94 %", "published"] == "0.000135"
    assert losses.loc["95 %", "magnitude"].startswith("0.0055 ± ")
    assert losses.loc["dense", "published"] == "0.000157"
    flagged = [s for s in sections if s[0].startswith("Where ours differs")]
    assert flagged and "keep at 95 %: published 0.006" in flagged[0][1]
    inputs = [s for s in sections if s[0].startswith("Live connections")][0][2]
    assert inputs.set_index("input").loc["phidot_0", "published"] == "1"


def test_pages_render_whole_documents():
    metrics, sel = sweep()
    page = tables.reproduction_page(metrics, sel)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "Zahn" in page and page.count("<table>") >= 3
    answer = tables.answer_page(metrics, sel)
    assert answer.count("<table>") == 3  # per method, per seed, per seed's cliff


@pytest.mark.parametrize("value", [np.nan, float("nan")])
def test_missing_cells_are_dashes(value):
    from prunesweep import htmlpage

    assert htmlpage._text(value) == "–"


def test_markdown_rendering():
    metrics, sel = sweep()
    text = tables.table_markdown(tables.answer_table(metrics, sel))
    lines = text.splitlines()
    assert lines[0].startswith("| architecture | method |") and set(lines[1]) <= {"|", "-"}
    assert sum(line.count("**") > 0 for line in lines) == 1  # the best method, in bold

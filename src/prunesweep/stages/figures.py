"""The `plot` job: one report item (a PNG figure or an HTML table) from its input files."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path

from prunesweep import files, lineage, network_file
from prunesweep.lineage import Source
from prunesweep.stages.common import log


def _report_input(name: str, value):
    """What a report item's function gets for input `name` (prunesweep.report_items.INPUTS)."""
    if name in ("metrics", "selection", "networks"):
        return files.open_netcdf(value, kind=name)
    if name == "dataset":
        return files.read_attrs(value, kind="dataset")
    if name == "fields":
        return _fields(*[str(v) for v in value])
    return [str(v) for v in value]  # levels, exports: lists of paths


def _fields(dataset: str, dense: str, *models: str):
    """The true field of a test run and its reconstructions (prunesweep.reconstruct): by the
    dense NIF and by each method's exported NIF; methods with nothing selected are left out."""
    from prunesweep.nif_model import NifPredictor, load_exported_nif
    from prunesweep.reconstruct import reconstruction

    ds = files.open_netcdf(dataset, kind="dataset", required=("field", "point_split"))
    predictors = {"dense": NifPredictor.of(network_file.read_network(dense)).predict}
    for path in models:
        exported = files.open_netcdf(path, kind="exported model")
        method = exported.attrs.get("method", Path(path).stem)
        if int(exported.attrs.get("selected_level", -1)) < 0:
            log(f"{method}: no level under the threshold, not drawn")
            continue
        model = load_exported_nif(path)
        predictors[f"{method} (level {model.attrs['selected_level']})"] = partial(
            model.predict, scaled=True
        )
    return reconstruction(ds, predictors)


def plot(figure: str, inputs: Mapping[str, object], output: str, *, palette: str, dpi: int) -> None:
    """Draw report item `figure` (a PNG figure or an HTML table, prunesweep.report_items).

    `inputs` maps each of the item's inputs to its file (or list of files).
    """
    from prunesweep.report_items import ITEMS

    item = ITEMS[figure]
    loaded = {name: _report_input(name, inputs[name]) for name in item.inputs}
    if "metrics" in loaded and "selection" in loaded:  # the selection made from these metrics
        source = Source(str(inputs["metrics"]), loaded["metrics"].attrs["digest"])
        selection = loaded["selection"]
        lineage.check(selection.attrs, inputs["selection"], kind="selection", metrics_digest=source)
    if item.kind == "table":
        from prunesweep import tables

        page = getattr(tables, item.function)(**loaded)
        files.atomic_save(lambda tmp: Path(tmp).write_text(page, encoding="utf-8"), output)
        return
    import matplotlib.pyplot as plt

    from prunesweep.plots import draw

    fig = draw(figure, palette=palette, **loaded)
    files.atomic_save(
        lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"), output
    )
    width = fig.get_size_inches()[0] * dpi
    plt.close(fig)
    log(f"{figure}: {width:.0f} px wide at {dpi} dpi")

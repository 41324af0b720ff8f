"""Export a pruned network as a model that really is smaller and faster: NumPy/SciPy, float32.

    inputs, outputs = prunesweep.data.load_features("results/data/moth.nc")
    model = export_model(net, inputs=inputs, outputs=outputs)  # shrink, time the formats here
    y = model.predict(x)                 # physical (batch, n_inputs) -> (batch, n_outputs)
    z = model.predict(x_scaled, scaled=True)  # in the scaled space training used
    save_exported(model, "selected.nc")  # atomic NetCDF write; per layer dense or CSR
    model = load_exported("selected.nc")
    keras_model = model.to_keras()       # a plain Keras 3 model (imports TensorFlow)

The model carries the names, units and training scaling of its inputs and outputs
(`prunesweep.scaling`), so the file is all a user needs; `numpy_loader.py` in this package is a
standalone loader (NumPy and xarray only) to copy, and `keras_model` writes the `.keras` file.

Three steps:

1. **Shrink** (`shrink`, in `shrinking`). Hidden units that cannot change the output are removed,
   so the dense matrices get smaller. A forward sweep folds *constant* units: a unit with no live
   incoming weight (from a unit that is still variable) outputs act(b) whatever the input - a
   "ghost" when its bias is live - so act(b) times its outgoing weights is added to the next
   layer's bias and the unit goes. Folding can make units of the next layer constant in turn. A
   backward sweep then drops units with no live outgoing weight to a kept unit (and inputs that
   feed nothing). Outputs are never dropped; an output with no live input is its (folded) bias.

2. **Choose a format per layer** (`choose_formats`, in `timing`). Each shrunk layer (`layer`) can
   run as a dense matrix product ("dense" if its shape is the original one, "shrunk" if shrinking
   made it smaller) or as a CSR sparse product ("csr": SciPy's compiled `csr_matvecs` kernel
   called directly, which skips ~10 us of Python per call; `csr_array @` is the fallback). Which
   is faster depends on the batch size as much as on the sparsity (a dense gemv is hard to beat
   at batch 1, CSR wins at batch 64 from ~90 % sparsity), so the choice is *measured on this
   machine* for every layer at several reference batch sizes (default 1, 64, 4096), and the
   model (`model`) keeps one format per reference batch: `predict` uses the format of the
   reference batch nearest (in log scale) to the batch it is given. A layer whose choices differ
   holds both representations (the dense one is rebuilt from CSR on load, so the file stays
   small). Pass `formats=` to `export_model` to force a choice. The timings hold for the BLAS
   threading of the exporting process: on a shared machine run NumPy inference with
   OPENBLAS_NUM_THREADS=1 (a 2-thread OpenBLAS call waits for its second thread to be scheduled
   and can take 10-100x longer), and export under the same setting.

3. **Store** (`save_exported`, in `storage`). Per layer either a dense `kernel_i(in, out)` or the
   CSR arrays `data_i(nnz_i)`, `indices_i(nnz_i)`, `indptr_i(ptr_i)` - whichever takes fewer
   bytes - plus `bias_i(out)`. The CSR matrix is that of the *transposed* kernel: one row per
   output unit of the layer (`indptr_i` has n_out + 1 entries), `indices_i` are input positions
   along the layer's input dimension. Dimensions are `input`, `hidden1`, ..., `output` as in the
   level files; their coordinates are the original unit indices (names for inputs and outputs,
   with `input_index` and `output_index` holding the original positions), so every kept weight
   maps back to the network it came from. Variables over 16 KB are zlib-compressed. The file
   records the formats and whether they were measured or forced (`format_choice`), not the
   timings (result files hold no timings, see prunesweep.files); `ExportedModel.timings` has
   them in memory. Measured formats can differ between machines and runs, and so can the file's
   bytes; `export_model(net, formats=...)` gives byte-identical files.

A NIF (model "nif") is exported by `export_nif` instead (`prunesweep.export.nif`): its inactive
ShapeNet nodes are removed together with the columns of ParameterNet's last layer that generated
their parameters, so the exported NIF is a smaller NIF whose predictions equal the masked one's.

No TensorFlow is imported here.
"""

from prunesweep.export.build import export_model
from prunesweep.export.layer import FORMATS, ExportedLayer
from prunesweep.export.model import ExportedModel
from prunesweep.export.nif import (
    ExportedNif,
    NifPredictor,
    compare_nif,
    export_nif,
    load_exported_nif,
    query_seconds,
    save_exported_nif,
    shrink_nif,
)
from prunesweep.export.shrinking import ShrunkNetwork, shrink
from prunesweep.export.storage import load_exported, save_exported, to_dataset
from prunesweep.export.timing import DEFAULT_REFERENCE_BATCHES, choose_formats, seconds_per_call

__all__ = [
    "DEFAULT_REFERENCE_BATCHES",
    "FORMATS",
    "ExportedLayer",
    "ExportedModel",
    "ExportedNif",
    "NifPredictor",
    "compare_nif",
    "ShrunkNetwork",
    "choose_formats",
    "export_model",
    "export_nif",
    "load_exported",
    "load_exported_nif",
    "query_seconds",
    "save_exported",
    "save_exported_nif",
    "seconds_per_call",
    "shrink",
    "shrink_nif",
    "to_dataset",
]

"""One exported layer, y = x @ W + b, as a dense matrix and/or CSR, and its forward products.

The layer is the unit of the format choice: each format is one way to compute the same product,
and the layer holds exactly the representations its chosen formats need (CSR on its own is what
makes a sparse layer small in memory). No TensorFlow is imported by the export package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:  # SciPy's compiled CSR x dense-matrix kernel, without csr_array's per-call Python overhead
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private module moved: fall back to the public API
    _csr_matvecs = None

FORMATS = ("dense", "shrunk", "csr")
#: the CSR kernel `forward` calls (recorded in exported files)
CSR_KERNEL = "scipy.sparse._sparsetools.csr_matvecs" if _csr_matvecs else "scipy.sparse.csr_array"


def min_uint(max_value: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds `max_value` (CSR indices, input index)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def min_int(max_value: int) -> np.dtype:
    """The smallest signed integer dtype CF 1.8 allows (int8/16/32) that holds `max_value`:
    what files store CSR indices and pointers as (unsigned types are not CF 1.8)."""
    for dtype in (np.int8, np.int16, np.int32):
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"{max_value} does not fit a 32-bit index")


def _csr_from_dense_t(dense_t: np.ndarray, live_t: np.ndarray):
    """(indptr, indices, data) of the (n_out, n_in) matrix at the `live_t` positions."""
    rows, cols = np.nonzero(live_t)  # row-major order: sorted by row, then column
    indptr = np.zeros(dense_t.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=dense_t.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int32), np.ascontiguousarray(dense_t[rows, cols])


def _dense_t_from_csr(csr, n_out: int, n_in: int) -> np.ndarray:
    indptr, indices, data = csr
    dense = np.zeros((n_out, n_in), np.float32)
    dense[np.repeat(np.arange(n_out), np.diff(indptr)), indices] = data
    return dense


@dataclass
class ExportedLayer:
    """One layer: y = x @ W + b, held as dense W^T (n_out, n_in) and/or CSR of W^T.

    `formats[k]` is the format used for batches nearest reference batch k of the model. The
    layer holds the representations its formats need (built from the other one if missing).
    The dense one is stored with the bias as an extra column, [W^T | b], so that one matrix
    product on activations carrying a row of ones computes x @ W + b (no separate bias pass).
    """

    bias: np.ndarray  # (n_out,) float32
    shape: tuple[int, int]  # (n_in, n_out) after shrinking
    original_shape: tuple[int, int]
    formats: tuple[str, ...]
    dense_t: np.ndarray | None = None  # (n_out, n_in) float32: a view into [W^T | b]
    csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # indptr, indices (int32), data

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown layer format(s) {bad}; expected one of {FORMATS}")
        self.shape = (int(self.shape[0]), int(self.shape[1]))
        self.original_shape = (int(self.original_shape[0]), int(self.original_shape[1]))
        self.bias = np.ascontiguousarray(self.bias, dtype=np.float32)
        if self.bias.shape != (self.shape[1],):
            raise ValueError(
                f"bias must have shape ({self.shape[1]},). Received: {self.bias.shape}"
            )
        self._bias_col = self.bias[:, None]
        self._augmented = None
        if self.dense_t is not None:
            self._set_dense(self.dense_t)
        if self.csr is not None:
            indptr, indices, data = self.csr
            self.csr = (
                np.ascontiguousarray(indptr, dtype=np.int32),
                np.ascontiguousarray(indices, dtype=np.int32),
                np.ascontiguousarray(data, dtype=np.float32),
            )
            if self.csr[0].shape != (self.shape[1] + 1,) or self.csr[0][-1] != data.size:
                raise ValueError("CSR indptr must have n_out + 1 entries ending at nnz")
        self.keep_only(self.formats)

    def _set_dense(self, dense_t) -> None:
        dense_t = np.asarray(dense_t, dtype=np.float32)
        if dense_t.shape != (self.shape[1], self.shape[0]):
            raise ValueError(
                f"dense_t must have shape {(self.shape[1], self.shape[0])}. "
                f"Received: {dense_t.shape}"
            )
        self._augmented = np.ascontiguousarray(np.concatenate((dense_t, self._bias_col), axis=1))
        self.dense_t = self._augmented[:, :-1]
        self.bias = self._augmented[:, -1]  # views: the bias is held once
        self._bias_col = self.bias[:, None]

    @classmethod
    def from_dense(cls, kernel, mask, bias, original_shape, formats) -> ExportedLayer:
        """From a dense (n_in, n_out) kernel whose entries outside `mask` are 0."""
        dense_t = np.ascontiguousarray(np.asarray(kernel, dtype=np.float32).T)
        return cls(
            bias=bias,
            shape=(dense_t.shape[1], dense_t.shape[0]),
            original_shape=original_shape,
            formats=tuple(formats),
            dense_t=dense_t,
            csr=_csr_from_dense_t(dense_t, np.asarray(mask, dtype=bool).T),
        )

    def dense_kernel_t(self) -> np.ndarray:
        """W^T (n_out, n_in), built from CSR if the layer does not hold it."""
        if self.dense_t is not None:
            return self.dense_t
        return _dense_t_from_csr(self.csr, self.shape[1], self.shape[0])

    def csr_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR of W^T, built from the dense matrix (its non-zeros) if the layer does not hold it."""
        if self.csr is not None:
            return self.csr
        return _csr_from_dense_t(self.dense_t, self.dense_t != 0)

    def keep_only(self, formats) -> None:
        """Hold exactly the representations `formats` need (build missing, free unused)."""
        formats = set(formats)
        if self.dense_t is None and self.csr is None:
            raise ValueError("a layer needs a dense or a CSR representation")
        csr = self.csr_arrays() if "csr" in formats else None
        if formats - {"csr"}:
            if self.dense_t is None:
                self._set_dense(self.dense_kernel_t())
        elif self._augmented is not None:
            self.bias = self.bias.copy()  # out of the matrix about to be freed
            self._bias_col = self.bias[:, None]
            self.dense_t = self._augmented = None
        self.csr = csr
        if csr is not None and _csr_matvecs is None:  # pragma: no cover
            import scipy.sparse as sp

            self._csr_array = sp.csr_array(
                (csr[2], csr[1], csr[0]), shape=(self.shape[1], self.shape[0])
            )

    @property
    def nnz(self) -> int:
        if self.csr is not None:
            return int(self.csr[0][-1])
        return int(np.count_nonzero(self.dense_t))

    @property
    def nbytes(self) -> int:
        total = self.bias.nbytes if self._augmented is None else self._augmented.nbytes
        if self.csr is not None:
            total += sum(a.nbytes for a in self.csr)
        return total

    def forward_one(self, h: np.ndarray, fmt: str) -> np.ndarray:
        """One sample, h: (n_in,) float32 -> (n_out,): the fewest NumPy calls (batch 1)."""
        if fmt != "csr":
            y = self.dense_t @ h  # a strided view of [W^T | b]: BLAS takes it as is
            y += self.bias
            return y
        n_in, n_out = self.shape
        if _csr_matvecs is None:  # pragma: no cover
            return self._csr_array @ h + self.bias
        y = self.bias.copy()
        indptr, indices, data = self.csr
        _csr_matvecs(n_out, n_in, 1, indptr, indices, data, h, y)
        return y

    def forward(self, h: np.ndarray, fmt: str, out: np.ndarray | None = None) -> np.ndarray:
        """h: (n_in + 1, batch) float32, C order, last row all ones -> the layer's output.

        Writes x @ W + b into the first n_out rows of `out` (C order, (n_out [+ 1], batch);
        allocated with a row of ones when not given) and returns `out`. No activation.
        """
        n_in, n_out = self.shape
        batch = h.shape[1]
        if out is None:
            out = np.empty((n_out + 1, batch), np.float32)
            out[n_out] = 1.0
        if fmt != "csr":
            np.matmul(self._augmented, h, out=out[:n_out])
        elif _csr_matvecs is None:  # pragma: no cover
            out[:n_out] = self._csr_array @ h[:n_in] + self._bias_col
        else:
            out[:n_out] = self._bias_col  # csr_matvecs accumulates: y += A @ h (first n_in rows)
            indptr, indices, data = self.csr
            _csr_matvecs(n_out, n_in, batch, indptr, indices, data, h.reshape(-1), out.reshape(-1))
        return out


def dense_kind(layer: ExportedLayer) -> str:
    """The name of the layer's dense format: "dense" at its original shape, else "shrunk"."""
    return "dense" if layer.shape == layer.original_shape else "shrunk"

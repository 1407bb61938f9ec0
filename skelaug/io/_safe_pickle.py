"""Loading pickles (pyskl annotation files, NTURGB-D ``txt2npy`` dictionaries) without running code.

``pickle.load`` can execute arbitrary code from a crafted file. The loaders here use an unpickler
that only resolves NumPy array reconstruction and a few harmless containers; anything else raises
:class:`pickle.UnpicklingError` naming the refused global.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["load_npy_object", "safe_load"]

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("builtins", "slice"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (
            (module, name) in _ALLOWED
            or (module == "numpy" and name.startswith("dtype"))
            or (module in ("numpy.dtypes", "numpy._core.dtypes"))
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load the global {module}.{name} from a pickle: only NumPy arrays and plain "
            f"containers are allowed (a pickle can run code; convert the file to plain data)"
        )


def safe_load(f: IO[bytes]) -> Any:
    """Unpickle from a binary file object, admitting only NumPy arrays and plain containers."""
    return _Restricted(f).load()


def load_npy_object(path: str | Path) -> Any:
    """Load an object-dtype ``.npy`` (e.g. a saved dict) with the restricted unpickler.

    Numeric ``.npy`` files load with ``np.load`` as usual. A 0-d object array is unwrapped (``.item()``).
    """
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(f)
        if not dtype.hasobject:
            f.seek(0)
            return np.load(io.BytesIO(f.read()), allow_pickle=False)
        obj = safe_load(f)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        return obj.item()
    return obj
